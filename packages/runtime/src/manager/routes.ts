/**
 * Where the kernel->driver tap points, per recovery configuration and per state. The tap
 * itself holds no policy; these routes are the manager's choice of target and observer.
 */
import { DriverFailure, ErrorCodes, ShadowError } from '../errors.js';
import type { CallTarget, TapObserver, TapRoute } from '../taps/tap.js';
import type { ManagedDriver, Routes } from './managed.js';

export function routes(managed: ManagedDriver): Routes {
  const toDriver: CallTarget = (entry, args) => managed.current.channel.call(entry, args);
  const gaveUp: TapRoute = {
    target: async (entry) => {
      if (managed.goneReason !== undefined) {
        throw new ShadowError(ErrorCodes.DEVICE_GONE, `${managed.device.name}: ${entry} refused, the device is gone: ${managed.goneReason}`,
          { outcome: 'not-executed' });
      }
      throw new ShadowError(ErrorCodes.GAVE_UP, `${managed.device.name}: ${entry} refused, the driver was given up`,
        { outcome: 'not-executed' });
    },
  };
  switch (managed.spec.recovery) {
    case 'shadow': {
      const shadow = managed.shadow!;
      return { passive: { target: shadow.screen(toDriver), observer: shadow.observer }, active: { target: shadow.answer }, gaveUp };
    }
    case 'restart':
      return {
        passive: { target: toDriver, observer: restartOnly(managed) },
        active: {
          target: async (entry) => {
            throw new ShadowError(ErrorCodes.DRIVER_FAILED, `${entry}: the driver is restarting`, { outcome: 'not-executed' });
          },
        },
        gaveUp,
      };
    case 'native':
      return { passive: { target: toDriver, observer: failedWithCode(managed, 'the native configuration does not recover') }, active: gaveUp, gaveUp };
  }
}

/** A call caught in a driver failure reaches the application as a coded error, never a bare DriverFailure. */
function failedWithCode(managed: ManagedDriver, why: string): TapObserver<string> {
  return {
    before: (entry) => entry,
    after: (_entry, result) => result,
    failed: async (entry, error) => {
      if (!(error instanceof DriverFailure)) throw error;
      const sideEffects = managed.device.contract.entries[entry]?.sideEffects ?? true;
      throw new ShadowError(ErrorCodes.DRIVER_FAILED, `${entry}: the driver failed (${error.kind}: ${error.message}); ${why}`,
        { outcome: sideEffects ? 'indeterminate' : 'not-executed', cause: error });
    },
  };
}

/** Nooks-style restart without a shadow: calls caught in a failure fail, and say so. */
function restartOnly(managed: ManagedDriver): TapObserver<string> {
  return failedWithCode(managed, 'restart-only recovery does not resubmit');
}
