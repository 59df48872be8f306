/**
 * Recovery times: faults injected one at a time into a shadowed `ram` disk under a small
 * application load, for each isolation domain, with a cold restart (a new domain is started
 * after the failure) and with a warm standby (a spare domain, started in advance, takes over).
 *
 * Each fault is injected only when the device is serving again (and, with a standby, when the
 * spare is ready), so every sample is one recovery from a healthy state. RecoveryEvent.totalMs
 * runs from the failure's detection to the resume; the application's longest wait across the
 * recovery adds detection and the requests' own time, and is reported beside it.
 */
import type { FailureKind } from 'shadow-drivers';
import type { FaultKind } from 'shadow-drivers';
import { recoveryPhases, type RecoveryEvent, type RecoveryPhase } from 'shadow-drivers';
import { createRuntime, type Runtime } from 'shadow-drivers';
import { BackgroundLoad } from './background-load.js';
import { benchRestartPolicy } from './configurations.js';
import { spread, type Spread } from './stats.js';

export type IsolatedDomain = 'worker' | 'process';

export interface RecoveryOptions {
  /** Faults per series (one series per domain and standby setting). */
  faults: number;
  /** Fault kinds, taken in turn. */
  kinds: readonly FaultKind[];
  sizeBytes: number;
  /** Requests the load completes between a recovery and the next fault. */
  settleRequests: number;
  progress?(message: string): void;
}

export interface RecoverySeries {
  domain: IsolatedDomain;
  warmStandby: boolean;
  events: RecoveryEvent[];
  /** Per fault: the longest time (ms) an application request waited across the recovery. */
  longestWaitMs: number[];
  /** Application requests that failed (a shadow should conceal every failure). */
  ioErrors: number;
  lastError: string | undefined;
}

const RECOVERY_DEADLINE_MS = 30_000;

export async function measureRecovery(options: RecoveryOptions): Promise<RecoverySeries[]> {
  const series: RecoverySeries[] = [];
  for (const domain of ['worker', 'process'] as const) {
    for (const warmStandby of [false, true]) {
      options.progress?.(`recovery: ${domain} domain, ${warmStandby ? 'warm standby' : 'cold restart'}, ${options.faults} faults`);
      series.push(await measureSeries(domain, warmStandby, options));
    }
  }
  return series;
}

export async function measureSeries(domain: IsolatedDomain, warmStandby: boolean, options: RecoveryOptions): Promise<RecoverySeries> {
  const runtime = createRuntime({ faultInjection: true });
  const name = `bench-recovery-${domain}-${warmStandby ? 'warm' : 'cold'}`;
  const result: RecoverySeries = { domain, warmStandby, events: [], longestWaitMs: [], ioErrors: 0, lastError: undefined };
  try {
    const disk = await runtime.attachBlock({
      name, driver: 'ram', domain, recovery: 'shadow', warmStandby,
      config: { sizeBytes: options.sizeBytes }, restart: benchRestartPolicy,
    });
    await disk.open();
    const load = new BackgroundLoad(disk, options.sizeBytes);
    load.start(2);
    try {
      for (let i = 0; i < options.faults; i++) {
        await serving(runtime, name, load, options.settleRequests, warmStandby);
        const since = performance.now();
        const recovered = nextRecovery(runtime, name);
        runtime.inject(name, { kind: options.kinds[i % options.kinds.length]! });
        result.events.push(await recovered);
        await load.completions(2); // both lanes were answered after the recovery
        result.longestWaitMs.push(load.longestWaitSince(since));
      }
    } finally {
      await load.stop();
      result.ioErrors = load.errors;
      result.lastError = load.lastError === undefined ? undefined : String(load.lastError);
    }
  } finally {
    await runtime.close();
  }
  return result;
}

/** The device serves again: the load got answers, and a warm standby (if any) is loaded. */
async function serving(runtime: Runtime, name: string, load: BackgroundLoad, requests: number,
  warmStandby: boolean): Promise<void> {
  await load.completions(requests);
  if (!warmStandby) return;
  // The manager starts the next spare shortly after a recovery; wait for it to load.
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${name}: no standby was loaded`)), RECOVERY_DEADLINE_MS); });
  try { await Promise.race([runtime.standbyReady(name), deadline]); } finally { clearTimeout(timer); }
}

/** The next recovery of the device; rejects if the manager gives up or after a deadline. */
export function nextRecovery(runtime: Runtime, name: string): Promise<RecoveryEvent> {
  const manager = runtime.manager;
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      manager.off('recovery', onRecovery);
      manager.off('gave-up', onGaveUp);
    };
    const onRecovery = (event: RecoveryEvent) => {
      if (event.device !== name) return;
      done();
      resolve(event);
    };
    const onGaveUp = (event: { device: string; reason: string }) => {
      if (event.device !== name) return;
      done();
      reject(new Error(`${name} gave up: ${event.reason}`));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`${name}: no recovery within ${RECOVERY_DEADLINE_MS} ms`));
    }, RECOVERY_DEADLINE_MS);
    manager.on('recovery', onRecovery);
    manager.on('gave-up', onGaveUp);
  });
}

/** The recoveries of one series with one cause (or all of them), reduced to spreads. */
export interface RecoveryGroup {
  cause: FailureKind | 'all';
  totalMs: Spread;
  phases: Record<RecoveryPhase, Spread>;
  longestWaitMs: Spread;
}

/** All recoveries of a series, then those of each cause in order of first appearance. */
export function groupsOf(series: RecoverySeries): RecoveryGroup[] {
  const causes = [...new Set(series.events.map((e) => e.cause))];
  const group = (cause: RecoveryGroup['cause']): RecoveryGroup => {
    const picked = series.events.flatMap((event, i) =>
      (cause === 'all' || event.cause === cause ? [{ event, wait: series.longestWaitMs[i] ?? Number.NaN }] : []));
    const phases = Object.fromEntries(recoveryPhases.map((phase) =>
      [phase, spread(picked.map(({ event }) => event.phases[phase] ?? 0))])) as Record<RecoveryPhase, Spread>;
    return {
      cause,
      totalMs: spread(picked.map(({ event }) => event.totalMs)),
      phases,
      longestWaitMs: spread(picked.map(({ wait }) => wait).filter(Number.isFinite)),
    };
  };
  return [group('all'), ...(causes.length > 1 ? causes.map(group) : [])];
}
