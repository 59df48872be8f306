/**
 * One trial, in a process of its own (so that a fault that takes down the host in the native
 * configuration ends this process, not the campaign): attach the application's devices in the
 * trial's configuration, run it with the fault, and send back what it observed.
 */
import { createRuntime } from 'shadow-drivers';
import { mulberry32 } from '../faults/schedule.js';
import { createMutantDriver, type MutantDriver } from '../mutation/mutant-driver.js';
import { builtInDriver } from '../mutation/mutant-driver.js';
import type { DriverSpec } from 'shadow-drivers';
import type { FailureEvent, RecoveryEvent } from 'shadow-drivers';
import { campaignApps } from './apps/index.js';
import { deviceScenarios } from './device/index.js';
import { Soak } from './soak.js';
import type { AppContext } from './apps/context.js';
import { NotRunnable, type TrialResult, type TrialSpec } from './types.js';

/**
 * What the runner sends: the mutation and the faults injected as soon as they are known (a
 * trial that crashes keeps them), then what the application saw.
 */
export type RunnerMessage = Partial<Pick<TrialResult, 'app' | 'recoveries' | 'failures' | 'mutation' | 'faults' | 'soak'>> & { mutantDir?: string };

const describe = (m: MutantDriver) => `${m.mutation.file}:${m.mutation.line}: ${m.mutation.operator}, ${m.mutation.description}`;

async function main(): Promise<void> {
  // A pulse the trial's parent listens for: when it stops, the host stopped making progress.
  // It carries the failures detected so far: a trial that misses its deadline still tells a
  // host that hung unseen from one that kept detecting and recovering failures, only too slowly.
  let failures = 0;
  setInterval(() => process.send?.({ failures }), 250).unref();
  const spec = JSON.parse(process.argv[2]!) as TrialSpec;
  const app = spec.fault.type === 'device' ? deviceScenarios[spec.fault.kind] : campaignApps[spec.app];
  if (!app) throw new Error(`no campaign application ${spec.app}`);
  const rt = createRuntime({ faultInjection: true });
  const recoveries: RunnerMessage['recoveries'] = [];
  const faultTimes: number[] = [];
  let soak: Soak | undefined;
  rt.manager.on('recovery', (e: RecoveryEvent) => {
    const fault = spec.fault.type === 'fail-stop' ? spec.fault.kind : soak?.lastKind;
    recoveries.push({ cause: e.cause, totalMs: e.totalMs, ...(fault ? { fault } : {}) });
  });
  rt.manager.on('failure', (e: FailureEvent) => {
    if (e.duringRecovery) return;
    failures++;
    // A mutant's fault has no moment of injection: its windows start when each failure is detected.
    if (spec.fault.type === 'mutation') faultTimes.push(Date.now());
  });
  let target: string | undefined;
  let mutant: MutantDriver | undefined;
  let injected = false;
  let faults = 0;
  const counted = (n: number) => { faults = n; faultTimes.push(Date.now()); process.send!({ faults }); }; // faults injected now
  const context: AppContext = {
    rt,
    random: mulberry32(spec.seed),
    faultTimes,
    ...(spec.fault.type === 'soak' ? { scale: spec.fault.scale } : {}),
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
          const manifest = builtInDriver(className, base.driver);
          mutant = createMutantDriver(manifest.module, spec.fault.seed);
          process.send!({ mutation: describe(mutant), mutantDir: mutant.dir }); // known even if the trial never ends
          // The mutant under the original's manifest: its resources, and what its sandbox allows
          // (a native driver's addon and packages; without them it could not even load).
          const mutantName = `${manifest.name}-mutant-${spec.fault.seed}`;
          rt.registerDriver({ ...manifest, name: mutantName, module: mutant.url });
          out.resources = manifest.resources?.(config) ?? [];
          out.driver = mutantName;
          // Transient: the fault is in this loaded driver only; standby and recovery load the original.
          if (spec.fault.transient) out.fallbackDriver = base.driver;
          faults = 1; // the mutant driver is the fault; it has no moment of injection
          process.send!({ faults });
        }
        // A soak's faults are transient by construction, one after each recovery: the restart
        // budget (made to give up drivers that fail on every request) is not what it measures.
        if (spec.fault.type === 'soak') out.restart = { intensity: 1000, periodMs: 1000, stableAfterMs: 0 };
      }
      return out;
    },
    async inject() {
      if (injected || !target) return;
      if (spec.fault.type === 'fail-stop') {
        injected = true;
        rt.inject(target, { kind: spec.fault.kind });
        counted(1);
      } else if (spec.fault.type === 'soak') {
        injected = true;
        const device = target;
        soak = new Soak({ device, inject: (fault) => rt.inject(device, fault), events: rt.manager }, {
          random: mulberry32(spec.seed ^ 0x50a4), intervalMs: spec.fault.intervalMs, onInject: counted,
        });
        soak.start();
      } else if (spec.fault.type === 'device') {
        injected = true; // the scenario now makes its device misbehave
        counted(1);
      } else return;
      for (let i = 0; i < 2; i++) await new Promise((r) => setImmediate(r));
    },
  };
  try {
    let report;
    try {
      report = await app.run(context);
    } catch (err) {
      report = err instanceof NotRunnable
        ? { finished: false, errors: 0, verified: false, notRun: err.message, detail: `not run: ${err.message}` }
        // The application stopped on an error it could not get past (a device that never attached).
        : { finished: false, errors: 1, verified: false, detail: `the application stopped: ${(err as Error).message}` };
    }
    const soakCount = await soak?.stop();
    const message: RunnerMessage = {
      app: report, recoveries, failures, faults, ...(mutant ? { mutation: describe(mutant) } : {}), ...(soakCount ? { soak: soakCount } : {}),
    };
    process.send!(message);
  } finally {
    await soak?.stop();
    mutant?.remove();
    await rt.close();
  }
}

main().then(() => process.exit(0), (err: unknown) => {
  process.stderr.write(`trial failed: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(3);
});
