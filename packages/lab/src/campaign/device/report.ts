/**
 * The report's section on device-level faults: per scenario, what happened to the device, what
 * the class contract says should happen, and per configuration how many trials saw exactly
 * that; then one line per configuration of how it was handled (the first trial's account).
 */
import { configurationsOrder } from '../plan.js';
import type { TrialResult } from '../types.js';
import { deviceScenarios } from './index.js';

export function deviceSection(results: TrialResult[]): string[] {
  const device = results.filter((r) => r.spec.fault.type === 'device');
  if (device.length === 0) return ['No device-level fault trials in this run.'];
  const lines = [
    'Faults of the device itself, not of its driver: a trial is **ok** when the application saw what the',
    'class contract says it should (the device\'s own errors reach it as such; a stall is waited out) and its',
    'output verified.',
    '',
    '| scenario | the device | expected | native | restart | shadow |',
    '|---|---|---|---|---|---|',
  ];
  const handled: string[] = [];
  for (const scenario of Object.values(deviceScenarios)) {
    const rs = device.filter((r) => r.spec.app === scenario.name);
    if (rs.length === 0) continue;
    const cells = configurationsOrder.map((c) => {
      const of = rs.filter((r) => r.spec.configuration === c);
      return of.length === 0 ? '–' : `${of.filter((r) => r.outcome === 'ok').length} of ${of.length} ok`;
    });
    lines.push(`| ${scenario.name} | ${scenario.fault} | ${scenario.expected} | ${cells.join(' | ')} |`);
    for (const c of configurationsOrder) {
      const first = rs.find((r) => r.spec.configuration === c);
      if (first) handled.push(`- ${scenario.name}, ${c}: ${first.outcome} — ${first.cause}`);
    }
  }
  return [...lines, '', 'How each was handled (the first trial of each configuration):', '', ...handled];
}
