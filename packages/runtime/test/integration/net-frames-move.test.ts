/**
 * Frames cross a thread boundary without being cloned: a batch the kernel asks a worker driver
 * to transmit arrives as views of lent shared memory, and the frames a driver gives up with its
 * `receive` upcall (`transfer`) move to the kernel, detached on the driver's side. A process
 * domain copies both (a batch of more than 8 KiB through its bulk region), and the driver's
 * buffers stay its own. Whatever a driver names to give
 * up (the same buffer twice, shared memory, a detached buffer, no buffer), the frames arrive
 * and the driver does not fail.
 */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { createRuntime } from '../../src/index.js';
import type { NetDevice } from '../../src/index.js';
import { expectNoLeaks, snapshot } from '../../src/testing/index.js';

const mover = new URL('../fixtures/drivers/net-mover.js', import.meta.url).href;

/** A frame to the driver's address, its payload numbered `n`. */
function frameFor(n: number, length: number): Uint8Array {
  const frame = new Uint8Array(length);
  frame.set([2, 0, 0, 0, 0, 0x0a, 2, 0, 0, 0, 0, 0x0b, 0x88, 0xb5]);
  for (let i = 14; i < length; i++) frame[i] = (n * 31 + i) & 0xff;
  return frame;
}

/** Sends `sent` as one batch; resolves with the echoed frames and the driver's report. */
async function echo(nic: NetDevice, sent: Uint8Array[]): Promise<{ echoed: Uint8Array[]; detached: boolean; shared: boolean }> {
  const echoed: Uint8Array[] = [];
  const done = new Promise<{ detached: boolean; shared: boolean }>((resolve) => {
    const off = nic.onReceive((frames) => {
      for (const frame of frames) {
        if (frame.length === 60 && frame[12] === 0x88 && frame[0] === 0xff) {
          off();
          resolve({ detached: frame[14] === 1, shared: frame[15] === 1 });
        } else {
          echoed.push(frame);
        }
      }
    });
  });
  for (const frame of sent) assert.equal(nic.send(frame), true);
  return { echoed, ...(await done) };
}

const layouts = [
  { label: 'worker', spec: { domain: 'worker' as const }, moves: true },
  { label: 'domain group', spec: { domainGroup: 'movers' }, moves: true },
  { label: 'process', spec: { domain: 'process' as const }, moves: false },
];

for (const { label, spec, moves } of layouts) {
  for (const badTransfer of [false, true]) {
    test(`${label}: transmitted frames ${moves ? 'are lent shared memory and received frames move' : 'and received frames are copied'}${badTransfer ? ', with a transfer list naming what cannot move' : ''}`, async () => {
      const before = snapshot();
      const rt = createRuntime();
      try {
        const nic = await rt.attachNet({ name: 'mover', driver: mover, ...spec, config: { badTransfer } });
        await nic.up();
        // More than 8 KiB in all: a process domain's batch goes through its bulk region.
        const sent = [frameFor(1, 60), frameFor(2, 1514), frameFor(3, 900), ...[4, 5, 6, 7, 8, 9].map((n) => frameFor(n, 1514))];
        const { echoed, detached, shared } = await echo(nic, sent);
        assert.deepEqual(echoed, sent, 'every frame came back as it was sent');
        assert.equal(shared, moves, 'transmitted frames in shared memory');
        assert.equal(detached, moves, 'the driver\'s copies moved (the valid ones of a bad list too)');
        // The kernel's own frames were neither moved nor changed by the crossing.
        assert.deepEqual(sent, [frameFor(1, 60), frameFor(2, 1514), frameFor(3, 900), ...[4, 5, 6, 7, 8, 9].map((n) => frameFor(n, 1514))]);
        assert.equal(rt.status('mover')!.recoveries, 0, 'the driver did not fail');
        assert.equal(rt.status('mover')!.state, 'running');
      } finally {
        await rt.close();
      }
      await expectNoLeaks(before);
    });
  }
}
