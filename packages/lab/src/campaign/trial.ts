/**
 * Runs one trial in a child process with a deadline and classifies what the application saw:
 * ok (finished, verified, no errors), malfunction (errors or wrong output), crash/hang (the
 * host process died or stopped making progress), not manifested (a mutation under which the
 * driver never failed and the application saw nothing wrong).
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { removeNamespacesOf } from '../harness/netns.js';
import type { RunnerMessage } from './trial-runner.js';
import type { AppReport, Outcome, TrialResult, TrialSpec } from './types.js';

const runner = fileURLToPath(new URL('./trial-runner.js', import.meta.url));

export function classify(spec: TrialSpec, app: AppReport | undefined, failures: number, timedOut = false): Outcome {
  // Out of time while failures kept being detected and recovered: the host lived and saw them;
  // the application was served too slowly to finish (a malfunction, not a hang nobody saw).
  if (!app) return timedOut && failures > 0 ? 'malfunction' : 'crash-hang';
  if (app.notRun !== undefined) return 'not-run';
  if (app.finished && app.errors === 0 && app.verified) {
    return spec.fault.type === 'mutation' && failures === 0 ? 'not-manifested' : 'ok';
  }
  return 'malfunction';
}

/** No pulse from the trial's process for this long: the host is hung. */
const SILENCE_MS = 10_000;

export function runTrial(spec: TrialSpec, deadlineMs: number): Promise<TrialResult> {
  const started = performance.now();
  return new Promise((resolve) => {
    // The trial's temporary files (sockets of virtual hardware, images) live in a directory of its
    // own, removed here whatever became of the process: a crashed host cleans up nothing.
    const scratch = mkdtempSync(join(tmpdir(), 'shadow-trial-'));
    const child = fork(runner, [JSON.stringify(spec)], {
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'], serialization: 'advanced', env: { ...process.env, TMPDIR: scratch },
    });
    let message: RunnerMessage | undefined;
    let stderr = '';
    let timedOut = false;
    child.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr = (stderr + d).slice(-4000); });
    let lastPulse = Date.now();
    child.on('message', (m) => { lastPulse = Date.now(); message = { ...message, ...(m as RunnerMessage) }; });
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, deadlineMs);
    const watchdog = setInterval(() => {
      if (Date.now() - lastPulse > SILENCE_MS) { silent = true; child.kill('SIGKILL'); }
    }, 500);
    let silent = false;
    child.on('exit', async (code, signal) => {
      clearTimeout(timer);
      clearInterval(watchdog);
      rmSync(scratch, { recursive: true, force: true });
      // Network namespaces (and what runs in them) of a trial that could not clean up: a crashed host cleans up nothing.
      if (child.pid !== undefined) await removeNamespacesOf(child.pid);
      if (message?.mutantDir) rmSync(message.mutantDir, { recursive: true, force: true });
      if (silent && message?.app) message = { ...message, app: undefined }; // it answered, then hung on the way out
      const outcome = classify(spec, message?.app, message?.failures ?? 0, timedOut && !silent);
      const lastLine = stderr.split('\n').map((l) => l.trim()).filter((l) => l && !/ExperimentalWarning|--trace-warnings/.test(l)).pop();
      const cause = silent ? `the host process stopped making progress (no pulse for ${SILENCE_MS / 1000} s): hang`
        : timedOut && (message?.failures ?? 0) > 0
          ? `no result within ${deadlineMs} ms: ${message!.failures} driver failures detected and recovered, the application served too slowly to finish`
        : timedOut ? `no result within ${deadlineMs} ms (hang)`
        : message?.app && outcome !== 'crash-hang' ? message.app.detail
          // Node ends a process whose event loop has nothing left to wait for: the application's
          // call was pending on a driver that would never answer it, and nothing else could.
          : code === 0 && !message?.app ? 'the host process ended on its own with the application still waiting: its call was never answered and nothing was left that could (a hang)'
          : `the host process ${signal ? `was killed by ${signal}` : `exited with code ${code}`} before the application finished` +
            (lastLine ? `: ${lastLine.slice(0, 200)}` : '');
      resolve({
        spec, outcome, cause, app: message?.app, recoveries: message?.recoveries ?? [], failures: message?.failures ?? 0,
        ...(message?.mutation ? { mutation: message.mutation } : {}), faults: message?.faults ?? 0,
        ...(message?.soak ? { soak: message.soak } : {}), elapsedMs: performance.now() - started,
      });
    });
  });
}
