/**
 * The steps of a live update around its pause (see update.ts): the tap held at a quiet moment
 * of the old driver, the drain, the way back to the old driver when the update does not go
 * ahead, the new version's start beside the old one, and its probation.
 */
import type { EventEmitter } from 'node:events';
import { initEntry } from '../classes/contract.js';
import type { Clock } from '../clock.js';
import { DriverFailure } from '../errors.js';
import type { FailureEvent, UpdateFailedIn, UpdatePhase } from '../observe/channels.js';
import type { DriverCatalog, ResolvedDriver } from './driver-catalog.js';
import type { Incarnation, RetireStep } from './incarnation.js';
import type { ManagedDriver } from './managed.js';

/** What an update needs of the manager. */
export interface UpdateHost extends EventEmitter {
  readonly clock: Clock;
  readonly catalog: DriverCatalog;
  spawn(managed: ManagedDriver, driver: ResolvedDriver): Promise<Incarnation>;
  retire(managed: ManagedDriver, incarnation: Incarnation, step?: RetireStep): Promise<void>;
  prepareStandby(managed: ManagedDriver): void;
  publish(event: string, channel: { publish(m: unknown): void; hasSubscribers: boolean }, message: unknown): void;
}

export type Timed = <T>(phase: UpdatePhase, step: () => T | Promise<T>) => Promise<T>;

/** Why an update did not go ahead; `blame`: the new version's own failure (it is refused until forced). */
export class RolledBack extends Error {
  constructor(readonly failedIn: UpdateFailedIn, cause: string, readonly blame = true) {
    super(cause);
  }
}

/** How long an update waits, the device serving, for a moment its old driver holds no request. */
export const QUIET_WAIT_MS = 100;

/**
 * The tap starts holding calls at a moment the old driver holds no request and nothing is
 * kept for it (its cache written back), from the reply that empties its channel,
 * synchronously, so that no call slips in: then the pause neither drains nor writes back.
 * The device serves while such a moment is awaited: up to QUIET_WAIT_MS / 2 for one with
 * nothing kept (writing back between tries), then up to QUIET_WAIT_MS for any idle one;
 * after that (a device never idle) it holds at once and the pause drains. Returns when the
 * pause began, or undefined when the device stopped running first.
 */
export async function holdAtQuietMoment(clock: Clock, managed: ManagedDriver, old: Incarnation, to: string): Promise<number | undefined> {
  const shadow = managed.shadow!;
  const start = clock.now();
  for (;;) {
    const choosy = clock.now() - start < QUIET_WAIT_MS / 2;
    const held = await atQuietMoment(clock, managed, old, to, start + QUIET_WAIT_MS,
      choosy ? () => shadow.log.unflushed.size === 0 : undefined);
    if (held !== false) return held;
    await shadow.writeBack(old.call).catch(() => undefined);
  }
}

/** See holdAtQuietMoment. False: an idle moment came with requests still kept (`quiet` said no). */
function atQuietMoment(clock: Clock, managed: ManagedDriver, old: Incarnation, to: string, deadline: number,
  quiet: (() => boolean) | undefined): Promise<number | undefined | false> {
  return new Promise((resolve) => {
    let done = false;
    let timer: { cancel(): void } | undefined;
    let cancel: (() => void) | undefined;
    const finish = (value: number | undefined | false) => {
      if (done) return; // the moment and the timer may both come
      done = true;
      timer?.cancel();
      cancel?.();
      resolve(value);
    };
    const moment = (idle: boolean) => {
      if (done) return;
      if (managed.state !== 'running' || managed.current !== old || old.channel.failed) return finish(undefined);
      if (idle && quiet && !quiet()) return finish(false);
      const pauseStart = clock.now();
      managed.lifecycle.to('updating', `live update to ${to}`);
      managed.kernelTap.attach(managed.routes.active);
      managed.shadow!.activate({ planned: true });
      finish(pauseStart);
    };
    timer = clock.after(Math.max(0, deadline - clock.now()), () => moment(false));
    cancel = old.channel.whenIdle(() => moment(true));
  });
}

/** Back to the old driver, which never stopped: the calls that waited go to it, in order. */
export function releaseTo(managed: ManagedDriver, old: Incarnation, why: string): void {
  managed.lifecycle.to('running', why);
  managed.kernelTap.attach(managed.routes.passive);
  managed.shadow!.resume((entry, args) => managed.kernelTap.invoke(entry, args), old.kernelServices);
}

