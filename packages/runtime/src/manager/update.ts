/**
 * Live update (Swift et al., "Live Update for Device Drivers", 2008): a *planned* recovery. The
 * same phases as recovery.ts, in another order, because nothing failed:
 *
 *   load, init  the new version starts in a spare domain while the old one keeps serving; its
 *               registration must keep the device's identity (the class's `compatible` check)
 *   quiesce     the tap holds new calls in the shadow (they wait: a planned switch refuses
 *               nothing); requests in flight at the old driver complete, under their deadlines
 *   stop, release  the old driver retires through the one retire path
 *   replay      the class log brings the new driver to the old one's state: open objects,
 *               settings, writes not yet behind a flush (nothing is in flight to resubmit)
 *   resume      the tap points at the new driver; the calls that waited go to it, in order
 *   probation   the new version serves; a failure now is an ordinary recovery whose driver is
 *               the previous version (managed.fallback), which is the rollback
 *
 * A version that fails to load, init or register costs the application nothing (the old driver
 * never stopped). One that fails later rolls back through recovery: applications see a pause.
 */
import { EventEmitter } from 'node:events';
import { initEntry } from '../classes/contract.js';
import type { Clock } from '../clock.js';
import { DriverFailure, ErrorCodes, ShadowError } from '../errors.js';
import {
  channels, type FailureEvent, type UpdateEvent, type UpdateFailedIn, type UpdatePhase, type UpdateRolledBackEvent,
  type UpdateSwitchedEvent,
} from '../observe/channels.js';
import type { DriverCatalog, ResolvedDriver } from './driver-catalog.js';
import type { CallTarget } from '../taps/tap.js';
import type { Incarnation, RetireStep } from './incarnation.js';
import type { ManagedDriver, UpdateReport } from './managed.js';

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


/** What an update needs of the manager. */
export interface UpdateHost extends EventEmitter {
  readonly clock: Clock;
  readonly catalog: DriverCatalog;
  spawn(managed: ManagedDriver, driver: ResolvedDriver): Promise<Incarnation>;
  retire(managed: ManagedDriver, incarnation: Incarnation, step?: RetireStep): Promise<void>;
  prepareStandby(managed: ManagedDriver): void;
  publish(event: string, channel: { publish(m: unknown): void; hasSubscribers: boolean }, message: unknown): void;
}

/** A version as operators name it: its manifest's name, else its module URL. */
export function versionOf(driver: ResolvedDriver): string {
  return driver.manifest?.name ?? driver.url;
}

/** The version the device's current driver instance runs. */
export function runningVersion(managed: ManagedDriver): ResolvedDriver {
  const url = managed.current?.driverUrl;
  return [managed.driver, managed.fallback].find((d) => d.url === url) ?? managed.driver;
}

