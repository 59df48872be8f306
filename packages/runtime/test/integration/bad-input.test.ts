/**
 * Bad input from applications gets a typed error with a stable code and changes nothing.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createRuntime, ErrorCodes, isShadowError, type BlockDevice, type ErrorCode } from '../../src/index.js';
import { BLOCK, blockContent } from '../../src/testing/workload.js';

const rt = createRuntime();
let disk: BlockDevice;
const SIZE = 16 * BLOCK;

before(async () => {
  disk = await rt.attachBlock({ name: 'input', driver: 'ram', config: { sizeBytes: SIZE } });
});
after(() => rt.close());

async function refused(call: () => Promise<unknown>, code: ErrorCode): Promise<void> {
  const result = await call().then(() => 'accepted', (e: unknown) => e);
  assert.ok(isShadowError(result, code), `expected ${code}, got ${result instanceof Error ? `${(result as { code?: string }).code}: ${result.message}` : String(result)}`);
}

test('calls before open are refused', async () => {
  await refused(() => disk.read(0, BLOCK), ErrorCodes.NOT_OPEN);
  await refused(() => disk.write(0, blockContent(0, 1)), ErrorCodes.NOT_OPEN);
  await disk.open();
});

test('out of range, negative and misaligned requests are refused and change nothing', async () => {
  const last = blockContent(15, 1);
  await disk.write(15 * BLOCK, last);
  const statsBefore = await disk.stats();
  await refused(() => disk.read(SIZE, BLOCK), ErrorCodes.OUT_OF_RANGE);
  await refused(() => disk.read(15 * BLOCK, 2 * BLOCK), ErrorCodes.OUT_OF_RANGE);
  await refused(() => disk.write(15 * BLOCK, new Uint8Array(2 * BLOCK).fill(9)), ErrorCodes.OUT_OF_RANGE);
  await refused(() => disk.discard(15 * BLOCK, 2 * BLOCK), ErrorCodes.OUT_OF_RANGE);
  await refused(() => disk.read(-BLOCK, BLOCK), ErrorCodes.INVALID_ARGUMENT);
  await refused(() => disk.read(0, -BLOCK), ErrorCodes.INVALID_ARGUMENT);
  await refused(() => disk.read(100, BLOCK), ErrorCodes.MISALIGNED);
  await refused(() => disk.write(0, new Uint8Array(100)), ErrorCodes.MISALIGNED);
  assert.deepEqual(await disk.read(15 * BLOCK, BLOCK), last, 'the refused write changed the disk');
  const statsAfter = await disk.stats();
  assert.equal(statsAfter.writes, statsBefore.writes);
  assert.equal(statsAfter.discards, statsBefore.discards);
  assert.equal(statsAfter.reads, statsBefore.reads + 1);
});

test('wrong argument types are refused', async () => {
  await refused(() => disk.read('0' as unknown as number, BLOCK), ErrorCodes.INVALID_ARGUMENT);
  await refused(() => disk.read(0.5, BLOCK), ErrorCodes.INVALID_ARGUMENT);
  await refused(() => disk.read(Number.NaN, BLOCK), ErrorCodes.INVALID_ARGUMENT);
  await refused(() => disk.write(0, 'text' as unknown as Uint8Array), ErrorCodes.INVALID_ARGUMENT);
  await refused(() => disk.write(0, null as unknown as Uint8Array), ErrorCodes.INVALID_ARGUMENT);
  await refused(() => disk.configure('writeCache', 'sometimes' as 'writeback'), ErrorCodes.INVALID_ARGUMENT);
  await refused(() => disk.device.call('open', { readOnly: 'yes' }), ErrorCodes.INVALID_ARGUMENT);
  await refused(() => disk.device.call('read', 42 as unknown as object), ErrorCodes.INVALID_ARGUMENT);
  await refused(() => disk.device.call('format', {}), ErrorCodes.NOT_FOUND);
  await refused(() => disk.device.call('init', { config: {} }), ErrorCodes.NOT_FOUND);
});

test('writes, discards and flushes to a read-only open are refused', async () => {
  await disk.close();
  await disk.open({ readOnly: true });
  await refused(() => disk.write(0, blockContent(0, 2)), ErrorCodes.READ_ONLY);
  await refused(() => disk.discard(0, BLOCK), ErrorCodes.READ_ONLY);
  await refused(() => disk.flush(), ErrorCodes.READ_ONLY);
  assert.equal((await disk.read(0, BLOCK)).length, BLOCK, 'reads still work');
  await disk.close();
  await disk.open();
});

test('a read-only image refuses writes even when opened read-write', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'shadow-ro-'));
  const image = join(dir, 'ro.img');
  writeFileSync(image, Buffer.alloc(8 * BLOCK, 1));
  const ro = createRuntime();
  try {
    const d = await ro.attachBlock({ name: 'ro', driver: 'file', config: { path: image, readOnly: true } });
    await d.open();
    await refused(() => d.write(0, blockContent(0, 1)), ErrorCodes.READ_ONLY);
    assert.deepEqual(await d.read(0, BLOCK), new Uint8Array(BLOCK).fill(1));
  } finally {
    await ro.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad attach requests are refused with codes', async () => {
  const other = createRuntime();
  try {
    await refused(() => other.attachBlock({ name: 'x', driver: 'no-such-driver' }), ErrorCodes.NOT_FOUND);
    await refused(() => other.attach({ name: 'x', className: 'no-such-class', driver: 'ram' }), ErrorCodes.NOT_FOUND);
    await refused(() => other.attachBlock({ name: 'bad name!', driver: 'ram' }), ErrorCodes.INVALID_ARGUMENT);
    await refused(() => other.attachBlock({ name: 'f', driver: 'file', config: {} }), ErrorCodes.INVALID_ARGUMENT);
    await refused(() => other.attachBlock({ name: 'f', driver: 'file', config: { path: '/nonexistent/disk.img' } }), ErrorCodes.NOT_FOUND);
  } finally {
    await other.close();
  }
});

test('calls on a detached device fail with SD_ERR_CLOSED', async () => {
  const other = createRuntime();
  const d = await other.attachBlock({ name: 'gone', driver: 'ram', config: { sizeBytes: SIZE } });
  await d.open();
  await other.detach('gone');
  await refused(() => d.read(0, BLOCK), ErrorCodes.CLOSED);
  await other.close();
});
