/**
 * The virtual sound card's capture source: a deterministic signal in which every frame spells
 * its own index (the frames the card's clock has recorded since capture started), so anyone
 * can compute frame n, and a captured stream shows each loss, repeat or reordering. Channel c
 * of frame n holds bits 15c.. of n (7c.. for u8; all of n for s32le), centred like audio.
 */
import { frameBytes, sampleBytes, type StreamParams } from '../../classes/sound/pcm.js';

type Format = Pick<StreamParams, 'format' | 'channels'>;

/** How many frames the signal runs before it repeats (what one frame can spell). */
export function signalPeriod(p: Format): number {
  const bits = p.format === 's32le' ? 31 : (p.format === 'u8' ? 7 : 15) * p.channels;
  return 2 ** Math.min(bits, 31);
}

/** Frames `from` .. `from + count` of the capture source. */
export function sourceFrames(p: Format, from: number, count: number): Uint8Array {
  const fb = frameBytes(p);
  const sb = sampleBytes[p.format];
  const out = new Uint8Array(count * fb);
  const view = new DataView(out.buffer);
  for (let i = 0; i < count; i++) {
    const n = (from + i) % signalPeriod(p);
    for (let c = 0; c < p.channels; c++) {
      const at = i * fb + c * sb;
      if (p.format === 'u8') view.setUint8(at, 0x40 + (Math.floor(n / 2 ** (7 * c)) & 0x7f));
      else if (p.format === 's16le') view.setInt16(at, (Math.floor(n / 2 ** (15 * c)) & 0x7fff) - 0x4000, true);
      else if (p.format === 's32le') view.setInt32(at, n, true);
      else view.setFloat32(at, (Math.floor(n / 2 ** (15 * c)) & 0x7fff) / 0x8000 - 0.5, true);
    }
  }
  return out;
}

/** The index a captured frame spells (modulo `signalPeriod`), read from its first bytes. */
export function frameIndex(p: Format, frame: Uint8Array): number {
  const sb = sampleBytes[p.format];
  const view = new DataView(frame.buffer, frame.byteOffset, frame.length);
  let n = 0;
  for (let c = p.channels - 1; c >= 0; c--) {
    const at = c * sb;
    if (p.format === 'u8') n = n * 2 ** 7 + (view.getUint8(at) - 0x40);
    else if (p.format === 's16le') n = n * 2 ** 15 + (view.getInt16(at, true) + 0x4000);
    else if (p.format === 's32le') return view.getInt32(0, true);
    else n = n * 2 ** 15 + Math.round((view.getFloat32(at, true) + 0.5) * 0x8000);
  }
  return n % signalPeriod(p);
}
