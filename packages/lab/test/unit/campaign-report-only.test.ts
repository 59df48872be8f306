/**
 * `shadow-lab campaign --report-only`: renders the report from the results file alone and runs
 * no trial, so results of several runs combine into one report by concatenating their files.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { optionProblem, runCampaignCli } from '../../src/cli/campaign.js';
import type { Configuration, Outcome, TrialResult } from '../../src/campaign/types.js';

const trial = (configuration: Configuration, outcome: Outcome, r: number): TrialResult => ({
  spec: { id: `file-transfer/${configuration}/fail-stop/exit/${r}`, app: 'file-transfer', configuration, fault: { type: 'fail-stop', kind: 'exit' }, seed: 1000 + r },
  outcome, cause: outcome === 'ok' ? 'copy identical' : 'the host process exited with code 1', app: undefined,
  recoveries: configuration === 'native' ? [] : [{ cause: 'exit', totalMs: 5, fault: 'exit' }], failures: 1, faults: 1, elapsedMs: 1000,
});

test('--report-only renders every trial of the results file and runs none', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'report-only-'));
  try {
    const results = join(dir, 'combined.jsonl');
    // Two runs' files, concatenated: the first's native trials, the second's restart and shadow ones.
    const lines = [trial('native', 'crash-hang', 0), trial('restart', 'ok', 0), trial('restart', 'ok', 1), trial('shadow', 'ok', 0)];
    writeFileSync(results, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
    const out = join(dir, 'evaluation.md');
    const code = await runCampaignCli({ results, out, reportOnly: true });
    const report = readFileSync(out, 'utf8');
    assert.match(report, /\| file-transfer \| [^|]+ \| 0 ok \/ 0 malf\. \/ 1 crash \| 2 ok \/ 0 malf\. \/ 0 crash \| 1 ok \/ 0 malf\. \/ 0 crash \| crash \/ ok \/ ok \|/);
    assert.match(report, /--report-only --results combined\.jsonl/);
    assert.equal(readFileSync(results, 'utf8').trim().split('\n').length, lines.length, 'no trial was run and appended');
    const json = JSON.parse(readFileSync(join(dir, 'evaluation.json'), 'utf8')) as { results: unknown[]; plan?: unknown };
    assert.equal(json.results.length, lines.length);
    assert.equal(json.plan, undefined, 'no plan: the trials came from earlier runs');
    // Judged as a full run's results: file-transfer's restart-only runs normally, as Nooks did.
    assert.match(report, /\*\*met\*\*: fail-stop faults: native and restart-only reproduce the paper's pattern/);
    assert.equal(code, 1, 'a full run\'s goal it cannot meet (10,000 faults) is missed, and says so');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--report-only takes no options that choose trials, and needs its results file', () => {
  assert.match(optionProblem({ results: '/nonexistent/x.jsonl', reportOnly: true }) ?? '', /directory|no results file/);
  assert.match(optionProblem({ results: 'package.json', reportOnly: true, apps: 'frames' }) ?? '', /takes no --apps/);
});
