/**
 * The paper's audio recorder row: what another program (pacat) plays into the sink is captured
 * from its monitor through the `pulse` driver into a WAV file; the fault hits the driver half
 * a second into the recording. Verified: the WAV has the stream's format and holds the source
 * frame for frame, in order; what played from each fault until the new capture stream
 * delivered is lost (a recorder loses the sound of its recovery windows), nothing more.
 */
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StreamParams } from 'shadow-drivers';
import { alignExact } from '../../apps/sound/align.js';
import { parseWav } from '../../apps/sound/pcm.js';
import { record } from '../../apps/sound/recorder.js';
import type { CampaignApp } from './context.js';
import { until } from './dataset.js';
import { injectAfterPeriods, judge, periodMs, pulseConfig, synthMusic, withPulse } from './pulse-app.js';

const PARAMS: StreamParams = { format: 's16le', rate: 48000, channels: 2, periodFrames: 960, bufferFrames: 9600 };

export const recorderApp: CampaignApp = {
  name: 'recorder', className: 'sound', realTools: true, paperRow: 'sound: audio recorder (the sink\'s monitor through PulseAudio into a WAV file)',
  async run(context) {
    const seconds = 1 + 1.5 * (context.scale ?? 1);
    const raw = join(tmpdir(), 'source.raw');
    await synthMusic(raw, seconds, 'raw');
    const source = await readFile(raw);
    return withPulse(context, async (pulse) => {
      const sound = await context.rt.attachSound(context.spec('rec0', { className: 'sound', driver: 'pulse', config: pulseConfig(pulse, true) }, true));
      const path = join(tmpdir(), 'recording.wav');
      let errors = 0;
      let problem = '';
      let done = false;
      const recording = record(sound, PARAMS, Math.round(PARAMS.rate * (seconds + 1)), path)
        .catch((err: Error) => { errors++; problem = err.message; }).finally(() => { done = true; });
      // The player starts once the recorder records.
      let recorded = 0;
      const off = sound.onPeriod(() => { recorded++; });
      await until(() => recorded > 0 || done, 10_000);
      off();
      const player = pulse.play(source, { format: 's16le', rate: 48000, channels: 2 });
      const periods: number[] = [];
      const offPeriods = sound.onPeriod(() => { periods.push(Date.now()); });
      const windows = await injectAfterPeriods(context, sound, 25, () => done);
      await player.done.catch((err: Error) => { problem ||= `the player: ${err.message}`; });
      await recording;
      offPeriods();
      if (errors) return { finished: false, errors, verified: false, detail: `the recording stopped: ${problem}` };
      const wav = parseWav(await readFile(path));
      const format = wav.rate === 48000 && wav.channels === 2 && wav.bitsPerSample === 16;
      // Lost to each fault: from the fault until the new capture stream delivered its first
      // period, and the period in flight when it struck.
      const lostMs = windows.spansUntil(periods).reduce((n, [from, to]) => n + to - from + periodMs(PARAMS), 0);
      const verdict = judge(alignExact(source, wav.pcm, 4, PARAMS.rate), windows, PARAMS, { minCoverage: 1 - lostMs / (seconds * 1000) });
      return {
        finished: true, errors, verified: format && verdict.verified,
        detail: `${seconds} s recorded, WAV ${format ? 'in the stream\'s format' : `${wav.rate} Hz ${wav.channels} ch ${wav.bitsPerSample} bit`}; ${verdict.detail}` +
          (problem ? `; ${problem}` : ''),
      };
    });
  },
};
