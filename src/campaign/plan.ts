/**
 * Which trials a campaign runs. Fail-stop: every application × configuration × fault kind.
 * Mutation: per application, seeds under the shadow configuration. `--quick` is a subset that
 * runs in CI in a few minutes.
 */
import { faultKinds, type FaultKind } from '../faults/fault-kinds.js';
import { campaignApps } from './apps/index.js';
import type { Configuration, TrialSpec } from './types.js';

export interface CampaignPlan {
  quick: boolean;
  trials: TrialSpec[];
  deadlineMs: number;
}

export const configurationsOrder: readonly Configuration[] = ['native', 'restart', 'shadow'];

const QUICK_KINDS: FaultKind[] = ['exit', 'throw', 'busy-loop', 'contract'];

export function campaignPlan(options: { quick: boolean; apps?: string[]; mutationsPerApp?: number; repeats?: number }): CampaignPlan {
  const apps = options.apps ?? Object.keys(campaignApps);
  const kinds = options.quick ? QUICK_KINDS : [...faultKinds];
  const repeats = options.repeats ?? (options.quick ? 1 : 3);
  const mutations = options.mutationsPerApp ?? (options.quick ? 3 : 150);
  const trials: TrialSpec[] = [];
  for (const app of apps) {
    for (const configuration of configurationsOrder) {
      for (const kind of kinds) {
        for (let r = 0; r < repeats; r++) {
          trials.push({ id: `${app}/${configuration}/fail-stop/${kind}/${r}`, app, configuration, fault: { type: 'fail-stop', kind }, seed: 1000 + r });
        }
      }
    }
    for (let seed = 1; seed <= mutations; seed++) {
      trials.push({ id: `${app}/shadow/mutation/${seed}`, app, configuration: 'shadow', fault: { type: 'mutation', seed }, seed });
    }
  }
  return { quick: options.quick, trials, deadlineMs: 90_000 };
}
