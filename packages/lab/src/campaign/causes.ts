/**
 * Why the shadow did not recover a trial, in classes the report counts: what the application
 * and the runtime said (the trial's cause line) mapped to the paper's limits, as data. The
 * first rule that matches wins; what matches none is "other" and is listed for reading.
 */
import type { TrialResult } from './types.js';

export interface CauseClass { name: string; explains: string; matches: RegExp }

export const causeClasses: readonly CauseClass[] = [
  { name: 'never started', matches: /failed to start|never attached|init missed its deadline/,
    explains: 'the driver fails while it starts, every time (a deterministic fault at init): no restart can cure it, the device never attaches' },
  { name: 'poison request', matches: /SD_ERR_POISON_REQUEST|consecutive driver failures and was quarantined/,
    explains: 'a request kept killing the driver: quarantined after 3 failures and failed alone (a deterministic fault on a request)' },
  { name: 'given up', matches: /SD_ERR_GAVE_UP/,
    explains: 'the driver kept failing: its restart budget or its quarantines ran out and the device fails every call fast' },
  { name: 'indeterminate', matches: /SD_ERR_NOT_RESUBMITTED|is not idempotent and was in flight when the driver failed/,
    explains: 'a request that may have reached the device (a serial write the driver had announced) was in flight at the failure: never repeated, it failed with outcome indeterminate, and the application stopped on that error (the paper\'s limit on requests that are not idempotent)' },
  { name: 'too slow', matches: /served too slowly to finish/,
    explains: 'the driver kept failing and the shadow kept detecting and recovering it, but the application could not finish within its deadline (a degraded device, not a hang nobody saw)' },
  { name: 'host crash or hang', matches: /the host process|no result within|hang\)/,
    explains: 'the trial\'s host process died or stopped making progress' },
  { name: 'wrong answers', matches: /SD_ERR_IO|device error|differ|mismatch|not the source|out of order|of the source heard|frames received|ping -c/,
    explains: 'the driver answered, wrongly, or dropped what it should have passed (errors, data or silence the class contract cannot tell from a device\'s own)' },
];

export function causeOf(r: Pick<TrialResult, 'cause' | 'outcome'>): string {
  return causeClasses.find((c) => c.matches.test(r.cause))?.name ?? 'other';
}

/** Counts per application and cause class, as table lines for the report. */
export function causeTable(unrecovered: readonly TrialResult[]): string[] {
  if (unrecovered.length === 0) return [];
  const names = [...causeClasses.map((c) => c.name), 'other'];
  const apps = [...new Set(unrecovered.map((r) => r.spec.app))];
  const rows = apps.map((app) => {
    const mine = unrecovered.filter((r) => r.spec.app === app);
    return `| ${app} | ${names.map((n) => mine.filter((r) => causeOf(r) === n).length || '').join(' | ')} |`;
  });
  return [
    `| application | ${names.join(' | ')} |`,
    `|---|${names.map(() => '---:').join('|')}|`,
    ...rows,
    '',
    ...causeClasses.map((c) => `- **${c.name}**: ${c.explains}.`),
    '- **other**: none of these; read the case below.',
    '',
  ];
}
