/**
 * The benchmark's results as Markdown: one dated section per run (machine, tables, targets),
 * and the introduction docs/benchmarks.md starts with.
 */
import { recoveryPhases } from 'shadow-drivers';
import { benchSections, type BenchPlan, type BenchResult } from './index.js';
import { iperfSection } from './iperf-report.js';
import type { NbdCopyResult } from './nbd-copy.js';
import { megabits, netRatio, type NetCell, type NetThroughputResult } from './net-throughput.js';
import type { RecoverySeries } from './recovery-times.js';
import type { SqliteResult } from './sqlite-transactions.js';
import type { ServiceOverheadResult } from './service-overhead.js';
import type { ThroughputResult } from './throughput.js';
import type { ConfigurationId } from './configurations.js';
import { groupsOf } from './recovery-times.js';
import { median, type Spread } from './stats.js';
import type { TargetVerdict } from './targets.js';
import { ratio, type Cell, type Ratio } from './throughput.js';
import type { MediumKind } from './configurations.js';
import { copyRatio, type NbdCopyTarget } from './nbd-copy.js';
import { fioWorkloads, type FioSample, type FioWorkload } from './nbd-fio.js';
import { scaleSection } from './scale-report.js';
import { soundSection } from './sound-report.js';
import { updateSection } from './update-report.js';
import { sqliteRatio, type SqliteSeries } from './sqlite-transactions.js';

const MiB = 1024 * 1024;

export function renderReport(result: BenchResult, verdicts: TargetVerdict[]): string {
  const { throughput, nbdCopy, sqlite, network, iperf, recovery, update, sound, service, scale } = result;
  const media = throughput ? [...new Set(throughput.cells.map((c) => c.medium))] : [];
  return [
    header(result),
    ...media.map((medium) => throughputSection(throughput!, medium)),
    ...(nbdCopy ? [nbdCopySection(nbdCopy)] : []),
    ...(sqlite ? [sqliteSection(sqlite)] : []),
    ...(network ? [networkSection(network)] : []),
    ...(iperf ? [iperfSection(iperf)] : []),
    ...(recovery ? [recoverySection(result.plan, recovery)] : []),
    ...(update ? [updateSection(update)] : []),
    ...(sound ? [soundSection(sound)] : []),
    ...(service ? [serviceSection(service)] : []),
    ...(scale ? [scaleSection(result.plan.scale, scale)] : []),
    ...(verdicts.length ? [targetSection(verdicts)] : []),
  ].join('\n');
}

function header(result: BenchResult): string {
  const { machine: m, plan, throughput: t } = result;
  const only = plan.sections.length < benchSections.length ? ` --only ${plan.sections.join(',')}` : '';
  return [
    `## ${m.date.replace('T', ' ').replace('Z', ' UTC')}${plan.quick ? ' (quick run: a smoke test, not a measurement)' : ''}`,
    '',
    `Machine: \`${m.uname}\`, ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, Node ${m.node}; ` +
      `1-minute load average at the start ${m.loadAverage}. ` +
      `Command: \`shadow-lab bench${plan.quick ? ' --quick' : ''}${only}\`, ${result.seconds.toFixed(0)} s` +
      `${m.commit ? `, commit ${m.commit}${m.commit.endsWith('+') ? ' (+: uncommitted changes)' : ''}` : ''}.`,
    '',
    ...(t ? [`Throughput: ${t.options.rounds} interleaved rounds of ${t.options.durationMs} ms per configuration and row (in a random ` +
      `order each time), after a ${t.options.warmupMs} ms warm-up; values are medians over rounds; each ratio is the ` +
      'median of the per-round ratios, with their 25th–75th percentiles in brackets.', ''] : []),
  ].join('\n');
}

function throughputSection(throughput: ThroughputResult, medium: MediumKind): string {
  const { ramBytes, fileBytes } = throughput.options;
  const title = medium === 'ram'
    ? `### Block throughput, \`ram\` driver (${ramBytes / MiB} MiB of device memory)`
    : `### Block throughput, \`file\` driver (a ${fileBytes / MiB} MiB image in os.tmpdir(), page cache)`;
  const note = medium === 'ram'
    ? '(a), (s) and the worker share the medium as memory. In a process domain the medium is a sealed ' +
      'memfd the kernel maps and lends the driver: the driver answers each read and write with where ' +
      'its bytes are (`{ from, at }`, `{ to, at }`), and the kernel copies them itself; a write\'s bytes ' +
      'still cross into the driver\'s process first (one system call there).'
    : 'Every configuration reads and writes the same image through the descriptor the kernel holds.';
  const rows = throughput.cells.filter((c) => c.medium === medium).map(throughputRow);
  return [
    title, '', note, '',
    '| workload | QD | (a) in-process | (s) in-process + shadow | s/a | (b) worker | (c) worker + shadow | c/a | c/b ' +
      '| (b) process | (c) process + shadow | c/a | c/b |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows, '',
  ].join('\n');
}

