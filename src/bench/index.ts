/**
 * The benchmark: block throughput of the paper's three configurations side by side, and
 * recovery times with and without a warm standby. `plan` sizes a full or a quick run.
 */
import { machineInfo, type MachineInfo } from './machine.js';
import { measureRecovery, type RecoveryOptions, type RecoverySeries } from './recovery-times.js';
import { measureThroughput, type ThroughputOptions, type ThroughputResult } from './throughput.js';

export interface BenchPlan {
  quick: boolean;
  throughput: Omit<ThroughputOptions, 'progress'>;
  recovery: Omit<RecoveryOptions, 'progress'>;
}

export interface BenchResult {
  plan: BenchPlan;
  machine: MachineInfo;
  throughput: ThroughputResult;
  recovery: RecoverySeries[];
  seconds: number;
}

const MiB = 1024 * 1024;

export function plan(quick: boolean): BenchPlan {
  return quick
    ? {
      quick,
      throughput: { rounds: 2, durationMs: 10, warmupMs: 5, ramBytes: 16 * MiB, fileBytes: 16 * MiB, seed: 1 },
      recovery: { faults: 2, kinds: ['exit', 'throw'], sizeBytes: 4 * MiB, settleRequests: 2 },
    }
    : {
      quick,
      throughput: { rounds: 15, durationMs: 100, warmupMs: 100, ramBytes: 128 * MiB, fileBytes: 256 * MiB, seed: 1 },
      recovery: { faults: 80, kinds: ['exit', 'throw'], sizeBytes: 16 * MiB, settleRequests: 10 },
    };
}

export async function runBenchmarks(chosen: BenchPlan, progress?: (message: string) => void): Promise<BenchResult> {
  const start = performance.now();
  const machine = machineInfo();
  const throughput = await measureThroughput({ ...chosen.throughput, ...(progress ? { progress } : {}) });
  const recovery = await measureRecovery({ ...chosen.recovery, ...(progress ? { progress } : {}) });
  return { plan: chosen, machine, throughput, recovery, seconds: (performance.now() - start) / 1000 };
}
