/**
 * The mutation injector: every operator finds sites in the real drivers and turns each into a
 * syntactically valid, changed module; the same seed gives the same mutant; a mutated driver
 * copy loads into a real domain, fails or serves, and leaves nothing behind.
 */
import { strict as assert } from 'node:assert';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'acorn';
import { builtInDrivers, createRuntime, isShadowError } from 'shadow-drivers';
import { builtInDriver, createMutantDriver } from '../../src/mutation/mutant-driver.js';
import { mutateSource, relink, sitesOf } from '../../src/mutation/mutate.js';
import { operatorNames } from '../../src/mutation/operators.js';
import { expectNoLeaks, snapshot } from 'shadow-drivers/testing';

// The built-in drivers' folders, found from their manifests (the runtime's public data).
const driverDirs = [...new Set(builtInDrivers.map((m) => dirname(fileURLToPath(m.module))))];
const driverFiles = driverDirs.flatMap((dir) => readdirSync(dir, { encoding: 'utf8' })
  .filter((f) => f.endsWith('.js') && !f.includes('manifest')).map((f) => join(dir, f))).sort();

test('every operator finds sites in the drivers and yields valid, changed code', () => {
  assert.ok(driverFiles.length >= 8, `driver modules found: ${driverFiles.length}`);
  for (const operator of operatorNames) {
    let sites = 0;
    let mutants = 0;
    for (const file of driverFiles) {
      const source = readFileSync(file, 'utf8');
      const here = sitesOf(source, [operator]).length;
      sites += here;
      if (here === 0) continue;
      const printed = relink(source, (s) => s); // the original, as the printer writes it
      for (let seed = 1; seed <= 3; seed++) {
        const { code, mutation } = mutateSource(source, seed, [operator]);
        assert.equal(mutation.operator, operator);
        assert.doesNotThrow(() => parse(code, { ecmaVersion: 'latest', sourceType: 'module' }), `${operator} ${file} seed ${seed}`);
        assert.notEqual(code, printed, `${operator} changed nothing in ${file} (seed ${seed}): ${mutation.description}`);
        mutants++;
      }
    }
    assert.ok(sites > 0 && mutants > 0, `${operator}: no site in any driver`);
  }
});

test('a mutant is reproducible from its seed, and seeds spread over sites', () => {
  const source = readFileSync(driverFiles.find((f) => f.endsWith('/block/disk-driver.js'))!, 'utf8');
  const a = mutateSource(source, 42);
  const b = mutateSource(source, 42);
  assert.equal(a.code, b.code);
  assert.deepEqual(a.mutation, b.mutation);
  const distinct = new Set(Array.from({ length: 30 }, (_, seed) => mutateSource(source, seed).code));
  assert.ok(distinct.size >= 20, `30 seeds gave only ${distinct.size} distinct mutants`);
  const operators = new Set(Array.from({ length: 60 }, (_, seed) => mutateSource(source, seed).mutation.operator));
  assert.equal(operators.size, operatorNames.length, `operators seen: ${[...operators].join(', ')}`);
});

test('mutated copies of the ram driver load into worker domains, serve or fail, and are removed', async () => {
  const before = snapshot();
  const rt = createRuntime({ faultInjection: true });
  const outcomes: string[] = [];
  try {
    for (let seed = 1; seed <= 12; seed++) {
      const mutant = createMutantDriver(builtInDriver('block', 'ram').module, seed);
      const again = createMutantDriver(builtInDriver('block', 'ram').module, seed);
      assert.deepEqual(again.mutation, mutant.mutation, 'the same seed picks the same file and site');
      assert.equal(readFileSync(fileURLToPath(again.url), 'utf8'), readFileSync(fileURLToPath(mutant.url), 'utf8'));
      again.remove();
      try {
        // The mutant is still the ram driver: the kernel grants it the same device memory.
        const config = { sizeBytes: 1 << 20 };
        const disk = await rt.attachBlock({ name: `mutant-${seed}`, driver: mutant.url, domain: 'worker', config,
          resources: builtInDriver('block', 'ram').resources!(config), restart: { intensity: 2 }, heartbeatMs: 50, heartbeatTimeoutMs: 500 });
        await disk.open();
        const data = new Uint8Array(4096).fill(seed);
        await disk.write(0, data);
        const back = await disk.read(0, 4096);
        outcomes.push(`${mutant.mutation.operator}: ${Buffer.compare(back, data) === 0 ? 'served' : 'wrong data'}`);
      } catch (err) {
        assert.ok(isShadowError(err), `seed ${seed} (${mutant.mutation.description}): a mutant fails with a typed error, not ${String(err)}`);
        assert.doesNotMatch(err.message, /not granted|Cannot find module|ERR_MODULE_NOT_FOUND/, 'the copy itself must load and get its resources');
        outcomes.push(`${mutant.mutation.operator}: ${err.code}`);
      } finally {
        await rt.detach(`mutant-${seed}`);
        mutant.remove();
        assert.ok(!existsSync(mutant.dir), 'the copy is removed');
      }
    }
  } finally {
    await rt.close();
  }
  console.log(`ram mutants: ${outcomes.join('; ')}`);
  await expectNoLeaks(before);
});
