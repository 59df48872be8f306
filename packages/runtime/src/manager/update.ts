/**
 * Live update (Swift et al., "Live Update for Device Drivers", 2008): a *planned* recovery. The
 * same phases as recovery.ts, in another order, because nothing failed; everything that can be
 * done while the old driver serves is done before applications are made to wait:
 *
 *   load, init    the new version starts in a spare domain while the old one keeps serving; its
 *                 registration must keep the device's identity (the class's `compatible` check)
 *   replay ahead  the log's open objects and settings (idempotent configuration) are replayed
 *                 into the spare, and the old driver writes back its cache, still serving
 *   -- the pause: new calls wait at the tap --
 *   quiesce       the tap holds new calls in the shadow (a planned switch refuses nothing), at a
 *                 moment the old driver holds no request and nothing is kept for it, if one
 *                 comes soon; else requests in flight complete, under their deadlines
 *   write back    what the old driver still caches (the class's barrier), so the requests
 *                 kept for it need no replay
 *   carry state   the old version's exportState() to the new one's importState(), if both have them
 *   fence         the old driver's kernel services refuse (it holds no request, gets no timer)
 *   replay        only what the log gained since the replay ahead
 *   resume        the tap points at the new driver; the calls that waited go to it, in order
 *   -- applications run again --
 *   stop, release the old domain is stopped, its holdings released
 *   probation     the new version serves; a failure now is an ordinary recovery whose driver is
 *                 the previous version (managed.fallback), which is the rollback
 *
 * A version that fails to load, init, replay ahead or carry the state costs the application
 * nothing but the pause (the old driver never stopped, and serves on). One that fails later
 * rolls back through recovery: applications see a recovery's pause, never an error.
 */
import { initEntry } from '../classes/contract.js';
import { DriverFailure, ErrorCodes, ShadowError } from '../errors.js';
import {
  channels, type FailureEvent, type UpdateEvent, type UpdateFailedIn, type UpdateRolledBackEvent,
  type UpdateSwitchedEvent,
} from '../observe/channels.js';
import type { ResolvedDriver } from './driver-catalog.js';
import type { Incarnation, RetireStep } from './incarnation.js';
import type { LogEntry, ReplayMark } from '../shadows/shadow-log.js';
import type { ManagedDriver, UpdateReport } from './managed.js';
import { exportState, importState, NOTHING } from './update-state.js';
import {
  describe, describeError, drain, holdAtQuietMoment, prepareSpare, probation, releaseTo, replaceStandby, RolledBack, streams,
  type Timed, type UpdateHost,
} from './update-steps.js';

export type { UpdateReport } from './managed.js';

export interface UpdateOptions {
  /** The new version: a catalogue name or a module path or URL, of the device's class. */
  driver: string;
  /** A new config for init (default: the device's current one). Resources stay the device's. */
  config?: Record<string, unknown>;
  /** Try a version that rolled back before. */
  force?: boolean;
  /**
   * The new version is on probation until it completed `requests` requests or lived `ms`,
   * whichever comes first (defaults 100 and 10 000): a failure inside rolls back.
   */
  probation?: { requests?: number; ms?: number };
}


export type { UpdateHost } from './update-steps.js';

/** A version as operators name it: its manifest's name, else its module URL. */
export function versionOf(driver: ResolvedDriver): string {
  return driver.manifest?.name ?? driver.url;
}

/** The version the device's current driver instance runs. */
export function runningVersion(managed: ManagedDriver): ResolvedDriver {
  const url = managed.current?.driverUrl;
  return [managed.driver, managed.fallback].find((d) => d.url === url) ?? managed.driver;
}

/** The old driver quiesced: when the pause began, and the log entries to replay in it. */
interface Held {
  old: Incarnation;
  pauseStart: number;
  changed: LogEntry[] | undefined;
  /** What the old version exported, for a streaming device's new version to import once initialised. */
  state: unknown;
}

/** Carrying the driver's state failed (the exported state itself may be anything, an Error too). */
class CarryFailure {
  readonly message: string;
  constructor(err: unknown) {
    this.message = err instanceof Error ? err.message : String(err);
  }
}

/** Attempts at an update whose replay ahead an application keeps invalidating (open, close, open...). */
const AHEAD_ATTEMPTS = 3;

export class LiveUpdate {
  readonly #host: UpdateHost;

  constructor(host: UpdateHost) {
    this.#host = host;
  }

