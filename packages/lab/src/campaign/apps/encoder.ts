/**
 * The paper's encoder row: sox synthesises a WAV on a kernel ext4 over the shadowed disk and
 * lame encodes it to MP3 there; the fault is injected as the encoder starts, with the WAV
 * dropped from the page cache so that its bytes are read back through the driver. Verified
 * against a fault-free run in a plain directory: the WAV's and the MP3's bytes, then a clean
 * `e2fsck -fn`.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CampaignApp } from './context.js';
import { onKernelExt4, run } from './kernel-ext4.js';

const MiB = 1024 * 1024;

/** The commands, as one shell line run in `dir`: synthesise (repeatably: -R, no dither), sync. */
const synth = (seconds: number) => `sox -R -D -n -r 44100 -c 2 -b 16 src.wav synth ${seconds} sine 440 sine 660 && sync src.wav`;
const encode = 'dd if=src.wav iflag=nocache count=0 status=none && lame --quiet src.wav out.mp3 && sync out.mp3';

export const encoderApp: CampaignApp = {
  name: 'encoder', className: 'block', realTools: true, paperRow: 'storage: encoder (sox + lame on ext4)',
  async run(context) {
    const seconds = 3 * (context.scale ?? 1);
    const reference = tmpdir();
    await run('sh', ['-c', `${synth(seconds)} && ${encode}`], { cwd: reference });
    const sha = async (name: string) => createHash('sha256').update(await readFile(join(reference, name))).digest('hex');
    const expected = `${await sha('src.wav')}  src.wav\n${await sha('out.mp3')}  out.mp3`;
    return onKernelExt4(context, 'disk0', 32 * MiB, async (fs) => {
      const dir = fs.mountpoint;
      await fs.run('sh', ['-c', synth(seconds)], { cwd: dir });
      const encoding = fs.run('sh', ['-c', encode], { cwd: dir });
      await context.inject();
      await encoding;
      const got = (await fs.run('sha256sum', ['src.wav', 'out.mp3'], { cwd: dir })).stdout.trim();
      const [wav, mp3] = got.split('\n').map((line, i) => line === expected.split('\n')[i]);
      return {
        errors: 0, verified: got === expected,
        detail: `${seconds} s of audio encoded; WAV ${wav ? 'identical' : 'differs'}, MP3 ${mp3 ? 'identical to the fault-free encode' : 'differs'}`,
      };
    });
  },
};
