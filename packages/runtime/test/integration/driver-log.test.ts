/**
 * A driver's logs reach the operator with the device's name: its kernel.log lines and what it
 * writes to stderr and stdout, in worker and process domains, cleaned of control characters
 * and within the rate limit.
 */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { createRuntime, type DriverLogEvent } from '../../src/index.js';
import { LINES_PER_SECOND, LineSplitter, MAX_LINE_CHARS, cleanLine, formatDriverLog } from '../../src/observe/driver-log.js';

const chatty = new URL('../fixtures/drivers/chatty.js', import.meta.url).href;

/** Resolves with the events seen once `done` holds, or rejects at the deadline. */
function until(events: DriverLogEvent[], done: () => boolean, ms = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = () => { if (done()) { clearTimeout(timer); resolve(); return true; } return false; };
    const timer = setTimeout(() => reject(new Error(`timed out; events: ${JSON.stringify(events.map((e) => e.message))}`)), ms);
    if (!check()) (events as DriverLogEvent[] & { check?: () => boolean }).check = check;
  });
}

for (const domain of ['worker', 'process'] as const) {
  test(`${domain}: kernel.log, stderr and stdout lines arrive as log events with the device name`, async () => {
    const rt = createRuntime();
    const events: DriverLogEvent[] & { check?: () => boolean } = [];
    rt.manager.on('log', (e: DriverLogEvent) => { events.push(e); events.check?.(); });
    const name = `chatty-${domain}`;
    try {
      await rt.attachBlock({ name, driver: chatty, domain, resources: [{ name: 'medium', memoryBytes: 1 << 20 }] });
      const has = (source: string, text: string) => events.some((e) => e.source === source && e.message.includes(text));
      await until(events, () => has('kernel.log', 'hello from init') && has('stderr', 'stderr from init') && has('stdout', 'stdout from init'));
      for (const e of events) {
        assert.equal(e.device, name);
        assert.equal(e.driver, chatty);
        assert.doesNotMatch(e.message, /[\n\r\u001b]/, 'a message holds no line break or escape');
      }
      const log = events.find((e) => e.source === 'kernel.log')!;
      assert.equal(log.level, 'warn');
      assert.equal(log.message, 'hello from init [other-device] forged line');
      assert.equal(formatDriverLog(log), `[${name}] warn: hello from init [other-device] forged line\n`);
      assert.equal(events.find((e) => e.source === 'stdout')!.message, 'stdout from init [host] forged');
    } finally {
      await rt.close();
    }
  });
}

test('a driver flooding its log is cut to the rate, the rest counted', async () => {
  const rt = createRuntime();
  const events: DriverLogEvent[] = [];
  rt.manager.on('log', (e: DriverLogEvent) => events.push(e));
  try {
    const disk = await rt.attachBlock({ name: 'flood', driver: chatty, config: { flood: 3 * LINES_PER_SECOND }, resources: [{ name: 'medium', memoryBytes: 1 << 20 }] });
    await disk.open();
    await disk.discard(0, 4096);
    // kernel.log calls travel before the discard's reply, on the same wire.
    const flood = events.filter((e) => e.message.startsWith('flood'));
    assert.ok(flood.length <= LINES_PER_SECOND, `${flood.length} flood lines passed`);
    assert.ok(flood.every((e) => e.message.length <= MAX_LINE_CHARS + 1));
    assert.ok(rt.status('flood')!.droppedLogLines >= 2 * LINES_PER_SECOND - 3, `dropped ${rt.status('flood')!.droppedLogLines}`);
  } finally {
    await rt.close();
  }
});

test('lines: split per newline, over-long ones cut without holding them, control characters gone', () => {
  const lines: string[] = [];
  const split = new LineSplitter((l) => lines.push(l));
  split.push('a\nb');
  split.push('c\n');
  split.push('x'.repeat(MAX_LINE_CHARS * 3));
  split.push('y'.repeat(10) + '\nz');
  split.end();
  assert.deepEqual(lines, ['a', 'bc', `${'x'.repeat(MAX_LINE_CHARS)}…`, 'z']);
  assert.equal(cleanLine('ok\u001b[31mred\u0007\r\nnext\u202eevil'), 'okred nextevil');
});
