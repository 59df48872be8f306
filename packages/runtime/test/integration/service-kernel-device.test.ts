/**
 * `kernelDevice: true`: the service's NBD export also becomes a kernel block device through
 * nbdfuse + losetup. `shadowd status` reports the /dev/loopN; the test formats it (mkfs.ext4),
 * mounts it, writes a file through a fault drill, and stops the service with the filesystem
 * still mounted: SIGTERM exits 0, and no loop device, mount or nbdfuse is left.
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { requires } from '../../src/testing/requires.js';
import { ServiceProcess, shadowdOk, until } from '../helpers/service-process.js';

const run = (command: string, args: string[]) => new Promise<string>((resolve, reject) =>
  execFile(command, args, { timeout: 60_000, killSignal: 'SIGKILL' }, (e, out, err) => (e ? reject(new Error(`${command}: ${e.message} ${err}`)) : resolve(out))));

test('kernelDevice: a /dev/loopN over the export, formatted and mounted, survives a drill; SIGTERM leaves no loop, mount or nbdfuse', { skip: requires('nbdfuse', 'root', 'loop', 'fuse', 'mkfs.ext4', 'losetup'), timeout: 180_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'shadowd-kdev-'));
  const control = join(dir, 'ctl.sock');
  const mnt = join(dir, 'mnt');
  mkdirSync(mnt);
  let service: ServiceProcess | undefined;
  let loop = '';
  try {
    writeFileSync(join(dir, 'shadowd.yaml'), ['control: ctl.sock', 'metrics: false', 'faultDrills: true', 'devices:', '  kdisk:',
      '    class: block', '    driver: ram', '    restart: { intensity: 100 }', `    config: { sizeBytes: ${64 * 1024 * 1024} }`,
      '    frontend: { type: nbd, socket: kdisk.sock, kernelDevice: true }', ''].join('\n'));
    service = new ServiceProcess(['shadowd.yaml'], { cwd: dir });
    await service.ready();
    const status = JSON.parse(await shadowdOk(['status', '--json', '--control', control])) as { frontend: string[] }[];
    loop = status[0]!.frontend.find((f) => f.startsWith('/dev/loop'))!;
    assert.ok(loop, `status reports the loop device: ${JSON.stringify(status[0]!.frontend)}`);
    assert.match(await run('losetup', ['-a']), new RegExp(`${loop}:`));
    await run('mkfs.ext4', ['-q', '-F', loop]);
    await run('mount', [loop, mnt]);
    writeFileSync(join(mnt, 'before'), 'written before the drill');
    await shadowdOk(['inject', 'kdisk', 'throw', '--control', control]);
    writeFileSync(join(mnt, 'after'), 'written around the drill');
    await run('sync', ['-f', join(mnt, 'after')]);
    await until(async () => ((JSON.parse(await shadowdOk(['status', '--json', '--control', control])) as { recoveries: number }[])[0]!.recoveries === 1 ? true : undefined), 30_000, 'recovery');
    assert.equal(readFileSync(join(mnt, 'before'), 'utf8'), 'written before the drill');
    // Stopped with the filesystem still mounted: the service unmounts it, detaches the loop, unmounts FUSE.
    assert.deepEqual(await service.stop(), { code: 0, signal: null });
    assert.doesNotMatch(await run('losetup', ['-a']), new RegExp(`${loop}:`), 'the loop device is detached');
    const mounts = readFileSync('/proc/self/mounts', 'utf8');
    assert.ok(!mounts.includes(mnt) && !mounts.includes(loop + ' ') && !mounts.includes('shadowd-kdisk-'), 'nothing mounted is left');
    assert.doesNotMatch(await run('ps', ['-eo', 'args']), /nbdfuse .*kdisk/, 'nbdfuse is gone');
  } finally {
    await service?.stop();
    if (readFileSync('/proc/self/mounts', 'utf8').includes(mnt)) await run('umount', [mnt]).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
});
