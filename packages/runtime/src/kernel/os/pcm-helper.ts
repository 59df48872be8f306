/**
 * A PulseAudio client process the kernel runs for a sound driver: `pacat` (playback) or
 * `parec` (capture), raw PCM on its standard input or output. The kernel builds the command
 * line itself from checked fields (no argument of the driver's reaches it as text), owns the
 * pipes, and reads the client's own report of the stream's position (`-v` prints the
 * stream time every 50 ms). Drivers reach it only through kernel services.
 */
import { spawn, type ChildProcess } from 'node:child_process';

import type { HelperSpec, HelperStatus } from '../../classes/driver-api.js';

// The spec and status are the driver API's own types: the kernel checks what a driver asks for
// against the same declaration the driver was written to.
export type { HelperSpec, HelperStatus };

/** Capture data the kernel holds for the driver before it stops reading the client. */
const MAX_CAPTURED = 1 << 20;

export class PcmHelper {
  readonly spec: HelperSpec;
  readonly gone: Promise<void>;
  readonly #child: ChildProcess;
  #seconds = 0;
  #reportedAt = performance.now();
  #bytes = 0;
  #exited = false;
  #stderr = '';
  #captured: Buffer[] = [];
  #capturedBytes = 0;
  #reader: { bytes: number; resolve: (b: Uint8Array) => void; reject: (e: Error) => void } | undefined;

  constructor(spec: HelperSpec) {
    this.spec = spec;
    const playback = spec.program === 'pacat';
    const args = [
      playback ? '--playback' : '--record', '--raw', '-v', `--server=unix:${spec.server}`, `--device=${spec.device}`,
      `--format=${spec.format}`, `--rate=${spec.rate}`, `--channels=${spec.channels}`,
      `--latency-msec=${spec.latencyMs}`, `--stream-name=${spec.streamName}`, '--client-name=shadow-sound',
    ];
    // A clean environment: no user configuration, no autospawned server.
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C', HOME: '/nonexistent', PULSE_CLIENTCONFIG: '/dev/null' };
    this.#child = spawn(spec.program, args, { stdio: [playback ? 'pipe' : 'ignore', playback ? 'ignore' : 'pipe', 'pipe'], env });
    this.gone = new Promise((resolve) => this.#child.once('close', () => {
      this.#exited = true;
      this.#reader?.reject(new Error(`${spec.program} exited${this.#lastLine()}`));
      this.#reader = undefined;
      resolve();
    }));
    this.#child.on('error', () => { /* a failed spawn ends in 'close' too */ });
    this.#child.stdin?.on('error', () => { /* the client went away; reported through 'close' */ });
    this.#child.stderr!.setEncoding('utf8').on('data', (text: string) => this.#status(text));
    this.#child.stdout?.on('data', (chunk: Buffer) => this.#capture(chunk));
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  status(): HelperStatus {
    return { seconds: this.#seconds, ageMs: performance.now() - this.#reportedAt, bytes: this.#bytes, exited: this.#exited };
  }

  /** Resolves once the client's pipe took the data. */
  write(data: Uint8Array): Promise<void> {
    const stdin = this.#child.stdin;
    if (!stdin || this.#exited || !stdin.writable) return Promise.reject(new Error(`${this.spec.program} is not running${this.#lastLine()}`));
    this.#bytes += data.length;
    return new Promise((resolve, reject) => stdin.write(data, (err) => (err ? reject(err) : resolve())));
  }

  /** The next `bytes` of captured audio (one read at a time). */
  read(bytes: number): Promise<Uint8Array> {
    if (this.#reader) return Promise.reject(new Error('a capture read is already waiting'));
    return new Promise((resolve, reject) => {
      this.#reader = { bytes, resolve, reject };
      this.#serve();
      if (this.#reader && this.#exited) { this.#reader = undefined; reject(new Error(`${this.spec.program} exited${this.#lastLine()}`)); }
    });
  }

  /**
   * Playback: no more input; the client plays what it has and exits. Killed if it is not gone
   * by the time its buffered audio should have played, plus a margin.
   */
  drain(): Promise<void> {
    if (this.#exited) return this.gone;
    const { rate, format, channels } = this.spec;
    const frameBytes = { u8: 1, s16le: 2, s32le: 4, f32le: 4 }[format] * channels;
    const unplayedMs = Math.max(0, (this.#bytes / frameBytes / rate - this.#seconds) * 1000);
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), Math.min(3000, unplayedMs + this.spec.latencyMs + 300));
    this.#child.stdin?.end();
    return this.gone.finally(() => clearTimeout(timer));
  }

  kill(): Promise<void> {
    if (!this.#exited) this.#child.kill('SIGKILL');
    return this.gone;
  }

  #status(text: string): void {
    this.#stderr = (this.#stderr + text).slice(-2048);
    // Reports are separated by carriage returns; the last complete one is the newest.
    const matches = [...this.#stderr.matchAll(/Time: ([0-9.]+) sec/g)];
    const last = matches.at(-1);
    if (last) {
      const seconds = Number(last[1]);
      if (seconds !== this.#seconds) { this.#seconds = seconds; this.#reportedAt = performance.now(); }
      this.#stderr = this.#stderr.slice(last.index! + last[0].length);
    }
  }

  #capture(chunk: Buffer): void {
    this.#captured.push(chunk);
    this.#capturedBytes += chunk.length;
    this.#bytes += chunk.length;
    if (this.#capturedBytes > MAX_CAPTURED) this.#child.stdout!.pause();
    this.#serve();
  }

  #serve(): void {
    const r = this.#reader;
    if (!r || this.#capturedBytes < r.bytes) return;
    const all = Buffer.concat(this.#captured);
    const out = new Uint8Array(r.bytes);
    out.set(all.subarray(0, r.bytes));
    const rest = all.subarray(r.bytes);
    this.#captured = rest.length ? [rest] : [];
    this.#capturedBytes = rest.length;
    if (this.#capturedBytes <= MAX_CAPTURED) this.#child.stdout?.resume();
    this.#reader = undefined;
    r.resolve(out);
  }

  #lastLine(): string {
    const line = this.#stderr.split(/[\r\n]/).map((l) => l.trim()).filter((l) => l && !l.startsWith('Time:')).at(-1);
    return line ? `: ${line.slice(0, 200)}` : '';
  }
}
