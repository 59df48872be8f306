/**
 * What the network applications share: two hosts, A (192.0.2.1) and B (192.0.2.2), each a
 * network namespace with a TAP of the trial's own (named after the trial's process, so trials
 * can run at once), joined by the kernel's learning switch whose ports are the shadowed `tap`
 * drivers (A's is the fault's target unless the monitor port is); optionally a monitor port,
 * a `virtual` driver whose hardware's cable ends in a pcap capture. The namespaces are
 * anonymous, held by `unshare` (network and PID namespace) with `setpriv --pdeathsig`, so when
 * the trial dies, its holders die, every program in the hosts is killed with the PID namespace
 * and the network namespaces go; the TAPs go with the kernel's descriptors. Nothing is named
 * in /run/netns, nothing is left to clean up.
 */
import { NotRunnable } from '../types.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NetDevice } from 'shadow-drivers';
import { PcapCapture } from '../../harness/pcap-writer.js';
import { LearningSwitch } from 'shadow-drivers';
import { VirtualNic } from 'shadow-drivers';
import type { AppReport } from '../types.js';
import type { AppContext } from './context.js';
import { run, type Run } from './kernel-ext4.js';

export interface Program {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  exited: Promise<number | null>;
  /** Waits until `check` holds (looking whenever the program writes or exits); false if it exited first or the deadline passed. */
  until(check: () => boolean, deadlineMs?: number): Promise<boolean>;
  /** SIGKILL to the program (nsenter's child, in the host) and to nsenter. */
  kill(): Promise<void>;
}

export interface NetHost {
  address: string;
  /** The host's interface (its TAP). */
  ifname: string;
  /** Runs a command in the host's namespaces to its end. */
  exec(command: string, args: string[], timeoutMs?: number): Promise<Run>;
  /** Starts a program in the host (it dies with the host at the latest). */
  start(command: string, args: string[]): Program;
}

export interface Monitor { port: NetDevice; nic: VirtualNic; capture: PcapCapture; path: string }

export interface SwitchedHosts { hosts: [NetHost, NetHost]; ports: NetDevice[]; sw: LearningSwitch; monitor: Monitor | undefined }

const missingReason = async (tools: string[]): Promise<string | undefined> => {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces, TAP interfaces)';
  for (const tool of ['ip', 'setpriv', 'unshare', 'nsenter', ...tools]) {
    if (await run('sh', ['-c', `command -v ${tool}`]).then(() => false, () => true)) return `${tool} is not installed`;
  }
  return undefined;
};

