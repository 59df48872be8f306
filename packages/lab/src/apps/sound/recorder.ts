/** An audio recorder: captures `frames` from a sound device, a period at a time, into a WAV file. */
import { writeFileSync } from 'node:fs';
import { frameBytes, type StreamParams } from 'shadow-drivers';
import type { SoundDevice } from 'shadow-drivers';
import { wavFile } from './pcm.js';

export async function record(sound: SoundDevice, params: StreamParams, frames: number, path?: string): Promise<Uint8Array> {
  if (params.format !== 's16le') throw new TypeError('the recorder writes 16-bit WAV files');
  const fb = frameBytes(params);
  const pcm = new Uint8Array(frames * fb);
  await sound.open('capture');
  await sound.configure(params);
  for (let at = 0; at < pcm.length; at += params.periodFrames * fb) {
    const bytes = Math.min(params.periodFrames * fb, pcm.length - at);
    await sound.read(bytes, pcm.subarray(at, at + bytes));
  }
  await sound.close();
  if (path) writeFileSync(path, wavFile(pcm, params.rate, params.channels));
  return pcm;
}
