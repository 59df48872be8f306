/**
 * TCP throughput of real network stacks through the network class: iperf3 between two network
 * namespaces, the server in one and the client in the other, joined by
 *   (k) a Linux bridge (veth pairs into a bridge in a namespace of its own): the practical limit;
 *   (v) `vde_switch` (C, userspace) on two TAPs of its own: what a user would otherwise run;
 *   (a) TAPs joined by the kernel's learning switch, the `tap` drivers in-process;
 *   (c) the same with the drivers in worker, and in process, domains, each with a shadow.
 * Rounds are interleaved, the order shuffled per round; iperf3's own JSON report gives the
 * receiver's rate and the sender's retransmits. A last run of (c) worker has a fail-stop fault
 * injected into one of its two drivers every second, so the cost of recovery shows in the rate
 * and the retransmits. Needs root, /dev/net/tun, a bridge and iperf3: without them the result
 * says why it was skipped. Every namespace, interface and process is removed, failure or not.
 */
import { execFileSync } from 'node:child_process';
import { setTimeout as pace } from 'node:timers/promises';
import type { FaultKind } from 'shadow-drivers';
import type { NetDevice } from 'shadow-drivers';
import {
  createBridgedHosts, createNamespace, killInside, leftovers, names, namespacesLeft, namespacesMissing,
  placeTap, removeBridgedHosts, removeNamespace, type Host,
} from '../harness/netns.js';
import { startIn, toolMissing, within, type Proc } from '../harness/ns-process.js';
import { LearningSwitch } from 'shadow-drivers';
import type { RecoveryEvent } from 'shadow-drivers';
import { createRuntime, type Runtime } from 'shadow-drivers';
import { benchRestartPolicy, configurations, type Configuration } from './configurations.js';
import { startVdeSwitch, type VdeSwitch } from './vde-path.js';
import { median, quantile, seededRandom, shuffled } from './stats.js';

export const iperfPathIds = ['k', 'vde', 'a', 'c-worker', 'c-process'] as const;
export type IperfPathId = (typeof iperfPathIds)[number];

export const iperfLabels: Record<IperfPathId, string> = {
  k: '(k) Linux bridge', vde: '(v) vde_switch', a: '(a) in-process', 'c-worker': '(c) worker + shadow', 'c-process': '(c) process + shadow',
};

/** Fail-stop faults, detected when they happen (a domain gone, an exception): one per second. */
export const iperfFaultKinds: readonly FaultKind[] = ['exit', 'kill', 'throw', 'rejection', 'abort'];

export interface IperfOptions {
  rounds: number;
  /** Seconds per measured run (iperf3 -t). */
  seconds: number;
  /** An unrecorded run of each path first (0: none). */
  warmupSeconds: number;
  /** The (c) worker run under faults (0: none), with a fault every `faultEveryMs`. */
  faultSeconds: number;
  faultEveryMs: number;
  seed: number;
  progress?(message: string): void;
}

export interface IperfRun {
  /** Receiver side, from iperf3's end.sum_received. */
  mbps: number;
  /** Sender side (end.sum_sent.retransmits). */
  retransmits: number;
  /** The sender's rate per reporting interval (one per second). */
  intervalsMbps: number[];
}

export interface IperfFaultRun {
  run: IperfRun;
  kinds: FaultKind[];
  /** RecoveryEvent.totalMs of each fault that was recovered. */
  recoveryMs: number[];
}

export interface IperfResult {
  options: Omit<IperfOptions, 'progress'>;
  /** Why nothing was measured (no root, no /dev/net/tun, no iperf3, no bridge). */
  skipped?: string;
  /** `iperf3 --version`'s first line. */
  iperf3?: string;
  runs: Record<IperfPathId, IperfRun[]>;
  faulted?: IperfFaultRun;
}

interface Path {
  id: IperfPathId;
  client: Host;
  server: Host;
  /** The two `tap` ports and their switch ((k) has none). */
  ports: NetDevice[];
  sw?: LearningSwitch;
  vde?: VdeSwitch;
}

const PORT = 5201;
const cidrs = ['192.0.2.1/24', '192.0.2.2/24'];
/** Names of each path's namespaces (and TAPs): short, for 15-character interface names. */
const tags: Record<IperfPathId, string> = { k: 'ik', vde: 'iv', a: 'ia', 'c-worker': 'icw', 'c-process': 'icp' };
const tapTags = (id: IperfPathId) => [`${tags[id]}0`, `${tags[id]}1`];

