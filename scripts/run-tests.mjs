#!/usr/bin/env node
// Runs the compiled tests of both packages (runtime, lab) with node's test runner: a readable
// report on stdout, and a closing line `N passed, N failed, N skipped` counted from the TAP
// stream. `--tier quick` runs the quick tier (unit tests and the runtime's core integration
// tests, for every edit); other arguments pick test files whose path contains them.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { availableParallelism, tmpdir } from 'node:os';

const roots = ['runtime', 'lab'].map((p) => new URL(`../packages/${p}/dist/test/`, import.meta.url).pathname);
const args = process.argv.slice(2);
const tier = args.includes('--tier') ? args[args.indexOf('--tier') + 1] : 'full';
const only = args.filter((a, i) => a !== '--tier' && args[i - 1] !== '--tier');
/** The quick tier: unit tests, and the runtime's integration tests that need no outside tool. */
const quick = [/\/test\/unit\//, /runtime\/dist\/test\/integration\/(recovery|faults|native|serial|bad-input|hostile-wire|off-heap|virtual-hardware|decode-fuzz|read-into|kernel-copies|log-bounded|backoff|timers|property|model|boundary|hostile|driver-api|driver-log|new-driver|service-bad-input|service-status|foreign-descriptor)[.-]/];
const files = [];
function walk(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) walk(path);
    else if (entry.name.endsWith('.test.js') && (only.length === 0 || only.some((o) => path.includes(o)))
      && (tier !== 'quick' || quick.some((q) => q.test(path)))) files.push(path);
  }
}
roots.forEach(walk);
files.sort();

/**
 * Files run side by side, at least two at a time: most of the suite waits on real time (sound
 * played at its rate, serial lines at 9600 baud, faults every second), every test is made to
 * pass on a loaded machine (scripts/test-loaded.sh), and each names what it creates
 * (namespaces, TAPs, images) after its own process. Node's default on 2 cores is one at a time.
 * The stress runs (the fault campaign, the benchmark, the demos with a fault every 500 ms in
 * seven drivers) run first, one at a time and alone: beside the campaign, the demo in process
 * domains once gave a NIC up (its new drivers kept failing before they served, on a machine
 * both had filled).
 */
const CONCURRENCY = Math.max(2, availableParallelism() - 1);
const ALONE = /\/(campaign|bench|demo)\.test\.js$/;
const dir = mkdtempSync(join(tmpdir(), 'shadow-tests-'));

/** Runs `list` with node's test runner, `concurrency` files at a time; its exit code and TAP report. */
async function run(list, concurrency, name) {
  if (list.length === 0) return { code: 0, text: '' };
  const tap = join(dir, `${name}.tap`);
  const child = spawn(process.execPath, [
    // A test that hangs fails after 10 minutes instead of holding the whole run (and CI) hostage.
    '--test', `--test-concurrency=${concurrency}`, '--test-timeout=600000', '--test-reporter=spec', '--test-reporter-destination=stdout',
    '--test-reporter=tap', `--test-reporter-destination=${tap}`, ...list,
  ], { stdio: ['ignore', 'inherit', 'inherit'] });
  const code = await new Promise((resolve) => child.on('exit', (c, s) => resolve(c ?? (s ? 1 : 0))));
  return { code, text: readFileSync(tap, 'utf8') };
}

const results = [
  await run(files.filter((f) => ALONE.test(f)), 1, 'alone'),
  await run(files.filter((f) => !ALONE.test(f)), CONCURRENCY, 'side-by-side'),
];
rmSync(dir, { recursive: true, force: true });
const count = (name) => results.reduce((sum, { text }) => sum + Number((text.match(new RegExp(`^# ${name} (\\d+)$`, 'm')) ?? [0, 0])[1]), 0);
const passed = count('pass');
const failed = count('fail') + count('cancelled');
const skipped = count('skipped') + count('todo');
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(results.some((r) => r.code !== 0) || failed > 0 || passed === 0 ? 1 : 0);
