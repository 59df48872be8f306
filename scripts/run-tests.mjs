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

const CONCURRENCY = Math.max(2, availableParallelism() - 1);
const dir = mkdtempSync(join(tmpdir(), 'shadow-tests-'));
const tap = join(dir, 'report.tap');
const child = spawn(process.execPath, [
  // A test that hangs fails after 10 minutes instead of holding the whole run (and CI) hostage.
  // Files run side by side, at least two: most of the suite waits on real time (sound played
  // at its rate, serial lines at 9600 baud, faults every second), every test is made to pass
  // on a loaded machine (scripts/test-loaded.sh), and each names what it creates (namespaces,
  // TAPs, images) after its own process. Node's default on 2 cores is one file at a time.
  '--test', `--test-concurrency=${CONCURRENCY}`, '--test-timeout=600000', '--test-reporter=spec', '--test-reporter-destination=stdout',
  '--test-reporter=tap', `--test-reporter-destination=${tap}`, ...files,
], { stdio: ['ignore', 'inherit', 'inherit'] });
const code = await new Promise((resolve) => child.on('exit', (c, s) => resolve(c ?? (s ? 1 : 0))));
const text = readFileSync(tap, 'utf8');
rmSync(dir, { recursive: true, force: true });
const count = (name) => Number((text.match(new RegExp(`^# ${name} (\\d+)$`, 'm')) ?? [0, 0])[1]);
const passed = count('pass');
const failed = count('fail') + count('cancelled');
const skipped = count('skipped') + count('todo');
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(code !== 0 || failed > 0 || passed === 0 ? 1 : 0);
