/**
 * The paper's strategy game row: short overlapping sound effects mixed period by period just
 * before each write (low latency: 10 ms periods) through the `pulse` driver; the fault hits the
 * driver a second into the game. Verified: what the game played is in the sink's monitor frame
 * for frame, each discontinuity within the fault's window, and every effect at least three
 * quarters heard.
 */
import type { StreamParams } from 'shadow-drivers';
import { alignExact } from '../../apps/sound/align.js';
import { makeEffect, playEffects, type Trigger } from '../../apps/sound/sfx.js';
import type { CampaignApp } from './context.js';
import { judge, playAndRecord, withPulse } from './pulse-app.js';

const PARAMS: StreamParams = { format: 's16le', rate: 48000, channels: 2, periodFrames: 480, bufferFrames: 3840 };
const KINDS = ['laser', 'coin', 'explosion', 'jump'] as const;

export const gameSfxApp: CampaignApp = {
  name: 'game-sfx', className: 'sound', realTools: true, paperRow: 'sound: strategy game effects (mixed with low latency through PulseAudio)',
  async run(context) {
    const totalFrames = PARAMS.rate * (1 + 2 * (context.scale ?? 1));
    const triggers: Trigger[] = [];
    for (let i = 0, at = PARAMS.rate / 4; at < totalFrames - PARAMS.rate / 2; i++) {
      triggers.push({ at, effect: makeEffect(KINDS[i % 4]!, i % 7, PARAMS.rate), pan: ((i * 37) % 100) / 100 });
      at += Math.round(((50 + ((i * 53) % 110)) * PARAMS.rate) / 1000);
    }
    return withPulse(context, async (pulse) => {
      const { value: played, recording, windows, errors, problem } =
        await playAndRecord(context, pulse, 'sfx0', PARAMS, 100, (sound) => playEffects(sound, PARAMS, triggers, totalFrames));
      if (!played) return { finished: false, errors, verified: false, detail: `the game stopped: ${problem}` };
      const alignment = alignExact(played, recording, 4, PARAMS.rate);
      const verdict = judge(alignment, windows, PARAMS);
      // Each effect: the share of its frames heard (covered by the frame-exact runs).
      const heard = triggers.map((t) => {
        const end = t.at + t.effect.samples.length;
        let n = 0;
        for (const r of alignment.runs ?? []) n += Math.max(0, Math.min(end, r.src + r.length) - Math.max(t.at, r.src));
        return n / t.effect.samples.length;
      });
      const worst = Math.min(...heard);
      return {
        finished: errors === 0, errors, verified: verdict.verified && worst >= 0.75,
        detail: `${triggers.length} effects, the least heard ${(worst * 100).toFixed(0)}%; ${verdict.detail}${problem ? `; error: ${problem}` : ''}`,
      };
    });
  },
};
