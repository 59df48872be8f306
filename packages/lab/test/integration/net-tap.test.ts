/**
 * The network class over real Linux TAP interfaces: two network namespaces, each with a TAP
 * the kernel opened and holds, joined by the kernel's learning switch whose ports are `tap`
 * drivers. `ping` runs across the switch while faults of every kind hit both drivers: it
 * loses echoes only inside recovery windows. And the interfaces keep their identity (ifindex,
 * MAC, MTU, addresses, routes) through 10 driver restarts, with monotonic statistics.
 * Needs root and /dev/net/tun; skips loudly without them.
 */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { createRuntime, faultKinds, LearningSwitch, type NetDevice, type NetStats, type Runtime } from 'shadow-drivers';
import { expectNoLeaks, requires, snapshot } from 'shadow-drivers/testing';
import { createNamespace, leftovers, names, placeTap, removeNamespace, sh, type Host } from '../../src/harness/netns.js';
import { startIn, within } from '../../src/harness/ns-process.js';
import { pingUnderFaults } from '../helpers/ping.js';

const missing = requires('root', 'tun', 'netns', 'ping');
if (missing) console.error(`\n*** SKIPPING the TAP network tests: ${missing} ***\n`);

const fast = { heartbeatMs: 50, heartbeatTimeoutMs: 500, deadlineScale: 0.5, restart: { intensity: 10_000 }, warmStandby: true };

interface TapNetwork { rt: Runtime; ports: NetDevice[]; hosts: Host[]; sw: LearningSwitch }

/**
 * Two namespaces joined by the switch; `body` runs, then everything is removed. `offloads`:
 * whether each TAP carries a virtio-net header (the default: both).
 */
async function withTapNetwork(domain: 'worker' | 'process', body: (net: TapNetwork) => Promise<void>,
  offloads: [boolean, boolean] = [true, true]): Promise<void> {
  const tags = ['a', 'b'];
  const rt = createRuntime({ faultInjection: true });
  let sw: LearningSwitch | undefined;
  try {
    const ports: NetDevice[] = [];
    const hosts: Host[] = [];
    for (const [i, tag] of tags.entries()) {
      const { ns, ifname } = names(tag);
      await createNamespace(ns);
      ports.push(await rt.attachNet({ name: `tap-${tag}`, driver: 'tap', domain, config: { ifname, offloads: offloads[i] }, ...fast }));
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

test('ping across the switch loses echoes only inside recovery windows, with faults of every kind in both TAP drivers', { skip: missing }, async () => {
  const before = snapshot();
  await withTapNetwork('worker', async ({ rt, ports, hosts }) => {
    const ping = await pingUnderFaults(rt, ports, hosts[0]!, hosts[1]!);
    console.log(`ping: ${ping.replies.length} replies, ${ping.lost.length} lost, ${ping.windows} recovery windows`);
    assert.deepEqual(ping.outside, [], 'echoes lost outside recovery windows');
    for (const port of ports) assert.ok(rt.status(port.name)!.recoveries >= faultKinds.length);
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

test('a TAP whose host interface is set down refuses frames: they are dropped and counted, and its driver does not fail', { skip: missing }, async () => {
  const before = snapshot();
  await withTapNetwork('worker', async ({ rt, ports, hosts }) => {
    const failures: unknown[] = [];
    rt.manager.on('failure', (e) => failures.push(e));
    await hosts[0]!.exec('ping', ['-c', '2', '-i', '0.1', '-W', '2', hosts[1]!.address]);
    const droppedBefore = ports[1]!.counters.droppedByDriver;
    await sh('ip', ['-n', hosts[1]!.ns, 'link', 'set', hosts[1]!.ifname, 'down']);
    // Echo requests (and ARP) for the far host reach its switch port, whose TAP refuses them.
    await assert.rejects(hosts[0]!.exec('ping', ['-c', '3', '-i', '0.2', '-W', '1', hosts[1]!.address]), 'no echo while the far side is down');
    await sh('ip', ['-n', hosts[1]!.ns, 'link', 'set', hosts[1]!.ifname, 'up']);
    await hosts[0]!.exec('ping', ['-c', '2', '-i', '0.1', '-W', '2', hosts[1]!.address]);
    assert.ok(ports[1]!.counters.droppedByDriver > droppedBefore, 'the refused frames are counted as dropped');
    assert.deepEqual(failures, [], 'no driver failure');
    assert.equal(rt.status(ports[1]!.name)!.recoveries, 0);
  });
  await expectNoLeaks(before);
});

const missingIperf = missing || requires('iperf3');

/** iperf3 sends `bytes` from hosts[0] to hosts[1]; resolves with the receiver's byte count. */
async function iperfBytes(hosts: Host[], bytes: number): Promise<number> {
  const server = startIn(hosts[1]!.ns, 'iperf3', ['-s', '-1', '-B', hosts[1]!.address, '--forceflush']);
  try {
    await server.waitFor(/Server listening/);
    const client = startIn(hosts[0]!.ns, 'iperf3', ['-c', hosts[1]!.address, '-n', String(bytes), '-J']);
    await within(client.exited, 60_000, 'iperf3 -n');
    assert.equal(client.exit?.code, 0, client.stderr());
    return (JSON.parse(client.stdout()) as { end: { sum_received: { bytes: number } } }).end.sum_received.bytes;
  } finally {
    await server.stop();
  }
}

for (const offloads of [[true, false], [false, true]] as [boolean, boolean][]) {
  test(`a TCP stream crosses from a TAP ${offloads[0] ? 'with' : 'without'} offloads to one ${offloads[1] ? 'with' : 'without'}: ` +
    'GSO frames are cut and checksums completed for the port that takes none', { skip: missingIperf }, async () => {
    const before = snapshot();
    await withTapNetwork('worker', async ({ rt, ports, hosts }) => {
      const failures: unknown[] = [];
      rt.manager.on('failure', (e) => failures.push(e));
      await hosts[0]!.exec('ping', ['-c', '2', '-i', '0.1', '-W', '2', hosts[1]!.address]);
      const bytes = 16 * 1024 * 1024;
      // TCP drops a segment whose checksum is wrong, and the sender cannot finish 16 MiB with
      // its few MiB of send buffer unless most of it was acknowledged. (iperf3's received
      // count stops at the end of sending, before the last buffers are read.)
      const received = await iperfBytes(hosts, bytes);
      assert.ok(received >= bytes / 2, `${received} of ${bytes} bytes arrived`);
      const [sender, receiver] = await Promise.all(ports.map((p) => p.stats()));
      const gso = sender!.rxBytes / sender!.rxFrames;
      if (offloads[0]) {
        assert.ok(gso > 1514, `GSO frames reached the switch (${gso.toFixed(0)} bytes a frame on average)`);
        assert.ok(receiver!.txFrames > sender!.rxFrames, 'the port without offloads sent the segments');
      } else assert.ok(gso <= 1514, 'a TAP without offloads hands over wire-sized frames');
      assert.equal(ports[0]!.takesOffloads, offloads[0]);
      assert.equal(ports[1]!.takesOffloads, offloads[1]);
      assert.deepEqual(failures, [], 'no driver failure');
    }, offloads);
    await expectNoLeaks(before);
  });
}
