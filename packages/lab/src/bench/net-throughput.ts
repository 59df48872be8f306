/**
 * Frames per second through the kernel's learning switch, in every configuration the paper
 * compares (see configurations.ts): two virtual NICs per configuration, a host on each cable,
 * and host A sending to host B as fast as a fixed window of frames in flight allows (sent
 * minus received; no frame is dropped for want of room). Rounds are interleaved, the order of
 * configurations shuffled per round, and ratios taken per round (machine noise hits all alike).
 */
import { createRuntime, type Runtime } from 'shadow-drivers';
import type { NetDevice } from 'shadow-drivers';
import { LearningSwitch } from 'shadow-drivers';
import { VirtualHost } from '../harness/virtual-host.js';
import { VirtualNic } from 'shadow-drivers';
import { benchRestartPolicy, configurations, type Configuration, type ConfigurationId } from './configurations.js';
import { median, quantile, seededRandom, shuffled, yieldToEventLoop } from './stats.js';

export interface NetThroughputOptions {
  rounds: number;
  durationMs: number;
  warmupMs: number;
  /** Whole frame sizes in bytes (64: the minimum; 1514: a full 1500-byte MTU frame). */
  frameSizes: number[];
  /** Frames in flight from host A to host B. */
  window: number;
  seed: number;
  progress?(message: string): void;
}

export interface NetCell {
  frameBytes: number;
  /** Frames per second per round, per configuration. */
  samples: Record<ConfigurationId, number[]>;
}

export interface NetThroughputResult {
  options: Omit<NetThroughputOptions, 'progress'>;
  cells: NetCell[];
}

interface Path {
  configuration: Configuration;
  a: VirtualHost;
  b: VirtualHost;
  nics: VirtualNic[];
  ports: NetDevice[];
  sw: LearningSwitch;
}

const mac = (config: number, host: number) => `02:be:00:00:${config.toString(16).padStart(2, '0')}:0${host}`;

async function attachPath(runtime: Runtime, configuration: Configuration, index: number): Promise<Path> {
  const nics = [await VirtualNic.create(), await VirtualNic.create()];
  const ports: NetDevice[] = [];
  for (const [i, nic] of nics.entries()) {
    ports.push(await runtime.attachNet({
      name: `bench-net-${configuration.id}-${i}`, driver: 'virtual', domain: configuration.domain,
      recovery: configuration.recovery, config: { socket: nic.socketPath }, restart: benchRestartPolicy,
    }, { queueLimit: 4096 }));
  }
  const a = new VirtualHost(mac(index, 1), nics[0]!);
  const b = new VirtualHost(mac(index, 2), nics[1]!);
  const sw = await LearningSwitch.start(ports);
  // Each host speaks once so the switch learns both addresses: nothing is flooded while measuring.
  b.send(a.mac);
  a.send(b.mac);
  return { configuration, a, b, nics, ports, sw };
}

/**
 * Runs host A -> host B for at least `durationMs` and until a window's worth of frames has
 * arrived (a busy machine must not turn a short run into a zero), with `window` frames in
 * flight; returns frames/s.
 */
function run(path: Path, frameBytes: number, window: number, durationMs: number): Promise<number> {
  return new Promise((resolve) => {
    let received = 0;
    let sent = 0;
    let open = true;
    const started = performance.now();
    const topUp = (): void => {
      while (open && sent - received < window) { path.a.send(path.b.mac, frameBytes); sent++; }
    };
    const off = path.b.onFrame((frame) => {
      if (frame.length !== frameBytes) return;
      received++;
      topUp();
    });
    const end = (): void => {
      const elapsed = performance.now() - started;
      if (received < window && elapsed < durationMs + 10_000) { setTimeout(end, 10); return; }
      open = false;
      const rate = (received * 1000) / elapsed;
      // Let the frames still in flight arrive before the next run (bounded wait).
      const drained = (): void => {
        if (received >= sent || performance.now() - started > elapsed + 2000) { off(); resolve(rate); }
        else setTimeout(drained, 5);
      };
      drained();
    };
    setTimeout(end, durationMs);
    topUp();
  });
}

export async function measureNetThroughput(options: NetThroughputOptions): Promise<NetThroughputResult> {
  const { progress, ...recorded } = options;
  const runtime = createRuntime();
  const paths: Path[] = [];
  try {
    for (const [i, configuration] of configurations.entries()) paths.push(await attachPath(runtime, configuration, i));
    const cells: NetCell[] = options.frameSizes.map((frameBytes) => ({
      frameBytes, samples: Object.fromEntries(configurations.map((c) => [c.id, [] as number[]])) as NetCell['samples'],
    }));
    for (let round = -1; round < options.rounds; round++) {
      progress?.(round < 0 ? 'network: warm-up' : `network: round ${round + 1} of ${options.rounds}`);
      const random = seededRandom(options.seed * 1000 + round + 1);
      for (const cell of cells) {
        for (const path of shuffled(paths, random)) {
          const rate = await run(path, cell.frameBytes, options.window, round < 0 ? options.warmupMs : options.durationMs);
          if (round >= 0) cell.samples[path.configuration.id].push(rate);
          await yieldToEventLoop();
        }
      }
    }
    return { options: recorded, cells };
  } finally {
    for (const p of paths) p.sw.stop();
    await runtime.close();
    for (const p of paths) for (const nic of p.nics) await nic.close();
  }
}

export function netRatio(cell: NetCell, numerator: ConfigurationId, denominator: ConfigurationId) {
  const per = cell.samples[numerator].map((v, i) => v / cell.samples[denominator][i]!).filter(Number.isFinite);
  return { p25: quantile(per, 0.25), median: median(per), p75: quantile(per, 0.75) };
}

export const megabits = (framesPerSecond: number, frameBytes: number): number => (framesPerSecond * frameBytes * 8) / 1e6;
