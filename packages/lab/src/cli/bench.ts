/**
 * `shadow-lab bench`: runs the benchmark (src/bench/), prints its Markdown report, and with
 * `--out FILE` appends the report as a dated section (starting the file with its
 * introduction when the file is new).
 */
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { benchSections, plan, runBenchmarks, type BenchSection } from '../bench/index.js';
import { ErrorCodes, ShadowError } from 'shadow-drivers';
import { documentIntro, renderReport } from '../bench/report.js';
import { evaluateTargets } from '../bench/targets.js';

export interface BenchOptions { quick?: boolean; out?: string; only?: string }

export async function runBench(options: BenchOptions): Promise<number> {
  let sections: BenchSection[];
  try {
    sections = sectionsOf(options.only);
  } catch (err) {
    console.error(`shadow-lab bench: ${(err as Error).message} (${(err as ShadowError).code})`);
    return 2;
  }
  const result = await runBenchmarks(plan(options.quick ?? false, sections), (message) => console.error(`bench: ${message}`));
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

/** `--only nbd,network`: the sections to run; every section when absent. */
export function sectionsOf(only: string | undefined): BenchSection[] {
  if (only === undefined) return [...benchSections];
  const named = only.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = named.filter((n) => !(benchSections as readonly string[]).includes(n));
  if (unknown.length || named.length === 0) {
    throw new ShadowError(ErrorCodes.INVALID_ARGUMENT, `--only takes sections from ${benchSections.join(', ')}; not ${unknown.join(', ') || '(none)'}`);
  }
  return benchSections.filter((s) => named.includes(s));
}
