/**
 * The driver author's API, shared by every class: the kernel services a driver may call, the
 * error a driver throws for a device's own failure, and what a driver declares it needs.
 * A class's own entry points are in `shadow-drivers/driver/<class>`.
 */
export { DeviceError, type TakeInput, type ReadAt, type WriteAt, type KernelServices, type UpcallOptions, type ResourceGrant, type DriverFactory, type HelperSpec, type HelperStatus, type LiveStateHooks } from '../classes/driver-api.js';
export type { ResourceSpec } from '../kernel/resources.js';
export { copyBytes } from './bytes.js';
