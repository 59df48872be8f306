/**
 * Shared parts of the sound application tests: faults of every kind injected into a sound
 * driver while it streams, each recovery's window measured; and the verdict on a recording:
 * the source found in it by cross-correlation, with every discontinuity no longer than the
 * recovery windows allow.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { align, alignExact, toMono, type Alignment, type PcmFormat } from '../../src/apps/sound/align.js';
import { faultKinds, type FaultKind, type RecoveryEvent, type Runtime, type SoundDevice } from 'shadow-drivers';
import { until, waitForEvent } from 'shadow-drivers/testing';

export interface FaultWindow { kind: FaultKind; start: number; end: number; totalMs: number }

/**
 * One fault of each kind, each once the device has run `periods` more periods since the last
 * recovery. `poke` gives faults that act on the next call a call to act on.
 */
export async function injectEveryFault(rt: Runtime, name: string, sound: SoundDevice, options: {
  periods: number; poke?: () => Promise<unknown>; kinds?: readonly FaultKind[]; stop?: () => boolean;
}): Promise<FaultWindow[]> {
  let periods = 0;
  const off = sound.onPeriod(() => { periods++; });
  const windows: FaultWindow[] = [];
  try {
    for (const kind of options.kinds ?? faultKinds) {
      const target = periods + options.periods;
      await until(() => periods >= target || options.stop?.() === true, `${options.periods} periods of ${name}`, 20_000);
      if (options.stop?.()) break;
      const recovered = waitForEvent<RecoveryEvent>(rt.manager, 'recovery', (e) => e.device === name, 20_000);
      const start = Date.now();
      rt.inject(name, { kind });
      void (options.poke ?? (() => sound.capabilities()))().catch(() => undefined);
      const event = await recovered;
      windows.push({ kind, start, end: Date.now(), totalMs: event.totalMs });
    }
  } finally {
    off();
  }
  return windows;
}

export interface Verdict { alignment: Alignment; allowedMs: number; longestSilenceMs: number; lostMs: number }

/**
 * The recording must hold the source in order at its rate and format: found block after
 * block with a high correlation, every discontinuity (silence heard, source lost) no longer
 * than the longest fault-to-recovery window plus one period.
 */
export function checkRecording(what: string, source: Uint8Array, recording: Uint8Array, format: { format: PcmFormat; rate: number; channels: number },
  windows: FaultWindow[], periodMs: number, options: { threshold?: number; minCoverage?: number; slackMs?: number; exact?: boolean; maxTailMs?: number } = {}): Verdict {
  const src = toMono(source, format.format, format.channels);
  const rec = toMono(recording, format.format, format.channels);
  const longest = Math.max(0, ...windows.map((w) => w.end - w.start), ...windows.map((w) => w.totalMs));
  const allowedMs = longest + periodMs + (options.slackMs ?? 10);
  const correlated = align(src, rec, format.rate, { threshold: options.threshold ?? 0.9 });
  // A bit-exact path is also aligned frame by frame: its discontinuities are exact.
  const fb = { u8: 1, s16le: 2, s32le: 4, f32le: 4 }[format.format] * format.channels;
  const alignment = options.exact ? alignExact(source, recording, fb, format.rate) : correlated;
  if (options.exact) {
    console.log(`${what}: cross-correlation mean ${correlated.meanScore.toFixed(4)} over ${correlated.matchedBlocks} blocks, coverage ${(correlated.coverage * 100).toFixed(1)}%, ` +
      `start ${correlated.startLag} frames (exact: ${alignment.startLag})`);
    assert.ok(correlated.meanScore >= 0.98, `${what}: the recording does not correlate with the source`);
  }
  const longestSilenceMs = Math.max(0, ...alignment.discontinuities.map((d) => d.silenceMs));
  const lostMs = alignment.discontinuities.reduce((n, d) => n + d.lostMs, 0);
  console.log(`${what}: coverage ${(alignment.coverage * 100).toFixed(2)}% of ${alignment.voicedBlocks} ${options.exact ? 'frames' : 'blocks'}, correlation mean ` +
    `${alignment.meanScore.toFixed(4)} min ${alignment.minScore.toFixed(4)}; ${alignment.discontinuities.length} discontinuities ` +
    `${alignment.discontinuities.map((d) => `[at ${d.atSourceMs.toFixed(0)} ms: silence ${d.silenceMs.toFixed(1)} ms, lost ${d.lostMs.toFixed(1)} ms]`).join(' ')}; ` +
    `${alignment.inPlaceMs ? `${alignment.inPlaceMs.toFixed(0)} ms heard in place without a block match; ` : ''}allowed ${allowedMs.toFixed(0)} ms; windows ${windows.map((w) => `${w.kind}:${w.end - w.start}/${w.totalMs.toFixed(0)}`).join(' ')}`);
  assert.ok(alignment.startLag >= 0, `${what}: the source was not found in the recording`);
  assert.ok(alignment.coverage >= (options.minCoverage ?? 0.97), `${what}: only ${(alignment.coverage * 100).toFixed(1)}% of the source was heard`);
  // The last block may be a fading sound that does not correlate on its own: at most a period.
  assert.ok(alignment.tailMissingMs <= (options.maxTailMs ?? periodMs), `${what}: the end of the source is missing (${alignment.tailMissingMs.toFixed(0)} ms)`);
  for (const d of alignment.discontinuities) {
    assert.ok(d.silenceMs <= allowedMs, `${what}: ${d.silenceMs.toFixed(1)} ms without source at ${d.atSourceMs.toFixed(0)} ms is longer than ${allowedMs.toFixed(0)} ms`);
    assert.ok(d.lostMs <= allowedMs, `${what}: ${d.lostMs.toFixed(1)} ms of source lost at ${d.atSourceMs.toFixed(0)} ms is longer than ${allowedMs.toFixed(0)} ms`);
  }
  return { alignment, allowedMs, longestSilenceMs, lostMs };
}

/** `sox ... -n stat` of raw PCM: the statistics it prints, by name. */
export function soxStat(pcm: Uint8Array, format: { format: PcmFormat; rate: number; channels: number }): Record<string, number> {
  const encoding = { u8: ['-e', 'unsigned', '-b', '8'], s16le: ['-e', 'signed', '-b', '16'], s32le: ['-e', 'signed', '-b', '32'], f32le: ['-e', 'floating-point', '-b', '32'] }[format.format];
  const r = spawnSync('sox', ['-t', 'raw', '-r', String(format.rate), '-c', String(format.channels), ...encoding, '-L', '-', '-n', 'stat'], { input: pcm, maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`sox stat failed: ${r.stderr.toString()}`);
  const stats: Record<string, number> = {};
  for (const line of r.stderr.toString().split('\n')) {
    const m = /^([^:]+):\s+(-?[0-9.e+-]+)\s*$/.exec(line.trim());
    if (m) stats[m[1]!.trim()] = Number(m[2]);
  }
  return stats;
}

/** The recording without its all-zero frames (the silence a gap inserted is not source). */
export function withoutSilence(recording: Uint8Array, frameBytes: number): Uint8Array {
  const out = new Uint8Array(recording.length);
  let n = 0;
  for (let f = 0; f + frameBytes <= recording.length; f += frameBytes) {
    let zero = true;
    for (let i = f; i < f + frameBytes && zero; i++) zero = recording[i] === 0;
    if (!zero) { out.set(recording.subarray(f, f + frameBytes), n); n += frameBytes; }
  }
  return out.subarray(0, n);
}
