/**
 * Which trials a campaign runs, as data. Fail-stop: every application × configuration × fault
 * kind, one fault per trial. Soak: per application, faults again and again into the running
 * driver under the shadow (and a few under restart-only recovery, for contrast) while a longer
 * workload runs. Mutation: per application, seeds under the shadow configuration. `--quick` runs
 * every registered application with a bounded number of trials each, so that CI stays short.
 *
 * Sizes come in two tiers: applications on the project's virtual devices (a trial takes 1–3 s)
 * and applications of real tools (mkfs and a kernel mount, a PulseAudio server, namespaces: a
 * trial takes 5–60 s). The full plan gives the first tier the repeats, soaks and mutants its
 * goals need, and the second what fits in one sitting (see `FULL`).
 */
import { allFaultKinds, faultKinds, type FaultKind } from 'shadow-drivers';
import { campaignApps } from './apps/index.js';
import { deviceScenarios } from './device/index.js';
import type { Configuration, FaultPlan, TrialSpec } from './types.js';

/** How many trials of each part one application gets, and how long one may take. */
export interface TierSizes {
  failStopRepeats: number;
  soakShadow: number;
  soakRestart: number;
  /** A soak's workload is this many times the application's usual one. */
  soakScale: number;
  /** Mutants whose fault is in the driver's file (every restart loads it again). */
  mutationsPerApp: number;
  /** Mutants whose fault is in the loaded driver only (the paper's method; recovery loads the original). */
  transientMutationsPerApp: number;
  /** Deadline of a one-fault trial (no result by then: a hang); a soak's grows with its scale. */
  deadlineMs: number;
}

export type Tier = 'virtual' | 'realTools';

export interface PlanSizes {
  apps: number;
  realToolApps: number;
  deviceScenarios: number;
  deviceRepeats: number;
  failStopKinds: number;
  soakIntervalMs: [number, number];
  tiers: Record<Tier, TierSizes>;
  /** Applications given FULL_CLASS_ALONE's mutants instead of their tier's. */
  classAlone?: { apps: string[]; transientMutationsPerApp: number; mutationsPerApp: number };
}

export interface CampaignPlan {
  quick: boolean;
  trials: TrialSpec[];
  /** The longest deadline of a one-fault trial (see `trialDeadline` for each trial's). */
  deadlineMs: number;
  sizes: PlanSizes;
}

/** The parts of a plan a run can keep (`--only`): a mutation trial is `mutation-transient` or `mutation`. */
export const trialParts = ['fail-stop', 'soak', 'mutation-transient', 'mutation', 'device'] as const;
export type TrialPart = (typeof trialParts)[number];

export const partOf = (spec: TrialSpec): TrialPart =>
  spec.fault.type === 'mutation' ? (spec.fault.transient ? 'mutation-transient' : 'mutation') : spec.fault.type as TrialPart;

export interface PlanOptions {
  quick: boolean;
  apps?: string[];
  /** Keep only these parts of the plan (every part when unset). */
  only?: TrialPart[];
  /** Overrides both tiers, both kinds of mutant. */
  mutationsPerApp?: number;
  repeats?: number;
  /** Soak trials per application under the shadow (both tiers). */
  soaks?: number;
}

export const configurationsOrder: readonly Configuration[] = ['native', 'restart', 'shadow'];

/**
 * The quick plan's kinds: every application gets `exit`; one on virtual devices also gets one of
 * the others, in turn (an application of real tools gets `exit` alone, and no mutation).
 */
const QUICK_FIRST: FaultKind = 'exit';
const QUICK_SECOND: FaultKind[] = ['throw', 'busy-loop', 'contract'];
/** The quick plan's second kind for an application whose driver is native code. */
const QUICK_NATIVE: FaultKind = 'segfault';

/**
 * The full plan's mutants for a real-tools application whose class no virtual-tier application
 * runs (serial: its drivers are the unmodified serialport binding and the virtual port, and
 * only the applications of real tools exercise them). The real-tools tier's 2 transient mutants
 * lean on the virtual tier to mutate the shared block, net and sound drivers; nothing mutates a
 * serial driver otherwise. A serial trial takes 5 to 25 s: 20 transient mutants (the paper's
 * method) and 4 persistent ones per application fit in about half an hour for the three of them.
 */
