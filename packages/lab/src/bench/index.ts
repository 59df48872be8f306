/**
 * The benchmark: block throughput of the paper's three configurations side by side, whole-disk
 * copies by nbdcopy through the kernel's NBD export, SQLite transactions per second, frames per
 * second through the kernel's switch, TCP throughput by iperf3 between network namespaces joined
 * by `tap` drivers and by a Linux bridge, recovery times with and without a warm standby, a live
 * update's pause beside a warm-standby recovery and a restart without a shadow, and the
 * CPU and audio gaps of a real-time sound stream, and many shadowed devices on one host.
 * `plan` sizes a full or a quick run, of every section or of those named.
 */
import { faultKinds } from 'shadow-drivers';
import { machineInfo, type MachineInfo } from './machine.js';
import { measureNbdCopy, type NbdCopyOptions, type NbdCopyResult } from './nbd-copy.js';
import { measureRecovery, type RecoveryOptions, type RecoverySeries } from './recovery-times.js';
import { measureIperf, type IperfOptions, type IperfResult } from './net-iperf.js';
import { measureNetThroughput, type NetThroughputOptions, type NetThroughputResult } from './net-throughput.js';
import { measureSoundCpu, type SoundCpuOptions } from './sound-cpu.js';
import { measureSoundGaps, type SoundGapOptions } from './sound-gaps.js';
import type { SoundResult } from './sound-report.js';
import { measureScale, type ScaleOptions, type ScaleSeries, type ScaleSeriesSpec, type StandbyKind } from './scale.js';
import { measureServiceOverhead, type ServiceOverheadOptions, type ServiceOverheadResult } from './service-overhead.js';
import { measureSqlite, type SqliteOptions, type SqliteResult } from './sqlite-transactions.js';
import { measureThroughput, type ThroughputOptions, type ThroughputResult } from './throughput.js';
import { measureUpdatePause, updatePlan, type UpdatePauseOptions, type UpdatePauseResult } from './update-pause.js';

export const benchSections = ['throughput', 'nbd', 'sqlite', 'network', 'iperf', 'recovery', 'update', 'sound', 'service', 'scale'] as const;
export type BenchSection = (typeof benchSections)[number];

export interface BenchPlan {
  quick: boolean;
  /** The sections this run measures (all by default). */
  sections: BenchSection[];
  throughput: Omit<ThroughputOptions, 'progress'>;
  nbdCopy: Omit<NbdCopyOptions, 'progress'>;
  sqlite: Omit<SqliteOptions, 'progress'>;
  network: Omit<NetThroughputOptions, 'progress'>;
  iperf: Omit<IperfOptions, 'progress'>;
  recovery: Omit<RecoveryOptions, 'progress'>;
  /** A live update's pause beside a warm-standby recovery and a restart without a shadow. */
  update: Omit<UpdatePauseOptions, 'progress'>;
  sound: { cpu: Omit<SoundCpuOptions, 'progress'>; gaps: Omit<SoundGapOptions, 'progress'> };
  /** What `shadowd run` adds over `shadowd export`. */
  service: Omit<ServiceOverheadOptions, 'progress'>;
  /** Many shadowed devices on one host: memory, attach time, recovery and aggregate reads per count. */
  scale: Omit<ScaleOptions, 'progress'>;
}

export interface BenchResult {
  plan: BenchPlan;
  machine: MachineInfo;
  throughput: ThroughputResult | undefined;
  nbdCopy: NbdCopyResult | undefined;
  sqlite: SqliteResult | undefined;
  network: NetThroughputResult | undefined;
  iperf: IperfResult | undefined;
  recovery: RecoverySeries[] | undefined;
  update: UpdatePauseResult | undefined;
  sound: SoundResult | undefined;
  service: ServiceOverheadResult | undefined;
  scale: ScaleSeries[] | undefined;
  seconds: number;
}

const MiB = 1024 * 1024;

/** The configurations nbdcopy copies through the export ((s) is left out: no crossing to hide). */
const nbdCopyConfigurations: NbdCopyOptions['configurations'] = ['a', 'b-worker', 'c-worker', 'b-process', 'c-process'];

/** The configurations the bank runs on: in-process, and isolated with and without a shadow. */
const sqliteConfigurations: SqliteOptions['configurations'] = ['a', 'b-worker', 'c-worker', 'b-process', 'c-process'];

/** Faults the gap measurement injects: each is detected as it happens (a hang would wait for its deadline). */
const soundFaults: SoundGapOptions['kinds'] = ['exit', 'kill', 'throw', 'rejection', 'bad-kernel-call'];

/**
 * Scale series of one domain and standby kind (`true`: each device keeps its own loaded spare;
 * `'shared'`: the devices share the runtime's started spares), one per count.
 */
const scaleSeries = (domain: ScaleSeriesSpec['domain'], warmStandby: StandbyKind, counts: number[]): ScaleSeriesSpec[] =>
  counts.map((devices) => ({ domain, devices, warmStandby }));
/** Worker devices in domain groups of `size` (one thread per group, and one spare thread where their standbys wait), one series per count. */
const groupedSeries = (size: number, counts: number[]): ScaleSeriesSpec[] =>
  counts.map((devices) => ({ domain: 'worker', devices, warmStandby: true, groupSize: size }));
const scaleCommon = { sizeBytes: MiB, kinds: ['exit', 'throw'], queueDepth: 4, seed: 1 } as const;