const emptyRuns = (): Record<IperfPathId, IperfRun[]> =>
  Object.fromEntries(iperfPathIds.map((id) => [id, [] as IperfRun[]])) as Record<IperfPathId, IperfRun[]>;

/** Why the section cannot run here, or undefined. */
export function iperfMissing(): string | undefined {
  return namespacesMissing({ tun: true }) ?? (toolMissing(['iperf3']) ? 'no iperf3' : undefined)
    ?? (toolMissing(['vde_switch']) ? 'no vde_switch (Debian vde2)' : undefined);
}

/** The paths whose TAPs sit in namespaces of their own: vde_switch's and ours. */
const tapPathIds = iperfPathIds.filter((id) => id !== 'k');

async function vdePath(): Promise<Path> {
  const nss = tapTags('vde').map((tag) => names(tag).ns);
  for (const ns of nss) await createNamespace(ns);
  const vde = await startVdeSwitch(tapTags('vde').map((tag) => names(tag).ifname), nss, cidrs);
  return { id: 'vde', client: vde.hosts[0]!, server: vde.hosts[1]!, ports: [], vde };
}

async function bridgePath(): Promise<Path> {
  const [client, server] = await createBridgedHosts(tags.k, cidrs);
  return { id: 'k', client: client!, server: server!, ports: [] };
}

async function tapPath(rt: Runtime, c: Configuration): Promise<Path> {
  const id = c.id as IperfPathId;
  const hosts: Host[] = [];
  const ports: NetDevice[] = [];
  for (const [i, tag] of tapTags(id).entries()) {
    const { ns, ifname } = names(tag);
    await createNamespace(ns);
    ports.push(await rt.attachNet({
      name: `iperf-${id}-${i}`, driver: 'tap', domain: c.domain, recovery: c.recovery,
      config: { ifname }, restart: benchRestartPolicy,
    }));
    hosts.push(await placeTap(ns, ifname, cidrs[i]!));
  }
  return { id, client: hosts[0]!, server: hosts[1]!, ports, sw: await LearningSwitch.start(ports) };
}

/** Runs the client for `seconds` against the path's server; throws on any iperf3 error. */
async function runClient(path: Path, seconds: number, procs: Set<Proc>,
  during?: (ended: AbortSignal) => Promise<void>): Promise<IperfRun> {
  const client = startIn(path.client.ns, 'iperf3', ['-c', path.server.address, '-p', String(PORT), '-t', String(seconds), '-J'], `iperf3 client (${path.id})`);
  procs.add(client);
  const ended = new AbortController();
  const side = during?.(ended.signal);
  try {
    await within(client.exited, (seconds + 30) * 1000, `iperf3 through ${path.id}`);
  } finally {
    ended.abort();
    await client.stop();
    procs.delete(client);
    await side;
  }
  let report: IperfJson;
  try {
    report = JSON.parse(client.stdout()) as IperfJson;
  } catch {
    throw new Error(`iperf3 through ${path.id} exited ${JSON.stringify(client.exit)}: ${client.stderr().slice(-500)}`);
  }
  if (report.error || client.exit?.code !== 0) throw new Error(`iperf3 through ${path.id}: ${report.error ?? client.stderr().slice(-500)}`);
  return {
    mbps: report.end.sum_received.bits_per_second / 1e6,
    retransmits: report.end.sum_sent.retransmits ?? 0,
    intervalsMbps: report.intervals.map((i) => i.sum.bits_per_second / 1e6),
  };
}

interface IperfJson {
  error?: string;
  intervals: { sum: { bits_per_second: number } }[];
  end: { sum_sent: { retransmits?: number }; sum_received: { bits_per_second: number } };
}

function recoveryOf(rt: Runtime, device: string, deadlineMs: number): Promise<RecoveryEvent | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => { rt.manager.off('recovery', on); resolve(undefined); }, deadlineMs);
    const on = (event: RecoveryEvent): void => {
      if (event.device !== device) return;
      clearTimeout(timer);
      rt.manager.off('recovery', on);
      resolve(event);
    };
    rt.manager.on('recovery', on);
  });
}

/**
 * A run of (c) worker with a fault every `everyMs`, to its two drivers in turn and the kinds in
 * turn, each injected only once the previous one was recovered (or given 10 s).
 */
