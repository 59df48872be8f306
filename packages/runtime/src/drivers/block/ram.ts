/**
 * `ram`: a virtual disk, the zero-setup default. Its medium is device memory the kernel
 * holds, so the disk's contents survive the driver, as a real disk's platters would.
 */
import { defineBlockDriver } from '../../classes/block/contract.js';
import { diskDriver } from './disk-driver.js';

export default defineBlockDriver((kernel) => diskDriver(kernel, { resource: 'medium', readOnly: () => false }));
