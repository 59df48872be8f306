/** Sample conversions the sound applications share. */

/** Float channels (each in [-1, 1]) to interleaved signed 16-bit little-endian PCM. */
export function floatToS16(channels: Float32Array[], frames = channels[0]?.length ?? 0): Uint8Array {
  const n = channels.length;
  const out = new Uint8Array(frames * n * 2);
  const view = new DataView(out.buffer);
  for (let f = 0; f < frames; f++) {
    for (let c = 0; c < n; c++) {
      const v = Math.max(-1, Math.min(1, channels[c]![f]!));
      view.setInt16((f * n + c) * 2, Math.round(v * 32767), true);
    }
  }
  return out;
}

/** A WAV file's PCM and format (the canonical RIFF layout; other chunks are skipped). */
export interface WavData { rate: number; channels: number; bitsPerSample: number; pcm: Uint8Array }

export function parseWav(file: Uint8Array): WavData {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const tag = (at: number) => String.fromCharCode(...file.subarray(at, at + 4));
  if (file.length < 12 || tag(0) !== 'RIFF' || tag(8) !== 'WAVE') throw new TypeError('not a RIFF WAVE file');
  let at = 12;
  let fmt: Omit<WavData, 'pcm'> | undefined;
  while (at + 8 <= file.length) {
    const id = tag(at);
    let size = view.getUint32(at + 4, true);
    if (id === 'fmt ') {
      if (view.getUint16(at + 8, true) !== 1) throw new TypeError('only PCM WAV files are supported');
      fmt = { channels: view.getUint16(at + 10, true), rate: view.getUint32(at + 12, true), bitsPerSample: view.getUint16(at + 22, true) };
    } else if (id === 'data') {
      if (!fmt) throw new TypeError('WAV data before its format');
      // Streamed files (espeak-ng --stdout) carry a placeholder size: the data runs to the end.
      if (size === 0xffffffff || size === 0x7fffffff || at + 8 + size > file.length) size = file.length - at - 8;
      return { ...fmt, pcm: file.subarray(at + 8, at + 8 + size) };
    }
    at += 8 + size + (size & 1);
  }
  throw new TypeError('WAV file without data');
}

/** A canonical 16-bit PCM WAV file around `pcm`. */
export function wavFile(pcm: Uint8Array, rate: number, channels: number): Uint8Array {
  const out = new Uint8Array(44 + pcm.length);
  const view = new DataView(out.buffer);
  const tag = (at: number, s: string) => { for (let i = 0; i < 4; i++) out[at + i] = s.charCodeAt(i); };
  tag(0, 'RIFF'); view.setUint32(4, 36 + pcm.length, true); tag(8, 'WAVE');
  tag(12, 'fmt '); view.setUint32(16, 16, true); view.setUint16(20, 1, true); view.setUint16(22, channels, true);
  view.setUint32(24, rate, true); view.setUint32(28, rate * channels * 2, true); view.setUint16(32, channels * 2, true); view.setUint16(34, 16, true);
  tag(36, 'data'); view.setUint32(40, pcm.length, true);
  out.set(pcm, 44);
  return out;
}