export function plan(quick: boolean, sections: BenchSection[] = [...benchSections]): BenchPlan {
  return quick
    ? {
      quick,
      sections,
      throughput: { rounds: 2, durationMs: 10, warmupMs: 5, ramBytes: 16 * MiB, fileBytes: 16 * MiB, seed: 1 },
      nbdCopy: { sizeBytes: 16 * MiB, rounds: 2, configurations: nbdCopyConfigurations, seed: 1, timeoutMs: 30_000, fioSeconds: 0.2, fioRounds: 1, pollUs: 200 },
      sqlite: { configurations: sqliteConfigurations, transfers: { ram: 20, file: 5 }, warmupTransfers: 5, rounds: 2, sizeBytes: 4 * MiB, seed: 1 },
      network: { rounds: 2, durationMs: 50, warmupMs: 20, frameSizes: [64, 1514], window: 128, seed: 1 },
      iperf: { rounds: 1, seconds: 1, warmupSeconds: 0, faultSeconds: 2, faultEveryMs: 1000, seed: 1 },
      recovery: { faults: 2, kinds: ['exit', 'throw'], sizeBytes: 4 * MiB, settleRequests: 2 },
      update: updatePlan.quick,
      sound: { cpu: { rounds: 2, durationMs: 500, warmupMs: 100, periodFrames: [480], seed: 1 }, gaps: { faults: 2, kinds: soundFaults, periodFrames: 480 } },
      service: { sizeBytes: 16 * MiB, rounds: 2, timeoutMs: 30_000 },
      scale: { ...scaleCommon, series: [...scaleSeries('worker', true, [4, 8]), ...scaleSeries('worker', 'shared', [4, 8]), ...groupedSeries(4, [4, 8]), ...scaleSeries('process', true, [4])], faults: 4, throughputMs: 200, warmupMs: 50, readRounds: 1, baselineDevices: 4 },
    }
    : {
      quick,
      sections,
      throughput: { rounds: 15, durationMs: 100, warmupMs: 100, ramBytes: 128 * MiB, fileBytes: 256 * MiB, seed: 1 },
      nbdCopy: { sizeBytes: 1024 * MiB, rounds: 3, configurations: nbdCopyConfigurations, seed: 1, timeoutMs: 120_000, fioSeconds: 3, pollUs: 200 },
      sqlite: { configurations: sqliteConfigurations, transfers: { ram: 400, file: 100 }, warmupTransfers: 100, rounds: 7, sizeBytes: 16 * MiB, seed: 1 },
      network: { rounds: 9, durationMs: 500, warmupMs: 300, frameSizes: [64, 1514], window: 256, seed: 1 },
      iperf: { rounds: 5, seconds: 5, warmupSeconds: 1, faultSeconds: 10, faultEveryMs: 1000, seed: 1 },
      recovery: { faults: 120, kinds: faultKinds, sizeBytes: 16 * MiB, settleRequests: 10 },
      update: updatePlan.full,
      sound: { cpu: { rounds: 5, durationMs: 5000, warmupMs: 500, periodFrames: [480, 48], seed: 1 }, gaps: { faults: 40, kinds: soundFaults, periodFrames: 480 } },
      service: { sizeBytes: 256 * MiB, rounds: 20, timeoutMs: 120_000 },
      scale: { ...scaleCommon, series: [...scaleSeries('worker', true, [16, 64, 256]), ...scaleSeries('worker', 'shared', [16, 64, 256]), ...groupedSeries(16, [16, 64, 256]), ...scaleSeries('process', true, [16, 64])], faults: 60, throughputMs: 2000, warmupMs: 500, readRounds: 3, baselineDevices: 16 },
    };
}

export async function runBenchmarks(chosen: BenchPlan, progress?: (message: string) => void): Promise<BenchResult> {
  const start = performance.now();
  const machine = machineInfo();
  const on = (section: BenchSection) => chosen.sections.includes(section);
  const report = progress ? { progress } : {};
  const throughput = on('throughput') ? await measureThroughput({ ...chosen.throughput, ...report }) : undefined;
  const nbdCopy = on('nbd') ? await measureNbdCopy({ ...chosen.nbdCopy, ...report }) : undefined;
  const sqlite = on('sqlite') ? await measureSqlite({ ...chosen.sqlite, ...report }) : undefined;
  const network = on('network') ? await measureNetThroughput({ ...chosen.network, ...report }) : undefined;
  const iperf = on('iperf') ? await measureIperf({ ...chosen.iperf, ...report }) : undefined;
  const recovery = on('recovery') ? await measureRecovery({ ...chosen.recovery, ...report }) : undefined;
  const update = on('update') ? await measureUpdatePause({ ...chosen.update, ...report }) : undefined;
  const sound = on('sound') ? {
    cpu: await measureSoundCpu({ ...chosen.sound.cpu, ...report }),
    gapOptions: chosen.sound.gaps,
    gaps: await measureSoundGaps({ ...chosen.sound.gaps, ...report }),
  } : undefined;
  const service = on('service') ? await measureServiceOverhead({ ...chosen.service, ...report }) : undefined;
  const scale = on('scale') ? await measureScale({ ...chosen.scale, ...report }) : undefined;
  return { plan: chosen, machine, throughput, nbdCopy, sqlite, network, iperf, recovery, update, sound, service, scale, seconds: (performance.now() - start) / 1000 };
}
