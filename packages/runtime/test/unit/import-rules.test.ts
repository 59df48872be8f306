/**
 * The import rules (.dependency-cruiser.cjs, `npm run lint:imports`): they flag each kind of bad
 * import in a miniature of the layout (test/fixtures/import-rules), and the real tree passes.
 * Both run the dependency-cruiser CLI as the npm script does: its JSON report for the rule names,
 * its default report for the exit status (the JSON reporter always exits 0).
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

/** The runtime package's root (this file runs from dist/test/unit/). */
const runtimeRoot = fileURLToPath(new URL('../../../', import.meta.url));
const repoRoot = join(runtimeRoot, '../..');
const config = join(repoRoot, '.dependency-cruiser.cjs');
const depcruise = join(repoRoot, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');
const fixture = join(runtimeRoot, 'test/fixtures/import-rules');

interface Violation { rule: { name: string }; from: string; to: string }

function depcruiseIn(cwd: string, outputType: 'json' | 'err') {
  return spawnSync(process.execPath, [depcruise, '--config', config, '--output-type', outputType,
    'packages/runtime/src', 'packages/lab/src'], { cwd, encoding: 'utf8', timeout: 30_000, maxBuffer: 64 * 1024 * 1024 });
}

/** The violations found in `cwd`'s packages/*\/src, and the exit status of the check. */
function cruise(cwd: string): { status: number | null; violations: Violation[]; report: string } {
  const json = depcruiseIn(cwd, 'json');
  assert.ok(json.stdout, `dependency-cruiser printed nothing: ${json.stderr || json.error}`);
  const { violations } = (JSON.parse(json.stdout) as { summary: { violations: Violation[] } }).summary;
  const err = depcruiseIn(cwd, 'err');
  return { status: err.status, violations, report: `${err.stdout}${err.stderr}` };
}

test('import rules: every deliberately bad import in the fixture tree is flagged by its rule', () => {
  const { status, violations } = cruise(fixture);
  const found = new Set(violations.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`));
  const rt = 'packages/runtime/src/';
  const expected = [
    `driver-imports-only-the-driver-api: ${rt}drivers/block/bad.js -> ${rt}manager/shadow-manager.js`,
    `only-the-runtime-uses-the-manager: ${rt}drivers/block/bad.js -> ${rt}manager/shadow-manager.js`,
    `driver-stays-in-its-class: ${rt}drivers/block/other-class.js -> ${rt}classes/net/contract.js`,
    `kernel-not-above-itself: ${rt}kernel/kernel.js -> ${rt}taps/tap.js`,
    `only-the-manager-wires-mechanisms: ${rt}kernel/kernel.js -> ${rt}taps/tap.js`,
    `runtime-not-into-lab: ${rt}uses-lab.js -> packages/lab/src/app.js`,
    `lab-through-package-name: packages/lab/src/app.js -> ${rt}driver/block.js`,
    `lab-only-public-entry-points: packages/lab/src/app.js -> ${rt}driver/block.js`,
    'no-unresolvable: packages/lab/src/app.js -> shadow-drivers/dist/src/kernel/kernel.js',
    `mechanisms-without-node: ${rt}taps/tap.js -> events`,
  ];
  for (const violation of expected) assert.ok(found.has(violation), `missing ${violation}; found:\n${[...found].join('\n')}`);
  const byRule = (name: string) => violations.filter((v) => v.rule.name === name);
  assert.ok(byRule('no-circular').some((v) => v.from === `${rt}observe/a.js` || v.from === `${rt}observe/b.js`), 'the cycle a <-> b');
  assert.ok(byRule('driver-npm-only-koffi').some((v) => v.from === `${rt}drivers/block/npm.js` && /node_modules\/commander\//.test(v.to)),
    'a driver loading commander');
  assert.deepEqual(violations.filter((v) => v.from.endsWith('/good.js')), [], 'a driver that uses only the driver API passes');
  assert.equal(status, violations.length, 'the check fails, its exit status the number of errors');
});

test('import rules: the real tree passes', () => {
  const { status, violations, report } = cruise(repoRoot);
  assert.deepEqual(violations.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`), []);
  assert.equal(status, 0, report);
});
