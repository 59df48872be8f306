/**
 * Recovery, as the paper's named phases:
 *
 *   stop      the failed driver's domain is gone (it can touch nothing any more)
 *   release   the object tracker frees what it held; kernel-facing objects are kept
 *   backoff   the restart policy's delay (0 for a first failure)
 *   restart   a fresh domain with the driver loaded (the warm standby, when there is one)
 *   reinit    the shadow calls init as the kernel would and answers the driver's registration
 *   replay    open objects and settings from the log, in call order
 *   resubmit  requests in flight: resubmitted if idempotent, else failed with an outcome
 *   resume    taps back to the driver; calls that waited go through, in order
 *
 * A failure in any phase starts recovery over and counts against the restart budget.
 * Restart-only mode runs the same phases without replay and resubmit.
 */
import { initEntry } from '../classes/contract.js';
import type { Clock } from '../clock.js';
import { DriverFailure } from '../errors.js';
import { isSystemConfiguration, kForget } from '../kernel/device.js';
import type { RecoveryEvent, RecoveryPhase } from '../observe/channels.js';
import type { Incarnation, RetireStep } from './incarnation.js';
import type { ManagedDriver } from './managed.js';

/** What recovery needs of the manager (the ShadowManager): its clock and four of its steps. */
export interface RecoveryHost {
  readonly clock: Clock;
  /** A new incarnation of the driver's fallback, loaded but not initialized. */
  spawn(managed: ManagedDriver): Promise<Incarnation>;
  prepareStandby(managed: ManagedDriver): void;
  /** Ends a driver instance: its domain stopped, its tracker's objects released. */
  retire(managed: ManagedDriver, incarnation: Incarnation, step?: RetireStep): Promise<void>;
  giveUp(managed: ManagedDriver, reason: string, options?: { deviceGone?: boolean }): void;
  /** The kernel's own check of the device's resources: why the device is gone, or undefined. */
  goneReason(managed: ManagedDriver): string | undefined;
  recovered(event: RecoveryEvent): void;
}

export class Recovery {
  readonly #manager: RecoveryHost;

  constructor(manager: RecoveryHost) {
    this.#manager = manager;
  }

  async run(managed: ManagedDriver, failure: DriverFailure): Promise<void> {
    try {
      await this.#run(managed, failure);
    } finally {
      // Given up or detached mid-recovery: nobody will read what was held.
      if (managed.inputHold?.running) managed.inputHold.stop();
    }
  }

