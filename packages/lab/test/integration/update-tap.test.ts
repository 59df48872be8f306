/**
 * Live update of the `tap` NIC driver over real Linux TAP interfaces: two TAPs the kernel
 * opened, ports of a Linux bridge in a network namespace, so frames one port's driver writes
 * come back through the bridge to the other's. Numbered frames flow both ways while the first
 * port's driver is updated v1 → v2 → v1 … : no frame the application sent is lost, duplicated
 * or reordered, nothing arrives twice or out of order, the device object stays the same.
 * Needs root and /dev/net/tun; skips loudly without them.
 */
import { strict as assert } from 'node:assert';
import { test, type TestContext } from 'node:test';
import { builtInDrivers, createRuntime, destinationOf, macToBytes, type NetDevice, type Runtime } from 'shadow-drivers';
import { expectNoLeaks, requires, snapshot, until } from 'shadow-drivers/testing';
import { createNamespace, leftovers, names, removeNamespace, sh } from '../../src/harness/netns.js';

const missing = requires('root', 'tun', 'netns');
if (missing) console.error(`\n*** SKIPPING the TAP live-update tests: ${missing} ***\n`);

/** Updates per domain: 100 (Done means 1 of the live-update issue); SHADOW_UPDATES lowers it. */
const UPDATES = Number(process.env.SHADOW_UPDATES ?? 100);
/** An EtherType from the IEEE "local experimental" range; the frame's sequence number follows it. */
const ETHERTYPE = 0x88b5;

function numbered(to: string, from: string, seq: number): Uint8Array {
  const frame = new Uint8Array(64);
  frame.set(macToBytes(to), 0);
  frame.set(macToBytes(from), 6);
  frame[12] = ETHERTYPE >> 8;
  frame[13] = ETHERTYPE & 0xff;
  new DataView(frame.buffer).setUint32(14, seq);
  return frame;
}

/** One direction's numbered frames as they arrive. */
class Sequence {
  readonly seen = new Set<number>();
  highest = -1;
  duplicates = 0;
  reordered = 0;

  constructor(port: NetDevice, mac: string) {
    port.onReceive((frames) => {
      for (const f of frames) {
        if (f.length < 18 || destinationOf(f) !== mac || ((f[12]! << 8) | f[13]!) !== ETHERTYPE) continue;
        const seq = new DataView(f.buffer, f.byteOffset).getUint32(14);
        if (this.seen.has(seq)) { this.duplicates++; continue; }
        if (seq < this.highest) this.reordered++;
        this.seen.add(seq);
        this.highest = Math.max(this.highest, seq);
      }
    });
  }
}

/** Version 2 of the built-in `tap` driver: its module under another URL, so a module of its own. */
function registerTapV2(rt: Runtime): string {
  const tap = builtInDrivers.find((m) => m.class === 'net' && m.name === 'tap')!;
  rt.registerDriver({ ...tap, name: 'tap-v2', module: `${tap.module}?v2` });
  return 'tap-v2';
}

