/**
 * The lab CLI's own errors, table-driven: each mistake in an option is one line on stderr
 * naming the option, a non-zero exit, no stack trace, and nothing run or written (the working
 * directory stays empty: no campaign results file, no report).
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

const bin = new URL('../../../bin/shadow-lab.js', import.meta.url).pathname;

interface Case { args: string[]; field: string; setup?: (dir: string) => void }

const cases: Case[] = [
  { args: ['campaign', '--jobs', 'abc'], field: '--jobs' },
  { args: ['campaign', '--jobs', '0'], field: '--jobs' },
  { args: ['campaign', '--jobs', '-2'], field: '--jobs' },
  { args: ['campaign', '--jobs', '1.5'], field: '--jobs' },
  { args: ['campaign', '--mutations', '-3'], field: '--mutations' },
  { args: ['campaign', '--mutations', 'many'], field: '--mutations' },
  { args: ['campaign', '--apps', 'nosuch'], field: '--apps' },
  { args: ['campaign', '--apps', 'dataset,nosuch'], field: 'nosuch' },
  { args: ['campaign', '--apps', ','], field: '--apps' },
  { args: ['campaign', '--apps', 'nosuch', '--results', 'DIR/missing/r.jsonl'], field: '--apps' },
  { args: ['campaign', '--apps', 'dataset', '--results', 'DIR/missing/r.jsonl'], field: '--results' },
  { args: ['campaign', '--apps', 'dataset', '--results', 'DIR/adir'], field: '--results', setup: (d) => mkdirSync(join(d, 'adir')) },
  { args: ['campaign', '--apps', 'dataset', '--out', 'DIR/missing/report.md'], field: '--out' },
  { args: ['campaign', '--only', 'mutants'], field: '--only' },
  { args: ['campaign', '--only', 'soak,nosuch'], field: 'nosuch' },
  { args: ['campaign', '--only', ','], field: '--only' },
  { args: ['campaign', '--bogus'], field: '--bogus' },
  { args: ['demo', '--domain', 'nosuch'], field: '--domain' },
  { args: ['demo', '--domain', 'none'], field: '--domain' },
  { args: ['demo', '--duration', '-1'], field: '--duration' },
  { args: ['demo', '--duration', 'abc'], field: '--duration' },
  { args: ['demo', '--duration', '0'], field: '--duration' },
  { args: ['demo', '--fault-interval', '0'], field: '--fault-interval' },
  { args: ['demo', '--seed', 'x'], field: '--seed' },
  { args: ['bench', '--only', 'nosuch'], field: '--only' },
  { args: ['bench', '--only', ''], field: '--only' },
  { args: ['nosuch'], field: 'nosuch' },
];

function run(args: string[], cwd: string): Promise<{ code: number; stderr: string; stdout: string }> {
  return new Promise((resolve) => execFile(process.execPath, [bin, ...args], { cwd, timeout: 60_000, killSignal: 'SIGKILL' }, (error, stdout, stderr) =>
    resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr })));
}

test(`the lab CLI's bad options: one line naming the option, exit non-zero, nothing run (${cases.length} cases)`, { timeout: 300_000 }, async () => {
  const root = mkdtempSync(join(tmpdir(), 'shadow-lab-cli-'));
  const problems: string[] = [];
  try {
    for (const [i, c] of cases.entries()) {
      const dir = join(root, String(i));
      mkdirSync(dir);
      c.setup?.(dir);
      const before = readdirSync(dir).sort();
      const args = c.args.map((a) => a.replace('DIR', dir));
      const { code, stderr } = await run(args, dir);
      const lines = stderr.split('\n').filter((l) => l.trim() !== '');
      const what = `shadow-lab ${args.join(' ')}`;
      if (code === 0) problems.push(`${what}: exit 0`);
      if (lines.length !== 1) problems.push(`${what}: ${lines.length} lines on stderr: ${JSON.stringify(stderr)}`);
      if (!stderr.includes(c.field)) problems.push(`${what}: the line does not name ${c.field}: ${JSON.stringify(stderr)}`);
      if (/\n\s+at /.test(stderr)) problems.push(`${what}: a stack trace`);
      if (readdirSync(dir).sort().join() !== before.join()) problems.push(`${what}: left ${readdirSync(dir).join(', ')}`);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  assert.deepEqual(problems, []);
});
