/**
 * The scale section of the benchmark report, and its targets (the issue's done-means item 5):
 * at the largest count of each domain and standby kind, memory ≤ 2 GiB, attach time per device
 * (20 ms worker, 60 ms process), recovery p99 within the worker goal; and aggregate reads at 64
 * devices no fewer than at 16.
 */
import type { ScaleOptions, ScaleSeries, ScaleSeriesSpec, StandbyKind } from './scale.js';
import { quantile, spread } from './stats.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** A target's verdict, as targets.ts reports it (declared here: targets.ts imports this module). */
interface TargetVerdict { target: string; met: boolean; measured: string; why: string | undefined }

export const standbyLabel = (kind: StandbyKind): string =>
  (kind === true ? 'own standby' : kind === false ? 'no standby' : `${String(kind)} standby`);

/** How a series' devices stand by: their standby kind, or the domain groups they share. */
export const seriesLabel = (s: ScaleSeriesSpec): string =>
  (s.groupSize ? `groups of ${s.groupSize}${s.warmStandby ? ', standbys' : ''}` : standbyLabel(s.warmStandby));

const f = (v: number) => (Number.isFinite(v) ? (v >= 100 ? v.toFixed(0) : v.toFixed(v >= 10 ? 1 : 2)) : '–');
const mib = (bytes: number) => bytes / MiB;

/** Bytes the devices added: the kernel's process and its descendants now, over the kernel before. */
export function addedBytes(s: ScaleSeries): number {
  return s.after.hostBytes + s.after.childBytes - s.before.hostBytes;
}

export const attachPerDeviceMs = (s: ScaleSeries): number => s.attachWallMs / s.devices;

export function scaleSection(options: Omit<ScaleOptions, 'progress'>, series: ScaleSeries[]): string {
  const rows = series.map((s) => {
    const rec = spread(s.recoveries.map((e) => e.totalMs));
    const vsFirst = baselineRatio(s);
    return `| ${s.domain} | ${seriesLabel(s)} | ${s.devices} | ${f(mib(addedBytes(s)))} | ${f(mib(addedBytes(s)) / s.devices)} ` +
      `| ${f(mib(s.after.hostBytes))} | ${f(mib(s.after.childBytes))} (${s.after.children}${s.after.unreadable ? `, ${s.after.unreadable} unreadable` : ''}) ` +
      `| ${f(attachPerDeviceMs(s))} | ${f(quantile(s.attachMs, 0.5))} | ${f(quantile(s.attachMs, 0.9))} | ${f(s.standbyWaitMs)} ` +
      `| ${rec.n} | ${f(rec.p50)} | ${f(rec.p99)} | ${f(rec.max)} | ${s.ioErrors} | ${Math.round(s.readsPerSecond).toLocaleString('en-US')} ` +
      `| ${vsFirst === undefined ? '–' : `${f(vsFirst * 100)}% of ${s.readRounds[0]!.baseline!.devices}`} |`;
  });
  return [
    `### Scale (many shadowed \`ram\` disks of ${options.sizeBytes / MiB} MiB on one host)`,
    '',
    'Each row is a fresh runtime in a node process of its own (so no row starts from memory an earlier one left ' +
      'behind), the kernel\'s process below: the devices are attached one after another (attachBlock, then open), each with its ' +
      'standby, and each disk is then written in full once, so its device memory is real pages. Memory is PSS ' +
      '(/proc/<pid>/smaps_rollup) once every standby is loaded: the kernel\'s process (worker domains included) plus ' +
      'every process below it (process domains, their sandboxes), over the kernel\'s own PSS before the first attach ' +
      '(each sample after a full collection of the kernel\'s heap; worker domains\' heaps are taken as they are); ' +
      'PSS splits a page shared by k processes k ways, so the node binary every child maps is counted once. "Attach" is ' +
      'the wall time of all attaches over the count, with the p50 and p90 of single attaches; "standbys" is the wait ' +
      'after the last attach until every standby was loaded. Recovery: with every device attached, ' +
      `${options.faults} faults (${options.kinds.join(' and ')} in turn) into devices chosen at random, each under a ` +
      'small load on that device (two lanes of 4 KiB reads and writes), one at a time, each recovered and its standby ' +
      `loaded again before the next; RecoveryEvent.totalMs. Reads: 4 KiB random reads at queue depth ${options.queueDepth} ` +
      `on every device at once, ${options.throughputMs} ms after a ${options.warmupMs} ms warm-up, all devices together, ` +
      `the median of ${options.readRounds} round${options.readRounds === 1 ? '' : 's'}; in a series of more than ` +
      `${options.baselineDevices} devices each round also measures the first ${options.baselineDevices} alone, the two windows ` +
      'in a random order, and "vs first" is the median of the rounds\' ratios (every device busy over the first ones alone, in the same runtime).' +
      (series.some((s) => s.groupSize) ? ' "Groups of N": each N devices in attach order name one `domainGroup` (one worker ' +
        'thread, one driver instance per device; their standbys wait in the group\'s spare thread); a fault there recovers ' +
        'all N devices of the group, and every one of those recoveries is counted (the "recoveries" column).' : ''),
    '',
    '| domain | standby | devices | added MiB | MiB/device | kernel MiB | children MiB (processes) | attach ms/device ' +
      '| attach p50 | attach p90 | standbys ms | recoveries | recovery p50 | p99 | max | app errors | reads/s | vs first |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
    '',
  ].join('\n');
}

