/**
 * The network class on virtual NICs: two hosts joined by the kernel's learning switch, each
 * port a shadowed `virtual` NIC driver, while faults of every kind hit the drivers. Frames
 * carry sequence numbers: nothing may be lost outside recovery windows, nothing duplicated
 * or reordered; the ports keep their configuration (promiscuous, up) and their identity, and
 * statistics never go backwards.
 */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import {
  createRuntime, faultKinds, LearningSwitch, VirtualNic,
  type DriverSpec, type NetDevice, type NetStats, type Runtime,
} from 'shadow-drivers';
import { until } from 'shadow-drivers/testing';
import { VirtualHost } from '../../src/harness/virtual-host.js';
import { faultLoop } from 'shadow-drivers/testing';
import { expectNoLeaks, snapshot } from 'shadow-drivers/testing';
import { recoveryWindows } from 'shadow-drivers/testing';

const MAC_A = '02:00:00:00:00:0a';
const MAC_B = '02:00:00:00:00:0b';
const fast = { heartbeatMs: 50, heartbeatTimeoutMs: 500, deadlineScale: 0.5, restart: { intensity: 10_000 }, warmStandby: true };

interface Network {
  rt: Runtime;
  nics: VirtualNic[];
  ports: NetDevice[];
  hostA: VirtualHost;
  hostB: VirtualHost;
  sw: LearningSwitch;
  close(): Promise<void>;
}

async function twoHosts(domain: DriverSpec['domain'], recovery: DriverSpec['recovery'] = 'shadow'): Promise<Network> {
  const rt = createRuntime({ faultInjection: true });
  const nics = [await VirtualNic.create(), await VirtualNic.create()];
  const ports: NetDevice[] = [];
  for (const [i, nic] of nics.entries()) {
    ports.push(await rt.attachNet({ name: `port${i}`, driver: 'virtual', domain, recovery, config: { socket: nic.socketPath }, ...fast }));
  }
  const hostA = new VirtualHost(MAC_A, nics[0]!);
  const hostB = new VirtualHost(MAC_B, nics[1]!);
  const sw = await LearningSwitch.start(ports);
  return {
    rt, nics, ports, hostA, hostB, sw,
    async close() {
      sw.stop();
      await rt.close();
      for (const nic of nics) await nic.close();
    },
  };
}

/** Steady traffic both ways; remembers when each sequence number was sent. */
function traffic(net: Network, perTick = 4) {
  const sentAt: [number[], number[]] = [[], []];
  const timer = setInterval(() => {
    for (let i = 0; i < perTick; i++) {
      sentAt[0][net.hostA.send(MAC_B, 64 + (i % 4) * 400)] = Date.now();
      sentAt[1][net.hostB.send(MAC_A, 64 + (i % 4) * 400)] = Date.now();
    }
  }, 5);
  return { sentAt, stop: () => clearInterval(timer) };
}

function assertMonotonic(before: NetStats, after: NetStats, what: string): void {
  for (const key of Object.keys(before) as (keyof NetStats)[]) {
    assert.ok(after[key] >= before[key], `${what}: ${key} went backwards (${before[key]} -> ${after[key]})`);
  }
}

for (const domain of ['worker', 'process'] as const) {
  test(`frames cross the switch with faults of every kind in both NIC drivers (${domain} domain)`, async () => {
    const before = snapshot();
    const net = await twoHosts(domain);
    const portsAtStart = [...net.ports];
    const windows = recoveryWindows(net.rt);
    const flow = traffic(net);
    const statsSeen: NetStats[][] = [[], []];
    try {
      // Both directions flow before the first fault.
      await until(() => net.hostB.report(MAC_A).received > 500 && net.hostA.report(MAC_B).received > 500, 'traffic to start');
      for (const [i, port] of net.ports.entries()) {
        const loop = faultLoop(net.rt, port.name, async () => {
          windows.injected(port.name, loop.injectedAt.at(-1)!);
          statsSeen[i]!.push(await port.stats());
        }, [...faultKinds], 60);
        await until(() => loop.injected.length >= faultKinds.length, `a fault of every kind into ${port.name}`, 120_000);
        await loop.stop();
      }
      // Traffic after the last recovery gets through: then everything sent has arrived or is lost.
      const lastA = net.hostA.send(MAC_B);
      const lastB = net.hostB.send(MAC_A);
      flow.stop();
      await until(() => net.hostB.has(MAC_A, lastA) && net.hostA.has(MAC_B, lastB), 'the last frames to arrive', 10_000);
    } finally {
      flow.stop();
      windows.stop();
      console.log(JSON.stringify({ domain, ports: net.ports.map((p) => p.counters), nics: net.nics.map((n) => n.counters), switch: net.sw.counters,
        windows: windows.windows.length }));
    }
    try {
      await checkDelivery();
    } finally {
      await net.close();
    }
    await expectNoLeaks(before);

    async function checkDelivery(): Promise<void> {

    for (const [to, from, sentAt] of [[net.hostB, MAC_A, flow.sentAt[0]], [net.hostA, MAC_B, flow.sentAt[1]]] as const) {
      const report = to.report(from);
      assert.equal(report.duplicates, 0, `${from}: duplicated frames`);
      assert.equal(report.reordered, 0, `${from}: reordered frames`);
      const outside = report.lost.filter((seq) => !windows.covers(sentAt[seq] ?? 0, 250));
      if (outside.length) console.log(`lost outside: first ${outside[0]} sent at ${sentAt[outside[0]!]}, windows`, JSON.stringify(windows.windows));
      assert.deepEqual(outside, [], `${from}: frames lost outside recovery windows (of ${report.lost.length} lost)`);
      console.log(`${domain} ${from}: ${report.received} received, ${report.lost.length} lost, all inside ` +
        `${windows.windows.length} recovery windows`);
    }
    for (const [i, port] of net.ports.entries()) {
      assert.equal(port, portsAtStart[i], 'the network device object is the same');
      const link = await port.linkState();
      assert.equal(link.promiscuous, true, `${port.name} stays promiscuous across restarts`);
      assert.equal(link.up, true, `${port.name} stays up across restarts`);
      const seen = statsSeen[i]!;
      for (let k = 1; k < seen.length; k++) assertMonotonic(seen[k - 1]!, seen[k]!, port.name);
      assert.ok(net.rt.status(port.name)!.recoveries >= faultKinds.length, `${port.name} recovered from every fault`);
      const q = port.counters;
      assert.equal(q.queued, q.sent + q.droppedByDriver + q.indeterminate + q.droppedGone + port.queued,
        `${port.name}: every queued frame is accounted for`);
    }
    }
  });
}

