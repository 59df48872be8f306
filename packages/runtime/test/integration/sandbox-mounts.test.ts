/**
 * A sandboxed driver must not carry the host's mounts into its sandbox. The folder of a socket
 * it connects to is bound into the sandbox; a mount beneath that folder (a file system the
 * applications use, mounted next to the device's socket) was copied into the sandbox's mount
 * namespace with it, where it lived on after the host unmounted it: its loop device never
 * detached and its FUSE server never exited (found by the storage applications over nbdkit).
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { createRuntime } from '../../src/index.js';
import { VirtualSoundCard } from '../../src/devices/sound/virtual-card.js';
import { bubblewrapUsable } from '../../src/isolation/bubblewrap.js';
import { expectNoLeaks, snapshot } from '../../src/testing/leaks.js';
import { requires } from '../../src/testing/requires.js';

const skip = requires('root', 'mount', 'umount') || (bubblewrapUsable() ? false : 'bubblewrap (/usr/bin/bwrap) is absent or cannot make namespaces here');

test('a mount beneath the folder of a driver\'s socket is not copied into its sandbox', { skip }, async () => {
  const before = snapshot();
  const card = await VirtualSoundCard.create();
  const beneath = join(dirname(card.socketPath), 'mnt');
  mkdirSync(beneath);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', beneath]);
  const rt = createRuntime();
  try {
    await rt.attachSound({ name: 'pcm', driver: 'virtual', domain: 'process', config: { socket: card.socketPath } });
    const status = rt.status('pcm')!;
    assert.equal(status.sandbox, 'bubblewrap');
    const inside = readFileSync(`/proc/${status.pid}/mountinfo`, 'utf8');
    assert.ok(!inside.includes(beneath), `the sandbox holds the host's mount ${beneath}:\n${inside}`);
    // The driver still reaches its socket (the file is bound instead of its folder).
    const sound = rt.sound(rt.kernel.device('pcm')!);
    await sound.open('playback');
    assert.ok((await sound.capabilities()).rates.length > 0);
  } finally {
    await rt.close();
    execFileSync('umount', [beneath]);
    await card.close();
  }
  await expectNoLeaks(before);
});
