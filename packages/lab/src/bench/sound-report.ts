/**
 * The sound section of the benchmark report: CPU of a real-time stream per configuration,
 * and the audio gap of each recovery beside its recovery time.
 */
import { callsPerSecond, cpuIncrease, soundCpuIds, soundCpuLabel, totalPct, type SoundCpuCell, type SoundCpuId, type SoundCpuResult } from './sound-cpu.js';
import type { SoundGapOptions, SoundGapSeries } from './sound-gaps.js';
import { median, spread } from './stats.js';

export interface SoundResult {
  cpu: SoundCpuResult;
  gapOptions: Omit<SoundGapOptions, 'progress'>;
  gaps: SoundGapSeries[];
}

const RATE = 48000;
const f1 = (v: number) => (Number.isFinite(v) ? v.toFixed(1) : '–');
const signed = (v: number) => (Number.isFinite(v) ? `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(1)}` : '–');
const points = (r: { p25: number; median: number; p75: number }) =>
  (Number.isFinite(r.median) ? `${signed(r.median)} [${signed(r.p25)}…${signed(r.p75)}]` : '–');
const periodName = (frames: number) => `${frames} frames (${((frames * 1000) / RATE).toFixed(frames % 48 === 0 ? 0 : 1)} ms)`;

export function soundSection(sound: SoundResult): string {
  return [cpuSection(sound.cpu), gapSection(sound.gapOptions, sound.gaps)].join('\n');
}

function cpuRow(cell: SoundCpuCell, id: SoundCpuId): string {
  const s = cell.samples[id];
  const med = (pick: (x: (typeof s)[number]) => number) => median(s.map(pick));
  const calls = id === 'card' ? '–' : Math.round(callsPerSecond(cell, id)).toLocaleString('en-US');
  const child = id.endsWith('process') ? f1(med((x) => x.childPct)) : '–';
  return `| ${periodName(cell.periodFrames)} | ${soundCpuLabel(id)} | ${calls} | ${f1(med((x) => x.hostPct))} | ${child} ` +
    `| ${f1(med(totalPct))} | ${id === 'a' || id === 'card' ? '–' : points(cpuIncrease(cell, id, 'a'))} ` +
    `| ${id.startsWith('c-') ? points(cpuIncrease(cell, id, id.replace('c-', 'b-') as SoundCpuId)) : '–'} ` +
    `| ${id === 'card' ? '–' : points(cpuIncrease(cell, id, 'card'))} |`;
}

function cpuSection(cpu: SoundCpuResult): string {
  const { options, cells } = cpu;
  const relation = cells.map((cell) => {
    const over = (d: 'worker' | 'process') => `${signed(cpuIncrease(cell, `c-${d}`, 'a').median)} in a ${d} ` +
      `(of which the shadow, c − b, ${signed(cpuIncrease(cell, `c-${d}`, `b-${d}`).median)})`;
    const perCall = (d: 'worker' | 'process') =>
      `${((cpuIncrease(cell, `c-${d}`, 'a').median / 100 / callsPerSecond(cell, `c-${d}`)) * 1e6).toFixed(0)} µs`;
    return `at ${Math.round(callsPerSecond(cell, 'c-worker')).toLocaleString('en-US')} crossings/s (${periodName(cell.periodFrames)} ` +
      `periods) isolation and shadow together add ${over('worker')} and ${over('process')} points of one core over (a): ` +
      `${perCall('worker')} and ${perCall('process')} of CPU per crossing`;
  });
  return [
    '### Sound: CPU of a 48 kHz stereo stream played in real time (`virtual` card)',
    '',
    's16le, 2 channels, a 4,800-frame (100 ms) card buffer, written one period at a time by a player that ' +
      'keeps the buffer full (each write waits for room). Each measurement starts a fresh card and runtime ' +
      `with only that device, plays ${options.warmupMs} ms unmeasured, then ${options.durationMs} ms measured; ` +
      `${options.rounds} interleaved rounds, configurations in a random order each round. CPU is % of one core: ` +
      'the kernel\'s process (process.cpuUsage(), every thread: kernel, shadow, worker domain, the player, and ' +
      'the card, whose clock and buffer run in the same process) plus, for a process domain, the driver\'s child ' +
      '(/proc/<pid>/task/*/schedstat). "Card alone" plays the same stream by speaking the card\'s protocol ' +
      'directly, with no runtime: the card\'s own cost, in every other row too. Crossings/s are the stream\'s ' +
      'writes plus its periodElapsed upcalls (the card reports once per 5 ms tick, whatever the period). Medians ' +
      'over rounds; increases are medians of per-round differences, in points of one core, 25th–75th percentiles ' +
      'in brackets.',
    '',
    '| period | configuration | crossings/s | kernel\'s process CPU % | driver process CPU % | total CPU % | over (a), points ' +
      '| shadow: c − b, points | over card alone, points |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|',
    ...cells.flatMap((cell) => soundCpuIds.map((id) => cpuRow(cell, id))),
    '',
    `The paper found the CPU cost of a shadow negligible for sound at 300–1,000 cross-domain calls/s; here ${relation.join('; ')}.`,
    '',
  ].join('\n');
}

function gapSection(options: Omit<SoundGapOptions, 'progress'>, series: SoundGapSeries[]): string {
  const rows = series.map((s) => {
    const gap = spread(s.gaps.map((g) => g.gapMs));
    const total = spread(s.gaps.map((g) => g.totalMs));
    const window = spread(s.gaps.map((g) => g.windowMs));
    const silent = s.gaps.filter((g) => g.gapMs === 0).length;
    const overTotal = s.gaps.filter((g) => g.gapMs > g.totalMs + s.periodMs).length;
    const overWindow = s.gaps.filter((g) => g.gapMs > g.windowMs + s.periodMs).length;
    return `| ${s.domain} | ${s.warmStandby ? 'warm standby' : 'cold restart'} | ${s.gaps.length} | ${f1(gap.p50)} | ${f1(gap.p99)} ` +
      `| ${f1(gap.max)} | ${silent} | ${f1(total.p50)} | ${f1(total.p99)} | ${f1(window.p50)} | ${f1(window.p99)} ` +
      `| ${overTotal} | ${overWindow} | ${s.duplicateFrames.toLocaleString('en-US')} | ${s.appErrors} |`;
  });
  return [
    `### Sound: audio gap per recovery (shadow, ${periodName(options.periodFrames)} periods, ${options.faults} faults per row: ${options.kinds.join(', ')} in turn)`,
    '',
    'The same stream through a shadowed `virtual` driver; each fault is injected once the card has 50 ms queued ' +
      'again after the last recovery (and the standby, if any, is loaded). The gap is the silence the card ' +
      'recorded from the injection until audio flowed again (runs of silence when its buffer ran dry, plus ' +
      'frames that never arrived, played as silence), in ms of audio; 0 when the 100 ms buffer covered the ' +
      'recovery. Recovery is RecoveryEvent.totalMs (detection to resume); the window runs from the injection ' +
      'to the resume (adds detection). The last columns count the recoveries whose gap exceeds the recovery ' +
      'time, or the window, by more than one period: audio kept running dry after the resume (the stream ' +
      'writes one period at a time, and until a new domain is warm a write\'s round trip, kernel to driver to ' +
      'card and back, can outlast a period). Duplicate frames are resubmitted audio the card already had and ' +
      'dropped (none played twice).',
    '',
    '| domain | restart | faults | gap p50 | gap p99 | gap max | no gap | recovery p50 | recovery p99 | window p50 | window p99 ' +
      '| gap > recovery + period | gap > window + period | duplicate frames | app errors |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
    '',
  ].join('\n');
}