test('NIC configuration survives 10 driver restarts under the shadow; restart-only keeps only what the system\'s agent re-applies (Nooks)', async () => {
  const before = snapshot();
  for (const recovery of ['shadow', 'restart'] as const) {
    const rt = createRuntime({ faultInjection: true });
    const nic = await VirtualNic.create({ permanentMac: '02:00:00:00:01:01' });
    const peer = new VirtualHost('02:00:00:00:01:02', nic);
    const port = await rt.attachNet({ name: 'nic', driver: 'virtual', domain: 'worker', recovery, config: { socket: nic.socketPath }, ...fast });
    await port.setMac('02:aa:00:00:00:01');
    await port.setMtu(9000);
    await port.setMulticast(['01:00:5e:00:00:fb', '33:33:00:00:00:01']);
    await port.setPromiscuous(true);
    await port.up();
    const configured = await port.linkState();
    const received: Uint8Array[] = [];
    port.onReceive((frames) => received.push(...frames));
    let stats = await port.stats();
    for (let i = 0; i < 10; i++) {
      // A jumbo frame from the peer to an address that only promiscuous mode lets in.
      const seq = peer.send('02:77:00:00:00:01', 9000);
      await until(() => received.length > i || recovery === 'restart', 'the frame to arrive');
      const recovered = new Promise((resolve) => rt.manager.once('recovery', resolve));
      rt.inject('nic', { kind: 'exit' });
      await recovered;
      void seq;
      if (recovery === 'shadow') {
        assert.deepEqual(await port.linkState(), configured, `restart ${i + 1}: configuration replayed`);
        const next = await port.stats();
        assertMonotonic(stats, next, `restart ${i + 1}`);
        stats = next;
      }
    }
    if (recovery === 'shadow') {
      assert.equal(received.length, 10, 'every jumbo frame for another address was received');
      assert.equal(nic.counters.attaches, 11, 'each restart attached a new driver to the same hardware');
    } else {
      // Nooks's recovery agent brought the interface up again with its address and MTU, as the
      // system's scripts had set them; what the application set (promiscuous, multicast) is lost.
      const link = await port.linkState();
      assert.equal(link.promiscuous, false, 'restart-only: promiscuous mode (the application\'s) lost');
      assert.deepEqual(link.multicast, [], 'restart-only: multicast groups (the application\'s) lost');
      assert.equal(link.mtu, 9000, 'restart-only: the agent re-applied the MTU');
      assert.equal(link.mac, '02:aa:00:00:00:01', 'restart-only: the agent re-applied the address');
      assert.equal(link.up, true, 'restart-only: the agent brought the interface up');
    }
    await rt.close();
    await nic.close();
  }
  await expectNoLeaks(before);
});

test('restart-only (Nooks): a switch port restarted by the agent is promiscuous again, the system\'s configuration, and switches', async () => {
  const before = snapshot();
  const net = await twoHosts('worker', 'restart');
  try {
    const sent = net.hostA.send(MAC_B);
    await until(() => net.hostB.has(MAC_A, sent), 'a frame across the switch before the fault');
    for (const kind of ['exit', 'throw'] as const) {
      const recovered = new Promise((resolve) => net.rt.manager.once('recovery', resolve));
      net.rt.inject('port0', { kind });
      // The fault acts on the driver's next call: traffic into the port makes one.
      const nudge = setInterval(() => net.hostA.send(MAC_B), 20);
      await recovered.finally(() => clearInterval(nudge));
      const link = await net.ports[0]!.linkState();
      assert.equal(link.promiscuous, true, `after ${kind}: the agent re-applied the switch's promiscuous mode`);
      assert.equal(link.up, true, `after ${kind}: the agent brought the port up`);
      // A frame from A to B's address, not the port's: only a promiscuous port lets it in.
      const after = net.hostA.send(MAC_B);
      await until(() => net.hostB.has(MAC_A, after), `a frame across the switch after ${kind}`, 10_000);
    }
  } finally {
    await net.close();
  }
  await expectNoLeaks(before);
});
