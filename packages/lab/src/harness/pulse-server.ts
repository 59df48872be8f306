/**
 * A private PulseAudio server (for tests and campaign trials): its own runtime directory and
 * home in a temporary directory, one null sink at 48 kHz stereo whose monitor captures exactly
 * what was played. `capture()` records the monitor with parec; `play()` plays raw PCM with a
 * pacat of its own. Everything started here is stopped and removed by `stop()`, also after a
 * failure; the daemon also gets SIGKILL if this process dies (`setpriv --pdeathsig`), so a
 * killed trial leaves no server behind.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

export const SINK = 'shadow_sink';

export function onPath(program: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => existsSync(join(dir, program)));
}

/** Whether the PulseAudio tools are installed; says so loudly when they are not. */
export function pulseAvailable(): boolean {
  const missing = ['pulseaudio', 'pacat', 'parec', 'pactl'].filter((p) => !onPath(p));
  if (missing.length) console.log(`*** SKIPPING: ${missing.join(', ')} not installed (apt-get install pulseaudio pulseaudio-utils) ***`);
  return missing.length === 0;
}

export interface RawFormat { format: 's16le' | 'u8' | 's32le' | 'f32le'; rate: number; channels: number }

const exited = (child: ChildProcess): Promise<void> =>
  child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once('close', () => r()));

/** Stops a process: the signal, then SIGKILL if it is not gone within the deadline. */
async function end(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', deadlineMs = 3000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const timer = setTimeout(() => child.kill('SIGKILL'), deadlineMs);
  child.kill(signal);
  await exited(child);
  clearTimeout(timer);
}

export class PulseServer {
  readonly dir: string;
  readonly socket: string;
  readonly sink = SINK;
  #daemon: ChildProcess;
  readonly #clients = new Set<ChildProcess>();
  #log = '';

  private constructor() {
    this.dir = mkdtempSync(join(tmpdir(), 'shadow-pulse-'));
    mkdirSync(join(this.dir, 'pa'));
    this.socket = join(this.dir, 'pa', 'native');
    this.#daemon = this.#spawnDaemon();
  }

