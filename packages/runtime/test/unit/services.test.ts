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
