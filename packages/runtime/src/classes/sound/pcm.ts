/** PCM stream parameters as the sound class sees them. */
export type SampleFormat = 'u8' | 's16le' | 's32le' | 'f32le';

export const sampleBytes: Record<SampleFormat, number> = { u8: 1, s16le: 2, s32le: 4, f32le: 4 };

export interface StreamParams {
  format: SampleFormat;
  /** Frames per second. */
  rate: number;
  channels: number;
  /** Frames between two period-elapsed interrupts. */
  periodFrames: number;
  /** Frames the device buffers (at least two periods). */
  bufferFrames: number;
}

/** What a card offers; a restarted driver must offer the same. */
export interface SoundCapabilities {
  formats: SampleFormat[];
  rates: number[];
  maxChannels: number;
  maxBufferFrames: number;
}

/** The device's power-on parameters: what a stream plays with when nobody configured it. */
export const DEFAULT_PARAMS: StreamParams = { format: 'u8', rate: 8000, channels: 1, periodFrames: 256, bufferFrames: 2048 };

export const frameBytes = (p: Pick<StreamParams, 'format' | 'channels'>): number => sampleBytes[p.format] * p.channels;

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);

/** Checks parameters against capabilities; returns the problem or undefined. */
export function checkParams(p: Partial<StreamParams> | undefined, caps: SoundCapabilities | undefined): string | undefined {
  if (typeof p !== 'object' || p === null) return 'configure takes { format, rate, channels, periodFrames, bufferFrames }';
  if (typeof p.format !== 'string' || !(p.format in sampleBytes)) return `format must be one of ${Object.keys(sampleBytes).join(', ')}`;
  if (caps && !caps.formats.includes(p.format)) return `the card does not play ${p.format}`;
  if (!isInt(p.rate) || (caps ? !caps.rates.includes(p.rate) : p.rate < 4000 || p.rate > 192000)) return `rate ${String(p.rate)} is not offered`;
  if (!isInt(p.channels) || p.channels < 1 || p.channels > (caps?.maxChannels ?? 8)) return `channels ${String(p.channels)} is out of range`;
  if (!isInt(p.periodFrames) || p.periodFrames < 16 || p.periodFrames > 65536) return 'periodFrames must be from 16 to 65536';
  if (!isInt(p.bufferFrames) || p.bufferFrames < 2 * p.periodFrames || p.bufferFrames > (caps?.maxBufferFrames ?? 1 << 20)) {
    return 'bufferFrames must be at least two periods and within the card\'s maximum';
  }
  return undefined;
}
