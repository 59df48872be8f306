/**
 * The kernel's hold on a tty's input during recovery (kernel/input-hold.ts), on a real pty:
 * it takes what arrives, in order, up to its bound; at the bound it stops reading and says so,
 * and the rest waits in the tty's own queue, in order behind what was held; a stopped hold
 * leaves no timer and can start again.
 */
import { strict as assert } from 'node:assert';
import { closeSync, constants, openSync, readSync, writeSync } from 'node:fs';
import { test } from 'node:test';
import { InputHold } from '../../src/kernel/input-hold.js';
import { openPty } from '../../src/kernel/os/pty.js';
import { until } from '../../src/testing/events.js';
import { expectNoLeaks, snapshot } from '../../src/testing/leaks.js';

async function withTty(run: (master: number, tty: number) => Promise<void>): Promise<void> {
  const before = snapshot();
  const pty = openPty();
  // As the kernel holds a serial device's tty: read-write, non-blocking, not the controlling terminal.
  const tty = openSync(pty.path, constants.O_RDWR | constants.O_NOCTTY | constants.O_NONBLOCK);
  try {
    await run(pty.master, tty);
  } finally {
    closeSync(tty);
    closeSync(pty.slave);
    closeSync(pty.master);
  }
  await expectNoLeaks(before);
}

/** Reads what waits on `fd` until `want` bytes have come. */
async function readAll(fd: number, want: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let got = 0;
  await until(() => {
    for (;;) {
      const buffer = Buffer.alloc(65536);
      let n = 0;
      try { n = readSync(fd, buffer, 0, buffer.length, null); } catch { break; }
      if (n === 0) break;
      chunks.push(buffer.subarray(0, n));
      got += n;
    }
    return got >= want;
  }, `${want} bytes from the tty (have ${got})`, 10_000);
  return Buffer.concat(chunks);
}

const pattern = (n: number, from = 0) => Buffer.from(Array.from({ length: n }, (_, i) => (from + i) % 251));

test('a hold takes what arrives, in order, until stopped; it can start again; nothing is left running', () => withTty(async (master, tty) => {
  const hold = new InputHold(tty, 1 << 20);
  hold.start();
  assert.ok(hold.running);
  writeSync(master, pattern(3000));
  await until(() => hold.heldBytes === 3000, 'the hold took the 3000 bytes', 10_000);
  const first = hold.stop();
  assert.equal(hold.running, false);
  assert.deepEqual(Buffer.from(first.bytes), pattern(3000));
  assert.equal(first.full, false);
  // Stopped: bytes wait in the tty's queue for a reader.
  writeSync(master, pattern(100, 3000));
  assert.deepEqual(await readAll(tty, 100), pattern(100, 3000));
  hold.start();
  writeSync(master, pattern(50, 3100));
  await until(() => hold.heldBytes === 50, 'the restarted hold took the 50 bytes', 10_000);
  assert.deepEqual(Buffer.from(hold.stop().bytes), pattern(50, 3100), 'a restarted hold gives only what came since');
  assert.equal(hold.fullCount, 0);
}));

test('at its bound a hold stops reading and says so: the rest waits in the tty, in order behind what was held', () => withTty(async (master, tty) => {
  const hold = new InputHold(tty, 4096);
  const data = pattern(10_000);
  writeSync(master, data);
  hold.start();
  await until(() => hold.heldBytes === 4096, 'the hold filled up to its bound', 10_000);
  const held = hold.stop();
  assert.equal(held.full, true);
  assert.equal(held.bytes.length, 4096);
  assert.equal(hold.fullCount, 1);
  const rest = await readAll(tty, data.length - 4096);
  assert.deepEqual(Buffer.concat([Buffer.from(held.bytes), rest]), data, 'held bytes, then the queue: every byte once, in order');
}));
