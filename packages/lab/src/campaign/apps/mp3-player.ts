/**
 * The paper's mp3 player row: music synthesised by sox, encoded by lame, decoded and played
 * in real time through the `pulse` driver into a private PulseAudio server; the fault hits the
 * driver a second into the music. Verified: the sink's monitor, recorded by parec, holds the
 * decoded music frame for frame, each discontinuity within the fault's window.
 */
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StreamParams } from 'shadow-drivers';
import { alignExact } from '../../apps/sound/align.js';
import { decodeMp3 } from '../../apps/sound/mp3.js';
import type { CampaignApp } from './context.js';
import { run } from './kernel-ext4.js';
import { judge, playAndRecord, synthMusic, withPulse } from './pulse-app.js';

const PARAMS: StreamParams = { format: 's16le', rate: 48000, channels: 2, periodFrames: 2400, bufferFrames: 14400 };

export const mp3PlayerApp: CampaignApp = {
  name: 'mp3-player', className: 'sound', realTools: true, paperRow: 'sound: mp3 player (lame-encoded music through PulseAudio)',
  async run(context) {
    const seconds = 1 + 1.5 * (context.scale ?? 1);
    const wav = join(tmpdir(), 'music.wav');
    const mp3 = join(tmpdir(), 'music.mp3');
    await synthMusic(wav, seconds, 'wav');
    await run('lame', ['--quiet', '-b', '192', wav, mp3]);
    const decoded = await decodeMp3(await readFile(mp3));
    return withPulse(context, async (pulse) => {
      const { recording, windows, errors, problem } = await playAndRecord(context, pulse, 'pcm0', PARAMS, 20, (sound) => sound.play(decoded.pcm));
      const verdict = judge(alignExact(decoded.pcm, recording, 4, PARAMS.rate), windows, PARAMS);
      return { finished: errors === 0, errors, verified: verdict.verified, detail: `${seconds} s of music; ${verdict.detail}${problem ? `; error: ${problem}` : ''}` };
    });
  },
};
