/**
 * Network namespaces as hosts, for the tests and the benchmark: each host is a namespace with
 * an interface of its own and an address: a TAP the kernel opened, moved into it; one end of
 * a veth pair whose other end stays here; or one end of a veth pair whose other end is a port
 * of a Linux bridge in a namespace of its own (the kernel's own switch, for comparison). The
 * removal functions carry on past failed steps, so a failure leaves no namespace, interface
 * or process behind. Needs root and iproute2 (`ip`).
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';

export function sh(command: string, args: string[], timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      // How it ended, too: a command killed at the deadline or by a signal prints nothing of it.
      const ended = error ? (error.killed ? `killed (${error.signal ?? 'signal'}) after ${timeoutMs} ms` : error.signal ? `killed by ${error.signal}` : `exit code ${String(error.code)}`) : '';
      if (error) reject(new Error(`${command} ${args.join(' ')}: ${ended}: ${error.message} ${stderr}`));
      else resolve(stdout);
    });
  });
}

/** Why namespace tests cannot run here, or undefined when they can (`tun`: they need TAPs). */
export function namespacesMissing(options: { tun: boolean } = { tun: true }): string | undefined {
  if (process.getuid?.() !== 0) return `needs root (ip netns, ${options.tun ? 'TAP' : 'veth, AF_PACKET'})`;
  if (options.tun && !existsSync('/dev/net/tun')) return 'no /dev/net/tun';
  if (!existsSync('/usr/sbin/ip') && !existsSync('/sbin/ip') && !existsSync('/usr/bin/ip')) return 'no ip (iproute2)';
  return undefined;
}

export interface Host {
  ns: string;
  ifname: string;
  address: string;
  /** Runs a command inside the namespace. */
  exec(command: string, args: string[], timeoutMs?: number): Promise<string>;
}

const hostOf = (ns: string, ifname: string, cidr: string): Host => ({
  ns, ifname, address: cidr.split('/')[0]!,
  exec: (command, args, timeoutMs) => sh('ip', ['netns', 'exec', ns, command, ...args], timeoutMs),
});

/** Names unique to this process, short enough for interface names (15 chars). */
export function names(tag: string): { ns: string; ifname: string } {
  const id = `${process.pid % 100000}`;
  return { ns: `sd-${tag}-${id}`, ifname: `sdt${tag}${id}` };
}

/** Creates the namespace (before the kernel opens the TAP). */
export async function createNamespace(ns: string): Promise<void> {
  await sh('ip', ['netns', 'add', ns]);
  await sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
}

/** Moves the TAP the kernel opened into the namespace and gives it its address. */
export async function placeTap(ns: string, ifname: string, cidr: string): Promise<Host> {
  await sh('ip', ['link', 'set', ifname, 'netns', ns]);
  await sh('ip', ['-n', ns, 'addr', 'add', cidr, 'dev', ifname]);
  await sh('ip', ['-n', ns, 'link', 'set', ifname, 'up']);
  return hostOf(ns, ifname, cidr);
}

export async function removeNamespace(ns: string): Promise<void> {
  await sh('ip', ['netns', 'del', ns]).catch(() => undefined);
}

/** Kills whatever still runs inside a namespace (a forked server's children, say). */
export async function killInside(ns: string): Promise<void> {
  const pids = (await sh('ip', ['netns', 'pids', ns]).catch(() => '')).split(/\s+/).filter(Boolean);
  for (const pid of pids) { try { process.kill(Number(pid), 'SIGKILL'); } catch { /* gone already */ } }
}

/** Namespaces and interfaces of ours that still exist (for leak checks). */
export async function leftovers(tag: string): Promise<string[]> {
  const { ns, ifname } = names(tag);
  const out: string[] = [];
  if (existsSync('/run/netns') && readdirSync('/run/netns').includes(ns)) out.push(`namespace ${ns}`);
  if ((await sh('ip', ['-o', 'link', 'show'])).includes(`${ifname}:`)) out.push(`interface ${ifname}`);
  return out;
}

/** Names of a veth host: `inside` lives in the namespace, `outside` stays here. */
export function vethNames(tag: string): { ns: string; inside: string; outside: string } {
  const id = `${process.pid % 100000}`;
  return { ns: `sd-${tag}-${id}`, inside: `sdv${tag}${id}`, outside: `sdw${tag}${id}` };
}

/**
 * A namespace holding one end of a new veth pair, with an address; the other end stays in
 * this namespace, up, with IPv6 off (it carries the namespace's frames, never its own).
 */
