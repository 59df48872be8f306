/**
 * What the sound applications share: a private PulseAudio server per trial (in the trial's
 * scratch directory; it dies with the trial), the `pulse` driver attached as the fault's
 * target, the fault injected once the stream has run some periods, its windows measured (each
 * injection to the end of its recovery), and the verdict on what was heard: the source found
 * in the recording, in order, each discontinuity no longer than the longest window plus a
 * period.
 */
import { NotRunnable } from '../types.js';
import type { StreamParams } from 'shadow-drivers';
import type { SoundDevice } from 'shadow-drivers';
import type { Alignment } from '../../apps/sound/align.js';
import { onPath, PulseServer } from '../../harness/pulse-server.js';
import type { AppReport } from '../types.js';
import type { AppContext } from './context.js';
import { until } from './dataset.js';
import { run } from './kernel-ext4.js';
import { FaultWindows } from './fault-windows.js';

/** Starts the trial's server; a machine without PulseAudio says so (the trial is not ok). */
export async function startPulse(): Promise<PulseServer> {
  const missing = ['pulseaudio', 'pacat', 'parec', 'pactl'].filter((p) => !onPath(p));
  if (missing.length) throw new NotRunnable(`PulseAudio is not installed here (${missing.join(', ')} missing): the application cannot run`);
  return PulseServer.start();
}

export const pulseConfig = (pulse: PulseServer, capture = false) =>
  capture ? { server: pulse.socket, source: `${pulse.sink}.monitor` } : { server: pulse.socket, sink: pulse.sink };

/**
 * Waits for `periods` periods of the stream (or the application's end) and injects the fault;
 * returns the windows to judge the result by.
 */
export async function injectAfterPeriods(context: AppContext, sound: SoundDevice, periods: number, ended: () => boolean): Promise<FaultWindows> {
  let seen = 0;
  const off = sound.onPeriod(() => { seen++; });
  await until(() => seen >= periods || ended(), 10_000);
  off();
  const windows = new FaultWindows(context);
  await context.inject();
  return windows;
}

/**
 * Synthesises `seconds` of music-like stereo sound with sox (a swept sine and a falling
 * triangle, panned apart, with tremolo) into `file`; `type` is sox's output type ('wav', or
 * 'raw' for bare s16le frames).
 */
export function synthMusic(file: string, seconds: number, type: 'wav' | 'raw'): Promise<unknown> {
  return run('sox', ['-n', '-r', '48000', '-c', '2', '-b', '16', '-e', 'signed', '-t', type, file, 'synth', String(seconds),
    'sine', '110:1760', 'triangle', '330-220', 'remix', '1,2v0.3', '1v0.3,2', 'tremolo', '3', '40', 'gain', '-6']);
}

export const periodMs = (p: StreamParams) => (p.periodFrames * 1000) / p.rate;

/**
 * The verdict on an alignment: the source's start found, at least `minCoverage` of it heard,
 * its end heard (up to `maxTailMs`), no discontinuity longer than the longest fault window plus a
 * period (and 10 ms of slack).
 */
export function judge(alignment: Alignment, windows: FaultWindows, params: StreamParams, options: { minCoverage?: number; maxTailMs?: number } = {}): { verified: boolean; detail: string } {
  const allowedMs = windows.longestMs() + periodMs(params) + 10;
  const longest = Math.max(0, ...alignment.discontinuities.map((d) => Math.max(d.silenceMs, d.lostMs)));
  const verified = alignment.startLag >= 0 && alignment.coverage >= (options.minCoverage ?? 0.97)
    && alignment.tailMissingMs <= (options.maxTailMs ?? periodMs(params)) && longest <= allowedMs;
  return {
    verified,
    detail: `${(alignment.coverage * 100).toFixed(1)}% of the source heard, ${alignment.discontinuities.length} discontinuities ` +
      `(longest ${longest.toFixed(0)} ms, allowed ${allowedMs.toFixed(0)} ms), end ${alignment.tailMissingMs.toFixed(0)} ms missing`,
  };
}

/** What one playback through the `pulse` driver left: what the player returned, what the sink's monitor heard, the fault's windows. */
export interface Playback<T> {
  value: T | undefined;
  recording: Uint8Array;
  windows: FaultWindows;
  errors: number;
  problem: string;
}

/**
 * Attaches the `pulse` driver (the fault's target) as `device`, opens, configures, runs `play`
 * and drains, recording the sink's monitor throughout; the fault is injected after `periods`
 * periods. An error ends the playback and is counted, not thrown.
 */
export async function playAndRecord<T>(
  context: AppContext, pulse: PulseServer, device: string, params: StreamParams, periods: number,
  play: (sound: SoundDevice) => Promise<T>, captureFormat?: Parameters<PulseServer['capture']>[0],
): Promise<Playback<T>> {
  const capture = pulse.capture(captureFormat);
  await capture.ready();
  const sound = await context.rt.attachSound(context.spec(device, { className: 'sound', driver: 'pulse', config: pulseConfig(pulse) }, true));
  let errors = 0;
  let problem = '';
  let done = false;
  let value: T | undefined;
  const playing = (async () => {
    await sound.open('playback');
    await sound.configure(params);
    value = await play(sound);
    await sound.drain();
  })().catch((err: Error) => { errors++; problem = err.message; }).finally(() => { done = true; });
  const windows = await injectAfterPeriods(context, sound, periods, () => done);
  await playing;
  const recording = await capture.stop();
  return { value, recording, windows, errors, problem };
}

/** Runs `body` with a server, closing the runtime before the server stops. */
export async function withPulse(context: AppContext, body: (pulse: PulseServer) => Promise<AppReport>): Promise<AppReport> {
  const pulse = await startPulse();
  try {
    return await body(pulse);
  } finally {
    await context.rt.close();
    await pulse.stop();
  }
}
