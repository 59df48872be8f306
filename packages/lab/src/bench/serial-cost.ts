/**
 * What the shadow costs a serial program: bytes per second written through a port and the
 * round-trip latency of a short line to a socat echo, through the shadowed binding (the
 * unmodified @serialport/bindings-cpp in a sandboxed process domain) against the plain binding
 * in the program's own process, on a socat pty pair, at 115200 baud and at the pty's full speed
 * (a pty does not pace bytes at its baud rate: the setting only changes termios, so the two rows
 * differ by the port's configuration, not by the line's speed).
 *
 * Run: `node packages/lab/dist/src/bench/serial-cost.js [lines] [MiB]` (default 300 lines,
 * 4 MiB); it prints a Markdown table.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SerialPort } from 'serialport';
import { createRuntime } from 'shadow-drivers';
import { shadowBinding } from 'shadow-drivers/serialport';
import { until } from 'shadow-drivers/testing';
import { machineInfo } from './machine.js';
import { spread, type Spread } from './stats.js';

export type Binding = 'plain' | 'shadowed';
/** 4,000,000: the highest rate the class takes, standing for "as fast as the pty goes". */
export const speeds = [115200, 4_000_000] as const;

export interface SerialCost {
  binding: Binding;
  baudRate: number;
  bytesPerSecond: number;
  roundTripMs: Spread;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await gone;
}

function open(path: string, baudRate: number, binding?: unknown): Promise<SerialPort> {
  return new Promise((resolve, reject) => {
    const port: SerialPort = new SerialPort({ path, baudRate, ...(binding ? { binding } : {}) } as never,
      (err: Error | null) => (err ? reject(err) : resolve(port)));
  });
}

const write = (port: SerialPort, data: Buffer | string) => new Promise<void>((resolve, reject) => port.write(data, (err) => (err ? reject(err) : resolve())));
const close = (port: SerialPort) => new Promise<void>((resolve) => port.close(() => resolve()));

/** One binding at one speed: a bulk transfer to a plain reader on the far end, then line echoes. */
async function measure(binding: Binding, baudRate: number, lines: number, bytes: number): Promise<SerialCost> {
  const dir = mkdtempSync(join(tmpdir(), 'shadow-serial-bench-'));
  const near = join(dir, 'near');
  const far = join(dir, 'far');
  const socat = spawn('socat', [`pty,raw,echo=0,link=${near}`, `pty,raw,echo=0,link=${far}`], { stdio: 'ignore' });
  const rt = createRuntime();
  try {
    await until(() => existsSync(near) && existsSync(far), 'socat made the pty pair', 5000);
    const port = await open(near, baudRate, binding === 'shadowed' ? shadowBinding(rt) : undefined);
    // Bulk: the far end is read by the plain binding in this process and counted.
    const reader = await open(far, baudRate);
    let got = 0;
    reader.on('data', (chunk: Buffer) => { got += chunk.length; });
    const block = Buffer.alloc(64 * 1024, 0x55);
    const started = performance.now();
    for (let sent = 0; sent < bytes; sent += block.length) await write(port, block);
    await until(() => got >= bytes, 'the far end read every byte', 120_000);
    const bytesPerSecond = bytes / ((performance.now() - started) / 1000);
    await close(reader);
    // Round trips: a socat echo on the far end.
    const echo = spawn('socat', [`${far},raw,echo=0`, 'EXEC:cat'], { stdio: 'ignore' });
    let received = '';
    let waiter: { text: string; done: () => void } | undefined;
    // Timed from the data event itself, not by polling: a round trip is well under a poll's tick.
    port.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      if (waiter && received.endsWith(waiter.text)) { received = ''; waiter.done(); }
    });
    const samples: number[] = [];
    try {
      for (let i = 0; i < lines + 20; i++) {
        const text = `line ${i} ${'x'.repeat(40)}\n`;
        const t0 = performance.now();
        const echoed = new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`no echo of line ${i} within 10 s`)), 10_000);
          waiter = { text, done: () => { clearTimeout(timer); resolve(); } };
        });
        await write(port, text);
        await echoed;
        if (i >= 20) samples.push(performance.now() - t0); // the first lines warm up
      }
    } finally {
      await stop(echo);
    }
    await close(port);
    return { binding, baudRate, bytesPerSecond, roundTripMs: spread(samples) };
  } finally {
    await rt.close();
    await stop(socat);
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function measureSerialCost(lines: number, bytes: number, progress?: (m: string) => void): Promise<SerialCost[]> {
  const results: SerialCost[] = [];
  for (const baudRate of speeds) {
    for (const binding of ['plain', 'shadowed'] as const) {
      results.push(await measure(binding, baudRate, lines, bytes));
      progress?.(`serial cost: ${binding} at ${baudRate} done`);
    }
  }
  return results;
}

const kib = (bps: number) => `${(bps / 1024).toFixed(0)} KiB/s`;
const ms = (v: number) => `${v.toFixed(2)} ms`;

export function renderSerialCost(results: SerialCost[], lines: number, bytes: number): string {
  return [
    `Serial binding cost, ${bytes / 1024 / 1024} MiB bulk and ${lines} line round trips per row, ${JSON.stringify(machineInfo())}`,
    '',
    '| baud (termios) | binding | bulk write | round trip p50 | p90 | p99 |',
    '|---|---|---|---|---|---|',
    ...results.map((r) => `| ${r.baudRate} | ${r.binding} | ${kib(r.bytesPerSecond)} | ${ms(r.roundTripMs.p50)} | ${ms(r.roundTripMs.p90)} | ${ms(r.roundTripMs.p99)} |`),
  ].join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const lines = Number(process.argv[2] ?? 300);
  const bytes = Number(process.argv[3] ?? 4) * 1024 * 1024;
  const results = await measureSerialCost(lines, bytes, (m) => console.error(m));
  console.log(renderSerialCost(results, lines, bytes));
}
