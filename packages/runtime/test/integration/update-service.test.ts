/**
 * `shadowd update` against a running `shadowd run`, used only from outside: the driver is
 * replaced by a new version, status tells the version and the last update; a broken version
 * rolls back, the command says why and exits non-zero, and the device keeps running.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { ServiceProcess, shadowd, shadowdOk } from '../helpers/service-process.js';

const fixturePath = (name: string) => fileURLToPath(new URL(`../fixtures/drivers/${name}.js`, import.meta.url));

interface Status { device: string; state: string; version: string | null; lastUpdate: { outcome: string; from: string; to: string; cause?: string } | null }

async function status(control: string): Promise<Status> {
  const all = JSON.parse(await shadowdOk(['status', '--json', '--control', control])) as Status[];
  return all.find((s) => s.device === 'disk0')!;
}

test('shadowd update replaces a running driver; a broken version rolls back and says why', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'shadowd-update-'));
  const control = join(dir, 'ctl.sock');
  let service: ServiceProcess | undefined;
  try {
    writeFileSync(join(dir, 'shadowd.yaml'), ['control: ctl.sock', 'devices:', '  disk0:', '    class: block', '    driver: ram',
      '    config: { sizeBytes: 1048576 }', '    frontend: { type: nbd, socket: disk0.sock }', ''].join('\n'));
    service = new ServiceProcess(['shadowd.yaml'], { cwd: dir });
    await service.ready();
    assert.equal((await status(control)).version, 'ram');

    const v2 = fixturePath('ram-v2');
    const updated = await shadowdOk(['update', 'disk0', '--driver', v2, '--probation-ms', '50', '--control', control]);
    assert.match(updated, /^updated disk0: ram -> file:\/\/.*ram-v2\.js \(pause [\d.]+ ms\)$/m);
    let s = await status(control);
    assert.equal(s.state, 'running');
    assert.match(s.version!, /ram-v2\.js$/);
    assert.equal(s.lastUpdate?.outcome, 'switched');

    const bad = await shadowd(['update', 'disk0', '--driver', fixturePath('unregistered'), '--control', control]);
    assert.equal(bad.code, 1, bad.stderr);
    assert.match(bad.stdout, /^rolled back disk0 to .*ram-v2\.js: .*unregistered\.js failed in init: init completed without registering the device$/m);
    s = await status(control);
    assert.equal(s.state, 'running');
    assert.match(s.version!, /ram-v2\.js$/, 'the version that ran before still runs');
    assert.equal(s.lastUpdate?.outcome, 'rolled-back');
    const table = await shadowdOk(['status', '--control', control]);
    assert.match(table, /LAST UPDATE/);
    assert.match(table, /rolled-back/);

    const again = await shadowd(['update', 'disk0', '--driver', fixturePath('unregistered'), '--control', control]);
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /SD_ERR_BUSY.*rolled back before/);

    const events = await shadowdOk(['events', '--control', control]);
    for (const type of ['update-started', 'update-quiesced', 'update-switched', 'update-rolled-back']) assert.match(events, new RegExp(`"type":"${type}"`));
    assert.deepEqual(await service.stop(), { code: 0, signal: null }, service.stderr.join(''));
  } finally {
    if (service && service.child.exitCode === null) service.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