export const FULL_CLASS_ALONE = { transientMutationsPerApp: 20, mutationsPerApp: 4 } as const;

const REAL_DEADLINE_MS = 90_000;
const VIRTUAL_DEADLINE_MS = 45_000;

/**
 * The full plan, sized on this machine (2 cores, `--jobs 2`):
 * - virtual devices: every fault kind 3 times per configuration; 42 shadow soaks at scale 40
 *   (one injects 10–160 faults in 8–40 s: dataset 14, bank 17, frames 32, stream about 160;
 *   they carry the 10,000-fault goal); 320 transient mutants (the paper's method), of which
 *   32–37% manifest (dataset 93 and bank 81 of 250), for the goal of 100 manifested per
 *   application, and 40 persistent ones (they end alike: quarantine, giving up, never starting);
 * - real tools: every fault kind 3 times per configuration (the paper's table, each cell of it
 *   30 trials; about 8 s a trial, so 900 of them for its ten rows) and 2 transient mutants (no
 *   soak: what they add is the drivers the virtual tier does not run, pulse and tap, and the real
 *   tools) (their mutants are the same drivers' as the virtual tier's of the same class:
 *   block, net and sound drivers are shared, only the application and the device differ).
 */
export const FULL: Record<Tier, TierSizes> = {
  virtual: { failStopRepeats: 3, soakShadow: 42, soakRestart: 1, soakScale: 40, transientMutationsPerApp: 320, mutationsPerApp: 40, deadlineMs: VIRTUAL_DEADLINE_MS },
  realTools: { failStopRepeats: 3, soakShadow: 0, soakRestart: 0, soakScale: 4, transientMutationsPerApp: 2, mutationsPerApp: 0, deadlineMs: REAL_DEADLINE_MS },
};
const QUICK: Record<Tier, TierSizes> = {
  virtual: { failStopRepeats: 1, soakShadow: 1, soakRestart: 0, soakScale: 3, transientMutationsPerApp: 1, mutationsPerApp: 1, deadlineMs: VIRTUAL_DEADLINE_MS },
  // Quick: exit in the three configurations only; their soaks and mutants run in the full plan.
  realTools: { failStopRepeats: 1, soakShadow: 0, soakRestart: 0, soakScale: 3, transientMutationsPerApp: 0, mutationsPerApp: 0, deadlineMs: REAL_DEADLINE_MS },
};
const SOAK_INTERVAL_MS: [number, number] = [100, 300];
const FULL_DEVICE_REPEATS = 2;

/** A device scenario runs real tools (nbdkit, TAPs, PulseAudio). */
export const tierOf = (app: string): Tier => (app in deviceScenarios || campaignApps[app]?.realTools ? 'realTools' : 'virtual');

function sized(options: PlanOptions): Record<Tier, TierSizes> {
  const base = options.quick ? QUICK : FULL;
  const over = (t: TierSizes): TierSizes => ({
    ...t,
    ...(options.repeats !== undefined ? { failStopRepeats: options.repeats } : {}),
    ...(options.soaks !== undefined ? { soakShadow: options.soaks } : {}),
    ...(options.mutationsPerApp !== undefined ? { mutationsPerApp: options.mutationsPerApp, transientMutationsPerApp: options.mutationsPerApp } : {}),
  });
  return { virtual: over(base.virtual), realTools: over(base.realTools) };
}

/** Classes whose drivers an application of the virtual tier runs (and so mutates in the full plan). */
const virtualClasses = () => new Set(Object.values(campaignApps).filter((a) => !a.realTools).map((a) => a.className));

/** An application's mutants: its tier's, or in the full plan FULL_CLASS_ALONE for a class nothing else mutates. */
function mutantsOf(app: string, tier: TierSizes, options: PlanOptions): Pick<TierSizes, 'transientMutationsPerApp' | 'mutationsPerApp'> {
  const cls = campaignApps[app]?.className;
  const alone = !options.quick && options.mutationsPerApp === undefined && tierOf(app) === 'realTools' && cls !== undefined && !virtualClasses().has(cls);
  return alone ? FULL_CLASS_ALONE : tier;
}

