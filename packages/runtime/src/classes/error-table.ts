/**
 * Device errors versus driver bugs, decided in one place from the class's table
 * (ClassContract.deviceErrors and stateErrors). Before, each path chose for itself: a real
 * disk's EIO in the `file` driver restarted the driver, a kernel `sync` that hit EIO failed
 * the driver as a bad kernel call, and an ENODEV from a device that was really gone sent the
 * driver round a restart loop.
 *
 * - A device errno answered to a request is that request's SD_ERR_IO (carrying the errno as
 *   `cause.code`); the driver is kept.
 * - A kernel service (sync, helper I/O) failing with a device errno is answered to the driver
 *   as that errno (a DeviceError it can pass on), not counted as a bad kernel call.
 * - An errno that may mean "no device" is a gone device only when the kernel's own check of
 *   the device's resources confirms it: the device is then given up as gone, with that reason.
 * - A state error (stateErrors) the kernel did not confirm is the driver's lost state: a bug.
 */
import { ErrorCodes, isShadowError } from '../errors.js';
import type { ClassContract, DeviceErrorTable } from './contract.js';

export type { DeviceErrorTable };

/** For classes that declare no table. */
export const defaultDeviceErrors: DeviceErrorTable = { request: ['EIO'], gone: ['ENXIO', 'ENODEV'] };

/** Where the error was met: a driver's DeviceError answer, or a kernel service the driver called. */
export type ErrorSource = 'reply' | 'service';

export type Verdict =
  /** That call fails with this errno; the driver is kept. */
  | { kind: 'device'; code: string | undefined }
  /** The device is gone: given up as gone, with the kernel's reason. */
  | { kind: 'gone'; code: string; reason: string }
  /** A driver bug: fail-stop, then recovery. */
  | { kind: 'driver'; failure: 'contract' | 'bad-kernel-call'; message: string };

/** The kernel's own check of the device's resources: why it is gone, or undefined. */
export type GoneProbe = () => string | undefined;

export function deviceErrorsOf(contract: ClassContract): DeviceErrorTable {
  return contract.deviceErrors ?? defaultDeviceErrors;
}

/** Whether a driver may turn this errno of a system call into a DeviceError (the class's table). */
export function isDeviceErrno(contract: ClassContract, code: unknown): code is string {
  const table = deviceErrorsOf(contract);
  return typeof code === 'string' && (table.request.includes(code) || table.gone.includes(code));
}

export function classifyError(contract: ClassContract, source: ErrorSource,
  error: { code?: unknown; message: string }, probe: GoneProbe): Verdict {
  const code = typeof error.code === 'string' ? error.code : undefined;
  const table = deviceErrorsOf(contract);
  const state = contract.stateErrors ?? [];
  if (code !== undefined && (table.gone.includes(code) || state.includes(code))) {
    const reason = probe();
    if (reason !== undefined) return { kind: 'gone', code, reason };
  }
  if (source === 'reply') {
    if (code !== undefined && state.includes(code)) {
      return { kind: 'driver', failure: 'contract', message: `answered ${code} (${error.message}) after the kernel initialized ` +
        'the driver and checked the call, and the device is still there: the driver lost its own state' };
    }
    return { kind: 'device', code };
  }
  if (isDeviceErrno(contract, code)) return { kind: 'device', code };
  return { kind: 'driver', failure: 'bad-kernel-call', message: error.message };
}

/**
 * A replayed or resubmitted call the device refused (SD_ERR_IO): the restarted driver is
 * healthy and the restart did not fail (one EIO from a replayed configure once made recovery
 * restart healthy drivers until it gave up).
 */
export function isDeviceAnswer(error: unknown): boolean {
  return isShadowError(error, ErrorCodes.IO);
}
