/**
 * Finds a source signal in a recording of it: block by block, each block of the source is
 * looked for where the previous one left off (a direct normalized correlation at that lag);
 * when it is not there, a normalized cross-correlation over a window of the recording
 * (computed with an FFT) finds where it went. The result says what part of the source was
 * heard, in order, and every discontinuity: how much source was never heard (lost) and how
 * long the recording had no source in it (silence).
 */

export type PcmFormat = 'u8' | 's16le' | 's32le' | 'f32le';

/** Interleaved PCM to one channel of floats in [-1, 1] (the mean of the channels). */
export function toMono(pcm: Uint8Array, format: PcmFormat, channels: number): Float32Array {
  const bytes = { u8: 1, s16le: 2, s32le: 4, f32le: 4 }[format];
  const frames = Math.floor(pcm.length / (bytes * channels));
  const view = new DataView(pcm.buffer, pcm.byteOffset, pcm.byteLength);
  const out = new Float32Array(frames);
  for (let f = 0; f < frames; f++) {
    let sum = 0;
    for (let c = 0; c < channels; c++) {
      const at = (f * channels + c) * bytes;
      sum += format === 's16le' ? view.getInt16(at, true) / 32768 : format === 'u8' ? (view.getUint8(at) - 128) / 128
        : format === 's32le' ? view.getInt32(at, true) / 2147483648 : view.getFloat32(at, true);
    }
    out[f] = sum / channels;
  }
  return out;
}

const twiddles = new Map<number, { cos: Float64Array; sin: Float64Array }>();

/** In-place iterative radix-2 FFT (inverse when `inverse`, unscaled). */
export function fft(re: Float64Array, im: Float64Array, inverse = false): void {
  const n = re.length;
  if ((n & (n - 1)) !== 0) throw new RangeError('fft length must be a power of two');
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      const tr = re[i]!; re[i] = re[j]!; re[j] = tr;
      const ti = im[i]!; im[i] = im[j]!; im[j] = ti;
    }
  }
  let table = twiddles.get(n);
  if (!table) {
    table = { cos: new Float64Array(n / 2), sin: new Float64Array(n / 2) };
    for (let i = 0; i < n / 2; i++) { table.cos[i] = Math.cos((2 * Math.PI * i) / n); table.sin[i] = Math.sin((2 * Math.PI * i) / n); }
    twiddles.set(n, table);
  }
  const sign = inverse ? 1 : -1;
  for (let size = 2; size <= n; size <<= 1) {
    const half = size >> 1;
    const step = n / size;
    for (let start = 0; start < n; start += size) {
      for (let k = 0; k < half; k++) {
        const wr = table.cos[k * step]!;
        const wi = sign * table.sin[k * step]!;
        const a = start + k;
        const b = a + half;
        const xr = re[b]! * wr - im[b]! * wi;
        const xi = re[b]! * wi + im[b]! * wr;
        re[b] = re[a]! - xr; im[b] = im[a]! - xi;
        re[a] = re[a]! + xr; im[a] = im[a]! + xi;
      }
    }
  }
}

/** Where `template` best matches inside `signal[from, to)`: index and normalized correlation. */
export function bestMatch(template: Float32Array, signal: Float32Array, from: number, to: number): { index: number; score: number } {
  from = Math.max(0, from);
  to = Math.min(signal.length, to);
  const m = template.length;
  const w = to - from;
  if (w < m) return { index: -1, score: 0 };
  let n = 1;
  while (n < w + m) n <<= 1;
  const xr = new Float64Array(n); const xi = new Float64Array(n);
  const yr = new Float64Array(n); const yi = new Float64Array(n);
  for (let i = 0; i < w; i++) xr[i] = signal[from + i]!;
  let tNorm = 0;
  for (let i = 0; i < m; i++) { yr[i] = template[i]!; tNorm += template[i]! * template[i]!; }
  fft(xr, xi); fft(yr, yi);
  for (let i = 0; i < n; i++) {
    // X * conj(Y): correlation, not convolution.
    const r = xr[i]! * yr[i]! + xi[i]! * yi[i]!;
    const im = xi[i]! * yr[i]! - xr[i]! * yi[i]!;
    xr[i] = r; xi[i] = im;
  }
  fft(xr, xi, true);
  const energy = new Float64Array(w + 1);
  for (let i = 0; i < w; i++) energy[i + 1] = energy[i]! + signal[from + i]! * signal[from + i]!;
  let best = -1; let score = 0;
  const tn = Math.sqrt(tNorm);
  for (let l = 0; l + m <= w; l++) {
    const e = energy[l + m]! - energy[l]!;
    if (e <= 1e-12) continue;
    const s = xr[l]! / n / (tn * Math.sqrt(e));
    if (s > score) { score = s; best = l; }
  }
  return { index: best < 0 ? -1 : from + best, score };
}

