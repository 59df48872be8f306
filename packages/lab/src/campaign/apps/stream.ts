/**
 * Sound: a 48 kHz stereo stream played in real time on the virtual card; the fault hits its
 * driver a third of the way in. Verified: the card played every frame exactly once, in order,
 * at the configured format and rate.
 */
import { frameBytes, type StreamParams } from 'shadow-drivers';
import { VirtualSoundCard } from 'shadow-drivers';
import type { CampaignApp } from './context.js';
import { until } from './dataset.js';

const PARAMS: StreamParams = { format: 's16le', rate: 48000, channels: 2, periodFrames: 480, bufferFrames: 4800 };

export const streamApp: CampaignApp = {
  name: 'stream', className: 'sound', paperRow: 'sound: a stream played in real time (the paper\'s mp3 player)',
  async run({ rt, spec, inject, scale = 1 }) {
    const card = await VirtualSoundCard.create();
    try {
      const sound = await rt.attachSound(spec('pcm0', { className: 'sound', driver: 'virtual', config: { socket: card.socketPath } }, true));
      const frames = PARAMS.rate * (0.5 + scale);
      const pcm = new Uint8Array(frames * frameBytes(PARAMS));
      const view = new DataView(pcm.buffer);
      for (let i = 0; i < frames; i++) { view.setInt16(i * 4, (i & 0x7fff) - 0x4000, true); view.setInt16(i * 4 + 2, (i >> 15) - 0x4000, true); }
      let errors = 0;
      let problem = '';
      const play = async () => {
        await sound.open('playback');
        await sound.configure(PARAMS);
        await sound.play(pcm);
        await sound.drain();
      };
      const playing = play().catch((err: Error) => { errors++; problem = err.message; });
      await until(() => (card.output[0]?.frames ?? 0) >= PARAMS.rate * 0.5 || errors > 0, 5000);
      await inject();
      await playing;
      const played = card.played(0);
      const exact = card.output.length === 1 && Buffer.compare(played, Buffer.from(pcm)) === 0;
      const gaps = card.output[0]?.gaps ?? [];
      return {
        finished: errors === 0, errors, verified: exact,
        detail: `${card.output.length} stream(s), ${Math.round(played.length / frameBytes(PARAMS))} of ${frames} frames played, ` +
          `${exact ? 'exactly the source' : 'not the source'}, ${gaps.length} gaps (longest ${Math.max(0, ...gaps.map((g) => g.ms)).toFixed(0)} ms)` +
          (problem ? `; error: ${problem}` : ''),
      };
    } finally {
      await rt.close();
      await card.close();
    }
  },
};
