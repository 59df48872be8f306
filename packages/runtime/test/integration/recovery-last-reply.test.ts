/**
 * A process-domain driver that exits right after answering: its last reply
 * reaches the kernel before the exit is reported. Without that, under restart-only recovery the
 * answered read failed as never answered: process.exit dropped what the IPC channel had not yet
 * written.
 */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { createRuntime, type FailureEvent } from '../../src/index.js';
import { waitForEvent } from '../../src/testing/events.js';
import { snapshot, expectNoLeaks } from '../../src/testing/leaks.js';

const driver = new URL('../fixtures/drivers/exit-after-reply.js', import.meta.url).href;
const SIZE = 4 << 20;

test('process: a driver exiting right after its reply: the reply is delivered, then the exit', async () => {
  const before = snapshot();
  const rt = createRuntime();
  try {
    // No sandbox: the driver's process is the direct child, whose exit comes soonest.
    const disk = await rt.attachBlock({ name: 'last-reply', driver, domain: 'process', recovery: 'restart', sandbox: false,
      resources: [{ name: 'medium', memoryBytes: SIZE }] });
    await disk.open();
    const pattern = new Uint8Array(SIZE).map((_, i) => (i * 7) & 0xff);
    await disk.write(0, pattern);
    const failed = waitForEvent<FailureEvent>(rt.manager, 'failure', (e) => e.device === 'last-reply', 20_000);
    // A 4 MiB reply does not fit the IPC socket's buffer: it is still being written when the
    // driver calls process.exit.
    const read = await disk.read(0, SIZE);
    assert.ok(Buffer.from(read).equals(Buffer.from(pattern)), 'the read returned other bytes');
    const failure = await failed;
    assert.match(failure.message, /code 3/);
  } finally {
    await rt.close();
  }
  await expectNoLeaks(before);
});