function ncc(a: Float32Array, ai: number, b: Float32Array, bi: number, n: number): number {
  let ab = 0; let aa = 0; let bb = 0;
  for (let i = 0; i < n; i++) { const x = a[ai + i]!; const y = b[bi + i]!; ab += x * y; aa += x * x; bb += y * y; }
  return aa > 0 && bb > 0 ? ab / Math.sqrt(aa * bb) : 0;
}

export interface Discontinuity {
  /** Where in the source the last heard audio ended, ms. */
  atSourceMs: number;
  /** Where in the recording, ms. */
  atCaptureMs: number;
  /** Source between the two pieces that was never heard, ms. */
  lostMs: number;
  /** Recording between the two pieces without source in it, ms (negative: heard twice). */
  silenceMs: number;
}

export interface Alignment {
  /** Where the source starts in the recording (samples). */
  startLag: number;
  /** Blocks of the source with sound in them, and how many of those were found. */
  voicedBlocks: number;
  matchedBlocks: number;
  /** Normalized correlation of the matched blocks. */
  meanScore: number;
  minScore: number;
  discontinuities: Discontinuity[];
  /** Source heard, as a fraction of the source with sound in it. */
  coverage: number;
  /** Source at the end that never appeared, ms. */
  tailMissingMs: number;
  /** Stretches heard in their place that did not correlate block by block, ms. */
  inPlaceMs?: number;
  /** Frame-exact alignment: recording [cap, cap + length) is source [src, src + length). */
  runs?: { cap: number; src: number; length: number }[];
}

export interface AlignOptions {
  blockMs?: number;
  /** Normalized correlation a block needs to count as found. */
  threshold?: number;
  /** How far ahead of the last lag a piece may resume (the longest possible gap), ms. */
  maxGapMs?: number;
  /** How far back (a repeat), ms. */
  maxBackMs?: number;
  /** Blocks quieter than this RMS are not looked for. */
  silence?: number;
  /** How far into the source the recording's first piece may be, ms. */
  firstWithinMs?: number;
}

/**
 * Aligns a mono source with a mono recording of it at the same rate: every block of the
 * recording with sound in it is looked up in the source (where the previous block left off,
 * else by cross-correlation near there, else anywhere), so the recording maps piece by piece
 * onto the source; what of the source no piece covers was lost.
 */
