/**
 * The network class over real Linux TAP interfaces: two network namespaces, each with a TAP
 * the kernel opened and holds, joined by the kernel's learning switch whose ports are `tap`
 * drivers. `ping` runs across the switch while faults of every kind hit both drivers: it
 * loses echoes only inside recovery windows. And the interfaces keep their identity (ifindex,
 * MAC, MTU, addresses, routes) through 10 driver restarts, with monotonic statistics.
 * Needs root and /dev/net/tun; skips loudly without them.
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { createRuntime, faultKinds, LearningSwitch, type NetDevice, type NetStats, type Runtime } from '../../src/index.js';
import { until } from '../helpers/events.js';
import { faultLoop } from '../helpers/fault-loop.js';
import { expectNoLeaks, snapshot } from '../helpers/leaks.js';
import { createNamespace, leftovers, names, namespacesMissing, placeTap, removeNamespace, sh, type Host } from '../helpers/netns.js';
import { recoveryWindows } from '../helpers/recovery-windows.js';

const missing = namespacesMissing();
if (missing) console.error(`\n*** SKIPPING the TAP network tests: ${missing} ***\n`);

const fast = { heartbeatMs: 50, heartbeatTimeoutMs: 500, deadlineScale: 0.5, restart: { intensity: 10_000 }, warmStandby: true };

interface TapNetwork { rt: Runtime; ports: NetDevice[]; hosts: Host[]; sw: LearningSwitch }

/** Two namespaces joined by the switch; `body` runs, then everything is removed. */
async function withTapNetwork(domain: 'worker' | 'process', body: (net: TapNetwork) => Promise<void>): Promise<void> {
  const tags = ['a', 'b'];
  const rt = createRuntime();
  let sw: LearningSwitch | undefined;
  try {
    const ports: NetDevice[] = [];
    const hosts: Host[] = [];
    for (const [i, tag] of tags.entries()) {
      const { ns, ifname } = names(tag);
      await createNamespace(ns);
      ports.push(await rt.attachNet({ name: `tap-${tag}`, driver: 'tap', domain, config: { ifname }, ...fast }));
      hosts.push(await placeTap(ns, ifname, `192.0.2.${i + 1}/24`));
    }
    sw = await LearningSwitch.start(ports);
    await body({ rt, ports, hosts, sw });
  } finally {
    sw?.stop();
    await rt.close();
    for (const tag of tags) await removeNamespace(names(tag).ns);
  }
  for (const tag of tags) assert.deepEqual(await leftovers(tag), [], 'namespaces and TAPs are gone');
}

interface PingReply { seq: number; at: number }

