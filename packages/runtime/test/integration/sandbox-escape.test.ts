/**
 * A hostile driver in a process domain, one attack per test (test/fixtures/drivers/attacker.ts
 * runs it at init): read a secret file, write a host file, reach a TCP server on the host's
 * loopback, read the host's environment, signal the host, its own parent or a sibling
 * driver, spawn a program, load a native addon it was not granted, write to a descriptor it
 * was not lent. For each: the host survives, a healthy process-domain disk beside it keeps
 * serving and its data verifies, and the attack is refused (the attacker's report says so and
 * the side effect is checked from outside) or ends only that driver.
 *
 * These need bubblewrap: under Node's permission model alone (Node 20) a driver CAN signal the
 * host (the test runner would be killed) and open sockets. Worker domains isolate faults, not
 * attacks: a worker shares the host's process, so its driver can read the host's environment
 * and memory-mapped state, signal any process the host may signal, open sockets and spawn
 * programs; its fs calls on the kernel's descriptors are refused (a check native code can go
 * around). The last test shows both for real, so that this paragraph cannot go stale silently.
 */
import { strict as assert } from 'node:assert';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createRuntime, ErrorCodes, isShadowError, type Runtime } from '../../src/index.js';
import { bubblewrapUsable } from '../../src/isolation/bubblewrap.js';
import { expectNoLeaks, snapshot } from '../../src/testing/leaks.js';
import { BLOCK, BlockWorkload } from '../../src/testing/workload.js';

const attacker = new URL('../fixtures/drivers/attacker.js', import.meta.url).href;
const skip = bubblewrapUsable() ? false : 'bubblewrap (/usr/bin/bwrap) is absent or cannot make namespaces here';
const SECRET_VARIABLE = 'SHADOW_ESCAPE_TEST_SECRET';
const VICTIM = 'the kernel owns this file';

/** What the test sets up on the host for an attack to aim at. */
interface Host {
  dir: string;
  secretPath: string;
  secret: string;
  port: number;
  connections: () => number;
  victimPath: string;
  victimFd: number;
  siblingPid: number;
}

interface Report { attack: string; ok: boolean; detail: string }

interface Attack {
  name: string;
  /** The fixture's attack, when not `name`. */
  attack?: string;
  config(host: Host): Record<string, unknown>;
  /** The attack's effect, seen from outside the sandbox. */
  happened(host: Host, report: Report | undefined): boolean;
}

const attacks: Attack[] = [
  { name: 'read-file', config: (h) => ({ path: h.secretPath }), happened: (h, r) => r?.detail.includes(h.secret) === true },
  { name: 'write-file', config: (h) => ({ path: join(h.dir, 'stolen') }), happened: (h) => existsSync(join(h.dir, 'stolen')) },
  { name: 'connect-tcp', config: (h) => ({ port: h.port }), happened: (h, r) => h.connections() > 0 || r?.ok === true },
  { name: 'read-env', config: () => ({ variable: SECRET_VARIABLE }), happened: (h, r) => r?.detail.includes(h.secret) === true },
  // The host's pid, and the sibling's, do not exist in the attacker's pid namespace.
  { name: 'signal-host', attack: 'signal', config: () => ({ pid: process.pid }), happened: (_h, r) => r?.ok === true },
  { name: 'signal-sibling', attack: 'signal', config: (h) => ({ pid: h.siblingPid }), happened: (_h, r) => r?.ok === true },
  // Its parent is the namespace's init (bwrap), which ignores signals from inside: never the host.
  { name: 'signal-parent', config: () => ({}), happened: (_h, r) => r?.detail === `sent to ${process.pid}` },
  { name: 'spawn', config: (h) => ({ path: join(h.dir, 'spawned') }), happened: (h) => existsSync(join(h.dir, 'spawned')) },
  { name: 'load-addon', config: () => ({}), happened: (_h, r) => r?.ok === true },
  { name: 'touch-fd', config: (h) => ({ fd: h.victimFd }), happened: (h) => readFileSync(h.victimPath, 'utf8') !== VICTIM },
];

/** A TCP server on the host's loopback that counts who reached it. */
async function listen(): Promise<{ server: Server; port: number; connections: () => number }> {
  let count = 0;
  const server = createServer((socket) => { count++; socket.destroy(); });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as { port: number }).port, connections: () => count };
}

/** The attacker's report (block 0), or undefined when its attack ended it at start. */
async function attack(rt: Runtime, config: Record<string, unknown>): Promise<Report | undefined> {
  const started = await rt.attachBlock({
    name: 'attacker', driver: attacker, domain: 'process', config,
    resources: [{ name: 'medium', memoryBytes: 16 * BLOCK }], restart: { maxAttempts: 1 },
  }).then((disk) => ({ disk }), (err: unknown) => ({ err }));
  if (!('disk' in started)) {
    assert.ok(isShadowError(started.err, ErrorCodes.DRIVER_FAILED), `attach failed otherwise: ${String(started.err)}`);
    return undefined;
  }
  await started.disk.open();
  const block = await started.disk.read(0, BLOCK);
  return JSON.parse(new TextDecoder().decode(block.subarray(0, block.indexOf(0)))) as Report;
}