  #spawnDaemon(): ChildProcess {
    const dieWithParent = onPath('setpriv') ? ['setpriv', '--pdeathsig', 'KILL'] : [];
    const daemon = spawn(dieWithParent[0] ?? 'pulseaudio', [...dieWithParent.slice(1), ...(dieWithParent.length ? ['pulseaudio'] : []),
      '-n', '--daemonize=no', '--high-priority=yes', '--realtime=yes', '--exit-idle-time=-1', '--use-pid-file=no', '--disallow-exit', '--log-target=stderr',
      '-L', `module-null-sink sink_name=${SINK} rate=48000 channels=2`,
      '-L', `module-native-protocol-unix auth-anonymous=1 socket=${this.socket}`,
      '-L', 'module-always-sink',
    ], { env: this.env, stdio: ['ignore', 'ignore', 'pipe'] });
    daemon.stderr!.setEncoding('utf8').on('data', (t: string) => { this.#log = (this.#log + t).slice(-4000); });
    daemon.on('error', () => undefined);
    return daemon;
  }

  /** The environment of this server's clients. */
  get env(): NodeJS.ProcessEnv {
    return { PATH: process.env.PATH, LANG: 'C', HOME: this.dir, XDG_RUNTIME_DIR: join(this.dir, 'pa'), PULSE_SERVER: `unix:${this.socket}` };
  }

  /** Starts a server and waits (with a deadline) until `pactl info` answers. */
  static async start(deadlineMs = 10_000): Promise<PulseServer> {
    const server = new PulseServer();
    try {
      await server.#ready(deadlineMs);
      return server;
    } catch (err) {
      await server.stop();
      throw err;
    }
  }

  /**
   * Kills the daemon (SIGKILL: a crash, not a shutdown; its clients lose their streams) and
   * starts another on the same socket; resolves once it answers. What `capture()` recorded dies
   * with the old one.
   */
  async restart(deadlineMs = 10_000): Promise<void> {
    await end(this.#daemon, 'SIGKILL');
    rmSync(this.socket, { force: true });
    this.#daemon = this.#spawnDaemon();
    await this.#ready(deadlineMs);
  }

  async #ready(deadlineMs: number): Promise<void> {
    const end = Date.now() + deadlineMs;
    for (;;) {
      if (this.#daemon.exitCode !== null || this.#daemon.signalCode !== null) throw new Error(`pulseaudio exited: ${this.#log}`);
      if (existsSync(this.socket)) {
        const info = await this.pactl(['info']);
        if (info.code === 0 && info.out.includes(`Default Sink: ${SINK}`)) return;
      }
      if (Date.now() > end) throw new Error(`pulseaudio did not answer within ${deadlineMs} ms: ${this.#log}`);
      await new Promise((r) => setImmediate(r));
    }
  }

  pactl(args: string[]): Promise<{ code: number | null; out: string }> {
    return new Promise((resolve) => {
      const child = spawn('pactl', args, { env: this.env, stdio: ['ignore', 'pipe', 'ignore'] });
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (t: string) => { out += t; });
      child.on('error', () => resolve({ code: -1, out }));
      child.on('close', (code) => resolve({ code, out }));
    });
  }

  #client(program: string, args: string[], stdio: ('pipe' | 'ignore')[]): ChildProcess {
    const child = spawn(program, args, { env: this.env, stdio: stdio as ['pipe', 'pipe', 'pipe'] });
    this.#clients.add(child);
    child.once('close', () => this.#clients.delete(child));
    child.on('error', () => undefined);
    return child;
  }

  /** Records what the sink plays (its monitor) from now on, as raw PCM in `format`. */
  capture(format: RawFormat = { format: 's16le', rate: 48000, channels: 2 }): Capture {
    const child = this.#client('parec', [`--device=${SINK}.monitor`, '--raw', `--format=${format.format}`, `--rate=${format.rate}`,
      `--channels=${format.channels}`, '--latency-msec=10'], ['ignore', 'pipe', 'ignore']);
    return new Capture(child, format);
  }

  /** Plays raw PCM into the sink in real time with a pacat of its own; resolves when it has played. */
  play(pcm: Uint8Array, format: RawFormat, device = SINK): { done: Promise<void>; started: Promise<void> } {
    const child = this.#client('pacat', ['--playback', `--device=${device}`, '--raw', `--format=${format.format}`, `--rate=${format.rate}`,
      `--channels=${format.channels}`, '--latency-msec=20'], ['pipe', 'ignore', 'ignore']);
    const started = new Promise<void>((resolve) => child.once('spawn', () => resolve()));
    child.stdin!.on('error', () => undefined);
    child.stdin!.end(pcm);
    const done = new Promise<void>((resolve, reject) => child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`pacat exited with ${code}`)))));
    return { done, started };
  }

  /** Stops every client and the server; removes the directory. */
  async stop(): Promise<void> {
    await Promise.all([...this.#clients].map((c) => end(c, 'SIGKILL')));
    await end(this.#daemon, 'SIGTERM');
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export class Capture {
  readonly format: RawFormat;
  readonly #child: ChildProcess;
  readonly #chunks: Buffer[] = [];
  #bytes = 0;

  constructor(child: ChildProcess, format: RawFormat) {
    this.#child = child;
    this.format = format;
    child.stdout!.on('data', (c: Buffer) => { this.#chunks.push(c); this.#bytes += c.length; });
  }

  /** Bytes recorded so far. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Waits until the recorder is running and delivering audio. */
  async ready(deadlineMs = 10_000): Promise<void> {
    const end = Date.now() + deadlineMs;
    while (this.#bytes === 0) {
      if (Date.now() > end || this.#child.exitCode !== null) throw new Error('parec delivered nothing');
      await new Promise((r) => setImmediate(r));
    }
  }

  /** Ends the recording and returns it. */
  async stop(): Promise<Buffer> {
    await end(this.#child, 'SIGTERM');
    return Buffer.concat(this.#chunks);
  }
}

/** Runs a program to completion and returns its standard output. */
export function run(program: string, args: string[], input?: Uint8Array): Buffer {
  const r = spawnSync(program, args, { input, maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`${program} ${args.join(' ')} failed: ${r.stderr?.toString().slice(0, 500)}`);
  return r.stdout;
}
