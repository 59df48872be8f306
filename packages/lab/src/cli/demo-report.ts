/**
 * The demo's final report: one column per disk (the checksummed data sets and the
 * applications on their own disks) and a total, then what each application verified, the
 * network's streams, the sound streams with the audio gap of each recovery, then the verdict.
 */
import type { FailureKind } from 'shadow-drivers';
import { faultKinds } from 'shadow-drivers';
import type { ScheduleStats } from '../faults/schedule.js';
import type { RecoveryEvent } from 'shadow-drivers';
import type { NetReport, NicReport } from './demo-apps/net-app.js';
import type { SoundReport, SoundStreamReport } from './demo-apps/sound-app.js';
import type { BlockStats, DomainKind } from 'shadow-drivers';
import type { DatasetStats } from '../apps/checksummed-dataset.js';
import type { AppOutcome } from './demo-apps/app.js';

/** What the demo reports of every disk, whatever runs on it. */
export interface DiskReport {
  device: string;
  driver: string;
  faults: ScheduleStats;
  /** Every recovery of the device (injected faults and any other failure), in order. */
  recoveries: RecoveryEvent[];
  /** Failures the runtime detected, by how it detected them. */
  failures: Partial<Record<FailureKind, number>>;
  /** The BlockDevice the application held from the start is still the kernel's device face. */
  sameObject: boolean;
  gaveUp: string | undefined;
}

/** A disk with a checksummed data set. */
export interface DeviceReport extends DiskReport {
  app: DatasetStats;
}

/** A disk with an application of its own (the database, the ext4 filesystem). */
export interface AppReport extends DiskReport {
  title: string;
  outcome: AppOutcome;
  /** The device's own request counts at the end. */
  requests: BlockStats;
}

export interface DemoResult {
  domain: DomainKind;
  seed: number;
  elapsedMs: number;
  devices: DeviceReport[];
  apps: AppReport[];
  /** The switch of virtual NICs and the frame streams across it. */
  network: NetReport;
  /** The stream played and the stream captured on virtual sound cards. */
  sound: SoundReport;
  /** Applications that could not run on this machine, and why. */
  skipped: { title: string; reason: string }[];
  /** Why the run failed; empty when it passed. */
  verdict: string[];
}

/** What every column shows, whatever runs on the disk. */
interface Column {
  heading: string;
  faults: ScheduleStats;
  recoveries: RecoveryEvent[];
  failures: Partial<Record<FailureKind, number>>;
  errors: number;
  requests: { reads: number; writes: number; flushes: number };
  sameObject: boolean;
  dataset?: DeviceReport['app'];
}

function columns(result: DemoResult): Column[] {
  return [
    ...result.devices.map((d): Column => ({ ...d, heading: `${d.device} (${d.driver})`, errors: d.app.errors, requests: d.app, dataset: d.app })),
    ...result.apps.map((a): Column => ({ ...a, heading: `${a.device} (${a.driver}, ${a.title})`, errors: a.outcome.errors })),
  ];
}