/** Until the old driver holds no request (each has its deadline: a hang fails the channel). */
export async function drain(managed: ManagedDriver, old: Incarnation): Promise<void> {
  await old.channel.idle();
  // The completions' observers (the shadow's log) run before replay reads the log: they are
  // promise continuations, a few microtasks behind the last reply. Bounded: a record that
  // never leaves the log must not starve the event loop; one turn of it settles the rest.
  const inFlight = managed.shadow!.log.inFlight;
  for (let i = 0; i < 64 && inFlight.size > 0; i++) await Promise.resolve();
  if (inFlight.size > 0) await new Promise<void>((r) => setImmediate(r));
}

/** True when the new version served its probation; false when it failed inside it. */
export function probation(clock: Clock, managed: ManagedDriver, incarnation: Incarnation,
  options: { requests?: number; ms?: number } | undefined): Promise<boolean> {
  const requests = options?.requests ?? 100;
  const ms = options?.ms ?? 10_000;
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

/** Load and init the new version beside the old one, which keeps serving. */
export async function prepareSpare(host: UpdateHost, managed: ManagedDriver, next: ResolvedDriver, initArgs: unknown,
  timed: Timed): Promise<Incarnation> {
  let incarnation: Incarnation | undefined;
  let registration: 'none' | 'ok' | string = 'none';
  try {
    incarnation = await timed('load', () => host.spawn(managed, next));
    const spare = incarnation;
    if (streams(managed)) return checkStill(host, managed, spare); // initialised once the old driver is stopped
    const services = managed.shadow!.services(spare.kernelServices);
    spare.serviceTap.attach({
      target: async (name, args) => {
        // The old driver serves the device: the new one's upcalls (frames) are not the device's yet.
        if (name === 'upcall') return undefined;
        if (name !== 'register') return spare.kernelServices(name, args);
        // The check a restarted driver's registration passes: the class's identity must be kept.
        try { await services(name, args); registration = 'ok'; } catch (err) { registration = (err as Error).message; throw err; }
        return undefined;
      },
    });
    await timed('init', () => spare.call(initEntry(managed.device.contract), initArgs));
    if (registration === 'none') throw new Error('init completed without registering the device');
    if (registration !== 'ok') throw new Error(registration);
  } catch (err) {
    if (incarnation) await host.retire(managed, incarnation);
    const failedIn = incarnation ? 'init' : 'load';
    const why = registration !== 'none' && registration !== 'ok' ? `registration refused: ${registration}` : describeError(err);
    throw new RolledBack(failedIn, why);
  }
  return checkStill(host, managed, incarnation);
}

async function checkStill(host: UpdateHost, managed: ManagedDriver, spare: Incarnation): Promise<Incarnation> {
  if (managed.state !== 'running' || managed.current === undefined) {
    await host.retire(managed, spare);
    throw new RolledBack('init', `the device became ${managed.state} while the new version started`, false);
  }
  return spare;
}

/**
 * A device that raises upcalls (frames, audio periods) is a stream one driver at a time: a
 * sound card takes one connection, and opening it again closes the old driver's, which then
 * fails. Its new version is loaded ahead but initialised, given the state and opened only once
 * the old one is stopped, inside the pause, as a recovery with a warm standby does.
 */
export function streams(managed: ManagedDriver): boolean {
  return Object.keys(managed.device.contract.upcalls).length > 0;
}

/** The warm standby runs the previous version: replaced by one of the accepted version. */
export function replaceStandby(host: UpdateHost, managed: ManagedDriver): void {
  const standby = managed.standby;
  if (!standby) return;
  managed.standby = undefined;
  managed.standbyReady = undefined;
  managed.spare = undefined;
  managed.spareSince = undefined;
  void standby.then((s) => host.retire(managed, s), () => undefined);
  host.prepareStandby(managed);
}

export function describe(failure: FailureEvent | undefined): string | undefined {
  return failure && `${failure.kind}${failure.call ? ` in ${failure.call}` : ''}: ${failure.message}`;
}

export function describeError(err: unknown): string {
  if (err instanceof DriverFailure) return `${err.kind}${err.call ? ` in ${err.call}` : ''}: ${err.message}`;
  return (err as Error).message;
}
