/**
 * The network class through `shadowd run`, used only from outside: a config declares two
 * `tap` NIC drivers as ports of a configured switch; the test moves the two TAP interfaces
 * the service opened into two network namespaces it creates, and an iperf3 TCP stream runs
 * between them for 10 s while `shadowd inject` hits both NIC drivers in turn. The connection
 * must survive (iperf3 exits 0 having moved bytes), every drill must be recovered, and
 * SIGTERM must leave no namespace, TAP or child behind.
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { expectNoLeaks, requires, snapshot } from 'shadow-drivers/testing';
import { createNamespace, killInside, leftovers, names, placeTap, removeNamespace, sh } from '../../src/harness/netns.js';
import { ServiceProcess, shadowdOk } from 'shadow-drivers/testing';

const missing = requires('iperf3', 'root', 'netns', 'tun');
const tags = ['a', 'b'];
const kinds = ['throw', 'kill', 'exit', 'rejection'];

interface Status { device: string; state: string; recoveries: number }

async function statuses(control: string): Promise<Status[]> {
  return JSON.parse(await shadowdOk(['status', '--json', '--control', control])) as Status[];
}

async function recovered(control: string, device: string, count: number): Promise<void> {
  const end = Date.now() + 30_000;
  for (;;) {
    const s = (await statuses(control)).find((d) => d.device === device)!;
    if (s.recoveries >= count && s.state === 'running') return;
    if (Date.now() > end) throw new Error(`${device}: recovery ${count} not within 30 s (${JSON.stringify(s)})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** An iperf3 server for one test inside namespace `ns`, resolved once it listens. */
function iperfServer(ns: string, address: string): Promise<{ stop(): void; exited: Promise<unknown> }> {
  // --forceflush: iperf3 buffers its stdout on a pipe, and "Server listening" would never come.
  const child = spawn('ip', ['netns', 'exec', ns, 'iperf3', '-s', '-1', '--forceflush', '-B', address], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise((r) => child.on('exit', r));
  const stop = () => child.kill('SIGKILL');
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { stop(); reject(new Error('iperf3 -s not listening within 10 s')); }, 10_000);
    let heard = '';
    child.stdout.on('data', (c: Buffer) => {
      heard += c.toString();
      if (heard.includes('Server listening')) { clearTimeout(timer); resolve({ stop, exited }); }
    });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`iperf3 -s exited ${code} before listening`)); });
  });
}

test('an iperf3 TCP stream between two namespaces survives fault drills in both TAP drivers of shadowd run', { skip: missing, timeout: 180_000 }, async () => {
  const before = snapshot();
  const dir = mkdtempSync(join(tmpdir(), 'shadowd-net-'));
  const control = join(dir, 'ctl.sock');
  let service: ServiceProcess | undefined;
  let server: Awaited<ReturnType<typeof iperfServer>> | undefined;
  try {
    for (const tag of tags) await createNamespace(names(tag).ns);
    writeFileSync(join(dir, 'shadowd.yaml'), [
      'control: ctl.sock', 'metrics: false', 'faultDrills: true', 'switches:', '  sw0: {}', 'devices:',
      ...tags.flatMap((tag) => [`  tap-${tag}:`, '    class: net', '    driver: tap', '    warmStandby: true', '    restart: { intensity: 1000 }',
        `    config: { ifname: ${names(tag).ifname} }`, '    frontend: { type: switch, switch: sw0 }']), ''].join('\n'));
    service = new ServiceProcess(['shadowd.yaml'], { cwd: dir });
    await service.ready();
    const hosts = [];
    for (const [i, tag] of tags.entries()) hosts.push(await placeTap(names(tag).ns, names(tag).ifname, `192.0.2.${i + 1}/24`));
    server = await iperfServer(hosts[1]!.ns, hosts[1]!.address);
    let finished = false;
    const client = hosts[0]!.exec('iperf3', ['-c', hosts[1]!.address, '-t', '10', '-J', '--connect-timeout', '5000'], 60_000)
      .finally(() => { finished = true; });
    const counts: Record<string, number> = { 'tap-a': 0, 'tap-b': 0 };
    let drills = 0;
    while (!finished) {
      const device = `tap-${tags[drills % 2]}`;
      await shadowdOk(['inject', device, kinds[drills % kinds.length]!, '--control', control]);
      await recovered(control, device, ++counts[device]!);
      drills++;
    }
    const report = JSON.parse(await client) as { end: { sum_received: { bytes: number }; sum_sent: { retransmits?: number } } };
    console.log(`iperf3: ${(report.end.sum_received.bytes / 1e6).toFixed(1)} MB received, ${report.end.sum_sent.retransmits ?? '?'} retransmits, ${drills} drills`);
    assert.ok(report.end.sum_received.bytes > 0, 'bytes crossed the switch');
    assert.ok(counts['tap-a']! >= 1 && counts['tap-b']! >= 1, `both drivers were hit (${JSON.stringify(counts)})`);
    const after = await statuses(control);
    for (const s of after) assert.equal(s.state, 'running', `${s.device} runs`);
    assert.deepEqual((await service.stop()), { code: 0, signal: null }, 'SIGTERM exits 0');
  } finally {
    server?.stop();
    await server?.exited;
    await service?.stop();
    for (const tag of tags) { await killInside(names(tag).ns); await removeNamespace(names(tag).ns); }
    rmSync(dir, { recursive: true, force: true });
  }
  for (const tag of tags) assert.deepEqual(await leftovers(tag), [], 'namespaces and TAPs are gone');
  assert.doesNotMatch(await sh('ip', ['-o', 'link', 'show']), /sdt[ab]\d/, 'no TAP left');
  await expectNoLeaks(before);
});