/** The bounds the issue sets per domain (recovery only for workers: process recovery has its own section). */
const goals = {
  worker: { attachMs: 20, recoveryMs: 10 as number | undefined },
  process: { attachMs: 60, recoveryMs: undefined as number | undefined },
};
const memoryBound = 2 * GiB;

export function scaleTargets(series: ScaleSeries[]): TargetVerdict[] {
  const groups = new Map<string, ScaleSeries[]>();
  for (const s of series) {
    const key = `${s.domain}/${seriesLabel(s)}`;
    groups.set(key, [...(groups.get(key) ?? []), s]);
  }
  return [...groups.values()].flatMap((group) => {
    const largest = group.reduce((x, y) => (y.devices > x.devices ? y : x));
    const goal = goals[largest.domain];
    const what = `${largest.devices} ${largest.domain} devices (${seriesLabel(largest)})`;
    return [
      memoryTarget(what, largest),
      attachTarget(what, largest, goal.attachMs),
      ...(goal.recoveryMs !== undefined ? [recoveryTarget(what, largest, goal.recoveryMs)] : []),
      throughputTarget(group),
    ];
  });
}

function memoryTarget(what: string, s: ScaleSeries): TargetVerdict {
  const added = addedBytes(s);
  const met = added <= memoryBound;
  return {
    target: `${what} in ≤ 2 GiB`,
    met,
    measured: `${f(mib(added))} MiB added (${f(mib(added) / s.devices)} MiB per device): the kernel's process ` +
      `${f(mib(s.before.hostBytes))} → ${f(mib(s.after.hostBytes))} MiB, ${s.after.children} processes below it ${f(mib(s.after.childBytes))} MiB`,
    why: met ? undefined
      : `per device ${f(mib(s.after.hostBytes - s.before.hostBytes) / s.devices)} MiB in the kernel's process and ` +
        `${f(mib(s.after.childBytes) / s.devices)} MiB in processes` +
        (s.warmStandby === true ? ': each device keeps two loaded domains, its driver\'s and its standby\'s' : ''),
  };
}

function attachTarget(what: string, s: ScaleSeries, boundMs: number): TargetVerdict {
  const perDevice = attachPerDeviceMs(s);
  const met = perDevice <= boundMs;
  const first = s.attachMs.slice(0, Math.max(1, Math.floor(s.devices / 4)));
  const last = s.attachMs.slice(-Math.max(1, Math.floor(s.devices / 4)));
  return {
    target: `attach ≤ ${boundMs} ms per device, ${what}`,
    met,
    measured: `${f(perDevice)} ms per device (${f(s.attachWallMs)} ms for ${s.devices}; single attaches p50 ` +
      `${f(quantile(s.attachMs, 0.5))}, p90 ${f(quantile(s.attachMs, 0.9))} ms); every standby loaded ${f(s.standbyWaitMs)} ms after the last attach`,
    why: met ? undefined
      : `the first quarter of attaches took ${f(quantile(first, 0.5))} ms (median), the last ${f(quantile(last, 0.5))} ms: ` +
        (s.groupSize ? 'each group\'s first attach starts its thread and its spare thread; the others load their driver (and standby) into them'
          : s.warmStandby === 'shared'
          ? 'each attach takes a shared spare when one has started and loads the driver into it; the spares start no faster than threads do'
          : 'each attach starts a domain and loads the driver, while the standbys of the devices before it start beside it'),
  };
}

