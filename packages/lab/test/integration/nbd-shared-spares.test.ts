/**
 * Shared spares in process domains: `nbd` devices hold no host resource (each driver makes its
 * own connection to the server), so their recoveries can take a process started before any
 * device needed it, from one pool for every device of the driver. The disk is a real nbdkit.
 */
import { strict as assert } from 'node:assert';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createRuntime, type RecoveryEvent } from 'shadow-drivers';
import { expectNoLeaks, requires, snapshot, waitForEvent } from 'shadow-drivers/testing';
import { nbdkit, ONE_THREAD } from '../../src/harness/nbdkit.js';

const BLOCK = 4096;
const content = (device: number, version: number) => new Uint8Array(BLOCK).fill(device * 16 + version + 1);

test('nbd devices in process domains recover into shared started processes, their data intact', { skip: requires('nbdkit') }, async () => {
  const before = snapshot();
  const dir = await mkdtemp(join(tmpdir(), 'shadow-nbd-spares-'));
  const server = nbdkit(dir, 'memory', [ONE_THREAD, 'memory', `${1 << 20}`]);
  const rt = createRuntime({ faultInjection: true, spareDomains: 2 });
  try {
    await server.start();
    const names = ['n0', 'n1', 'n2'];
    const disks = [];
    for (const [i, name] of names.entries()) {
      const disk = await rt.attachBlock({ name, driver: 'nbd', domain: 'process', warmStandby: 'shared', config: { url: server.uri } });
      await disk.open();
      // One server for all three: each device keeps to its own block.
      await disk.write(i * BLOCK, content(i, 0));
      disks.push(disk);
      assert.equal(rt.status(name)!.standby, 'shared');
    }
    await rt.standbyReady('n0');
    assert.deepEqual(rt.manager.spareDomains(), { booted: 2, starting: 0 }, 'two started processes for three devices');
    const versions = [0, 0, 0];
    for (const [i, kind] of [[0, 'exit'], [2, 'throw'], [0, 'kill']] as const) {
      const name = names[i]!;
      await rt.standbyReady(name);
      const recovered = waitForEvent<RecoveryEvent>(rt.manager, 'recovery', (e) => e.device === name);
      rt.inject(name, { kind });
      const read = disks[i]!.read(i * BLOCK, BLOCK);
      const event = await recovered;
      assert.equal(event.warmStandby, true, `${name} (${kind}): recovery took a started process`);
      assert.deepEqual(await read, content(i, versions[i]!), `${name} (${kind}): the read in flight completed with the disk's data`);
      await disks[i]!.write(i * BLOCK, content(i, ++versions[i]!));
    }
    for (const [i, disk] of disks.entries()) assert.deepEqual(await disk.read(i * BLOCK, BLOCK), content(i, versions[i]!));
  } finally {
    await rt.close();
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
  assert.deepEqual(rt.manager.spareDomains(), { booted: 0, starting: 0 }, 'closing the runtime ended the spares');
  await expectNoLeaks(before);
});
