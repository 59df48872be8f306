/**
 * SIGHUP while a client keeps using another device: a device added is served, a device
 * removed is gone (its socket too), a bad new config changes nothing; the device left alone
 * sees not a single error, no detach and no failure. With faultDrills off, inject is refused
 * with its code. Then the control socket: a client of another uid is refused, both by the
 * socket's mode and, with the mode opened up, by the service's SO_PEERCRED check.
 */
import { strict as assert } from 'node:assert';
import { execFile, spawnSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ServiceProcess, shadowd, shadowdBin, shadowdOk } from '../helpers/service-process.js';

const MiB = 1024 * 1024;
const hasTools = ['qemu-img', 'nbdinfo'].filter((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0);

const device = (name: string) => `  ${name}:\n    class: block\n    driver: ram\n    config: { sizeBytes: ${16 * MiB} }\n    frontend: { type: nbd, socket: ${name}.sock }\n`;
const configWith = (...names: string[]) => `control: ctl.sock\nmetrics: false\ndevices:\n${names.map(device).join('')}`;

function client(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => execFile(command, args, { timeout: 60_000, killSignal: 'SIGKILL' }, (error, _o, stderr) =>
    error ? reject(new Error(`${command}: ${error.message} ${stderr}`)) : resolve()));
}

test('SIGHUP adds and removes a device while another keeps serving without an error', { skip: hasTools.length ? `missing ${hasTools.join(', ')}` : false, timeout: 180_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'shadowd-hup-'));
  const control = join(dir, 'ctl.sock');
  const config = join(dir, 'shadowd.yaml');
  let service: ServiceProcess | undefined;
  let reloading = true;
  let load: Promise<void> = Promise.resolve();
  try {
    const image = join(dir, 'a.raw');
    writeFileSync(image, randomFillSync(Buffer.alloc(16 * MiB)));
    writeFileSync(config, configWith('diskA'));
    service = new ServiceProcess([config], { cwd: dir });
    await service.ready();
    const urlA = `nbd+unix:///diskA?socket=${join(dir, 'diskA.sock')}`;
    await client('qemu-img', ['convert', '-n', '-f', 'raw', '-O', 'raw', image, urlA]);

    // The client of diskA: compare after compare, each must pass, until the reloads are done.
    let compares = 0;
    let clientError: Error | undefined;
    load = (async () => { while (reloading || compares < 2) { await client('qemu-img', ['compare', '-f', 'raw', '-F', 'raw', image, urlA]); compares++; } })()
      .catch((err: Error) => { clientError = err; });
    const hup = async (text: string, match: (l: Record<string, unknown>) => boolean) => {
      const from = service!.lines.length;
      writeFileSync(config, text);
      service!.child.kill('SIGHUP');
      return service!.waitFor(match, 30_000, from);
    };
    const added = await hup(configWith('diskA', 'diskB'), (l) => l.event === 'reload');
    assert.deepEqual([added.added, added.removed, added.restarted], [['diskB'], [], []]);
    await client('nbdinfo', [`nbd+unix:///diskB?socket=${join(dir, 'diskB.sock')}`]);
    const refused = await hup('devices: [not, a, map]\n', (l) => l.event === 'reload-refused');
    assert.match(String(refused.msg), /devices: expected/);
    const removed = await hup(configWith('diskA'), (l) => l.event === 'reload');
    assert.deepEqual([removed.added, removed.removed, removed.restarted], [[], ['diskB'], []]);
    assert.ok(!existsSync(join(dir, 'diskB.sock')), 'the removed device\'s socket is gone');
    reloading = false;
    await load;
    assert.equal(clientError, undefined);
    assert.ok(compares >= 2);

    const statuses = JSON.parse(await shadowdOk(['status', '--json', '--control', control])) as { device: string; failures: number; state: string; errors: number }[];
    assert.deepEqual(statuses.map((s) => [s.device, s.state, s.failures, s.errors]), [['diskA', 'running', 0, 0]]);
    const events = (await shadowdOk(['events', '--control', control])).trim().split('\n').map((l) => JSON.parse(l) as { type: string; device: string });
    assert.deepEqual(events.filter((e) => e.device === 'diskA').map((e) => e.type), ['attached'], 'diskA was never touched');
    assert.deepEqual(events.filter((e) => e.device === 'diskB').map((e) => e.type), ['attached', 'detached']);

    const inject = await shadowd(['inject', 'diskA', 'kill', '--control', control]);
    assert.notEqual(inject.code, 0);
    assert.match(inject.stderr, /^shadowd: SD_ERR_NOT_SUPPORTED: fault drills are off/);

    assert.deepEqual(await service.stop(), { code: 0, signal: null });
    assert.ok(!existsSync(join(dir, 'diskA.sock')) && !existsSync(control));
  } finally {
    reloading = false;
    if (service && service.child.exitCode === null) service.child.kill('SIGKILL');
    await load;
    rmSync(dir, { recursive: true, force: true });
  }
});

const noSetpriv = process.getuid?.() !== 0 ? 'needs root to run a client as another uid'
  : spawnSync('sh', ['-c', 'command -v setpriv']).status !== 0 ? 'no setpriv'
  // The other uid runs the shadowd client from this checkout: it must be able to read it (a
  // checkout under a 0700 directory, such as mktemp -d's, is not).
  : spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'test', '-r', shadowdBin]).status !== 0
    ? `uid 65534 cannot read ${shadowdBin} (the checkout is not readable by other users)` : false;

test('a client of another uid cannot use the control socket', { skip: noSetpriv, timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'shadowd-owner-'));
  const control = join(dir, 'shadowd.sock');
  const nobody = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'];
  let service: ServiceProcess | undefined;
  try {
    chmodSync(dir, 0o755);
    service = new ServiceProcess([], { cwd: dir }); // the embedded default: a ram disk, control ./shadowd.sock
    await service.ready();
    assert.equal((await shadowd(['status', '--control', control])).code, 0, 'the owner is served');

    const byMode = await shadowd(['inject', 'disk0', 'kill', '--control', control], { prefix: nobody });
    assert.notEqual(byMode.code, 0);
    assert.match(byMode.stderr, /^shadowd: SD_ERR_PERMISSION: /);

    // With the file mode opened, the service's own check (SO_PEERCRED) still refuses the peer.
    chmodSync(control, 0o666);
    const byPeer = await shadowd(['inject', 'disk0', 'kill', '--control', control], { prefix: nobody });
    assert.notEqual(byPeer.code, 0);
    assert.match(byPeer.stderr, /^shadowd: SD_ERR_PERMISSION: the control socket serves uid 0 only, not uid 65534/);
    const status = JSON.parse(await shadowdOk(['status', '--json', '--control', control])) as { failures: number }[];
    assert.equal(status[0]!.failures, 0, 'nothing the refused client asked for happened');

    assert.deepEqual(await service.stop(), { code: 0, signal: null });
    assert.ok(!existsSync(control) && !existsSync(join(dir, 'disk0.sock')));
  } finally {
    if (service && service.child.exitCode === null) service.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
