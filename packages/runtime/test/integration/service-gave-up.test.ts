/**
 * A device whose driver gave up says so honestly to its frontend's clients: nbdcopy, reading
 * the export when the driver gives up, gets EIO for its next requests (and fails saying so),
 * each refused request logs a line naming the device and the reason, and a new client
 * (nbdinfo) is refused with a message naming the device and "gave up", never "no export
 * named ...". The service itself keeps running and stops cleanly.
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { requires } from '../../src/testing/requires.js';
import { ServiceProcess, shadowd, shadowdOk, until } from '../helpers/service-process.js';

const SIZE = 128 * 1024 * 1024;

interface Status { device: string; state: string; bytesRead: number; recoveries: number; gaveUp: { reason: string } | null }

async function status(control: string): Promise<Status> {
  return (JSON.parse(await shadowdOk(['status', '--json', '--control', control])) as Status[]).find((s) => s.device === 'disk0')!;
}

test('a driver that gave up: clients get EIO with a log line per request, and new clients are told the device gave up', { skip: requires('nbdcopy', 'nbdinfo'), timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'shadowd-gaveup-'));
  const control = join(dir, 'ctl.sock');
  const url = `nbd+unix:///disk0?socket=${join(dir, 'disk0.sock')}`;
  let service: ServiceProcess | undefined;
  let copy: ReturnType<typeof spawn> | undefined;
  try {
    // intensity 1: the second failure within the period exhausts the budget and the manager gives up.
    writeFileSync(join(dir, 'shadowd.yaml'), ['control: ctl.sock', 'metrics: false', 'faultDrills: true', 'devices:', '  disk0:',
      '    class: block', '    driver: ram', '    restart: { intensity: 1, periodMs: 600000 }', `    config: { sizeBytes: ${SIZE} }`,
      '    frontend: { type: nbd, socket: disk0.sock }', ''].join('\n'));
    service = new ServiceProcess(['shadowd.yaml'], { cwd: dir });
    await service.ready();
    // nbdcopy to a pipe nobody reads yet: it stalls on the pipe with most of the image unread.
    copy = spawn('nbdcopy', [url, '-'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let copyErr = '';
    copy.stderr!.on('data', (c: Buffer) => { copyErr += c.toString(); });
    const copyExit = new Promise<number | null>((r) => copy!.on('exit', (code) => r(code)));
    await until(async () => ((await status(control)).bytesRead > 0 ? true : undefined), 30_000, 'nbdcopy reading');
    await shadowdOk(['inject', 'disk0', 'throw', '--control', control]);
    await until(async () => ((await status(control)).recoveries === 1 ? true : undefined), 30_000, 'first recovery');
    await shadowdOk(['inject', 'disk0', 'throw', '--control', control]);
    const gaveUp = await service.waitFor((l) => l.event === 'gave-up' && l.device === 'disk0');
    copy.stdout!.resume(); // nbdcopy goes on, and its next reads reach the device that gave up
    assert.notEqual(await copyExit, 0, 'nbdcopy fails');
    assert.match(copyErr, /Input\/output error/, `nbdcopy was told EIO: ${copyErr}`);
    const refused = service.lines.filter((l) => l.event === 'request-refused');
    assert.ok(refused.length > 0, 'a log line per refused request');
    for (const l of refused) {
      assert.equal(l.device, 'disk0');
      assert.equal(l.reason, gaveUp.reason, 'the line names the reason');
    }
    const s = await status(control);
    assert.equal(s.state, 'gave-up');
    assert.equal(s.gaveUp?.reason, gaveUp.reason);
    // libnbd prints the server's refusal text only in its debug output; its own line carries
    // the errno (ESHUTDOWN, not ENOENT's "no export named") and the export's name.
    const info = await new Promise<{ code: number | null; err: string }>((resolve) => {
      const child = spawn('nbdinfo', [url], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, LIBNBD_DEBUG: '1' } });
      let err = '';
      child.stderr.on('data', (c: Buffer) => { err += c.toString(); });
      child.on('exit', (code) => resolve({ code, err }));
    });
    assert.notEqual(info.code, 0, 'nbdinfo is refused');
    assert.match(info.err, /disk0: the driver gave up/, `the refusal names the device and "gave up": ${info.err}`);
    assert.match(info.err, /nbdinfo: nbd_opt_go: .*transport endpoint shutdown/, 'the client\'s own line says shut down');
    assert.doesNotMatch(info.err, /no export named/);
    assert.deepEqual(await service.stop(), { code: 0, signal: null });
  } finally {
    copy?.kill('SIGKILL');
    await service?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  assert.equal((await shadowd(['status', '--control', control])).code !== 0, true, 'the service is gone');
});