export function renderReport(result: DemoResult): string {
  const cols = columns(result);
  const sum = (f: (c: Column) => number) => cols.reduce((n, c) => n + f(c), 0);
  const times = (c: Column) => c.recoveries.map((e) => e.totalMs);
  const all = cols.flatMap(times);
  const rows: [string, ...string[]][] = [['', ...cols.map((c) => c.heading), 'total']];
  const row = (label: string, f: (c: Column) => number | string, total: number | string) =>
    rows.push([label, ...cols.map((c) => String(f(c))), String(total)]);
  const data = (f: (d: DeviceReport['app']) => number | string) => (c: Column) => (c.dataset ? f(c.dataset) : '-');
  const dataSum = (f: (d: DeviceReport['app']) => number) => sum((c) => (c.dataset ? f(c.dataset) : 0));
  row('faults injected', (c) => c.faults.total, sum((c) => c.faults.total));
  for (const kind of faultKinds) {
    const n = (c: Column) => c.faults.injected[kind] ?? 0;
    if (sum(n) > 0) row(`  ${kind}`, n, sum(n));
  }
  row('faults followed by recovery', (c) => c.faults.recovered, sum((c) => c.faults.recovered));
  const detected = (c: Column) => Object.values(c.failures).reduce((a, b) => a + b, 0);
  row('failures detected', detected, sum(detected));
  for (const kind of new Set(cols.flatMap((c) => Object.keys(c.failures) as FailureKind[]))) {
    const n = (c: Column) => c.failures[kind] ?? 0;
    row(`  as ${kind}`, n, sum(n));
  }
  row('recoveries', (c) => c.recoveries.length, sum((c) => c.recoveries.length));
  const warm = (c: Column) => c.recoveries.filter((e) => e.warmStandby).length;
  row('  from a warm standby', warm, sum(warm));
  row('application-visible errors', (c) => c.errors, sum((c) => c.errors));
  row('requests (read/write/flush)', (c) => `${c.requests.reads}/${c.requests.writes}/${c.requests.flushes}`,
    `${sum((c) => c.requests.reads)}/${sum((c) => c.requests.writes)}/${sum((c) => c.requests.flushes)}`);
  row('blocks verified', data((d) => d.blocksVerified), dataSum((d) => d.blocksVerified));
  row('bytes verified', data((d) => mib(d.bytesVerified)), mib(dataSum((d) => d.bytesVerified)));
  row('mismatches', data((d) => d.mismatches), dataSum((d) => d.mismatches));
  row('recovery p50 (ms)', (c) => ms(percentile(times(c), 50)), ms(percentile(all, 50)));
  row('recovery p99 (ms)', (c) => ms(percentile(times(c), 99)), ms(percentile(all, 99)));
  row('same device object (===)', (c) => (c.sameObject ? 'yes' : 'NO'), cols.every((c) => c.sameObject) ? 'yes' : 'NO');
  const lines = table(rows);
  const head = `shadow-lab demo: ${result.domain} domains, ${(result.elapsedMs / 1000).toFixed(1)} s, seed ${result.seed}`;
  const verified = ['every block', ...result.apps.map((a) => (a.title === 'database' ? 'transfer' : 'file'))];
  const underLoad = result.sound.streams.reduce((n, st) => n + st.gapsUnderLoad, 0);
  const verdict = result.verdict.length === 0
    ? `PASS: no application saw an error, ${verified.join(', ').replace(/, ([^,]*)$/, ' and $1')} verified, no frame lost or reordered `
      + 'outside recovery windows, every audio frame played once and in order, no audio gap outside a recovery window that a stall of '
      + `the host does not explain${underLoad ? ` (${underLoad} explained by the machine's load, shown above)` : ''}, every fault recovered; `
      + 'the device objects never changed. (PASS requires all of these; any one missing is a FAIL line naming it.)'
    : `FAIL:\n${result.verdict.map((v) => `  - ${v}`).join('\n')}`;
  const slowest = cols.flatMap((c, i) => (c.recoveries.length > 0 ? [`  ${deviceOf(result, i)}: ${describeSlowest(c.recoveries)}`] : []));
  const slow = slowest.length > 0 ? `\nslowest recovery, by phase:\n${slowest.join('\n')}\n` : '';
  return `${head}\n\n${lines.join('\n')}\n${renderApps(result)}${renderNetwork(result.network)}${renderSound(result.sound)}${slow}\n${verdict}\n`;
}

/** Cells padded to their column: the first left-aligned, the others right-aligned. */
function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  '));
}

/** The NICs behind the switch, and every stream of frames across it. */
function renderNetwork(net: NetReport): string {
  const nics: string[][] = [['', ...net.nics.map((n) => `${n.device} (virtual)`), 'total']];
  const row = (label: string, f: (n: NicReport) => number | string, total: number | string) =>
    nics.push([label, ...net.nics.map((n) => String(f(n))), String(total)]);
  const sum = (f: (n: NicReport) => number) => net.nics.reduce((t, n) => t + f(n), 0);
  const times = (n: NicReport) => n.recoveries.map((e) => e.totalMs);
  row('faults injected', (n) => n.faults.total, sum((n) => n.faults.total));
  row('faults followed by recovery', (n) => n.faults.recovered, sum((n) => n.faults.recovered));
  row('recoveries', (n) => n.recoveries.length, sum((n) => n.recoveries.length));
  row('frames received/sent (received counts frames the switch flooded to every port)', (n) => `${n.stats.rxFrames}/${n.stats.txFrames}`, `${sum((n) => n.stats.rxFrames)}/${sum((n) => n.stats.txFrames)}`);
  row('  in flight at a failure', (n) => n.queue.indeterminate, sum((n) => n.queue.indeterminate));
  row('recovery p50 (ms)', (n) => ms(percentile(times(n), 50)), ms(percentile(net.nics.flatMap(times), 50)));
  row('recovery p99 (ms)', (n) => ms(percentile(times(n), 99)), ms(percentile(net.nics.flatMap(times), 99)));
  row('same device object (===)', (n) => (n.sameObject ? 'yes' : 'NO'), net.nics.every((n) => n.sameObject) ? 'yes' : 'NO');
  const streams: string[][] = [['  stream', 'sent', 'received', 'lost in/outside windows', 'reordered in/outside', 'duplicates']];
  for (const s of net.streams) {
    streams.push([`  ${s.from} -> ${s.to}`, String(s.sent), String(s.received), `${s.lost.inside}/${s.lost.outside}`,
      `${s.reordered.inside}/${s.reordered.outside}`, String(s.duplicates)]);
  }
  return `\nnetwork: ${net.nics.length} virtual NICs on the kernel's learning switch, sequence-numbered frames between their hosts:\n`
    + `${table(nics).join('\n')}\n\n${table(streams).join('\n')}\n`;
}