export function align(source: Float32Array, capture: Float32Array, rate: number, options: AlignOptions = {}): Alignment {
  const B = Math.max(16, Math.round(((options.blockMs ?? 10) * rate) / 1000));
  const threshold = options.threshold ?? 0.9;
  const near = Math.round(((options.maxBackMs ?? 500) * rate) / 1000);
  const silence = options.silence ?? 1e-3;
  const fine = Math.max(8, Math.round(rate / 1000));
  // The recording starts before the source does: its first piece is near the source's start.
  const first = Math.round(((options.firstWithinMs ?? 2000) * rate) / 1000);
  const ms = (samples: number) => (samples * 1000) / rate;
  const rms = (x: Float32Array, at: number, n: number) => {
    let e = 0;
    for (let i = at; i < at + n; i++) e += x[i]! * x[i]!;
    return Math.sqrt(e / n);
  };
  /** Runs: capture [cap, cap + length) is source [src, src + length). */
  const runs: { cap: number; src: number; length: number }[] = [];
  let sum = 0; let min = 1; let matched = 0;
  for (let c = 0; c + B <= capture.length; c += B) {
    if (rms(capture, c, B) < silence) continue;
    const last = runs.at(-1);
    if (last) {
      const s = last.src + (c - last.cap);
      if (s + B <= source.length && s >= 0) {
        const score = ncc(capture, c, source, s, B);
        if (score >= threshold) {
          matched++; sum += score; min = Math.min(min, score);
          if (c === last.cap + last.length) last.length += B;
          else runs.push({ cap: c, src: s, length: B });
          continue;
        }
      }
    }
    // Searched with a longer stretch than a block (a short one can match a similar place); the
    // first piece anywhere in the source, later ones near where the last one ended.
    const t = Math.min(capture.length - c, runs.length ? 4 * B : 10 * B);
    let edge = false; // a stretch with silence in it straddles an edge: looking it up finds nothing right
    for (let i = c; i + fine <= c + t && !edge; i += fine) edge = rms(capture, i, fine) < silence;
    if (edge) continue;
    const expected = last ? last.src + last.length : 0;
    const hit = last ? bestMatch(capture.subarray(c, c + t), source, expected - near, expected + 2 * near + t)
      : bestMatch(capture.subarray(c, c + t), source, 0, Math.min(source.length, first + t));
    if (hit.index < 0 || hit.score < threshold) continue; // not the source here (or a stretch across an edge)
    matched++; sum += hit.score; min = Math.min(min, hit.score);
    runs.push({ cap: c, src: hit.index, length: B });
  }
  // Refine each run's edges to a millisecond, then read the discontinuities off consecutive runs.
  for (const r of runs) {
    while (r.cap - fine >= 0 && r.src - fine >= 0 && ncc(capture, r.cap - fine, source, r.src - fine, fine) >= threshold) { r.cap -= fine; r.src -= fine; r.length += fine; }
    while (r.cap + r.length + fine <= capture.length && r.src + r.length + fine <= source.length
      && ncc(capture, r.cap + r.length, source, r.src + r.length, fine) >= threshold) r.length += fine;
  }
  const discontinuities: Discontinuity[] = [];
  const covered = new Uint8Array(Math.ceil(source.length / B));
  const cover = (from: number, to: number) => { for (let s = Math.ceil(from / B); (s + 1) * B <= to; s++) covered[s] = 1; };
  let inPlace = 0;
  for (let i = 1; i < runs.length; i++) {
    const a = runs[i - 1]!; const b = runs[i]!;
    const lost = b.src - (a.src + a.length);
    const gap = b.cap - (a.cap + a.length);
    if (Math.abs(lost) < fine && gap < fine) continue;
    // Same lag on both sides and as much sound in the recording there as in the source: the
    // stretch played in its place, it just did not correlate well enough block by block
    // (noise-like consonants after two conversions). A dropout at the same lag is quiet.
    if (Math.abs(gap - lost) < fine && lost > 0 && rms(capture, a.cap + a.length, gap) >= 0.5 * rms(source, a.src + a.length, lost)) {
      cover(a.src + a.length, b.src);
      inPlace += lost;
      continue;
    }
    // A pause in the source itself between the two pieces (speech between words) is neither
    // lost nor silence the gap added.
    let pause = 0;
    for (let f = a.src + a.length; f + fine <= b.src; f += fine) if (rms(source, f, fine) < silence) pause += fine;
    discontinuities.push({ atSourceMs: ms(a.src + a.length), atCaptureMs: ms(a.cap + a.length), lostMs: ms(lost - pause), silenceMs: ms(gap - pause) });
  }
  // Coverage: the source's voiced blocks that some run covers.
  for (const r of runs) cover(r.src, r.src + r.length);
  let voiced = 0; let heard = 0; let lastVoiced = -1; let lastHeard = -1;
  for (let k = 0; (k + 1) * B <= source.length; k++) {
    if (rms(source, k * B, B) < silence) continue;
    voiced++; lastVoiced = k;
    if (covered[k]) { heard++; lastHeard = k; }
  }
  const tailEnd = runs.length ? Math.max(...runs.map((r) => r.src + r.length)) : 0;
  return {
    startLag: runs.length ? runs[0]!.cap - runs[0]!.src : -1, voicedBlocks: voiced, matchedBlocks: matched,
    meanScore: matched ? sum / matched : 0, minScore: matched ? min : 0, discontinuities, coverage: voiced ? heard / voiced : 0, inPlaceMs: ms(inPlace),
    tailMissingMs: lastVoiced > lastHeard + 1 ? ms(Math.max(0, (lastVoiced + 1) * B - tailEnd)) : 0,
  };
}