function throughputRow(c: Cell): string {
  const v = (id: keyof Cell['samples']) => formatValue(median(c.samples[id]), c.workload.unit);
  return `| ${c.workload.label}, ${c.workload.unit} | ${c.queueDepth} | ${v('a')} | ${v('s')} | ${formatRatio(ratio(c, 's', 'a'))} ` +
    `| ${v('b-worker')} | ${v('c-worker')} | ${formatRatio(ratio(c, 'c-worker', 'a'))} | ${formatRatio(ratio(c, 'c-worker', 'b-worker'))} ` +
    `| ${v('b-process')} | ${v('c-process')} | ${formatRatio(ratio(c, 'c-process', 'a'))} | ${formatRatio(ratio(c, 'c-process', 'b-process'))} |`;
}

function serviceSection(s: ServiceOverheadResult): string {
  const size = `${s.options.sizeBytes / MiB} MiB`;
  const row = (label: string, d: { read: number[]; write: number[] }, ratio: string[]) =>
    `| ${label} | ${formatValue(median(d.read), 'MB/s')} | ${ratio[0]} | ${formatValue(median(d.write), 'MB/s')} | ${ratio[1]} |`;
  const band = (b: [number, number, number]) => `${b[1].toFixed(2)} (${b[0].toFixed(2)}–${b[2].toFixed(2)})`;
  const verdict = (d: 'read' | 'write') => (s.withinNoise[d] ? 'within noise' : 'outside the noise');
  return [
    `### What the service adds (\`nbdcopy\`, ${size} \`ram\` disk, \`shadowd run\` against \`shadowd export\`)`,
    '',
    `${s.client} over a unix socket to each export, all real \`shadowd\` processes with a shadowed \`ram\` driver in a worker ` +
      'domain and a warm standby: "read" copies the export to `null:`, "write" copies a random file onto it. Every disk is ' +
      `written in full before the first measured copy. ${s.options.rounds} rounds, rotating which export goes first; ` +
      'medians over rounds; a ratio is the median of per-round ratios to `shadowd export`. The control is a second, ' +
      'identical `shadowd export` (an A/A comparison): its ratios are what noise alone gives here, shown as median ' +
      '(10th–90th percentile); the service is within noise where its ratio lies in that range.',
    '',
    '| export | read MB/s | ratio | write MB/s | ratio |',
    '|---|---:|---:|---:|---:|',
    row('`shadowd export`', s.export, ['–', '–']),
    row('`shadowd export` (control)', s.control, [band(s.noise.read), band(s.noise.write)]),
    row('`shadowd run`', s.run, [s.ratio.read.toFixed(2), s.ratio.write.toFixed(2)]),
    row('`shadowd run`, metrics served', s.served, [s.servedRatio.read.toFixed(2), s.servedRatio.write.toFixed(2)]),
    '',
    `\`shadowd run\` (metrics off, as the verdict's configuration): read ${verdict('read')}; write ${verdict('write')}. ` +
      'With its metrics endpoint served, the service also collects prom-client\'s process metrics (their GC observer runs at ' +
      'every collection): that row is what an operator who scrapes them pays.',
    '',
  ].join('\n');
}

