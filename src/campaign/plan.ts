/**
 * Which trials a campaign runs, as data. Fail-stop: every application × configuration × fault
 * kind, one fault per trial. Soak: per application, faults again and again into the running
 * driver under the shadow (and a few under restart-only recovery, for contrast) while a longer
 * workload runs. Mutation: per application, seeds under the shadow configuration. `--quick` runs
 * every registered application with a bounded number of trials each, so that CI stays short.
 */
import { faultKinds, type FaultKind } from '../faults/fault-kinds.js';
import { campaignApps } from './apps/index.js';
import { deviceScenarios } from './device/index.js';
import type { Configuration, FaultPlan, TrialSpec } from './types.js';

export interface PlanSizes {
  apps: number;
  deviceScenarios: number;
  failStopKinds: number;
  failStopRepeats: number;
  soakShadow: number;
  soakRestart: number;
  soakScale: number;
  soakIntervalMs: [number, number];
  mutationsPerApp: number;
}

export interface CampaignPlan {
  quick: boolean;
  trials: TrialSpec[];
  /** Deadline of a one-fault trial; a soak trial's grows with its scale (see `trialDeadline`). */
  deadlineMs: number;
  sizes: PlanSizes;
}

export interface PlanOptions {
  quick: boolean;
  apps?: string[];
  mutationsPerApp?: number;
  repeats?: number;
  /** Soak trials per application under the shadow. */
  soaks?: number;
}

export const configurationsOrder: readonly Configuration[] = ['native', 'restart', 'shadow'];

/**
 * The quick plan's kinds: every application gets `exit`; one on virtual devices also gets one of
 * the others, in turn (an application of real tools gets `exit` alone, and no mutation).
 */
const QUICK_FIRST: FaultKind = 'exit';
const QUICK_SECOND: FaultKind[] = ['throw', 'busy-loop', 'contract'];

/**
 * The full plan's soak, sized on this machine (2 cores, shared with other work, load 4–7): one
 * shadow soak per application at scale 40 injected 234–281 faults in all (dataset 11–36, bank
 * 21–41, frames 38–39, stream 164–165; count-bound workloads last longer, and see more faults,
 * on a busier machine) in about 130 trial-seconds, so 200 soak trials shared among the
 * applications inject about 12,000 faults, with the fail-stop and mutation trials' near 13,000:
 * about 2.6 hours of trials one at a time, about 90 minutes with `--jobs 2` (2.0× the faults
 * per second, same outcomes, recovery p90 79 → 148 ms).
 */
export const FULL_SOAK = { trials: 200, restartPerApp: 1, scale: 40 } as const;
const QUICK_SOAK = { trials: 0, perApp: 1, restartPerApp: 0, scale: 3 } as const;
const SOAK_INTERVAL_MS: [number, number] = [100, 300];

export function campaignPlan(options: PlanOptions): CampaignPlan {
  const apps = (options.apps ?? Object.keys(campaignApps)).filter((name) => !(name in deviceScenarios));
  const devices = (options.apps ?? Object.keys(deviceScenarios).filter((name) => !(options.quick && deviceScenarios[name]!.notQuick)))
    .filter((name) => name in deviceScenarios);
  const quick = options.quick;
  const repeats = options.repeats ?? (quick ? 1 : 3);
  const mutations = options.mutationsPerApp ?? (quick ? 2 : 150);
  const soak = quick ? QUICK_SOAK : FULL_SOAK;
  const soaks = options.soaks ?? (quick ? QUICK_SOAK.perApp : Math.ceil(FULL_SOAK.trials / Math.max(1, apps.length)));
  const trials: TrialSpec[] = [];
  const lightApps = apps.filter((app) => !campaignApps[app]?.realTools);
  for (const app of apps) {
    const light = !campaignApps[app]?.realTools;
    const turn = lightApps.indexOf(app);
    const kinds = !quick ? [...faultKinds] : light ? [QUICK_FIRST, QUICK_SECOND[turn % QUICK_SECOND.length]!] : [QUICK_FIRST];
    for (const configuration of configurationsOrder) {
      for (const kind of kinds) {
        for (let r = 0; r < repeats; r++) {
          trials.push({ id: `${app}/${configuration}/fail-stop/${kind}/${r}`, app, configuration, fault: { type: 'fail-stop', kind }, seed: 1000 + r });
        }
      }
    }
    const soakFault: FaultPlan = { type: 'soak', scale: soak.scale, intervalMs: SOAK_INTERVAL_MS };
    // Quick: no soak for an application of real tools either (its soaks run in the full plan).
    for (const [configuration, n] of [['shadow', quick && !light ? 0 : soaks], ['restart', soak.restartPerApp]] as const) {
      for (let r = 0; r < n; r++) {
        trials.push({ id: `${app}/${configuration}/soak/${r}`, app, configuration, fault: soakFault, seed: 2000 + r });
      }
    }
    for (let seed = 1; seed <= (quick && !light ? 0 : mutations); seed++) {
      trials.push({ id: `${app}/shadow/mutation/${seed}`, app, configuration: 'shadow', fault: { type: 'mutation', seed }, seed });
    }
  }
  // Device-level faults: every configuration (quick: the shadow only), as many repeats as fail-stop faults.
  for (const name of devices) {
    for (const configuration of quick ? (['shadow'] as const) : configurationsOrder) {
      for (let r = 0; r < repeats; r++) {
        trials.push({ id: `${name}/${configuration}/device/${r}`, app: name, configuration, fault: { type: 'device', kind: name }, seed: 3000 + r });
      }
    }
  }
  return {
    quick, trials, deadlineMs: 90_000,
    sizes: {
      apps: apps.length, deviceScenarios: devices.length, failStopKinds: quick ? 2 : faultKinds.length, failStopRepeats: repeats, soakShadow: soaks,
      soakRestart: soak.restartPerApp, soakScale: soak.scale, soakIntervalMs: SOAK_INTERVAL_MS, mutationsPerApp: mutations,
    },
  };
}

/** A trial's deadline: a soak's workload is `scale` times longer, and so is its allowance. */
export function trialDeadline(plan: Pick<CampaignPlan, 'deadlineMs'>, spec: TrialSpec): number {
  return spec.fault.type === 'soak' ? plan.deadlineMs + spec.fault.scale * 5_000 : plan.deadlineMs;
}