  async #run(managed: ManagedDriver, failure: DriverFailure): Promise<void> {
    managed.lifecycle.to('recovering', `${failure.kind}: ${failure.message}`);
    managed.kernelTap.attach(managed.routes.active);
    managed.shadow?.activate();
    let attempts = 0;
    const detected = this.#manager.clock.now();
    // Phases summed over every attempt: a recovery that took several reports all it cost.
    const phases: Partial<Record<RecoveryPhase, number>> = {};
    for (;;) {
      // A device that went away fails every driver the same way: restarting cannot help.
      const gone = this.#manager.goneReason(managed);
      if (gone !== undefined) return this.#manager.giveUp(managed, gone, { deviceGone: true });
      const decision = managed.policy.onFailure(attempts === 0 ? `${failure.kind} in ${failure.call ?? 'no call'}: ${failure.message}` : undefined);
      if (decision.action === 'give-up') return this.#manager.giveUp(managed, decision.reason);
      const { maxAttempts } = managed.policy.options;
      if (attempts >= maxAttempts) {
        return this.#manager.giveUp(managed, `${attempts} restarts in a row failed before the driver served again (maxAttempts ${maxAttempts})`);
      }
      attempts++;
      try {
        const report = await this.#attempt(managed, decision.delayMs, phases);
        if (this.#over(managed)) return;
        managed.recoveries++;
        managed.policy.onRecovered();
        this.#manager.recovered({
          device: managed.device.name, driver: managed.spec.driver,
          mode: managed.spec.recovery === 'shadow' ? 'shadow' : 'restart',
          cause: failure.kind, message: failure.message, call: failure.call, attempts, phases,
          totalMs: Object.entries(phases).reduce((sum, [k, v]) => (k === 'backoff' ? sum : sum + v), 0),
          pauseMs: this.#manager.clock.now() - detected,
          ...report,
        } satisfies RecoveryEvent);
        return;
      } catch {
        // The new driver failed too (its failure event is already out): start over, and let
        // the policy count it. Unless the device was detached or given up meanwhile.
        if (this.#over(managed)) return;
      }
    }
  }

  async #attempt(managed: ManagedDriver, delayMs: number, phases: Partial<Record<RecoveryPhase, number>>) {
    const clock = this.#manager.clock;
    const timed = async <T>(phase: RecoveryPhase, step: () => T | Promise<T>): Promise<T> => {
      const start = clock.now();
      try { return await step(); } finally { phases[phase] = (phases[phase] ?? 0) + (clock.now() - start); }
    };
    await this.#manager.retire(managed, managed.current, timed);
    // No reader is left on the device: the kernel holds its input until the new driver has opened it.
    managed.inputHold?.start();
    if (delayMs > 0) await timed('backoff', () => new Promise<void>((r) => clock.after(delayMs, r)));
    this.#checkOpen(managed);
    const { incarnation, warm } = await timed('restart', () => this.#restart(managed));
    if (managed.lifecycle.is('closed')) {
      // Detached while the new domain was starting: nothing else will ever stop it.
      await this.#manager.retire(managed, incarnation);
      throw new Error('device detached during recovery');
    }
    managed.current = incarnation;
    const shadow = managed.shadow;
    if (shadow) incarnation.serviceTap.attach({ target: shadow.services(incarnation.kernelServices) });
    await timed('reinit', () => incarnation.call(initEntry(managed.device.contract), managed.initArgs));
    const { replayed, unflushed, refused } = shadow ? await timed('replay', () => shadow.replay(incarnation.call))
      : { replayed: await timed('replay', () => this.#agent(managed, incarnation)), unflushed: 0, refused: 0 };
    const inputHeld = this.#release(managed);
    const resubmitted = shadow ? await timed('resubmit', () => shadow.resubmit(incarnation.call)) : 0;
    this.#checkOpen(managed);
    // The new driver may have failed after its last answer (a second reply, a bad kernel call):
    // its failure was left to this recovery, which must start over, never resume onto it.
    if (incarnation.channel.failed) throw new Error('the new driver failed during recovery');
    await timed('resume', () => {
      incarnation.serviceTap.attach({ target: incarnation.kernelServices, observer: shadow?.serviceObserver });
      managed.lifecycle.to('running', 'recovered');
      managed.kernelTap.attach(managed.routes.passive);
      if (shadow) shadow.resume((entry, args) => managed.kernelTap.invoke(entry, args), incarnation.kernelServices);
      else managed.device[kForget](); // restart-only: the new driver knows no open object or setting
    });
    // The next spare is started after recovery, not inside it: fork() blocks the event loop.
    setImmediate(() => this.#manager.prepareStandby(managed));
    return { warmStandby: warm, replayed, replayedUnflushed: unflushed, replayRefused: refused, resubmitted, ...(inputHeld ? { inputHeld } : {}) };
  }

  /**
   * The new driver has opened the device (replay is done) and has not read yet: the hold stops,
   * and what it took goes to the shadow, to be given out before anything the driver reads.
   */
  #release(managed: ManagedDriver): { bytes: number; full: boolean } | undefined {
    if (!managed.inputHold?.running) return undefined;
    const { bytes, full } = managed.inputHold.stop();
    managed.shadow?.held(bytes);
    return { bytes: bytes.length, full };
  }

  /**
   * Restart-only recovery (Nooks): the user-mode agent re-applies the system's own configuration
   * of the device (the class's `agent` entries, as the system's scripts set them, and any setting
   * the system made itself), and nothing else: open objects, application settings and requests in
   * flight are lost.
   */
  async #agent(managed: ManagedDriver, incarnation: Incarnation): Promise<number> {
    let replayed = 0;
    for (const setting of managed.device.state.settings.values()) {
      if (!isSystemConfiguration(managed.device.contract, setting)) continue;
      const { entry, args } = setting;
      await incarnation.call(entry, args);
      replayed++;
    }
    return replayed;
  }

  async #restart(managed: ManagedDriver): Promise<{ incarnation: Incarnation; warm: boolean }> {
    const standby = managed.standby;
    managed.standby = undefined;
    managed.spare = undefined;
    managed.spareSince = undefined;
    if (standby) {
      // Warm only if the spare had finished loading before it was needed.
      const warm = managed.standbyReady === standby;
      const ready = await standby.catch(() => undefined);
      if (ready && !ready.channel.failed) {
        managed.standbyDeaths = 0; // the spare served its purpose: earlier deaths are forgiven
        return { incarnation: ready, warm };
      }
    }
    const incarnation = await this.#manager.spawn(managed);
    return { incarnation, warm: incarnation.fromSpare };
  }

  /** Detach during recovery ends it: nothing is restarted for a device that is gone. */
  #checkOpen(managed: ManagedDriver): void {
    if (managed.lifecycle.is('closed')) throw new Error('device detached during recovery');
    if (managed.lifecycle.is('gave-up')) throw new Error('device given up during recovery');
  }

  /** Detached, or given up (the driver turned out to fail on every request): recovery ends. */
  #over(managed: ManagedDriver): boolean {
    return managed.lifecycle.over;
  }
}
