/** Recovery windows of a runtime's devices, for deciding whether a loss was allowed. */
import type { FailureEvent, RecoveryEvent, Runtime } from '../index.js';

/**
 * Fault-to-recovery intervals: from the injection (a hang acts long before it is detected)
 * or the detected failure, whichever came first, to the recovery's end.
 */
export function recoveryWindows(rt: Runtime) {
  const injections: { device: string; at: number }[] = [];
  const windows: { device: string; start: number; end: number | undefined }[] = [];
  const onFailure = (e: FailureEvent) => {
    if (e.duringRecovery) return;
    const injected = injections.filter((i) => i.device === e.device).pop();
    const last = windows.filter((w) => w.device === e.device).pop();
    const start = injected && (!last || injected.at > (last.end ?? 0)) ? injected.at : Date.now();
    windows.push({ device: e.device, start, end: undefined });
  };
  const onRecovery = (e: RecoveryEvent) => {
    const open = [...windows].reverse().find((w) => w.device === e.device && w.end === undefined);
    if (open) open.end = Date.now();
  };
  rt.manager.on('failure', onFailure).on('recovery', onRecovery);
  return {
    windows,
    injected: (device: string, at: number) => injections.push({ device, at }),
    /** Whether time `t` falls inside a window, widened by the frames' own path latency. */
    covers: (t: number, slackMs: number) => windows.some((w) => t >= w.start - slackMs && t <= (w.end ?? Infinity) + slackMs),
    stop: () => rt.manager.off('failure', onFailure).off('recovery', onRecovery),
  };
}