/**
 * The same for a bit-exact path (same format and rate, no volume change, one stream in the
 * mix): every recorded frame is found in the source by its value and its neighbours', so the
 * discontinuities are exact to the frame. Silence (all-zero frames) is not looked up.
 */
export function alignExact(source: Uint8Array, capture: Uint8Array, frameBytes: number, rate: number): Alignment {
  const K = 4; // frames in a lookup key
  const src = Buffer.from(source.buffer, source.byteOffset, source.byteLength);
  const cap = Buffer.from(capture.buffer, capture.byteOffset, capture.byteLength);
  const srcFrames = Math.floor(src.length / frameBytes);
  const capFrames = Math.floor(cap.length / frameBytes);
  const zero = (b: Buffer, f: number) => { for (let i = f * frameBytes; i < (f + 1) * frameBytes; i++) if (b[i] !== 0) return false; return true; };
  const index = new Map<string, number>();
  for (let f = 0; f + K <= srcFrames; f++) {
    const key = src.toString('latin1', f * frameBytes, (f + K) * frameBytes);
    if (!index.has(key)) index.set(key, f);
  }
  const runs: { cap: number; src: number; length: number }[] = [];
  for (let f = 0; f < capFrames; f++) {
    const last = runs.at(-1);
    if (last && last.cap + last.length === f) {
      const s = last.src + last.length;
      if (s < srcFrames && cap.compare(src, s * frameBytes, (s + 1) * frameBytes, f * frameBytes, (f + 1) * frameBytes) === 0 && !zero(cap, f)) { last.length++; continue; }
    }
    if (zero(cap, f) || f + K > capFrames) continue;
    const s = index.get(cap.toString('latin1', f * frameBytes, (f + K) * frameBytes));
    if (s !== undefined) runs.push({ cap: f, src: s, length: 1 });
  }
  const solid = runs.filter((r) => r.length >= 32); // a few frames that happen to match (quiet ones) are not a piece
  const ms = (frames: number) => (frames * 1000) / rate;
  const discontinuities: Discontinuity[] = [];
  for (let i = 1; i < solid.length; i++) {
    const a = solid[i - 1]!; const b = solid[i]!;
    const lost = b.src - (a.src + a.length);
    if (lost === b.cap - (a.cap + a.length) && lost >= 0) {
      // Same lag: a stretch that did not count as a piece (silent or quiet frames) lies between.
      let silent = true;
      for (let f = a.src + a.length; f < b.src && silent; f++) silent = zero(src, f);
      if (silent || cap.compare(src, (a.src + a.length) * frameBytes, b.src * frameBytes, (a.cap + a.length) * frameBytes, b.cap * frameBytes) === 0) continue;
    }
    discontinuities.push({ atSourceMs: ms(a.src + a.length), atCaptureMs: ms(a.cap + a.length), lostMs: ms(b.src - (a.src + a.length)), silenceMs: ms(b.cap - (a.cap + a.length)) });
  }
  const covered = new Uint8Array(srcFrames);
  for (const r of solid) covered.fill(1, r.src, r.src + r.length);
  let voiced = 0; let heard = 0; let lastVoiced = -1;
  for (let f = 0; f < srcFrames; f++) {
    if (zero(src, f)) continue;
    voiced++; lastVoiced = f;
    if (covered[f]) heard++;
  }
  const end = solid.length ? Math.max(...solid.map((r) => r.src + r.length)) : 0;
  return {
    startLag: solid.length ? solid[0]!.cap - solid[0]!.src : -1, voicedBlocks: voiced, matchedBlocks: heard, meanScore: 1, minScore: 1, runs: solid,
    discontinuities, coverage: voiced ? heard / voiced : 0, tailMissingMs: lastVoiced >= end ? ms(lastVoiced + 1 - end) : 0,
  };
}