function nbdCopySection(nbdCopy: NbdCopyResult): string {
  const { options, client, targets } = nbdCopy;
  const size = options.sizeBytes >= 1024 * MiB ? `${options.sizeBytes / (1024 * MiB)} GiB` : `${options.sizeBytes / MiB} MiB`;
  const a = targets.find((t) => t.id === 'a');
  const nbdkit = targets.find((t) => t.id === 'nbdkit');
  const against = (t: NbdCopyTarget, op: 'read' | 'write', base: NbdCopyTarget | undefined) =>
    base && base !== t ? formatRatio(copyRatio(t[op], base[op])) : '–';
  const rows = targets.map((t) => `| ${t.label} | ${formatValue(median(t.read), 'MB/s')} | ${against(t, 'read', a)} ` +
    `| ${against(t, 'read', nbdkit)} | ${formatValue(median(t.write), 'MB/s')} | ${against(t, 'write', a)} | ${against(t, 'write', nbdkit)} |`);
  return [
    `### Whole-disk copies through the NBD export (\`nbdcopy\`, ${size} \`ram\` disk)`,
    '',
    `${client} (default connections, threads and request size) over a unix socket: "read" copies the whole ` +
      'export to `null:`, "write" copies nbdkit\'s `pattern` plugin (its own socket) onto it. Each disk is ' +
      'filled before the first measured copy (the runtime\'s through the BlockDevice, the reference, nbdkit\'s ' +
      '`memory` plugin, by one nbdcopy write); nbdcopy is started from a helper process, not the ' +
      'kernel\'s (a fork of the kernel\'s process would leave device memory copy-on-write). ' +
      `${options.rounds} interleaved rounds (a write then a read of each target, targets in a random order ` +
      'each round); MB/s from the client\'s start to its exit, medians over rounds; ratios are medians of the ' +
      'per-round ratios, 25th–75th percentiles in brackets.',
    '',
    '| export | read MB/s | /(a) | /nbdkit | write MB/s | /(a) | /nbdkit |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...rows, '',
    ...(nbdCopy.fio ? [fioTable(nbdCopy)] : []),
  ].join('\n');
}

/** fio through the same exports: per workload, each target's value and its ratio to nbdkit. */
function fioTable(nbdCopy: NbdCopyResult): string {
  const { options, targets } = nbdCopy;
  const nbdkit = targets.find((t) => t.id === 'nbdkit');
  const ours = targets.filter((t) => t !== nbdkit);
  const value = (w: FioWorkload, samples: FioSample[] | undefined) => {
    if (!samples || samples.length === 0) return '–';
    const iops = median(samples.map((x) => x.iops));
    const shown = w.blockSize >= 65536 ? `${formatValue(iops * w.blockSize / 1e6, 'MB/s')} MB/s` : `${formatValue(iops, 'IOPS')} IOPS`;
    return w.depth === 1 ? `${shown}, p50 ${median(samples.map((x) => x.p50us)).toFixed(0)} µs` : shown;
  };
  const ratio = (w: FioWorkload, t: NbdCopyTarget) => {
    const top = t.fio[w.id]?.map((x) => x.iops);
    const bottom = nbdkit?.fio[w.id]?.map((x) => x.iops);
    return top && bottom ? formatRatio(copyRatio(top, bottom)) : '–';
  };
  const rows = fioWorkloads.map((w) => `| ${w.label} | ${[...ours, ...(nbdkit ? [nbdkit] : [])].map((t) => value(w, t.fio[w.id])).join(' | ')} ` +
    `| ${ours.map((t) => ratio(w, t)).join(' | ')} |`);
  return [
    `${nbdCopy.fio} through the same exports (its \`nbd\` engine, one connection), ${options.fioSeconds} s per workload, ` +
      `target and round, ${options.fioRounds ?? options.rounds} rounds in a random order of targets; IOPS (MB/s for 64 KiB) and, at QD 1, ` +
      'the median completion latency: medians over rounds; ratios to nbdkit are medians of per-round IOPS ratios.',
    '',
    `| workload | ${[...ours, ...(nbdkit ? [nbdkit] : [])].map((t) => t.label).join(' | ')} | ${ours.map((t) => `${t.id}/nbdkit`).join(' | ')} |`,
    `|---|${[...ours, ...(nbdkit ? [nbdkit] : []), ...ours].map(() => '---:').join('|')}|`,
    ...rows, '',
  ].join('\n');
}

