/**
 * One trial, in a process of its own (so that a fault that takes down the host in the native
 * configuration ends this process, not the campaign): attach the application's devices in the
 * trial's configuration, run it with the fault, and send back what it observed.
 */
import { createRuntime } from '../runtime.js';
import { mulberry32 } from '../faults/schedule.js';
import { createMutantDriver, type MutantDriver } from '../faults/mutation/mutant-driver.js';
import { defaultResources, resolveDriver } from '../manager/driver-catalog.js';
import type { DriverSpec } from '../manager/shadow-manager.js';
import type { FailureEvent, RecoveryEvent } from '../observe/channels.js';
import { campaignApps } from './apps/index.js';
import type { AppContext } from './apps/context.js';
import type { TrialResult, TrialSpec } from './types.js';

/** What the runner sends: the mutation as soon as it is known, then what the application saw. */
export type RunnerMessage = Partial<Pick<TrialResult, 'app' | 'recoveries' | 'failures' | 'mutation'>> & { mutantDir?: string };

const describe = (m: MutantDriver) => `${m.mutation.file}:${m.mutation.line}: ${m.mutation.operator}, ${m.mutation.description}`;

async function main(): Promise<void> {
  // A pulse the trial's parent listens for: when it stops, the host stopped making progress.
  setInterval(() => process.send?.({}), 250).unref();
  const spec = JSON.parse(process.argv[2]!) as TrialSpec;
  const app = campaignApps[spec.app];
  if (!app) throw new Error(`no campaign application ${spec.app}`);
  const rt = createRuntime();
  const recoveries: RunnerMessage['recoveries'] = [];
  let failures = 0;
  rt.manager.on('recovery', (e: RecoveryEvent) => recoveries.push({ cause: e.cause, totalMs: e.totalMs }));
  rt.manager.on('failure', (e: FailureEvent) => { if (!e.duringRecovery) failures++; });
  let target: string | undefined;
  let mutant: MutantDriver | undefined;
  let injected = false;
  const context: AppContext = {
    rt,
    random: mulberry32(spec.seed),
    spec(name, base, isTarget = false) {
      const { className, ...rest } = base;
      const config = rest.config ?? {};
      const out: DriverSpec = {
        ...rest, name, className, recovery: spec.configuration, domain: spec.configuration === 'native' ? 'none' : 'worker',
        // The default restart policy: a driver that fails on every request is given up, not restarted forever.
        heartbeatMs: 50, heartbeatTimeoutMs: 500, deadlineScale: 0.5, warmStandby: spec.configuration !== 'native',
      };
      if (isTarget) {
        target = name;
        if (spec.fault.type === 'mutation') {
          mutant = createMutantDriver(resolveDriver(className, base.driver), spec.fault.seed);
          process.send!({ mutation: describe(mutant), mutantDir: mutant.dir }); // known even if the trial never ends
          out.resources = defaultResources(className, base.driver, config);
          out.driver = mutant.url;
        }
      }
      return out;
    },
    async inject() {
      if (injected || spec.fault.type !== 'fail-stop' || !target) return;
      injected = true;
      rt.inject(target, { kind: spec.fault.kind });
      for (let i = 0; i < 2; i++) await new Promise((r) => setImmediate(r));
    },
  };
  try {
    let report;
    try {
      report = await app.run(context);
    } catch (err) {
      // The application stopped on an error it could not get past (a device that never attached).
      report = { finished: false, errors: 1, verified: false, detail: `the application stopped: ${(err as Error).message}` };
    }
    const message: RunnerMessage = { app: report, recoveries, failures, ...(mutant ? { mutation: describe(mutant) } : {}) };
    process.send!(message);
  } finally {
    mutant?.remove();
    await rt.close();
  }
}

main().then(() => process.exit(0), (err: unknown) => {
  process.stderr.write(`trial failed: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(3);
});