function recoveryTarget(what: string, s: ScaleSeries, boundMs: number): TargetVerdict {
  const total = spread(s.recoveries.map((e) => e.totalMs));
  const met = total.n > 0 && total.p99 <= boundMs;
  const worst = [...s.recoveries].sort((x, y) => y.totalMs - x.totalMs)[0];
  const phases = worst ? Object.entries(worst.phases).filter(([, ms]) => (ms ?? 0) > 0.5)
    .sort((x, y) => (y[1] ?? 0) - (x[1] ?? 0)).slice(0, 3).map(([p, ms]) => `${p} ${f(ms ?? 0)} ms`).join(', ') : '';
  return {
    target: `recovery p99 ≤ ${boundMs} ms with ${what} attached`,
    met,
    measured: total.n === 0 ? 'no recoveries measured'
      : `p50 ${f(total.p50)}, p99 ${f(total.p99)}, max ${f(total.max)} ms over ${total.n} recoveries` +
        (s.groupSize ? ` (every device of the struck one's group recovers: ${s.groupSize} per fault)` : ''),
    why: met || !worst ? undefined : `the slowest recovery (${worst.cause}, ${f(worst.totalMs)} ms): ${phases || 'no phase above 0.5 ms'}`,
  };
}

/**
 * The median over rounds of every device's reads over the first few devices' alone, measured in
 * the same runtime (undefined when the series had no more devices than that).
 */
export function baselineRatio(s: ScaleSeries): number | undefined {
  const ratios = s.readRounds.flatMap((r) => (r.baseline ? [r.all / r.baseline.readsPerSecond] : []));
  return ratios.length === 0 ? undefined : quantile(ratios, 0.5);
}

/**
 * 64 devices against 16, when both were measured, else the largest count against the smallest:
 * in the larger series' own runtime when it measured the smaller count's devices alone
 * (a ratio within one run), else across the two series.
 */
function throughputTarget(group: ScaleSeries[]): TargetVerdict {
  const at = (n: number) => group.find((s) => s.devices === n);
  const byCount = [...group].sort((x, y) => x.devices - y.devices);
  const [low, high] = at(16) && at(64) ? [at(16)!, at(64)!] : [byCount[0]!, byCount.at(-1)!];
  const kind = `${low.domain} devices (${seriesLabel(low)})`;
  if (low === high) {
    return { target: `aggregate reads at more ${kind} no fewer than at fewer`, met: false,
      measured: `only ${low.devices} devices were measured`, why: undefined };
  }
  const target = `aggregate 4 KiB reads at ${high.devices} ${kind} ≥ at ${low.devices}`;
  const rate = (s: ScaleSeries) => `${Math.round(s.readsPerSecond).toLocaleString('en-US')} reads/s at ${s.devices}`;
  const across = `separate series: ${byCount.map(rate).join(', ')}`;
  const inRun = high.readRounds[0]?.baseline?.devices === low.devices ? baselineRatio(high) : undefined;
  if (inRun !== undefined) {
    const few = quantile(high.readRounds.map((r) => r.baseline!.readsPerSecond), 0.5);
    const met = inRun >= 1;
    return {
      target, met,
      measured: `in the ${high.devices}-device runtime, every device busy against the first ${low.devices} alone: ` +
        `${f(inRun * 100)}% (median of ${high.readRounds.length} round${high.readRounds.length === 1 ? '' : 's'}; ${Math.round(high.readsPerSecond).toLocaleString('en-US')} ` +
        `against ${Math.round(few).toLocaleString('en-US')} reads/s); ${across}`,
      why: met ? undefined : `per device ${f(few / low.devices)} reads/s with ${low.devices} busy, ${f(high.readsPerSecond / high.devices)} with ${high.devices}`,
    };
  }
  const met = high.readsPerSecond >= low.readsPerSecond;
  return {
    target,
    met,
    measured: across,
    why: met ? undefined
      : `${f(high.readsPerSecond / low.readsPerSecond * 100)}% of the rate at ${low.devices}; per device ` +
        `${f(low.readsPerSecond / low.devices)} reads/s at ${low.devices}, ${f(high.readsPerSecond / high.devices)} at ${high.devices}`,
  };
}