for (const a of attacks) {
  test(`a process-domain driver that tries ${a.name} is refused; the host and a sibling driver go on`, { skip }, async () => {
    const before = snapshot();
    const dir = mkdtempSync(join(tmpdir(), 'shadow-escape-'));
    const secret = `secret-${process.pid}-${Date.now()}`;
    const secretPath = join(dir, 'secret');
    writeFileSync(secretPath, secret, { mode: 0o644 });
    const victimPath = join(dir, 'victim');
    writeFileSync(victimPath, VICTIM);
    const victimFd = openSync(victimPath, 'r+');
    const tcp = await listen();
    process.env[SECRET_VARIABLE] = secret;
    const rt = createRuntime();
    try {
      const sibling = await rt.attachBlock({ name: 'sibling', driver: 'ram', domain: 'process', config: { sizeBytes: 32 * BLOCK } });
      const status = rt.status('sibling')!;
      assert.equal(status.sandbox, 'bubblewrap');
      await sibling.open();
      const app = new BlockWorkload(sibling, 32);
      await app.fill();
      const host: Host = { dir, secretPath, secret, port: tcp.port, connections: tcp.connections, victimPath, victimFd, siblingPid: status.pid! };
      // A lent descriptor would be 4 or 5 in the attacker; the victim's number must name none of its own.
      assert.ok(victimFd > 5, `the victim descriptor ${victimFd} is low enough to be one of the attacker's own`);

      const report = await attack(rt, { attack: a.attack ?? a.name, ...a.config(host) });
      // Inside bubblewrap every attack is refused with an error the driver can see and report.
      assert.ok(report, 'the attacker did not start');
      assert.equal(report.attack, a.attack ?? a.name);
      assert.equal(a.happened(host, report), false, `the attack went through: ${JSON.stringify(report)}`);

      // The host is alive (this line runs), the sibling never failed, and its data is intact.
      assert.equal(rt.status('sibling')?.state, 'running');
      assert.equal(rt.status('sibling')?.recoveries, 0);
      assert.equal(rt.status('sibling')?.pid, status.pid);
      await app.verifyAll();
      assert.deepEqual(app.errors, []);
      assert.equal(app.mismatches, 0);
    } finally {
      delete process.env[SECRET_VARIABLE];
      await rt.close();
      closeSync(victimFd);
      await new Promise((resolve) => tcp.server.close(resolve));
      rmSync(dir, { recursive: true, force: true });
    }
    await expectNoLeaks(before);
  });
}

test('without bubblewrap the permission model alone still keeps the host environment out, and status says which wall', async () => {
  const before = snapshot();
  process.env[SECRET_VARIABLE] = 'not for drivers';
  const rt = createRuntime();
  try {
    const report = await attack(rt, { attack: 'read-env', variable: SECRET_VARIABLE });
    // Attached above with the default sandbox; this one asks for the permission model alone.
    assert.equal(rt.status('attacker')?.sandbox, bubblewrapUsable() ? 'bubblewrap' : 'permission-model');
    assert.deepEqual(report, { attack: 'read-env', ok: false, detail: 'unset' });
    await rt.attachBlock({
      name: 'plain', driver: attacker, domain: 'process', config: { attack: 'read-env', variable: SECRET_VARIABLE },
      resources: [{ name: 'medium', memoryBytes: 16 * BLOCK }], sandbox: { bubblewrap: false },
    }).then(async (disk) => {
      assert.equal(rt.status('plain')?.sandbox, 'permission-model');
      await disk.open();
      const block = await disk.read(0, BLOCK);
      assert.match(new TextDecoder().decode(block.subarray(0, block.indexOf(0))), /"ok":false,"detail":"unset"/);
    });
  } finally {
    delete process.env[SECRET_VARIABLE];
    await rt.close();
  }
  await expectNoLeaks(before);
});

test('a worker domain isolates faults, not attacks: its driver reads the host environment; its descriptor checks refuse a kernel descriptor', async () => {
  const before = snapshot();
  const dir = mkdtempSync(join(tmpdir(), 'shadow-escape-'));
  const victimPath = join(dir, 'victim');
  writeFileSync(victimPath, VICTIM);
  const victimFd = openSync(victimPath, 'r+');
  process.env[SECRET_VARIABLE] = 'visible to workers';
  const rt = createRuntime();
  try {
    const spec = { driver: attacker, domain: 'worker' as const, resources: [{ name: 'medium', memoryBytes: 16 * BLOCK }] };
    const env = await rt.attachBlock({ ...spec, name: 'env', config: { attack: 'read-env', variable: SECRET_VARIABLE } });
    await env.open();
    const block = await env.read(0, BLOCK);
    assert.match(new TextDecoder().decode(block.subarray(0, block.indexOf(0))), /"ok":true,"detail":"visible to workers"/);
    assert.equal(rt.status('env')?.sandbox, 'none');
    // Refused before the system call (isolation/fd-guard.ts), and the driver failed for it: the
    // attacker catches the error, but it has been reported already.
    const touched = await rt.attachBlock({ ...spec, name: 'fd', config: { attack: 'touch-fd', fd: victimFd }, restart: { maxAttempts: 1 } })
      .then(() => 'attached', (err: unknown) => err);
    assert.ok(isShadowError(touched, ErrorCodes.DRIVER_FAILED), `attach ended ${String(touched)}`);
    assert.match(touched.message, new RegExp(`descriptor ${victimFd} was neither opened by the driver nor lent`));
    assert.equal(readFileSync(victimPath, 'utf8'), VICTIM);
  } finally {
    delete process.env[SECRET_VARIABLE];
    await rt.close();
    closeSync(victimFd);
    rmSync(dir, { recursive: true, force: true });
  }
  await expectNoLeaks(before);
});
