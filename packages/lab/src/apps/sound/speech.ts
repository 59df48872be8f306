/** A speech synthesizer: espeak-ng speaks text to PCM, which plays through a sound device. */
import { spawn } from 'node:child_process';
import { parseWav } from './pcm.js';

export interface Speech { pcm: Uint8Array; rate: number; channels: number }

/** The text spoken by espeak-ng, as s16le PCM at its native rate. */
export function synthesize(text: string, options: { voice?: string; wordsPerMinute?: number } = {}): Promise<Speech> {
  if (typeof text !== 'string' || text.trim() === '') return Promise.reject(new TypeError('synthesize takes non-empty text'));
  const args = ['--stdout', '-v', options.voice ?? 'en', '-s', String(options.wordsPerMinute ?? 160), '--', text];
  return new Promise((resolve, reject) => {
    const child = spawn('espeak-ng', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.setEncoding('utf8').on('data', (t: string) => { err += t; });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`espeak-ng exited with ${code}: ${err.slice(0, 300)}`));
      try {
        const wav = parseWav(Buffer.concat(out));
        if (wav.bitsPerSample !== 16) throw new TypeError(`espeak-ng produced ${wav.bitsPerSample}-bit audio`);
        resolve({ pcm: wav.pcm, rate: wav.rate, channels: wav.channels });
      } catch (e) {
        reject(e as Error);
      }
    });
  });
}