async function faultedRun(rt: Runtime, path: Path, options: IperfOptions, procs: Set<Proc>): Promise<IperfFaultRun> {
  const kinds: FaultKind[] = [];
  const recoveryMs: number[] = [];
  const injector = async (ended: AbortSignal): Promise<void> => {
    const start = performance.now();
    for (let i = 1; i * options.faultEveryMs < options.faultSeconds * 1000; i++) {
      try {
        await pace(Math.max(0, start + i * options.faultEveryMs - performance.now()), undefined, { signal: ended });
      } catch {
        return;
      }
      const port = path.ports[(i - 1) % path.ports.length]!;
      const kind = iperfFaultKinds[(i - 1) % iperfFaultKinds.length]!;
      const recovered = recoveryOf(rt, port.name, 10_000);
      rt.inject(port.name, { kind });
      kinds.push(kind);
      const event = await recovered;
      if (event) recoveryMs.push(event.totalMs);
    }
  };
  // The client's exit ends the injector's wait for the next fault; a recovery under way is awaited.
  const run = await runClient(path, options.faultSeconds, procs, injector);
  return { run, kinds, recoveryMs };
}

export async function measureIperf(options: IperfOptions): Promise<IperfResult> {
  const { progress, ...recorded } = options;
  const runs = emptyRuns();
  const missing = iperfMissing();
  if (missing) {
    progress?.(`iperf: *** SKIPPED: ${missing} ***`);
    return { options: recorded, skipped: missing, runs };
  }
  const iperf3 = execFileSync('iperf3', ['--version'], { encoding: 'utf8' }).split('\n')[0]!.trim();
  const rt = createRuntime({ faultInjection: true });
  const paths: Path[] = [];
  const servers: Proc[] = [];
  const procs = new Set<Proc>();
  let failure: unknown;
  try {
    try {
      paths.push(await bridgePath());
    } catch (err) {
      const message = (err as Error).message;
      if (!/Unknown device type|not supported/i.test(message)) throw err;
      progress?.(`iperf: *** SKIPPED: no Linux bridge or veth support (${message.trim()}) ***`);
      return { options: recorded, skipped: `no Linux bridge or veth support: ${message.trim()}`, iperf3, runs };
    }
    paths.push(await vdePath());
    for (const id of iperfPathIds.slice(2)) paths.push(await tapPath(rt, configurations.find((c) => c.id === id)!));
    for (const path of paths) {
      // Addresses resolved and learned before anything is measured.
      await path.client.exec('ping', ['-c', '2', '-i', '0.2', '-W', '2', path.server.address]);
      const server = startIn(path.server.ns, 'iperf3', ['-s', '-B', path.server.address, '-p', String(PORT), '--forceflush'], `iperf3 server (${path.id})`);
      servers.push(server);
      await server.waitFor(/Server listening/);
    }
    for (let round = options.warmupSeconds > 0 ? -1 : 0; round < options.rounds; round++) {
      progress?.(round < 0 ? 'iperf: warm-up' : `iperf: round ${round + 1} of ${options.rounds}`);
      for (const path of shuffled(paths, seededRandom(options.seed * 1000 + round + 1))) {
        const run = await runClient(path, round < 0 ? options.warmupSeconds : options.seconds, procs);
        if (round >= 0) runs[path.id].push(run);
      }
    }
    let faulted: IperfFaultRun | undefined;
    if (options.faultSeconds > 0) {
      progress?.(`iperf: (c) worker with a fault every ${options.faultEveryMs} ms`);
      faulted = await faultedRun(rt, paths.find((p) => p.id === 'c-worker')!, options, procs);
    }
    return { options: recorded, iperf3, runs, faulted };
  } catch (err) {
    failure = err;
    throw err;
  } finally {
    await Promise.all([...servers, ...procs].map((p) => p.stop()));
    for (const path of paths) path.sw?.stop();
    await rt.close();
    for (const path of paths) await path.vde?.stop();
    for (const id of tapPathIds) {
      for (const tag of tapTags(id)) { await killInside(names(tag).ns); await removeNamespace(names(tag).ns); }
    }
    await removeBridgedHosts(tags.k, 2);
    const left = [...await namespacesLeft(), ...(await Promise.all(tapPathIds.flatMap(tapTags).map(leftovers))).flat()];
    // A leak is a failure of its own, unless the run already failed (that error says more).
    if (left.length && !failure) throw new Error(`the iperf section left behind: ${left.join(', ')}`);
  }
}

/** Median, 25th and 75th percentiles of the per-round ratios top/bottom. */
export function iperfRatio(result: IperfResult, top: IperfPathId, bottom: IperfPathId) {
  const per = result.runs[top].map((r, i) => r.mbps / result.runs[bottom][i]!.mbps).filter(Number.isFinite);
  return { p25: quantile(per, 0.25), median: median(per), p75: quantile(per, 0.75) };
}