function sqliteSection(sqlite: SqliteResult): string {
  const { options, series } = sqlite;
  const media = [...new Set(series.map((s) => s.medium))];
  const find = (medium: string, id: string) => series.find((s) => s.medium === medium && s.id === id);
  const value = (s: SqliteSeries | undefined) => (s ? Math.round(median(s.samples)).toLocaleString('en-US') : '–');
  const against = (top: SqliteSeries | undefined, bottom: SqliteSeries | undefined) =>
    (top && bottom ? formatRatio(sqliteRatio(top, bottom)) : '–');
  const rows = media.map((medium) => {
    const a = find(medium, 'a');
    const domain = (d: 'worker' | 'process') => {
      const b = find(medium, `b-${d}`);
      const c = find(medium, `c-${d}`);
      return `${value(b)} | ${against(b, a)} | ${value(c)} | ${against(c, a)} | ${against(c, b)}`;
    };
    const what = medium === 'ram' ? '`ram` (flush: nothing to sync)' : '`file` (flush: fdatasync of the image)';
    return `| ${what} | ${value(a)} | ${domain('worker')} | ${domain('process')} |`;
  });
  return [
    `### SQLite transactions per second (the database application's bank, ${options.sizeBytes / MiB} MiB disks)`,
    '',
    'wa-sqlite through the block VFS (journal_mode=TRUNCATE, synchronous=FULL), one transfer between two ' +
      'of 100 accounts per transaction; every commit syncs the journal and then the database, each sync a ' +
      'flush through the driver. A bank per configuration and ' +
      `medium; ${options.rounds} interleaved rounds of ${options.transfers.ram} transfers (\`ram\`) and ` +
      `${options.transfers.file} (\`file\`, an image in os.tmpdir()) per bank, in a random order each round, ` +
      `after ${options.warmupTransfers} unrecorded transfers; committed transactions/s, medians over rounds; ` +
      'ratios are medians of the per-round ratios, 25th–75th percentiles in brackets.',
    '',
    '| medium | (a) in-process | (b) worker | b/a | (c) worker + shadow | c/a | c/b | (b) process | b/a ' +
      '| (c) process + shadow | c/a | c/b |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows, '',
  ].join('\n');
}

function recoverySection(plan: BenchPlan, recovery: RecoverySeries[]): string {
  const { faults, kinds } = plan.recovery;
  const rows: string[] = [];
  const phaseRows: string[] = [];
  for (const series of recovery) {
    for (const g of groupsOf(series)) {
      const lead = `| ${series.domain} | ${series.warmStandby ? 'warm standby' : 'cold restart'} | ${g.cause} |`;
      rows.push(`${lead} ${g.totalMs.n} | ${ms(g.totalMs.p50)} | ${ms(g.totalMs.p90)} | ${ms(g.totalMs.p99)} | ${ms(g.totalMs.max)} ` +
        `| ${ms(g.longestWaitMs.p50)} | ${ms(g.longestWaitMs.p99)} | ${g.cause === 'all' ? series.ioErrors : ''} |`);
      phaseRows.push(`${lead} ${recoveryPhases.filter((p) => p !== 'backoff').map((p) => pair(g.phases[p])).join(' | ')} |`);
    }
  }
  return [
    `### Recovery time (shadow, \`ram\` driver, ${faults} faults per row of "all": ${kinds.length > 2 ? `${kinds.slice(0, -1).join(', ')} and ${kinds.at(-1)}` : kinds.join(' and ')} in turn)`,
    '',
    'RecoveryEvent.totalMs, from the failure\'s detection to the resume (ms). "Longest wait" is the longest ' +
      'an application request waited across each recovery, under a small load (two lanes of 4 KiB reads and ' +
      'writes, 1 ms apart): it adds detection and the request\'s own time. Each fault is injected when the ' +
      'device serves again and the standby, if any, is loaded. "exit" is the domain exiting (detected when ' +
      'it is gone); "exception" is the driver throwing (its domain must then be stopped). The cause is the failure ' +
      'the kernel detected, which names the fault\'s effect (a `kill` is an exit, a `busy-loop` no heartbeat, a ' +
      '`never-answer` a hang); for a hang or a silent driver, detection itself takes the deadline or heartbeat ' +
      'timeout, which the longest wait shows and RecoveryEvent.totalMs does not.',
    '',
    '| domain | restart | cause | faults | p50 | p90 | p99 | max | longest wait p50 | longest wait p99 | app errors |',
    '|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
    '',
    'Per phase, p50 / p99 (ms):',
    '',
    `| domain | restart | cause | ${recoveryPhases.filter((p) => p !== 'backoff').join(' | ')} |`,
    `|---|---|---|${recoveryPhases.filter((p) => p !== 'backoff').map(() => '---:').join('|')}|`,
    ...phaseRows,
    '',
  ].join('\n');
}

