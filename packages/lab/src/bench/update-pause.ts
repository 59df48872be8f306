/**
 * The pause of a live update, beside the two other ways a device gets a new driver: a crash
 * recovery with a warm standby (the shadow's fastest unplanned path), and what users do today
 * without Shadow (the restart-only configuration: stop the device, start the new version,
 * reopen). All three on a `ram` disk under the same small load, per isolation domain.
 *
 * The update alternates v1 → v2 → v1 …, v2 being the `ram` driver's module under another
 * manifest (another URL: another module instance in each domain). Its pause is
 * UpdateSwitchedEvent.pauseMs (the tap's hold to the resume); the longest wait of an
 * application request across it is reported beside it, as for recoveries.
 */
import { createRuntime, type Runtime, type UpdateReport, type UpdatePhase } from 'shadow-drivers';
import { BackgroundLoad } from './background-load.js';
import { benchRestartPolicy } from './configurations.js';
import { measureSeries, type IsolatedDomain, type RecoverySeries } from './recovery-times.js';

export interface UpdatePauseOptions {
  /** Updates per domain (and as many restarts and warm-standby recoveries). */
  updates: number;
  sizeBytes: number;
  /** Requests the load completes between two updates. */
  settleRequests: number;
  progress?(message: string): void;
}

export interface UpdateSeries {
  domain: IsolatedDomain;
  /** Per update: its pause (ms), the longest application wait across it, its phases. */
  pauseMs: number[];
  longestWaitMs: number[];
  /** The same, over windows as long as each update, with no update: what the load sees anyway. */
  baselineWaitMs: number[];
  phases: Partial<Record<UpdatePhase, number>>[];
  rolledBack: number;
  ioErrors: number;
  lastError: string | undefined;
}

export interface RestartSeries {
  domain: IsolatedDomain;
  /** Per restart: detach, attach of the new version, open (ms): the device is unusable throughout. */
  downMs: number[];
}

export interface UpdatePauseResult {
  options: Omit<UpdatePauseOptions, 'progress'>;
  updates: UpdateSeries[];
  recoveries: RecoverySeries[];
  restarts: RestartSeries[];
}

const MiB = 1024 * 1024;

export async function measureUpdatePause(options: UpdatePauseOptions): Promise<UpdatePauseResult> {
  const { progress, ...rest } = options;
  const result: UpdatePauseResult = { options: rest, updates: [], recoveries: [], restarts: [] };
  for (const domain of ['worker', 'process'] as const) {
    progress?.(`update: ${domain} domain, ${options.updates} live updates`);
    result.updates.push(await updateSeries(domain, options));
    progress?.(`update: ${domain} domain, ${options.updates} warm-standby recoveries`);
    result.recoveries.push(await measureSeries(domain, true, {
      faults: options.updates, kinds: ['exit', 'throw'], sizeBytes: options.sizeBytes, settleRequests: options.settleRequests,
    }));
    progress?.(`update: ${domain} domain, ${options.updates} restarts without a shadow`);
    result.restarts.push(await restartSeries(domain, options));
  }
  return result;
}

/** Version 2: the `ram` driver's module under another name and URL. */
function registerV2(runtime: Runtime): void {
  const ram = runtime.manager.catalog.manifest('block', 'ram');
  if (!ram) throw new Error('the ram driver is not in the catalogue');
  runtime.registerDriver({ ...ram, name: 'ram-v2', module: `${ram.module}?version=2` });
}

async function updateSeries(domain: IsolatedDomain, options: UpdatePauseOptions): Promise<UpdateSeries> {
  const runtime = createRuntime();
  const name = `bench-update-${domain}`;
  const series: UpdateSeries = { domain, pauseMs: [], longestWaitMs: [], baselineWaitMs: [], phases: [], rolledBack: 0, ioErrors: 0, lastError: undefined };
  try {
    registerV2(runtime);
    const disk = await runtime.attachBlock({
      name, driver: 'ram', domain, recovery: 'shadow', config: { sizeBytes: options.sizeBytes }, restart: benchRestartPolicy,
    });
    await disk.open();
    const load = new BackgroundLoad(disk, options.sizeBytes);
    load.start(2);
    const lasted: number[] = [];
    try {
      for (let i = 0; i < options.updates; i++) {
        await load.completions(options.settleRequests);
        const since = performance.now();
        const report: UpdateReport = await runtime.update(name, {
          driver: i % 2 === 0 ? 'ram-v2' : 'ram', probation: { requests: options.settleRequests, ms: 5000 },
        });
        if (report.outcome !== 'switched') { series.rolledBack++; continue; }
        await load.completions(2); // both lanes were answered after the switch
        series.pauseMs.push(report.pauseMs!);
        series.longestWaitMs.push(load.longestWaitSince(since));
        series.phases.push(report.phases);
        lasted.push(performance.now() - since);
      }
      // What the application waits anyway on this loaded machine, over windows as long.
      for (const ms of lasted) {
        await load.completions(options.settleRequests);
        const since = performance.now();
        await new Promise((resolve) => setTimeout(resolve, ms));
        await load.completions(2);
        series.baselineWaitMs.push(load.longestWaitSince(since));
      }
    } finally {
      await load.stop();
      series.ioErrors = load.errors;
      series.lastError = load.lastError === undefined ? undefined : String(load.lastError);
    }
  } finally {
    await runtime.close();
  }
  return series;
}

/**
 * Without a shadow, a new driver means stopping the device: the application stops using it,
 * the device is detached, the new version attached (restart-only recovery, the configuration
 * users have without Shadow) and reopened. A `ram` disk's contents do not survive this.
 */
async function restartSeries(domain: IsolatedDomain, options: UpdatePauseOptions): Promise<RestartSeries> {
  const runtime = createRuntime();
  const name = `bench-restart-${domain}`;
  const series: RestartSeries = { domain, downMs: [] };
  try {
    registerV2(runtime);
    const attach = (driver: string) => runtime.attachBlock({
      name, driver, domain, recovery: 'restart', config: { sizeBytes: options.sizeBytes }, restart: benchRestartPolicy,
    });
    let disk = await attach('ram');
    await disk.open();
    for (let i = 0; i < options.updates; i++) {
      const load = new BackgroundLoad(disk, options.sizeBytes);
      load.start(2);
      await load.completions(options.settleRequests);
      await load.stop();
      const start = performance.now();
      await runtime.detach(name);
      disk = await attach(i % 2 === 0 ? 'ram-v2' : 'ram');
      await disk.open();
      series.downMs.push(performance.now() - start);
    }
  } finally {
    await runtime.close();
  }
  return series;
}

export const updatePlan = {
  quick: { updates: 4, sizeBytes: 4 * MiB, settleRequests: 2 },
  full: { updates: 60, sizeBytes: 16 * MiB, settleRequests: 10 },
} satisfies Record<string, Omit<UpdatePauseOptions, 'progress'>>;
