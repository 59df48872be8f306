#!/usr/bin/env node
// Runs every compiled test file with node's test runner: a readable report on stdout, and a
// closing line `N passed, N failed, N skipped` counted from the TAP stream.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';

const root = new URL('../dist/test/', import.meta.url).pathname;
const only = process.argv.slice(2);
const files = [];
(function walk(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) walk(path);
    else if (entry.name.endsWith('.test.js') && (only.length === 0 || only.some((o) => path.includes(o)))) files.push(path);
  }
})(root);
files.sort();

const dir = mkdtempSync(join(tmpdir(), 'shadow-tests-'));
const tap = join(dir, 'report.tap');
const child = spawn(process.execPath, [
  '--test', '--test-reporter=spec', '--test-reporter-destination=stdout',
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