export function campaignPlan(options: PlanOptions): CampaignPlan {
  const apps = (options.apps ?? Object.keys(campaignApps)).filter((name) => !(name in deviceScenarios));
  const devices = (options.apps ?? Object.keys(deviceScenarios).filter((name) => !(options.quick && deviceScenarios[name]!.notQuick)))
    .filter((name) => name in deviceScenarios);
  const quick = options.quick;
  const tiers = sized(options);
  const trials: TrialSpec[] = [];
  const virtualApps = apps.filter((app) => tierOf(app) === 'virtual');
  for (const app of apps) {
    const tier = tiers[tierOf(app)];
    const turn = virtualApps.indexOf(app);
    const native = campaignApps[app]?.nativeCode === true;
    // A native-code driver runs in a process domain and has one more kind: a real SIGSEGV.
    const kinds = !quick ? [...(native ? allFaultKinds : faultKinds)]
      : native ? [QUICK_FIRST, QUICK_NATIVE] : turn >= 0 ? [QUICK_FIRST, QUICK_SECOND[turn % QUICK_SECOND.length]!] : [QUICK_FIRST];
    for (const configuration of configurationsOrder) {
      for (const kind of kinds) {
        for (let r = 0; r < tier.failStopRepeats; r++) {
          trials.push({ id: `${app}/${configuration}/fail-stop/${kind}/${r}`, app, configuration, fault: { type: 'fail-stop', kind }, seed: 1000 + r });
        }
      }
    }
    const soakFault: FaultPlan = { type: 'soak', scale: tier.soakScale, intervalMs: SOAK_INTERVAL_MS };
    for (const [configuration, n] of [['shadow', tier.soakShadow], ['restart', tier.soakRestart]] as const) {
      for (let r = 0; r < n; r++) {
        trials.push({ id: `${app}/${configuration}/soak/${r}`, app, configuration, fault: soakFault, seed: 2000 + r });
      }
    }
    const mutants = mutantsOf(app, tier, options);
    for (let seed = 1; seed <= mutants.transientMutationsPerApp; seed++) {
      trials.push({ id: `${app}/shadow/mutation-transient/${seed}`, app, configuration: 'shadow', fault: { type: 'mutation', seed, transient: true }, seed });
    }
    for (let seed = 1; seed <= mutants.mutationsPerApp; seed++) {
      trials.push({ id: `${app}/shadow/mutation/${seed}`, app, configuration: 'shadow', fault: { type: 'mutation', seed }, seed });
    }
  }
  // Device-level faults: every configuration (quick: the shadow only, once).
  const deviceRepeats = quick ? 1 : options.repeats ?? FULL_DEVICE_REPEATS;
  for (const name of devices) {
    for (const configuration of quick ? (['shadow'] as const) : configurationsOrder) {
      for (let r = 0; r < deviceRepeats; r++) {
        trials.push({ id: `${name}/${configuration}/device/${r}`, app: name, configuration, fault: { type: 'device', kind: name }, seed: 3000 + r });
      }
    }
  }
  const alone = apps.filter((app) => mutantsOf(app, tiers[tierOf(app)], options) === FULL_CLASS_ALONE);
  const only = options.only ? new Set<TrialPart>(options.only) : undefined;
  return {
    quick, trials: only ? trials.filter((t) => only.has(partOf(t))) : trials, deadlineMs: Math.max(tiers.virtual.deadlineMs, tiers.realTools.deadlineMs),
    sizes: {
      apps: apps.length, realToolApps: apps.length - virtualApps.length, deviceScenarios: devices.length, deviceRepeats,
      failStopKinds: quick ? 2 : faultKinds.length, soakIntervalMs: SOAK_INTERVAL_MS, tiers,
      ...(alone.length ? { classAlone: { apps: alone, ...FULL_CLASS_ALONE } } : {}),
    },
  };
}

/** A trial's deadline: its tier's; a soak's workload is `scale` times longer, and so is its allowance. */
export function trialDeadline(plan: Pick<CampaignPlan, 'sizes'>, spec: TrialSpec): number {
  const base = plan.sizes.tiers[tierOf(spec.app)].deadlineMs;
  return spec.fault.type === 'soak' ? base + spec.fault.scale * 5_000 : base;
}