  async run(managed: ManagedDriver, options: UpdateOptions): Promise<UpdateReport> {
    const name = managed.device.name;
    if (!managed.shadow) throw new ShadowError(ErrorCodes.NOT_SUPPORTED, `${name} runs with recovery ${managed.spec.recovery}: a live update needs the shadow's log`);
    if (managed.updating) throw new ShadowError(ErrorCodes.BUSY, `${name} is being updated already`);
    if (managed.state !== 'running') throw new ShadowError(ErrorCodes.BUSY, `${name} is ${managed.state}, not running: it cannot be updated now`);
    if (typeof options?.driver !== 'string') throw new ShadowError(ErrorCodes.INVALID_ARGUMENT, 'update takes { driver: string }');
    const next = this.#host.catalog.resolve(managed.device.contract.name, options.driver);
    // The new version initializes while the old one serves: a driver whose init takes the
    // device over (a serial driver's probe resets the line) would change it under the serving one.
    const exclusive = managed.driver.manifest?.exclusiveInit ?? next.manifest?.exclusiveInit;
    if (exclusive !== undefined) {
      throw new ShadowError(ErrorCodes.NOT_SUPPORTED, `${name} cannot be updated live: ${exclusive}; restart it instead (a planned recovery)`);
    }
    const refused = managed.refusedVersions?.get(next.url);
    if (refused !== undefined && !options.force) {
      throw new ShadowError(ErrorCodes.BUSY, `${versionOf(next)} rolled back before (${refused}); pass force: true to try it again`);
    }
    const previous = runningVersion(managed);
    const clock = this.#host.clock;
    const base: UpdateEvent = { device: name, from: versionOf(previous), to: versionOf(next), phases: {} };
    const { phases } = base;
    let lastFailure: FailureEvent | undefined;
    const onFailure = (e: FailureEvent) => { if (e.device === name) lastFailure = e; };
    this.#host.on('failure', onFailure);
    managed.updating = true;
    this.#host.publish('update-started', channels.updateStarted, { ...base });
    const finish = (report: Omit<UpdateReport, keyof UpdateEvent | 'at'>): UpdateReport => {
      managed.lastUpdate = { ...base, phases: { ...phases }, at: clock.now(), ...report };
      return managed.lastUpdate;
    };
    try {
      const { pauseMs } = await this.#switch(managed, next, previous, options, base, () => lastFailure);
      return finish({ outcome: 'switched', pauseMs });
    } catch (err) {
      if (!(err instanceof RolledBack)) throw err;
      // Only the new version's own failure keeps it from being tried again.
      if (err.blame) (managed.refusedVersions ??= new Map()).set(next.url, err.message);
      const event: UpdateRolledBackEvent = { ...base, phases: { ...phases }, failedIn: err.failedIn, cause: err.message };
      this.#host.publish('update-rolled-back', channels.updateRolledBack, event);
      return finish({ outcome: 'rolled-back', pauseMs: undefined, failedIn: err.failedIn, cause: err.message });
    } finally {
      managed.updating = false;
      this.#host.off('failure', onFailure);
    }
  }

