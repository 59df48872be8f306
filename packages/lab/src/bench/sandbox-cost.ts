/**
 * What the process domain's sandbox costs: the time to attach a `ram` disk in a process domain
 * (start the driver's process, load, initialize) and the cold recovery time after a SIGKILL of
 * that process (RecoveryEvent.totalMs: a new process started after the failure), with the
 * driver inside bubblewrap and under Node's permission model alone. Rounds alternate between
 * the two walls so that a noisy neighbour on the machine weighs on both alike.
 *
 * Run: `node packages/lab/dist/src/bench/sandbox-cost.js [rounds]` (default 20); it prints a
 * Markdown table.
 */
import { pathToFileURL } from 'node:url';
import { createRuntime, type RecoveryEvent } from 'shadow-drivers';
import { waitForEvent } from 'shadow-drivers/testing';
import { benchRestartPolicy } from './configurations.js';
import { machineInfo } from './machine.js';
import { spread, type Spread } from './stats.js';

export type Wall = 'bubblewrap' | 'permission-model';
export const walls: readonly Wall[] = ['bubblewrap', 'permission-model'];

export interface SandboxCost {
  wall: Wall;
  attachMs: Spread;
  recoveryMs: Spread;
}

const SIZE_BYTES = 4 * 1024 * 1024;
const RECOVERY_DEADLINE_MS = 30_000;

async function attachOnce(wall: Wall, round: number): Promise<number> {
  const runtime = createRuntime();
  try {
    const started = performance.now();
    await runtime.attachBlock({
      name: `sandbox-cost-${round}`, driver: 'ram', domain: 'process', config: { sizeBytes: SIZE_BYTES },
      sandbox: { bubblewrap: wall === 'bubblewrap' },
    });
    const took = performance.now() - started;
    const status = runtime.status(`sandbox-cost-${round}`);
    if (status?.sandbox !== wall) throw new Error(`asked for ${wall}, the driver runs under ${status?.sandbox}: bubblewrap is not usable here`);
    return took;
  } finally {
    await runtime.close();
  }
}

/** Cold recoveries of one device, each from a healthy state. */
async function recoveries(wall: Wall, rounds: number): Promise<number[]> {
  const runtime = createRuntime({ faultInjection: true });
  const name = `sandbox-cost-recovery-${wall}`;
  try {
    const disk = await runtime.attachBlock({
      name, driver: 'ram', domain: 'process', config: { sizeBytes: SIZE_BYTES },
      sandbox: { bubblewrap: wall === 'bubblewrap' }, restart: benchRestartPolicy,
    });
    await disk.open();
    const samples: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const recovered = waitForEvent<RecoveryEvent>(runtime.manager, 'recovery', (e) => e.device === name, RECOVERY_DEADLINE_MS);
      runtime.inject(name, { kind: 'kill' });
      samples.push((await recovered).totalMs);
      await disk.read(0, 4096); // serving again before the next fault
    }
    return samples;
  } finally {
    await runtime.close();
  }
}

export async function measureSandboxCost(rounds: number, progress?: (message: string) => void): Promise<SandboxCost[]> {
  const attach: Record<Wall, number[]> = { bubblewrap: [], 'permission-model': [] };
  for (let round = 0; round < rounds; round++) {
    for (const wall of round % 2 === 0 ? walls : [...walls].reverse()) attach[wall].push(await attachOnce(wall, round));
  }
  progress?.(`sandbox cost: ${rounds} attaches per wall done`);
  const results: SandboxCost[] = [];
  for (const wall of walls) {
    const recovery = await recoveries(wall, rounds);
    progress?.(`sandbox cost: ${rounds} cold recoveries under ${wall} done`);
    results.push({ wall, attachMs: spread(attach[wall]), recoveryMs: spread(recovery) });
  }
  return results;
}

const ms = (value: number) => value.toFixed(1);

export function renderSandboxCost(results: SandboxCost[], rounds: number): string {
  const machine = machineInfo();
  return [
    `Process-domain sandbox cost, ${rounds} rounds, ${JSON.stringify(machine)}`,
    '',
    '| wall | attach p50 | attach p99 | cold recovery p50 | cold recovery p99 |',
    '|---|---|---|---|---|',
    ...results.map((r) => `| ${r.wall} | ${ms(r.attachMs.p50)} ms | ${ms(r.attachMs.p99)} ms | ${ms(r.recoveryMs.p50)} ms | ${ms(r.recoveryMs.p99)} ms |`),
  ].join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const rounds = Number(process.argv[2] ?? 20);
  const results = await measureSandboxCost(rounds, (m) => console.error(m));
  console.log(renderSandboxCost(results, rounds));
}