/** The played and the captured stream: frames checked, and the audio gaps, overall and per recovery. */
function renderSound(sound: SoundReport): string {
  const all = sound.streams;
  const rows: string[][] = [['', ...all.map((s) => `${s.device} (virtual, ${s.direction})`), 'total']];
  const row = (label: string, f: (s: SoundStreamReport) => number | string, total: number | string) =>
    rows.push([label, ...all.map((s) => String(f(s))), String(total)]);
  const sum = (f: (s: SoundStreamReport) => number) => all.reduce((t, s) => t + f(s), 0);
  const gaps = all.flatMap((s) => s.gapsMs);
  const times = (s: SoundStreamReport) => s.recoveries.map((e) => e.totalMs);
  row('faults injected', (s) => s.faults.total, sum((s) => s.faults.total));
  row('faults followed by recovery', (s) => s.faults.recovered, sum((s) => s.faults.recovered));
  row('recoveries', (s) => s.recoveries.length, sum((s) => s.recoveries.length));
  row('application-visible errors', (s) => s.errors, sum((s) => s.errors));
  row('frames played/captured', (s) => s.heard, sum((s) => s.heard));
  row('  duplicated', (s) => s.duplicated, sum((s) => s.duplicated));
  row('  out of order', (s) => s.outOfOrder, sum((s) => s.outOfOrder));
  row('gaps (silences heard, holes captured)', (s) => s.gapsMs.length, gaps.length);
  row('  outside recovery windows, the host stalled then (load)', (s) => s.gapsUnderLoad, sum((s) => s.gapsUnderLoad));
  row('  outside recovery windows, unexplained (fail)', (s) => s.gapsOutside, sum((s) => s.gapsOutside));
  row('  longest (ms)', (s) => ms(s.gapsMs.length ? Math.max(...s.gapsMs) : undefined), ms(gaps.length ? Math.max(...gaps) : undefined));
  row('  p50 (ms)', (s) => ms(percentile(s.gapsMs, 50)), ms(percentile(gaps, 50)));
  row('recovery p50 (ms)', (s) => ms(percentile(times(s), 50)), ms(percentile(all.flatMap(times), 50)));
  row('same device object (===)', (s) => (s.sameObject ? 'yes' : 'NO'), all.every((s) => s.sameObject) ? 'yes' : 'NO');
  const per = all.map((s) => `  ${s.device}: ${s.perRecovery.length === 0 ? 'no recovery'
    : s.perRecovery.map((r) => `${r.cause} ${ms(r.gapMs)}`).join(', ')}`);
  return `\nsound: a 48 kHz stereo stream played on one virtual card and another captured from a second, every frame checked:\n`
    + `${table(rows).join('\n')}\n\naudio gap per recovery (ms, by what failed):\n${per.join('\n')}\n`;
}

function deviceOf(result: DemoResult, column: number): string {
  return column < result.devices.length ? result.devices[column]!.device : result.apps[column - result.devices.length]!.device;
}

/** Each application's own account of what it did and verified. */
function renderApps(result: DemoResult): string {
  if (result.apps.length === 0 && result.skipped.length === 0) return '';
  const lines = ['', 'applications on their own disks:'];
  for (const a of result.apps as AppReport[]) {
    lines.push(`  ${a.title} on ${a.device} (${a.driver}): ${a.outcome.summary}`);
    const width = Math.max(0, ...a.outcome.checks.map((c) => c.name.length));
    for (const c of a.outcome.checks) {
      const status = (c.status === 'ok' ? 'ok' : c.status.toUpperCase()).padEnd(7);
      lines.push(`    ${c.name.padEnd(width)}  ${status}  ${c.detail.split('\n').join(`\n${' '.repeat(width + 15)}`)}`);
    }
  }
  for (const s of result.skipped) lines.push(`  ${s.title}: SKIPPED (${s.reason})`);
  return `${lines.join('\n')}\n`;
}

function describeSlowest(recoveries: RecoveryEvent[]): string {
  const e = recoveries.reduce((a, b) => (b.totalMs > a.totalMs ? b : a));
  const phases = Object.entries(e.phases).map(([phase, t]) => `${phase} ${ms(t)}`).join(', ');
  return `${ms(e.totalMs)} ms after ${e.cause}${e.call ? ` in ${e.call}` : ''} ` +
    `(${e.warmStandby ? 'warm standby' : 'cold start'}, ${e.attempts} attempt${e.attempts > 1 ? 's' : ''}): ${phases}`;
}

export function percentile(values: number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

const ms = (v: number | undefined) => (v === undefined ? '-' : v.toFixed(1));
const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
