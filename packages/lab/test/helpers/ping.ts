/**
 * `ping` inside a network namespace, which echoes it lost and when they were sent, and ping
 * across the switch while faults of every kind hit the drivers of its ports.
 */
import { spawn } from 'node:child_process';
import { faultKinds, type NetDevice, type Runtime } from 'shadow-drivers';
import { until } from 'shadow-drivers/testing';
import { faultLoop } from 'shadow-drivers/testing';
import type { Host } from '../../src/harness/netns.js';
import { recoveryWindows } from 'shadow-drivers/testing';

export interface PingReply { seq: number; at: number }

/** Starts ping inside a namespace; `stop()` interrupts it and returns the replies. */
export function startPing(host: Host, target: string, intervalS: number) {
  const child = spawn('ip', ['netns', 'exec', host.ns, 'ping', '-D', '-n', '-i', String(intervalS), '-W', '1', target], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
  child.stderr.resume();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const replies = (): PingReply[] => [...out.matchAll(/^\[(\d+\.\d+)\].*icmp_seq=(\d+) /gm)]
    .map((m) => ({ seq: Number(m[2]), at: Math.round(Number(m[1]) * 1000) }));
  return {
    replies,
    async stop(): Promise<PingReply[]> {
      child.kill('SIGINT');
      await exited;
      return replies();
    },
  };
}

/** Lost echoes, each with its send time estimated from the replies around it. */
export function lostEchoes(replies: PingReply[]): { seq: number; at: number }[] {
  const lost: { seq: number; at: number }[] = [];
  for (let i = 1; i < replies.length; i++) {
    const prev = replies[i - 1]!;
    const next = replies[i]!;
    for (let seq = prev.seq + 1; seq < next.seq; seq++) {
      lost.push({ seq, at: prev.at + ((seq - prev.seq) * (next.at - prev.at)) / (next.seq - prev.seq) });
    }
  }
  return lost;
}

export interface PingUnderFaults {
  replies: PingReply[];
  lost: { seq: number; at: number }[];
  /** Echoes lost outside every recovery window (widened by `slackMs`): must be none. */
  outside: { seq: number; at: number }[];
  windows: number;
  /** Faults injected, per port. */
  faults: number[];
}

/**
 * Pings `to` from `from` every 20 ms while faults of every kind are injected, one after the
 * other, into the driver of each port in turn; returns what ping saw against the recovery
 * windows. A call after each fault (`stats`) gives faults that act on the next call one.
 */
export async function pingUnderFaults(rt: Runtime, ports: NetDevice[], from: Host, to: Host, pauseMs = 200, slackMs = 300): Promise<PingUnderFaults> {
  await from.exec('ping', ['-c', '3', '-i', '0.2', '-W', '2', to.address]);
  const windows = recoveryWindows(rt);
  const ping = startPing(from, to.address, 0.02);
  const faults: number[] = [];
  let replies: PingReply[] = [];
  try {
    await until(() => ping.replies().length >= 20, 'ping replies before the faults', 10_000);
    for (const port of ports) {
      const loop = faultLoop(rt, port.name, async () => { windows.injected(port.name, loop.injectedAt.at(-1)!); await port.stats(); }, [...faultKinds], pauseMs);
      try {
        await until(() => loop.injected.length >= faultKinds.length, `a fault of every kind into ${port.name}`, 120_000);
      } finally {
        await loop.stop();
        faults.push(loop.injected.length);
      }
    }
    const settled = ping.replies().length;
    await until(() => ping.replies().length >= settled + 20, 'ping replies after the last recovery', 10_000);
  } finally {
    windows.stop();
    replies = await ping.stop();
  }
  const lost = lostEchoes(replies);
  const outside = lost.filter((l) => !windows.covers(l.at, slackMs));
  return { replies, lost, outside, windows: windows.windows.length, faults };
}