  async #switch(managed: ManagedDriver, next: ResolvedDriver, previous: ResolvedDriver, options: UpdateOptions,
    base: UpdateEvent, failure: () => FailureEvent | undefined): Promise<{ pauseMs: number }> {
    const clock = this.#host.clock;
    const timed: Timed = async (phase, step) => {
      const start = clock.now();
      try { return await step(); } finally { base.phases[phase] = clock.now() - start; }
    };
    const initArgs = options.config === undefined ? managed.initArgs : { config: options.config };
    for (let attempt = 1; ; attempt++) {
      // Everything that can be done while the old driver serves is done before the quiesce.
      const spare = await prepareSpare(this.#host, managed, next, initArgs, timed);
      const mark = await this.#replayAhead(managed, spare, timed);
      const held = await this.#quiesce(managed, spare, mark, base, failure, timed);
      if (held.changed) return this.#commit(managed, next, previous, options, base, failure, spare, held, initArgs, timed);
      // An object closed or reopened, or a setting reset, since the replay ahead: the spare's
      // state would diverge. The old driver serves on (nothing stopped it); start over.
      releaseTo(managed, held.old, 'the device\'s state changed under the update: starting over');
      await this.#host.retire(managed, spare);
      if (attempt >= AHEAD_ATTEMPTS) {
        throw new RolledBack('quiesce', `the device's open objects or settings changed during each of ${attempt} attempts`, false);
      }
    }
  }

  /**
   * The replay ahead: the new version gets the logged open objects and settings (idempotent
   * configuration) while the old one still serves, so that the pause replays only what changed.
   */
  async #replayAhead(managed: ManagedDriver, spare: Incarnation, timed: Timed): Promise<ReplayMark> {
    const shadow = managed.shadow!;
    const old = managed.current;
    let mark: ReplayMark;
    try {
      mark = await timed('replay-ahead', () => shadow.replayAhead(spare.call));
      if (spare.channel.failed) throw new Error('the new driver failed while replaying');
    } catch (err) {
      await this.#host.retire(managed, spare);
      throw new RolledBack('replay-ahead', describeError(err));
    }
    // The old driver writes back its cache now, so that the pause's write-back finds little or
    // nothing kept. A device error leaves the kept requests for the pause.
    await shadow.writeBack(old.call).catch(() => undefined);
    if (managed.state !== 'running' || managed.current !== old || old.channel.failed) {
      await this.#host.retire(managed, spare);
      throw new RolledBack('replay-ahead', `the device became ${managed.state} while the new version started`, false);
    }
    return mark;
  }

  /**
   * Quiesce: new calls wait in the shadow; the old driver finishes what it holds; then the
   * driver's own state (exportState / importState) is carried. Returns what the log gained
   * since the replay ahead (undefined: the state replayed ahead no longer holds).
   */
  async #quiesce(managed: ManagedDriver, spare: Incarnation, mark: ReplayMark, base: UpdateEvent,
    failure: () => FailureEvent | undefined, timed: Timed): Promise<Held> {
    const old = managed.current;
    const held = await holdAtQuietMoment(this.#host.clock, managed, old, base.to);
    if (held === undefined) {
      // Failed, detached or given up while a quiet moment was awaited: nothing was held.
      await this.#host.retire(managed, spare);
      await managed.recovering;
      throw new RolledBack('quiesce', `the device became ${managed.state} before it was quiesced (${describe(failure()) ?? 'no failure'})`, false);
    }
    const pauseStart = held;
    const drained = old.channel.pendingCount;
    await timed('quiesce', () => drain(managed, old));
    let carried: unknown;
    if (!this.#oldFailed(managed, old)) {
      this.#host.publish('update-quiesced', channels.updateQuiesced, { ...base, phases: { ...base.phases }, drained });
      // Both are answers of a driver that serves on if the update rolls back: a device error
      // leaves the kept requests to replay; anything else is the old driver failing (recovery).
      await timed('write-back', () => managed.shadow!.writeBack(old.call)).catch(() => undefined);
      if (!this.#oldFailed(managed, old)) {
        carried = await timed('carry-state', async () => {
          const state = await exportState(managed.device.contract, old, spare);
          // A streaming device's new version is initialised only once the old one is stopped: it imports then.
          if (streams(managed)) return state;
          await importState(spare, state);
          return NOTHING;
        }).catch((err: unknown) => new CarryFailure(err));
      }
    }
    if (this.#oldFailed(managed, old)) {
      // A request that never completed (or any failure): the ordinary recovery took over.
      await this.#host.retire(managed, spare);
      await managed.recovering;
      throw new RolledBack('quiesce', `the running driver failed while quiescing (${describe(failure())}): recovered as after a failure`, false);
    }
    if (carried instanceof CarryFailure || spare.channel.failed) {
      releaseTo(managed, old, 'the update rolled back: the old version serves on');
      await this.#host.retire(managed, spare);
      throw new RolledBack('carry-state', carried instanceof CarryFailure ? carried.message : `the new driver failed: ${describe(failure())}`);
    }
    return { old, pauseStart, changed: managed.shadow!.changedSince(mark), state: carried };
  }

  /** A streaming device's new version: init, its registration answered by the shadow (the identity check). */
  async #initInPause(managed: ManagedDriver, incarnation: Incarnation, initArgs: unknown, timed: Timed): Promise<void> {
    const services = managed.shadow!.services(incarnation.kernelServices);
    let registered = false;
    incarnation.serviceTap.attach({
      target: async (name, args) => {
        const result = await services(name, args);
        if (name === 'register') registered = true;
        return result;
      },
    });
    await timed('init', () => incarnation.call(initEntry(managed.device.contract), initArgs));
    if (!registered) throw new Error('init completed without registering the device');
  }

  #oldFailed(managed: ManagedDriver, old: Incarnation): boolean {
    return old.channel.failed || managed.current !== old;
  }

  /**
   * Switch: the tap points at the new driver; the old one is stopped, but waited for only after
   * the resume (it holds nothing: its calls were drained, its replies are no longer taken).
   * A failure from here on is recovered into the previous version (the rollback).
   */
  async #commit(managed: ManagedDriver, next: ResolvedDriver, previous: ResolvedDriver, options: UpdateOptions,
    base: UpdateEvent, failure: () => FailureEvent | undefined, incarnation: Incarnation, held: Held,
    initArgs: unknown, timed: Timed): Promise<{ pauseMs: number }> {
    const clock = this.#host.clock;
    const shadow = managed.shadow!;
    const before = { driver: managed.driver, fallback: managed.fallback, specDriver: managed.spec.driver };
    managed.fallback = previous;
    managed.driver = next;
    managed.spec.driver = options.driver;
    managed.recovering = undefined;
    managed.current = incarnation;
    shadow.replaced();
    // The old driver is fenced now: it holds no request, its timers go nowhere (it is not the
    // current driver) and its kernel services refuse. Its domain is stopped after the resume:
    // terminating a worker can block the event loop for milliseconds, inside the pause.
    held.old.serviceTap.attach({ target: async (name) => { throw new Error(`${name}: this driver was replaced by a live update`); } });
    let stopping: Promise<void> | undefined;
    const retiring = () => (stopping ??= this.#host.retire(managed, held.old, timed as RetireStep).catch(() => undefined));
    const rollback = async (failedIn: UpdateFailedIn, fallbackCause: string): Promise<never> => {
      await retiring();
      await managed.recovering;
      Object.assign(managed, { driver: before.driver, fallback: before.fallback });
      managed.spec.driver = before.specDriver;
      throw new RolledBack(failedIn, describe(failure()) ?? fallbackCause);
    };
    let report;
    let phase: UpdateFailedIn = 'replay';
    try {
      if (streams(managed)) {
        // One stream, one driver: the new one is initialised and opens it once the old one is gone.
        await retiring();
        phase = 'init';
        await this.#initInPause(managed, incarnation, initArgs, timed);
        phase = 'carry-state';
        await timed('carry-state', () => importState(incarnation, held.state));
        phase = 'replay';
      } else {
        incarnation.serviceTap.attach({ target: shadow.services(incarnation.kernelServices) });
      }
      report = await timed('replay', () => shadow.replay(incarnation.call, held.changed));
      await timed('resubmit', () => shadow.resubmit(incarnation.call));
      if (incarnation.channel.failed) throw new Error(`the new driver failed (${phase})`);
    } catch (err) {
      // Not a driver failure (nothing started a recovery): fail it, so that one does.
      if (!incarnation.channel.failed) incarnation.channel.fail(new DriverFailure('contract', `${phase} failed: ${(err as Error).message}`));
      return rollback(phase, (err as Error).message);
    }
    if (managed.state !== 'updating') return rollback('replay', `the device is ${managed.state}`);
    // Resume, as recovery's resume phase: the tap points at the new driver, waiting calls go to it.
    await timed('resume', () => {
      incarnation.serviceTap.attach({ target: incarnation.kernelServices, observer: shadow.serviceObserver });
      managed.lifecycle.to('running', 'switched to the new version');
      managed.kernelTap.attach(managed.routes.passive);
      shadow.resume((entry, args) => managed.kernelTap.invoke(entry, args), incarnation.kernelServices);
    });
    const pauseMs = clock.now() - held.pauseStart;
    await retiring();
    this.#host.publish('update-switched', channels.updateSwitched, {
      ...base, phases: { ...base.phases }, pauseMs, replayed: report.replayed, replayedUnflushed: report.unflushed,
    } satisfies UpdateSwitchedEvent);

    const passed = await timed('probation', () => probation(this.#host.clock, managed, incarnation, options.probation));
    if (!passed) return rollback('probation', 'the new version failed on probation');
    // Accepted: the new version is what recovery restarts from now on, with its config.
    managed.fallback = next;
    managed.initArgs = initArgs;
    if (options.config !== undefined) managed.spec.config = options.config;
    replaceStandby(this.#host, managed);
    return { pauseMs };
  }
}
