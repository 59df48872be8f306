/**
 * Game sound effects: short sounds triggered at moments of a game's timeline, mixed by the
 * application period by period just before each write (nothing is rendered ahead of the
 * device's small buffer: low latency), played through a sound device.
 */
import type { StreamParams } from 'shadow-drivers';
import type { SoundDevice } from 'shadow-drivers';

export interface Effect { name: string; samples: Float32Array }
export interface Trigger { at: number; effect: Effect; pan: number }

/** A small deterministic generator (xorshift), so effects with noise are the same every run. */
function noise(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x / 2 ** 31 - 1; };
}

/** Effects of a few kinds; `variant` shifts their pitch so each one is recognisable. */
export function makeEffect(kind: 'laser' | 'coin' | 'explosion' | 'jump', variant: number, rate: number): Effect {
  const ms = { laser: 180, coin: 140, explosion: 300, jump: 160 }[kind];
  const n = Math.round((ms * rate) / 1000);
  const out = new Float32Array(n);
  const rnd = noise(1000 + variant * 7 + kind.length);
  let phase = 0;
  for (let i = 0; i < n; i++) {
    const t = i / n;
    const env = Math.min(1, i / (0.005 * rate)) * (1 - t) ** 1.5;
    let f = 0;
    if (kind === 'laser') f = (1800 + 150 * variant) * (1 - 0.7 * t);
    else if (kind === 'coin') f = t < 0.3 ? 990 + 60 * variant : 1320 + 80 * variant;
    else if (kind === 'jump') f = (300 + 40 * variant) * (1 + 1.5 * t);
    phase += (2 * Math.PI * f) / rate;
    out[i] = 0.3 * env * (kind === 'explosion' ? rnd() * (1 - t) + 0.3 * Math.sin((2 * Math.PI * (60 + 5 * variant) * i) / rate) : Math.sin(phase));
  }
  return { name: `${kind}${variant}`, samples: out };
}

/** Mixes the triggers into interleaved stereo s16le frames [from, from + frames). */
export function mix(triggers: readonly Trigger[], from: number, frames: number): Uint8Array {
  const left = new Float32Array(frames);
  const right = new Float32Array(frames);
  for (const t of triggers) {
    const s = t.effect.samples;
    const start = Math.max(from, t.at);
    const end = Math.min(from + frames, t.at + s.length);
    for (let f = start; f < end; f++) {
      const v = s[f - t.at]!;
      left[f - from]! += v * (1 - t.pan) * 2 * 0.5;
      right[f - from]! += v * t.pan * 2 * 0.5;
    }
  }
  const out = new Uint8Array(frames * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < frames; i++) {
    view.setInt16(i * 4, Math.round(Math.max(-1, Math.min(1, left[i]!)) * 32767), true);
    view.setInt16(i * 4 + 2, Math.round(Math.max(-1, Math.min(1, right[i]!)) * 32767), true);
  }
  return out;
}

/**
 * Runs the game's audio: each period is mixed when the device has room for it and written at
 * once. Returns everything it played, for comparison with what was heard.
 */
export async function playEffects(sound: SoundDevice, params: StreamParams, triggers: readonly Trigger[], totalFrames: number): Promise<Uint8Array> {
  if (params.format !== 's16le' || params.channels !== 2) throw new TypeError('the effects mixer renders s16le stereo');
  const played = new Uint8Array(totalFrames * 4);
  for (let at = 0; at < totalFrames; at += params.periodFrames) {
    const frames = Math.min(params.periodFrames, totalFrames - at);
    const active = triggers.filter((t) => t.at < at + frames && t.at + t.effect.samples.length > at);
    const pcm = mix(active, at, frames);
    played.set(pcm, at * 4);
    await sound.write(pcm);
  }
  return played;
}