export async function createVethHost(tag: string, cidr: string): Promise<Host & { outside: string }> {
  const { ns, inside, outside } = vethNames(tag);
  await createNamespace(ns);
  // Created with one end already in the namespace: deleting the namespace deletes the pair.
  await sh('ip', ['link', 'add', outside, 'type', 'veth', 'peer', 'name', inside, 'netns', ns]);
  const ipv6 = `/proc/sys/net/ipv6/conf/${outside}/disable_ipv6`;
  if (existsSync(ipv6)) writeFileSync(ipv6, '1');
  await sh('ip', ['link', 'set', outside, 'up']);
  await sh('ip', ['-n', ns, 'addr', 'add', cidr, 'dev', inside]);
  await sh('ip', ['-n', ns, 'link', 'set', inside, 'up']);
  return { ...hostOf(ns, inside, cidr), outside };
}

/** Removes a veth host, whatever part of it exists. */
export async function removeVethHost(tag: string): Promise<void> {
  const { ns, outside } = vethNames(tag);
  await sh('ip', ['link', 'del', outside]).catch(() => undefined);
  await removeNamespace(ns);
}

/** A veth host's namespace and interfaces that still exist (for leak checks). */
export async function vethLeftovers(tag: string): Promise<string[]> {
  const { ns, outside } = vethNames(tag);
  const out: string[] = [];
  if (existsSync('/run/netns') && readdirSync('/run/netns').includes(ns)) out.push(`namespace ${ns}`);
  if (new RegExp(`: ${outside}[@:]`).test(await sh('ip', ['-o', 'link', 'show']))) out.push(`interface ${outside}`);
  return out;
}

/** The namespaces of bridged hosts `tag`: one per host, and the bridge's own. */
export function bridgeNames(tag: string, hosts: number): { bridge: string; hosts: string[] } {
  return { bridge: names(`${tag}br`).ns, hosts: Array.from({ length: hosts }, (_, i) => names(`${tag}${i}`).ns) };
}

/**
 * Hosts joined by a Linux bridge: a namespace per host with an `eth0` (one end of a veth
 * pair, the address of `cidrs[i]`), whose other end is a port of bridge `br0` in a namespace
 * of its own (so the host's own firewall and bridge settings stay out of the path). Every
 * interface has the default MTU and offloads. Removing the namespaces removes everything.
 */
export async function createBridgedHosts(tag: string, cidrs: string[]): Promise<Host[]> {
  const { bridge, hosts: namespaces } = bridgeNames(tag, cidrs.length);
  await createNamespace(bridge);
  // The bridge and its ports carry the hosts' frames, never their own.
  await sh('ip', ['netns', 'exec', bridge, 'sysctl', '-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
  await sh('ip', ['-n', bridge, 'link', 'add', 'br0', 'type', 'bridge']);
  await sh('ip', ['-n', bridge, 'link', 'set', 'br0', 'up']);
  const hosts: Host[] = [];
  for (const [i, cidr] of cidrs.entries()) {
    const ns = namespaces[i]!;
    await createNamespace(ns);
    await sh('ip', ['-n', bridge, 'link', 'add', `port${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    await sh('ip', ['-n', bridge, 'link', 'set', `port${i}`, 'master', 'br0', 'up']);
    await sh('ip', ['-n', ns, 'addr', 'add', cidr, 'dev', 'eth0']);
    await sh('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
    hosts.push(hostOf(ns, 'eth0', cidr));
  }
  return hosts;
}

/** Removes bridged hosts and their bridge, whatever part of them exists (processes first). */
export async function removeBridgedHosts(tag: string, hosts: number): Promise<void> {
  const { bridge, hosts: namespaces } = bridgeNames(tag, hosts);
  for (const ns of [...namespaces, bridge]) {
    await killInside(ns);
    await removeNamespace(ns);
  }
}

/** Namespaces of a process's (`sd-…-<pid>`, by default this one's) that still exist, in `ip netns list` (for leak checks). */
export async function namespacesLeft(pid = process.pid): Promise<string[]> {
  const suffix = `-${pid % 100000}`;
  return (await sh('ip', ['netns', 'list'])).split('\n').map((line) => line.split(' ')[0]!)
    .filter((ns) => ns.startsWith('sd-') && ns.endsWith(suffix));
}

/**
 * Removes what a process that died without cleaning up left of its namespaces (a campaign
 * trial killed on a hang): the processes inside them, then the namespaces (their interfaces go
 * with them). Without `ip`, or without any, it does nothing.
 */
export async function removeNamespacesOf(pid: number): Promise<string[]> {
  const left = await namespacesLeft(pid).catch(() => []);
  for (const ns of left) {
    await killInside(ns);
    await removeNamespace(ns);
  }
  return left;
}