/** A namespace holder: its first process's pid, and how to end it. */
async function holder(): Promise<{ inner: number; stop(): Promise<void> }> {
  const child = spawn('setpriv', ['--pdeathsig', 'KILL', 'unshare', '--net', '--pid', '--fork', '--kill-child=SIGKILL', 'sleep', 'infinity'],
    { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  const exited = new Promise<void>((resolve) => { child.once('exit', () => resolve()); child.once('error', (e) => { stderr ||= e.message; resolve(); }); });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
    // SIGKILL at once: unshare ignores SIGTERM while it waits for its child, and the holder has
    // nothing to end gracefully (its --kill-child takes the PID namespace down with it).
    child.kill('SIGKILL');
    await exited;
  };
  const end = Date.now() + 10_000;
  for (;;) {
    const children = await readFile(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').catch(() => '');
    const inner = Number(children.trim().split(/\s+/)[0]) || 0;
    if (inner) return { inner, stop };
    if (child.exitCode !== null || child.signalCode !== null || Date.now() > end) {
      await stop();
      throw new Error(`the host's namespace did not start: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 5));
  }
}

function hostIn(inner: number, address: string, ifname: string, programs: Program[]): NetHost {
  const enter = ['-t', String(inner), '-n', '-p', '--'];
  return {
    address, ifname,
    exec: (command, args, timeoutMs) => run('nsenter', [...enter, command, ...args], { timeoutMs: timeoutMs ?? 30_000 }),
    start(command, args) {
      const child = spawn('nsenter', [...enter, command, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      const waiters = new Set<() => void>();
      const changed = () => { for (const w of waiters) w(); };
      child.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; changed(); });
      child.stderr!.setEncoding('utf8').on('data', (d: string) => { err = (err + d).slice(-4000); changed(); });
      child.stdin!.on('error', () => undefined);
      let code: number | null | undefined;
      const exited = new Promise<number | null>((resolve) => {
        child.once('close', (c) => { code = c; changed(); resolve(c); });
        child.once('error', (e) => { err ||= e.message; code = -1; changed(); resolve(-1); });
      });
      const program: Program = {
        child, exited, stdout: () => out, stderr: () => err,
        async kill() {
          const inner = await readFile(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').catch(() => '');
          for (const pid of inner.trim().split(/\s+/).filter(Boolean)) { try { process.kill(Number(pid), 'SIGKILL'); } catch { /* gone */ } }
          child.kill('SIGKILL');
        },
        until(check, deadlineMs = 10_000) {
          return new Promise((resolve) => {
            const done = (value: boolean) => { waiters.delete(look); clearTimeout(timer); resolve(value); };
            const look = () => { if (check()) done(true); else if (code !== undefined) done(false); };
            const timer = setTimeout(() => done(check()), deadlineMs);
            waiters.add(look);
            look();
          });
        },
      };
      programs.push(program);
      return program;
    },
  };
}

/**
 * Builds the two hosts (and the monitor port if asked for, shown to `monitor` before the
 * switch starts), runs `body`, and takes everything
 * down, failure or not: the programs, the runtime, then the namespaces.
 */
export async function withSwitchedHosts(context: AppContext, options: { monitor?: (monitor: Monitor) => void; tools: string[] },
  body: (net: SwitchedHosts) => Promise<AppReport>): Promise<AppReport> {
  const missing = await missingReason(options.tools);
  if (missing) throw new NotRunnable(`the hosts cannot be built here: ${missing}`);
  const holders: { inner: number; stop(): Promise<void> }[] = [];
  const programs: Program[] = [];
  let sw: LearningSwitch | undefined;
  let monitor: Monitor | undefined;
  try {
    const ports: NetDevice[] = [];
    const hosts: NetHost[] = [];
    for (const [i, tag] of ['a', 'b'].entries()) {
      const ifname = `sdr${process.pid}${tag}`;
      ports.push(await context.rt.attachNet(context.spec(`tap-${tag}`, { className: 'net', driver: 'tap', config: { ifname } }, i === 0 && !options.monitor)));
      const ns = await holder();
      holders.push(ns);
      const address = `192.0.2.${i + 1}`;
      await run('ip', ['link', 'set', ifname, 'netns', String(ns.inner)]);
      const host = hostIn(ns.inner, address, ifname, programs);
      await host.exec('ip', ['link', 'set', 'lo', 'up']);
      await host.exec('ip', ['addr', 'add', `${address}/24`, 'dev', ifname]);
      await host.exec('ip', ['link', 'set', ifname, 'up']);
      hosts.push(host);
    }
    if (options.monitor) {
      const nic = await VirtualNic.create();
      const path = join(tmpdir(), 'monitor.pcap');
      const capture = new PcapCapture(path);
      nic.plug(capture);
      const port = await context.rt.attachNet(context.spec('monitor', { className: 'net', driver: 'virtual', config: { socket: nic.socketPath } }, true));
      monitor = { port, nic, capture, path };
      options.monitor(monitor); // before the switch starts: the application sees every frame the port is handed
    }
    sw = await LearningSwitch.start(ports, { monitor: monitor?.port });
    await hosts[0]!.exec('ping', ['-c', '1', '-W', '5', hosts[1]!.address]);
    return await body({ hosts: hosts as [NetHost, NetHost], ports, sw, monitor });
  } finally {
    // The programs die with their PID namespaces (nsenter's own child outlives a killed nsenter).
    for (const p of programs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await Promise.all(holders.map((h) => h.stop()));
    await Promise.all(programs.map((p) => p.exited));
    sw?.stop();
    await context.rt.close();
    if (monitor) { await monitor.nic.close(); monitor.capture.close(); }
  }
}