class RolledBack extends Error {
  constructor(readonly failedIn: UpdateFailedIn, cause: string, readonly blame = true) {
    super(cause);
  }
}

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
    const shadow = managed.shadow!;
    const timed = async <T>(phase: UpdatePhase, step: () => T | Promise<T>): Promise<T> => {
      const start = clock.now();
      try { return await step(); } finally { base.phases[phase] = clock.now() - start; }
    };
    const old = managed.current;
    const initArgs = options.config === undefined ? managed.initArgs : { config: options.config };
    // Hardware that admits one driver at a time: the new version initializes after the old stopped.
    const exclusive = managed.device.contract.registration.exclusive === true;
    const incarnation = await this.#prepare(managed, next, initArgs, timed, !exclusive);

    // Quiesce: new calls wait in the shadow; the old driver finishes what it holds.
    const pauseStart = clock.now();
    managed.lifecycle.to('updating', `live update to ${versionOf(next)}`);
    managed.kernelTap.attach(managed.routes.active);
    shadow.activate({ planned: true });
    const drained = old.channel.pendingCount;
    await timed('quiesce', () => this.#drain(old));
    if (old.channel.failed || managed.current !== old) {
      // A request that never completed (or any failure): the ordinary recovery took over.
      await this.#host.retire(managed, incarnation);
      await managed.recovering;
      throw new RolledBack('quiesce', `the running driver failed while quiescing (${describe(failure())}): recovered as after a failure`, false);
    }
    this.#host.publish('update-quiesced', channels.updateQuiesced, { ...base, phases: { ...base.phases }, drained });

    // Switch: a failure from here on is recovered into the previous version (the rollback).
    const before = { driver: managed.driver, fallback: managed.fallback, specDriver: managed.spec.driver };
    managed.fallback = previous;
    managed.driver = next;
    managed.spec.driver = options.driver;
    managed.recovering = undefined;
    managed.current = incarnation;
    /** `known`: the cause is the update's own finding (a refused registration), not a failure event's. */
    const rollback = async (failedIn: UpdateFailedIn, fallbackCause: string, known = false): Promise<never> => {
      await managed.recovering;
      Object.assign(managed, { driver: before.driver, fallback: before.fallback });
      managed.spec.driver = before.specDriver;
      throw new RolledBack(failedIn, known ? fallbackCause : describe(failure()) ?? fallbackCause);
    };
    let report;
    let phase: UpdateFailedIn = exclusive ? 'init' : 'replay';
    try {
      await this.#host.retire(managed, old, timed as RetireStep);
      if (exclusive) await this.#init(managed, incarnation, initArgs, timed, shadow.services(incarnation.kernelServices));
      phase = 'replay';
      incarnation.serviceTap.attach({ target: shadow.services(incarnation.kernelServices) });
      report = await timed('replay', () => shadow.replay(incarnation.call));
      await timed('resubmit', () => shadow.resubmit(incarnation.call));
      if (incarnation.channel.failed) throw new Error('the new driver failed while replaying');
    } catch (err) {
      // Not a driver failure (nothing started a recovery): fail it, so that one does.
      if (!incarnation.channel.failed) incarnation.channel.fail(new DriverFailure('contract', `${phase} failed: ${(err as Error).message}`));
      return rollback(phase, (err as Error).message, err instanceof RolledBack);
    }
    if (managed.state !== 'updating') return rollback('replay', `the device is ${managed.state}`);
    // Resume, as recovery's resume phase: the tap points at the new driver, waiting calls go to it.
    await timed('resume', () => {
      incarnation.serviceTap.attach({ target: incarnation.kernelServices, observer: shadow.serviceObserver });
      managed.lifecycle.to('running', 'switched to the new version');
      managed.kernelTap.attach(managed.routes.passive);
      shadow.resume((entry, args) => managed.kernelTap.invoke(entry, args), incarnation.kernelServices);
    });
    const pauseMs = clock.now() - pauseStart;
    this.#host.publish('update-switched', channels.updateSwitched, {
      ...base, phases: { ...base.phases }, pauseMs, replayed: report.replayed, replayedUnflushed: report.unflushed,
    } satisfies UpdateSwitchedEvent);

    const passed = await timed('probation', () => this.#probation(managed, incarnation, options.probation));
    if (!passed) return rollback('probation', 'the new version failed on probation');
    // Accepted: the new version is what recovery restarts from now on, with its config.
    managed.fallback = next;
    managed.initArgs = initArgs;
    if (options.config !== undefined) managed.spec.config = options.config;
    this.#replaceStandby(managed);
    return { pauseMs };
  }

  /**
   * Load the new version beside the old one, which keeps serving; and init it there, unless the
   * hardware admits one driver at a time (`init` false: #switch inits it once the old stopped).
   */
  async #prepare(managed: ManagedDriver, next: ResolvedDriver, initArgs: unknown,
    timed: <T>(phase: UpdatePhase, step: () => T | Promise<T>) => Promise<T>, init = true): Promise<Incarnation> {
    let incarnation: Incarnation | undefined;
    try {
      incarnation = await timed('load', () => this.#host.spawn(managed, next));
      const spare = incarnation;
      const services = managed.shadow!.services(spare.kernelServices);
      // The old driver serves the device: the new one's upcalls (frames) are not the device's yet.
      const target: CallTarget = async (name, args) => (name === 'upcall' ? undefined : name === 'register' ? services(name, args) : spare.kernelServices(name, args));
      if (init) await this.#init(managed, spare, initArgs, timed, target);
    } catch (err) {
      if (incarnation) await this.#host.retire(managed, incarnation);
      if (err instanceof RolledBack) throw err;
      throw new RolledBack('load', describeError(err));
    }
    if (managed.state !== 'running' || managed.current === undefined) {
      await this.#host.retire(managed, incarnation);
      throw new RolledBack('init', `the device became ${managed.state} while the new version started`, false);
    }
    return incarnation;
  }

  /**
   * The new version's init, its kernel calls going to `services`; its registration must pass the
   * check a restarted driver's passes (the class's identity kept), and must happen at all.
   */
  async #init(managed: ManagedDriver, incarnation: Incarnation, initArgs: unknown,
    timed: <T>(phase: UpdatePhase, step: () => T | Promise<T>) => Promise<T>, services: CallTarget): Promise<void> {
    let registration: 'none' | 'ok' | string = 'none';
    incarnation.serviceTap.attach({
      target: async (name, args) => {
        if (name !== 'register') return services(name, args);
        try { await services(name, args); registration = 'ok'; } catch (err) { registration = (err as Error).message; throw err; }
        return undefined;
      },
    });
    try {
      await timed('init', () => incarnation.call(initEntry(managed.device.contract), initArgs));
      if (registration === 'none') throw new Error('init completed without registering the device');
      if (registration !== 'ok') throw new Error(registration);
    } catch (err) {
      const why = registration !== 'none' && registration !== 'ok' ? `registration refused: ${registration}` : describeError(err);
      throw new RolledBack('init', why);
    }
  }

  /** Until the old driver holds no request (each has its deadline: a hang fails the channel). */
  async #drain(old: Incarnation): Promise<void> {
    const clock = this.#host.clock;
    while (old.channel.pendingCount > 0 && !old.channel.failed) await new Promise<void>((r) => clock.after(1, r));
    // The completions' observers (the shadow's log) run before replay reads the log.
    await new Promise<void>((r) => setImmediate(r));
  }

  /** True when the new version served its probation; false when it failed inside it. */
  #probation(managed: ManagedDriver, incarnation: Incarnation, options: UpdateOptions['probation']): Promise<boolean> {
    const requests = options?.requests ?? 100;
    const ms = options?.ms ?? 10_000;
    const clock = this.#host.clock;
    const start = clock.now();
    const first = incarnation.channel.progress.completed;
    return new Promise((resolve) => {
      const check = () => {
        const failed = managed.current !== incarnation || incarnation.channel.failed || managed.state !== 'running';
        if (!failed && incarnation.channel.progress.completed - first < requests && clock.now() - start < ms) return;
        timer.cancel();
        resolve(!failed || managed.state === 'closed');
      };
      const timer = clock.every(5, check);
    });
  }

  /** The warm standby runs the previous version: replaced by one of the accepted version. */
  #replaceStandby(managed: ManagedDriver): void {
    const standby = managed.standby;
    if (!standby) return;
    managed.standby = undefined;
    managed.standbyReady = undefined;
    managed.spare = undefined;
    managed.spareSince = undefined;
    void standby.then((s) => this.#host.retire(managed, s), () => undefined);
    this.#host.prepareStandby(managed);
  }
}

function describe(failure: FailureEvent | undefined): string | undefined {
  return failure && `${failure.kind}${failure.call ? ` in ${failure.call}` : ''}: ${failure.message}`;
}

function describeError(err: unknown): string {
  if (err instanceof DriverFailure) return `${err.kind}${err.call ? ` in ${err.call}` : ''}: ${err.message}`;
  return (err as Error).message;
}
