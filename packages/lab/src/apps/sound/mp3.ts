/** MP3 decoding for the player: mpg123 compiled to WebAssembly (the mpg123-decoder package). */
import { MPEGDecoder } from 'mpg123-decoder';
import { floatToS16 } from './pcm.js';

export interface DecodedAudio { pcm: Uint8Array; rate: number; channels: number; frames: number }

/** Decodes a whole MP3 file to interleaved s16le PCM. */
export async function decodeMp3(file: Uint8Array): Promise<DecodedAudio> {
  const decoder = new MPEGDecoder();
  await decoder.ready;
  try {
    const decoded = decoder.decode(file);
    if (decoded.samplesDecoded === 0) throw new TypeError(`no audio decoded${decoded.errors.length ? `: ${decoded.errors[0]!.message}` : ''}`);
    const channels = decoded.channelData.length;
    return { pcm: floatToS16(decoded.channelData, decoded.samplesDecoded), rate: decoded.sampleRate, channels, frames: decoded.samplesDecoded };
  } finally {
    decoder.free();
  }
}