/** Starts ping inside a namespace; `stop()` interrupts it and returns the replies. */
function startPing(host: Host, target: string, intervalS: number) {
  const child = spawn('ip', ['netns', 'exec', host.ns, 'ping', '-D', '-n', '-i', String(intervalS), '-W', '1', target], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const replies = (): PingReply[] => [...out.matchAll(/^\[(\d+\.\d+)\].*icmp_seq=(\d+) /gm)]
    .map((m) => ({ seq: Number(m[2]), at: Math.round(Number(m[1]) * 1000) }));
  return {
    replies,
    async stop(): Promise<PingReply[]> {
      child.kill('SIGINT');
      await exited;
      return replies();
    },
  };
}

/** Lost echoes, each with its send time estimated from the replies around it. */
function lostEchoes(replies: PingReply[]): { seq: number; at: number }[] {
  const lost: { seq: number; at: number }[] = [];
  for (let i = 1; i < replies.length; i++) {
    const prev = replies[i - 1]!;
    const next = replies[i]!;
    for (let seq = prev.seq + 1; seq < next.seq; seq++) {
      lost.push({ seq, at: prev.at + ((seq - prev.seq) * (next.at - prev.at)) / (next.seq - prev.seq) });
    }
  }
  return lost;
}

test('ping across the switch loses echoes only inside recovery windows, with faults of every kind in both TAP drivers', { skip: missing }, async () => {
  const before = snapshot();
  await withTapNetwork('worker', async ({ rt, ports, hosts }) => {
    await hosts[0]!.exec('ping', ['-c', '3', '-i', '0.2', '-W', '2', hosts[1]!.address]);
    const windows = recoveryWindows(rt);
    const ping = startPing(hosts[0]!, hosts[1]!.address, 0.02);
    let replies: PingReply[] = [];
    try {
      await until(() => ping.replies().length >= 20, 'ping replies before the faults', 10_000);
      for (const port of ports) {
        const loop = faultLoop(rt, port.name, async () => { windows.injected(port.name, loop.injectedAt.at(-1)!); await port.stats(); }, [...faultKinds], 200);
        await until(() => loop.injected.length >= faultKinds.length, `a fault of every kind into ${port.name}`, 120_000);
        await loop.stop();
      }
      const settled = ping.replies().length;
      await until(() => ping.replies().length >= settled + 20, 'ping replies after the last recovery', 10_000);
    } finally {
      windows.stop();
      replies = await ping.stop();
    }
    const lost = lostEchoes(replies);
    const outside = lost.filter((l) => !windows.covers(l.at, 300));
    console.log(`ping: ${replies.length} replies, ${lost.length} lost, ${windows.windows.length} recovery windows`);
    assert.deepEqual(outside, [], 'echoes lost outside recovery windows');
    for (const port of ports) assert.ok(rt.manager.driver(port.name)!.recoveries >= faultKinds.length);
  });
  await expectNoLeaks(before);
});

test('TAP interfaces keep ifindex, MAC, MTU, addresses and routes through 10 driver restarts (process domain)', { skip: missing }, async () => {
  const before = snapshot();
  await withTapNetwork('process', async ({ rt, ports, hosts }) => {
    const identity = async (host: Host) => {
      const link = JSON.parse(await sh('ip', ['-j', '-n', host.ns, 'link', 'show', 'dev', host.ifname]))[0];
      const addrs = JSON.parse(await sh('ip', ['-j', '-n', host.ns, 'addr', 'show', 'dev', host.ifname]))[0].addr_info
        .map((a: { local: string; prefixlen: number }) => `${a.local}/${a.prefixlen}`).sort();
      const routes = JSON.parse(await sh('ip', ['-j', '-n', host.ns, 'route', 'show']));
      return { ifindex: link.ifindex, mac: link.address, mtu: link.mtu, addrs, routes };
    };
    const at = await Promise.all(hosts.map(identity));
    let stats: NetStats = await ports[0]!.stats();
    const kinds = ['exit', 'kill', 'throw', 'rejection', 'abort'] as const;
    for (let i = 0; i < 10; i++) {
      await hosts[0]!.exec('ping', ['-c', '2', '-i', '0.1', '-W', '2', hosts[1]!.address]);
      const recovered = new Promise((resolve) => rt.manager.once('recovery', resolve));
      rt.inject(ports[0]!.name, { kind: kinds[i % kinds.length]! });
      await recovered;
      assert.deepEqual(await Promise.all(hosts.map(identity)), at, `restart ${i + 1}: interfaces unchanged`);
      const next = await ports[0]!.stats();
      for (const key of Object.keys(stats) as (keyof NetStats)[]) assert.ok(next[key] >= stats[key], `restart ${i + 1}: ${key} went backwards`);
      stats = next;
    }
    await hosts[0]!.exec('ping', ['-c', '3', '-i', '0.1', '-W', '2', hosts[1]!.address]);
    assert.ok(stats.rxFrames > 0 && stats.txFrames > 0, 'frames went through the restarted drivers');
    assert.equal((await ports[0]!.linkState()).promiscuous, true, 'the switch port stays promiscuous');
  });
  await expectNoLeaks(before);
});
