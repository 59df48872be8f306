/**
 * The paper's mp3 player row: music synthesised by sox, encoded by lame, decoded and played
 * in real time through the `pulse` driver into a private PulseAudio server; the fault hits the
 * driver a second into the music. Verified: the sink's monitor, recorded by parec, holds the
 * decoded music frame for frame, each discontinuity within the fault's window.
 */
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StreamParams } from '../../classes/sound/pcm.js';
import { alignExact } from '../../apps/sound/align.js';
import { decodeMp3 } from '../../apps/sound/mp3.js';
import type { CampaignApp } from './context.js';
import { run } from './kernel-ext4.js';
import { injectAfterPeriods, judge, pulseConfig, withPulse } from './pulse-app.js';

const PARAMS: StreamParams = { format: 's16le', rate: 48000, channels: 2, periodFrames: 2400, bufferFrames: 14400 };

export const mp3PlayerApp: CampaignApp = {
  name: 'mp3-player', className: 'sound', realTools: true, paperRow: 'sound: mp3 player (lame-encoded music through PulseAudio)',
  async run(context) {
    const seconds = 1 + 1.5 * (context.scale ?? 1);
    const wav = join(tmpdir(), 'music.wav');
    const mp3 = join(tmpdir(), 'music.mp3');
    await run('sox', ['-n', '-r', '48000', '-c', '2', '-b', '16', wav, 'synth', String(seconds), 'sine', '110:1760', 'triangle', '330-220',
      'remix', '1,2v0.3', '1v0.3,2', 'tremolo', '3', '40', 'gain', '-6']);
    await run('lame', ['--quiet', '-b', '192', wav, mp3]);
    const decoded = await decodeMp3(await readFile(mp3));
    return withPulse(context, async (pulse) => {
      const capture = pulse.capture();
      await capture.ready();
      const sound = await context.rt.attachSound(context.spec('pcm0', { className: 'sound', driver: 'pulse', config: pulseConfig(pulse) }, true));
      let errors = 0;
      let problem = '';
      let done = false;
      const playing = (async () => {
        await sound.open('playback');
        await sound.configure(PARAMS);
        await sound.play(decoded.pcm);
        await sound.drain();
      })().catch((err: Error) => { errors++; problem = err.message; }).finally(() => { done = true; });
      const windows = await injectAfterPeriods(context, sound, 20, () => done);
      await playing;
      const recording = await capture.stop();
      const verdict = judge(alignExact(decoded.pcm, recording, 4, PARAMS.rate), windows, PARAMS);
      return { finished: errors === 0, errors, verified: verdict.verified, detail: `${seconds} s of music; ${verdict.detail}${problem ? `; error: ${problem}` : ''}` };
    });
  },
};
