/**
 * `shadowd bench`: runs the benchmark (src/bench/), prints its Markdown report, and with
 * `--out FILE` appends the report as a dated section (starting the file with its
 * introduction when the file is new).
 */
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { plan, runBenchmarks } from '../bench/index.js';
import { documentIntro, renderReport } from '../bench/report.js';
import { evaluateTargets } from '../bench/targets.js';

export interface BenchOptions { quick?: boolean; out?: string }

export async function runBench(options: BenchOptions): Promise<number> {
  const result = await runBenchmarks(plan(options.quick ?? false), (message) => console.error(`bench: ${message}`));
  const report = renderReport(result, evaluateTargets(result));
  process.stdout.write(report);
  if (options.out) appendSection(options.out, report);
  return 0;
}

function appendSection(file: string, section: string): void {
  const existing = existsSync(file) ? readFileSync(file, 'utf8') : '';
  if (existing.trim() === '') writeFileSync(file, `${documentIntro()}\n${section}`);
  else appendFileSync(file, `${existing.endsWith('\n') ? '' : '\n'}\n${section}`);
}