function networkSection(network: NetThroughputResult): string {
  const { options, cells } = network;
  const v = (c: NetCell, id: ConfigurationId) => {
    const fps = median(c.samples[id]);
    return `${Math.round(fps).toLocaleString('en-US')} (${megabits(fps, c.frameBytes).toFixed(0)})`;
  };
  const r = (c: NetCell, top: ConfigurationId, bottom: ConfigurationId) => formatRatio(netRatio(c, top, bottom));
  const rows = cells.map((c) => `| ${c.frameBytes} | ${v(c, 'a')} | ${v(c, 's')} | ${v(c, 'b-worker')} | ${v(c, 'c-worker')} ` +
    `| ${r(c, 'c-worker', 'a')} | ${r(c, 'c-worker', 'b-worker')} | ${v(c, 'b-process')} | ${v(c, 'c-process')} ` +
    `| ${r(c, 'c-process', 'a')} | ${r(c, 'c-process', 'b-process')} |`);
  return [
    '### Frames through the kernel\'s learning switch (`virtual` NICs)',
    '',
    'Two virtual NICs per configuration joined by the switch; a host on one cable sends to a host on the other ' +
      `with ${options.window} frames in flight (so no frame is dropped for want of room), for ${options.durationMs} ms ` +
      `per configuration and frame size, ${options.rounds} interleaved rounds in a random order each, after a ` +
      `${options.warmupMs} ms warm-up. Each frame crosses two drivers (received by one, transmitted by the other) ` +
      'and, in every configuration, the NICs\' unix-socket cables. Frames/s (Mbit/s), medians over rounds; ratios ' +
      'are medians of the per-round ratios, 25th–75th percentiles in brackets.',
    '',
    '| frame bytes | (a) in-process | (s) in-process + shadow | (b) worker | (c) worker + shadow | c/a | c/b ' +
      '| (b) process | (c) process + shadow | c/a | c/b |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows, '',
  ].join('\n');
}

function targetSection(verdicts: TargetVerdict[]): string {
  return [
    '### Targets',
    '',
    ...verdicts.map((v) => `- **${v.met ? 'met' : 'not met'}**: ${v.target}. Measured: ${v.measured}.` +
      (v.why ? ` Why: ${v.why.replace(/\.$/, '')}.` : '')),
    '',
  ].join('\n');
}

