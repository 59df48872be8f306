/**
 * Process domains run drivers under Node's permission model: a driver reaches its device
 * through the descriptors the kernel lends it and cannot open host files on its own.
 */
import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createRuntime, ErrorCodes, isShadowError } from '../../src/index.js';
import { expectNoLeaks, snapshot } from '../../src/testing/leaks.js';

const escape = new URL('../fixtures/drivers/escape.js', import.meta.url).href;

test('a sandboxed process-domain driver cannot write a host file; unsandboxed it can', async () => {
  const before = snapshot();
  const dir = mkdtempSync(join(tmpdir(), 'shadow-sandbox-'));
  const rt = createRuntime();
  try {
    const target = join(dir, 'stolen');
    const spec = { driver: escape, domain: 'process' as const, config: { target }, resources: [{ name: 'medium', memoryBytes: 65536 }] };
    const refused = await rt.attachBlock({ ...spec, name: 'jailed' }).then(() => 'started', (e: unknown) => e);
    assert.ok(isShadowError(refused, ErrorCodes.DRIVER_FAILED), `sandboxed driver: ${String(refused)}`);
    assert.match(String((refused as Error).message), /ERR_ACCESS_DENIED|permission|access/i);
    assert.equal(existsSync(target), false, 'the sandboxed driver wrote a host file');
    const disk = await rt.attachBlock({ ...spec, name: 'free', sandbox: false });
    assert.equal(existsSync(target), true);
    await disk.open();
    assert.equal((await disk.read(0, 4096)).length, 4096);
  } finally {
    await rt.close();
    rmSync(dir, { recursive: true, force: true });
  }
  await expectNoLeaks(before);
});
