/**
 * The network class over real interfaces reached through AF_PACKET sockets: two network
 * namespaces, each holding one end of a veth pair whose other end stays here, opened by the
 * kernel and driven by a `packet` driver; the kernel's learning switch joins the two. `ping`
 * runs across the switch while faults of every kind hit both drivers (worker and process
 * domains): it loses echoes only inside recovery windows. The interfaces are the kernel's for
 * the device's life (the same ifindex and address, promiscuous while it holds them) and
 * nothing is left behind. Needs root; skips loudly without it.
 */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { createRuntime, faultKinds, LearningSwitch, type NetDevice, type Runtime } from 'shadow-drivers';
import { expectNoLeaks, requires, snapshot } from 'shadow-drivers/testing';
import { createVethHost, removeVethHost, sh, vethLeftovers, type Host } from '../../src/harness/netns.js';
import { pingUnderFaults } from '../helpers/ping.js';

const missing = requires('root', 'netns', 'ping');
if (missing) console.error(`\n*** SKIPPING the AF_PACKET network tests: ${missing} ***\n`);

const fast = { heartbeatMs: 50, heartbeatTimeoutMs: 500, deadlineScale: 0.5, restart: { intensity: 10_000 }, warmStandby: true };

type VethHost = Host & { outside: string };
interface PacketNetwork { rt: Runtime; ports: NetDevice[]; hosts: VethHost[]; sw: LearningSwitch }

/** The interface's identity as the host sees it. */
async function linkOf(ifname: string): Promise<{ ifindex: number; address: string; promiscuity: number }> {
  const link = JSON.parse(await sh('ip', ['-j', '-d', 'link', 'show', 'dev', ifname]))[0];
  return { ifindex: link.ifindex, address: link.address, promiscuity: link.promiscuity };
}

/** Two veth hosts joined by the switch over `packet` drivers; `body` runs, then everything is removed. */
async function withPacketNetwork(domain: 'worker' | 'process', body: (net: PacketNetwork) => Promise<void>): Promise<void> {
  const tags = ['pa', 'pb'];
  const rt = createRuntime({ faultInjection: true });
  let sw: LearningSwitch | undefined;
  try {
    const ports: NetDevice[] = [];
    const hosts: VethHost[] = [];
    for (const [i, tag] of tags.entries()) {
      const host = await createVethHost(tag, `198.51.100.${i + 1}/24`);
      hosts.push(host);
      ports.push(await rt.attachNet({ name: `pkt-${tag}`, driver: 'packet', domain, config: { ifname: host.outside }, ...fast }));
    }
    sw = await LearningSwitch.start(ports);
    await body({ rt, ports, hosts, sw });
  } finally {
    sw?.stop();
    await rt.close();
    for (const tag of tags) await removeVethHost(tag);
  }
  for (const tag of tags) assert.deepEqual(await vethLeftovers(tag), [], 'namespaces and veth pairs are gone');
}

for (const domain of ['worker', 'process'] as const) {
  test(`ping across the switch loses echoes only inside recovery windows, with faults of every kind in both packet drivers (${domain} domain)`,
    { skip: missing }, async () => {
      const before = snapshot();
      await withPacketNetwork(domain, async ({ rt, ports, hosts, sw }) => {
        const links = await Promise.all(hosts.map((h) => linkOf(h.outside)));
        for (const [i, link] of links.entries()) {
          assert.ok(link.promiscuity >= 1, `${hosts[i]!.outside} is promiscuous while the kernel holds it`);
          assert.equal((await ports[i]!.linkState()).mac, link.address, 'the NIC registered the interface\'s address');
        }
        const ping = await pingUnderFaults(rt, ports, hosts[0]!, hosts[1]!);
        console.log(`${domain}: ping ${ping.replies.length} replies, ${ping.lost.length} lost, faults ${ping.faults.join('+')}, ` +
          `${ping.windows} recovery windows, switch ${JSON.stringify(sw.counters)}`);
        assert.deepEqual(ping.outside, [], `echoes lost outside recovery windows (of ${ping.lost.length} lost)`);
        for (const port of ports) {
          assert.ok(rt.status(port.name)!.recoveries >= faultKinds.length, `${port.name} recovered from every fault`);
          const link = await port.linkState();
          assert.equal(link.promiscuous, true, `${port.name} stays promiscuous across restarts`);
          assert.equal(link.up, true, `${port.name} stays up across restarts`);
          const stats = await port.stats();
          assert.ok(stats.rxFrames > 0 && stats.txFrames > 0, `${port.name}: frames crossed the restarted drivers`);
        }
        assert.deepEqual(await Promise.all(hosts.map((h) => linkOf(h.outside))), links, 'the interfaces kept their identity');
        // A port that read back what it sent would make the switch see its hosts on the wrong port.
        assert.equal(sw.counters.filtered, 0, 'no port read back its own transmissions');
      });
      await expectNoLeaks(before);
    });
}

test('an interface set down refuses frames without failing its driver, and carries them again when up', { skip: missing }, async () => {
  const before = snapshot();
  await withPacketNetwork('worker', async ({ rt, ports, hosts }) => {
    const failures: string[] = [];
    rt.manager.on('failure', (e: { device: string; message: string }) => failures.push(`${e.device}: ${e.message}`));
    await hosts[0]!.exec('ping', ['-c', '2', '-i', '0.2', '-W', '2', hosts[1]!.address]);
    await sh('ip', ['link', 'set', hosts[1]!.outside, 'down']);
    await assert.rejects(hosts[0]!.exec('ping', ['-c', '3', '-i', '0.2', '-W', '1', hosts[1]!.address]), 'no echo crosses a port that is down');
    await sh('ip', ['link', 'set', hosts[1]!.outside, 'up']);
    await hosts[0]!.exec('ping', ['-c', '3', '-i', '0.2', '-W', '2', hosts[1]!.address]);
    assert.deepEqual(failures, [], 'no driver failed');
    assert.ok((await ports[1]!.stats()).txDropped >= 3, 'the frames the interface refused were counted as dropped');
  });
  await expectNoLeaks(before);
});

test('the packet driver needs an interface name, and an interface that exists', { skip: requires('root', 'netns') }, async () => {
  const before = snapshot();
  const rt = createRuntime({ faultInjection: true });
  try {
    await assert.rejects(rt.attachNet({ name: 'p0', driver: 'packet', domain: 'worker', config: {} }), /needs config.ifname/);
    await assert.rejects(rt.attachNet({ name: 'p1', driver: 'packet', domain: 'worker', config: { ifname: 'sdnone0' } }), /no network interface sdnone0/);
  } finally {
    await rt.close();
  }
  await expectNoLeaks(before);
});