export function documentIntro(): string {
  return [
    '# Benchmarks',
    '',
    'What `npm run bench` (`shadow-lab bench [--quick] [--out FILE]`) measures, in one run so that ratios',
    'compare configurations measured side by side on the same machine at the same time:',
    '',
    '- **Block throughput**: 64 KiB sequential read and write, and 4 KiB random read, at queue depth 1',
    '  and 32, through (a) the driver in-process (domain `none`, no recovery: the paper\'s Linux-Native),',
    '  (b) the driver isolated with restart-only recovery (Linux-Nooks), and (c) isolated with a shadow',
    '  (Linux-SD), for worker-thread and child-process domains; plus (s), the shadow with no isolation,',
    '  which shows the shadow\'s own cost without the noise of a domain crossing. The `ram` driver runs',
    '  every workload; the `file` driver, over a filled image in os.tmpdir(), runs the 64 KiB ones.',
    '  Configurations run in interleaved rounds (a, s, b, c, ... then again, in a new random order each',
    '  time), so noise from other work on the machine hits all of them alike and none keeps paying for',
    '  the garbage of the one before it.',
    '- **Whole-disk copies through the NBD export**: `nbdcopy` reads a `ram` disk exported by the',
    '  kernel\'s NBD server (on a unix socket) to `null:`, and writes it from nbdkit\'s `pattern` plugin,',
    '  for (a), and (b) and (c) in both domains, with nbdkit\'s own `memory` export of the same size as',
    '  the reference: what a real client gets end to end (protocol, socket, copies into and out of',
    '  device memory, and the domain crossing), set against a C server doing the same work. 1 GiB per',
    '  copy, three interleaved rounds; the block-throughput rows isolate the crossing, these copies',
    '  show how much of it is left behind a protocol server and a real client. Every disk is filled',
    '  before the first measured copy, and nbdcopy is started from a helper process: a child started',
    '  by the kernel\'s own process (fork, then exec) leaves the in-process and worker disks\' device',
    '  memory copy-on-write, and the next write to each page faults.',
    '- **SQLite transactions per second**: the database application\'s bank (wa-sqlite through the',
    '  block VFS, synchronous=FULL, one transfer per transaction, every commit flushed) on a disk per',
    '  configuration, (a), and (b) and (c) in both domains, in interleaved rounds: on `ram`, where a',
    '  flush crosses the domain but has nothing to sync, and on `file`, where it is an fdatasync of an',
    '  image, the cost a real disk adds.',
    '- **Frames through the switch**: the network class\'s `virtual` NICs joined by the kernel\'s learning',
    '  switch; frames/s and Mbit/s for 64- and 1514-byte frames from one host to another with a fixed',
    '  window in flight, in every configuration, interleaved rounds. `--only network` (or any list of',
    '  throughput, nbd, sqlite, network, iperf, recovery, update, sound, service, scale) runs some sections alone.',
    '- **TCP between network namespaces** (`--only iperf`): iperf3, client in one namespace and server in',
    '  another, joined by (k) a Linux bridge (veth pairs into it: the practical limit), or by TAPs whose',
    '  `tap` drivers are ports of the kernel\'s learning switch, (a) in-process and (c) with a shadow in a',
    '  worker and in a process domain; interleaved rounds of 5 s, receiver-side Mbit/s and the',
    '  sender\'s retransmits, c/a and c/k; and a (c) worker run with a fail-stop fault every second, to',
    '  show what recovery costs a TCP stream. Needs root, /dev/net/tun, a bridge and iperf3; without',
    '  them the section says it was skipped, and why.',
    '- **Recovery time**: faults injected one at a time into a shadowed `ram` disk under a small load,',
    '  for each domain, with a cold restart and with a warm standby; the distribution of',
    '  RecoveryEvent.totalMs and of each recovery phase, and the longest wait an application saw.',
    '- **Live update** (`--only update`): the pause of `runtime.update` (v1 → v2 → v1 … on a shadowed',
    '  `ram` disk under the same load), worker and process, beside as many warm-standby crash',
    '  recoveries and restarts without a shadow (detach, attach the new version, reopen), with the',
    '  update\'s phases split into those applications wait through and those they do not.',
  '- **Scale** (`--only scale`): 16, 64 and 256 shadowed 1 MiB `ram` disks in worker domains, each',
  '  with its own warm standby and with shared spares (`warmStandby: \'shared\'`), and 16 and 64 in',
  '  process domains with their own, attached one after another in a fresh runtime (and node process)',
  '  per count: memory (PSS of the kernel\'s process and every process below it), attach time',
  '  per device, recovery p50/p99 with all of them attached, and aggregate 4 KiB random reads at queue',
  '  depth 4 on every device at once.',
  ...soundIntro,
    '',
    'Each run appends a dated section below (`--out docs/benchmarks.md`). Numbers from different',
    'machines, days or load averages are not comparable; ratios within one section are.',
    '',
  ].join('\n');
}

const soundIntro = [
  '- **Sound**: a 48 kHz stereo s16le stream played in real time on the virtual card. CPU: % of one',
  '  core the playback costs in (a), and (b) and (c) in both domains, with the card fed directly (no',
  '  runtime) as the floor; the kernel\'s process is counted whole (every thread, the card\'s clock',
  '  included, as it runs there too) plus a process domain\'s child; each configuration alone in a',
  '  fresh runtime, interleaved rounds, at 10 ms and 1 ms periods (about 300 and 1,200 crossings/s:',
  '  writes plus period upcalls), set against the paper\'s "negligible at 300–1,000 calls/s". Gaps:',
  '  faults of kinds detected as they happen (exit, kill, throw, rejection, bad kernel call) injected',
  '  one at a time into a shadowed stream, worker and process, cold restart and warm standby; the',
  '  silence the card recorded per recovery (p50/p99) beside RecoveryEvent.totalMs, and how many gaps',
  '  exceed the recovery time plus one period.',
];

function formatValue(value: number, unit: 'MB/s' | 'IOPS'): string {
  if (!Number.isFinite(value)) return '–';
  return unit === 'IOPS' ? Math.round(value).toLocaleString('en-US') : value.toFixed(0);
}

function formatRatio(r: Ratio): string {
  if (!Number.isFinite(r.median)) return '–';
  const p = (x: number) => (x * 100).toFixed(0);
  return `${p(r.median)}% [${p(r.p25)}–${p(r.p75)}]`;
}

function ms(value: number): string {
  return Number.isFinite(value) ? value.toFixed(1) : '–';
}

function pair(s: Spread): string {
  const f = (v: number) => (v < 10 ? v.toFixed(2) : v.toFixed(1));
  return `${f(s.p50)} / ${f(s.p99)}`;
}
