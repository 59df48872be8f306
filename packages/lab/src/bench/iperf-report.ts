/**
 * The iperf3 section of the benchmark's report, as Markdown: TCP throughput between two network
 * namespaces through a Linux bridge and through `tap` drivers on the kernel's switch, the
 * ratios between them, and the (c) worker run under a fault per second — or, loudly, why the
 * section was skipped.
 */
import { iperfFaultKinds, iperfLabels, iperfPathIds, iperfRatio, type IperfPathId, type IperfResult } from './net-iperf.js';
import { median } from './stats.js';

const title = '### TCP throughput between network namespaces (iperf3)';

const percent = (x: number) => `${(x * 100).toFixed(x < 0.1 ? 1 : 0)}%`;

function ratio(result: IperfResult, top: IperfPathId, bottom: IperfPathId): string {
  if (top === bottom) return '–';
  const r = iperfRatio(result, top, bottom);
  return Number.isFinite(r.median) ? `${percent(r.median)} [${percent(r.p25)}–${percent(r.p75)}]` : '–';
}

export function iperfSection(result: IperfResult): string {
  if (result.skipped) {
    return [title, '', `**SKIPPED: ${result.skipped}.** Nothing was measured: the section needs root, network namespaces, ` +
      '/dev/net/tun, a Linux bridge and iperf3.', ''].join('\n');
  }
  const { options, runs, faulted } = result;
  const mbps = (id: IperfPathId) => median(runs[id].map((r) => r.mbps));
  const rows = iperfPathIds.map((id) => `| ${iperfLabels[id]} | ${mbps(id).toFixed(0)} ` +
    `| ${median(runs[id].map((r) => r.retransmits)).toFixed(0)} | ${ratio(result, id, 'k')} ` +
    `| ${ratio(result, id, 'vde')} | ${id === 'k' || id === 'vde' ? '–' : ratio(result, id, 'a')} |`);
  const lines = [
    title,
    '',
    `${result.iperf3 ?? 'iperf3'}, one TCP stream from a client in one namespace to a server in another (\`ip netns exec\`), ` +
      'joined by (k) a Linux bridge in a third namespace (a veth pair from each host into it: the practical limit), ' +
      'by (v) `vde_switch` (vde2, a userspace switch in C) on two TAPs of its own moved into the namespaces (one 1,514-byte ' +
      'frame per system call), or by TAPs the kernel opened (with a virtio-net header, checksum and TCP segmentation ' +
      'offloads), moved into the namespaces, and joined by the kernel\'s learning switch whose two ports are `tap` drivers: ' +
      '(a) in-process, (c) isolated with a shadow. Default MTU (1500). ' +
      `${options.rounds} interleaved rounds of ${options.seconds} s per path, in a random order each round` +
      `${options.warmupSeconds > 0 ? `, after a ${options.warmupSeconds} s run of each` : ''}; the receiver's Mbit/s ` +
      '(iperf3 -J, end.sum_received) and the sender\'s retransmits per run, medians over rounds; ratios are medians of ' +
      'the per-round ratios, 25th–75th percentiles in brackets.',
    '',
    '| path | Mbit/s | retransmits | /(k) | /(v) | /(a) |',
    '|---|---:|---:|---:|---:|---:|',
    ...rows,
    '',
  ];
  if (faulted) {
    const { run, kinds, recoveryMs } = faulted;
    const clean = mbps('c-worker');
    lines.push(`Under faults: (c) worker for ${options.faultSeconds} s with a fault every ${options.faultEveryMs} ms ` +
      `(${kinds.length} faults, ${iperfFaultKinds.join(', ')} in turn, to the two drivers in turn; cold restarts; ` +
      `${recoveryMs.length} recovered${recoveryMs.length ? `, RecoveryEvent.totalMs median ${median(recoveryMs).toFixed(1)} ms, ` +
        `max ${Math.max(...recoveryMs).toFixed(1)} ms` : ''}): ${run.mbps.toFixed(0)} Mbit/s, ${percent(run.mbps / clean)} of the ` +
      `fault-free (c) worker median; ${run.retransmits} retransmits (fault-free: ` +
      `${median(runs['c-worker'].map((r) => r.retransmits)).toFixed(0)} per ${options.seconds} s run); the sender's ` +
      `slowest second ${Math.min(...run.intervalsMbps).toFixed(0)} Mbit/s. The TCP connection survived every fault.`, '');
  }
  return lines.join('\n');
}