/** Two TAP ports bridged in a namespace of their own; `body` runs, then everything is removed. */
async function withBridgedTaps(domain: 'worker' | 'process', body: (rt: Runtime, ports: NetDevice[], kernelDrops: () => Promise<number>) => Promise<void>): Promise<void> {
  const { ns } = names('upd');
  const rt = createRuntime();
  try {
    await createNamespace(ns);
    await sh('ip', ['netns', 'exec', ns, 'sysctl', '-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
    await sh('ip', ['-n', ns, 'link', 'add', 'br0', 'type', 'bridge']);
    await sh('ip', ['-n', ns, 'link', 'set', 'br0', 'up']);
    const ports: NetDevice[] = [];
    for (const tag of ['ua', 'ub']) {
      const { ifname } = names(tag);
      ports.push(await rt.attachNet({ name: `tap-${tag}`, driver: 'tap', domain, config: { ifname } }));
      await sh('ip', ['link', 'set', ifname, 'netns', ns]);
      await sh('ip', ['-n', ns, 'link', 'set', ifname, 'master', 'br0', 'up']);
    }
    for (const port of ports) await port.up();
    // Frames the host's kernel dropped on their way to the first TAP's reader (its queue full).
    const kernelDrops = async () => JSON.parse(await sh('ip', ['-j', '-s', '-n', ns, 'link', 'show', 'dev', names('ua').ifname]))[0].stats64.tx.dropped as number;
    await body(rt, ports, kernelDrops);
  } finally {
    await rt.close();
    await removeNamespace(ns);
  }
  for (const tag of ['upd', 'ua', 'ub']) assert.deepEqual(await leftovers(tag), [], 'namespace and TAPs are gone');
}

for (const domain of ['worker', 'process'] as const) {
  test(`tap NIC in a ${domain} domain: ${UPDATES} live updates v1 → v2 → v1 … with numbered frames both ways through a Linux bridge`,
    { skip: missing }, async (t: TestContext) => {
      const before = snapshot();
      await withBridgedTaps(domain, async (rt, [a, b], kernelDrops) => {
        const v2 = registerTapV2(rt);
        const macA = (await a!.linkState()).mac;
        const macB = (await b!.linkState()).mac;
        const atB = new Sequence(b!, macB);
        const atA = new Sequence(a!, macA);
        let fromA = 0;
        let fromB = 0;
        // Steady traffic both ways; neither application fills its queue (a full queue drops).
        const traffic = setInterval(() => {
          for (let i = 0; i < 8 && a!.queued < 256; i++) a!.send(numbered(macB, macA, fromA++));
          for (let i = 0; i < 8 && b!.queued < 256; i++) b!.send(numbered(macA, macB, fromB++));
        }, 2);
        const device = rt.kernel.device(a!.name);
        try {
          await until(() => atB.seen.size > 100 && atA.seen.size > 100, 'frames through the bridge both ways');
          for (let i = 0; i < UPDATES; i++) {
            const to = i % 2 === 0 ? v2 : 'tap';
            const progress = atB.seen.size;
            const report = await rt.update(a!.name, { driver: to, probation: { requests: 4, ms: 5000 } });
            assert.equal(report.outcome, 'switched', `update ${i + 1} to ${to}: ${report.failedIn}: ${report.cause}`);
            assert.equal(rt.status(a!.name)!.version, to);
            await until(() => atB.seen.size > progress, `update ${i + 1}: frames from the updated port to go on arriving`);
          }
        } finally {
          clearInterval(traffic);
        }
        // A last frame each way after the last update: then everything sent has arrived or is lost.
        const lastA = fromA;
        a!.send(numbered(macB, macA, fromA++));
        const lastB = fromB;
        b!.send(numbered(macA, macB, fromB++));
        await until(() => atB.seen.has(lastA) && atA.seen.has(lastB), 'the last frames to arrive');
        for (const port of [a!, b!]) {
          const c = port.counters;
          assert.equal(c.droppedGone + c.droppedQueueFull + c.droppedByDriver + c.indeterminate, 0, `${port.name}: no frame dropped: ${JSON.stringify(c)}`);
        }
        assert.equal(atB.seen.size, fromA, 'every frame the updated port sent came through the bridge');
        assert.equal(atB.duplicates + atB.reordered, 0, 'from the updated port: no frame duplicated or reordered');
        assert.equal(atA.duplicates, 0, 'to the updated port: no frame duplicated');
        assert.equal(atA.reordered, 0, 'to the updated port: no frame reordered');
        assert.equal(rt.status(a!.name)!.recoveries, 0, 'no update turned into a recovery');
        assert.equal(rt.kernel.device(a!.name), device, 'the device object is the same');
        assert.equal(rt.net(device!), a, 'so is its network face');
        t.diagnostic(`${domain}: ${UPDATES} updates; ${fromA} frames from the updated port, all through in order; ` +
          `${atA.seen.size} of ${fromB} to it, in order, ${atA.highest + 1 - atA.seen.size} lost ` +
          `(${await kernelDrops()} of them dropped by the host's kernel, the TAP's queue full)`);
      });
      await expectNoLeaks(before);
    });
}
