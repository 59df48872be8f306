/** Kernel services: what is the device's state and what is a bad call. */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ErrorCodes, ShadowError } from '../../src/errors.js';
import { servicesFor, type ServiceContext } from '../../src/kernel/services.js';

test('spawnHelper: a PulseAudio server that is not running is SD_ERR_IO, a path that is not a socket is a bad call', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'shadow-services-'));
  try {
    // Neither call gets past its argument checks, so no more of the context is needed.
    const call = servicesFor({} as ServiceContext);
    const spec = (server: string) => ({ program: 'pacat', server, device: 'sink', format: 's16le', rate: 48000, channels: 2, latencyMs: 20, streamName: 's' });
    await assert.rejects(call('spawnHelper', spec(join(dir, 'native'))), (err: unknown) => {
      assert.ok(err instanceof ShadowError, 'a refusal that is not the driver\'s fault');
      assert.equal(err.code, ErrorCodes.IO);
      return true;
    });
    writeFileSync(join(dir, 'file'), '');
    await assert.rejects(call('spawnHelper', spec(join(dir, 'file'))), (err: unknown) => {
      assert.ok(!(err instanceof ShadowError), 'the driver\'s fault');
      assert.match((err as Error).message, /is not a socket/);
      return true;
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('register: a block driver cannot claim more than the medium the kernel holds, nor write to a read-only one', async () => {
  const { blockClass } = await import('../../src/classes/block/contract.js');
  const medium = { name: 'medium', sizeBytes: 16 * 1024 * 1024, readOnly: false };
  assert.equal(blockClass.registration.validate({ sizeBytes: 16 * 1024 * 1024, blockSize: 4096, readOnly: false }, [medium]), undefined);
  assert.match(blockClass.registration.validate({ sizeBytes: 4 * 2 ** 50, blockSize: 4096, readOnly: false }, [medium]) ?? '',
    /exceeds the 16777216-byte medium/);
  assert.match(blockClass.registration.validate({ sizeBytes: 4096, blockSize: 4096, readOnly: false }, [{ ...medium, readOnly: true }]) ?? '',
    /read-only/);
  // A device with no medium of its own (an NBD client) is bounded by nothing the kernel holds.
  assert.equal(blockClass.registration.validate({ sizeBytes: 4 * 2 ** 50, blockSize: 4096, readOnly: false }, []), undefined);
});
