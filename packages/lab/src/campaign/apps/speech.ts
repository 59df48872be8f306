/**
 * The paper's speech synthesizer row: espeak-ng speaks a sentence, played at its own rate
 * through the `pulse` driver; the fault hits the driver a fifth of a second in. Verified: the
 * speech, recorded from the sink's monitor at its rate (PulseAudio converts to the sink and
 * back), is found in order by cross-correlation, each discontinuity within the fault's window.
 */
import type { StreamParams } from 'shadow-drivers';
import { align, toMono } from '../../apps/sound/align.js';
import { synthesize } from '../../apps/sound/speech.js';
import type { CampaignApp } from './context.js';
import { judge, playAndRecord, withPulse } from './pulse-app.js';

const SENTENCES = ['Shadow drivers.', 'The driver fails and recovers.'];
/** Correlation blocks (10 ms) a discontinuity may spoil on each side. */
const BLOCKS_PER_GAP_MS = 20;

export const speechApp: CampaignApp = {
  name: 'speech', className: 'sound', realTools: true, paperRow: 'sound: speech synthesizer (espeak-ng through PulseAudio)',
  async run(context) {
    const text = [SENTENCES[0], ...Array.from({ length: context.scale ?? 1 }, () => SENTENCES[1])].join(' ');
    const speech = await synthesize(text);
    const params: StreamParams = { format: 's16le', rate: speech.rate, channels: speech.channels, periodFrames: 1024, bufferFrames: 6144 };
    const seconds = speech.pcm.length / 2 / speech.channels / speech.rate;
    return withPulse(context, async (pulse) => {
      const { recording, windows, errors, problem } = await playAndRecord(context, pulse, 'tts0', params, 5, (sound) => sound.play(speech.pcm),
        { format: 's16le', rate: speech.rate, channels: speech.channels });
      // Noise-like consonants correlate poorly after two rate conversions: a lower threshold
      // than a bit-exact path, the final fricative may go unrecognised on its own, and the
      // blocks around each fault's gap may not correlate.
      const alignment = align(toMono(speech.pcm, 's16le', speech.channels), toMono(recording, 's16le', speech.channels), speech.rate, { threshold: 0.85 });
      const gaps = windows.lengths().length;
      const verdict = judge(alignment, windows, params, { minCoverage: 0.9 - (gaps * BLOCKS_PER_GAP_MS) / (seconds * 1000), maxTailMs: 150 });
      return {
        finished: errors === 0, errors, verified: verdict.verified,
        detail: `${seconds.toFixed(1)} s of speech; ${verdict.detail}${problem ? `; error: ${problem}` : ''}`,
      };
    });
  },
};
