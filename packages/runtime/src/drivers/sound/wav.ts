/**
 * `wav`: a sound card whose speaker is a WAV file (`config.path`), played in real time. The
 * kernel opens and holds the file (like the block `file` driver's disk); the driver writes the
 * header when the stream is configured (kept when a restarted driver finds the same format
 * there) and each write's PCM at the place its frame index names, so a resubmitted write lands
 * on the same bytes and a restart continues the file exactly. Its own clock paces the stream:
 * a write waits until it is no more than `bufferFrames` ahead of what has "played". A
 * restarted driver's clock starts at the stream's position (what was buffered counts as played).
 */
import { readSync, writeSync } from 'node:fs';
import { DEFAULT_PARAMS, defineSoundDriver, DeviceError, frameBytes, type SoundCapabilities, type StreamParams } from '../../classes/sound/contract.js';

export const wavCapabilities: SoundCapabilities = {
  formats: ['u8', 's16le', 's32le', 'f32le'], rates: [8000, 11025, 16000, 22050, 32000, 44100, 48000, 96000], maxChannels: 8, maxBufferFrames: 1 << 18,
};

function header(p: StreamParams, dataBytes: number): Buffer {
  const h = Buffer.alloc(44);
  const bits = { u8: 8, s16le: 16, s32le: 32, f32le: 32 }[p.format];
  h.write('RIFF', 0, 'latin1'); h.writeUInt32LE(36 + dataBytes, 4); h.write('WAVE', 8, 'latin1');
  h.write('fmt ', 12, 'latin1'); h.writeUInt32LE(16, 16); h.writeUInt16LE(p.format === 'f32le' ? 3 : 1, 20); h.writeUInt16LE(p.channels, 22);
  h.writeUInt32LE(p.rate, 24); h.writeUInt32LE(p.rate * frameBytes(p), 28); h.writeUInt16LE(frameBytes(p), 32); h.writeUInt16LE(bits, 34);
  h.write('data', 36, 'latin1'); h.writeUInt32LE(dataBytes, 40);
  return h;
}

export default defineSoundDriver((kernel) => {
  let fd = -1;
  let params: StreamParams | undefined;
  let written = 0; // frames in the file
  let start = 0; // frames played when the clock started
  let clockAt = 0;
  let paused = false;
  let level = 1;
  let lastPeriod = 0;

  const played = (): number => (!params ? start : paused ? start : Math.min(written, start + Math.floor(((performance.now() - clockAt) * params.rate) / 1000)));
  const restartClock = (): void => { start = played(); clockAt = performance.now(); };
  const until = async (ok: () => boolean): Promise<void> => {
    while (!ok()) await new Promise((r) => setTimeout(r, 5));
  };
  const put = (data: Uint8Array, at: number): void => {
    let done = 0;
    while (done < data.length) done += writeSync(fd, data, done, data.length - done, at + done);
  };

  return {
    async init() {
      fd = (await kernel.acquire('wav')).fd;
      await kernel.register({ ...wavCapabilities });
    },
    open({ position }) { written = start = position ?? 0; clockAt = performance.now(); paused = false; },
    close() { params = undefined; },
    configure(next: StreamParams) {
      const existing = Buffer.alloc(44);
      const n = readSync(fd, existing, 0, 44, 0);
      const wanted = header(next, written * frameBytes(next));
      // The same format already there (a restarted driver): keep the header and the data.
      if (!(n === 44 && existing.subarray(0, 36).subarray(20).equals(wanted.subarray(20, 36)))) put(wanted, 0);
      params = next;
      restartClock();
    },
    capabilities: () => ({ ...wavCapabilities }),
    bufferSpace: () => ({ frames: params ? Math.max(0, params.bufferFrames - (written - played())) : 0 }),
    async write({ at, data }) {
      if (!params) this.configure(DEFAULT_PARAMS);
      const p = params!;
      const fb = frameBytes(p);
      const frames = data.length / fb;
      await until(() => !paused && at + frames - played() <= p.bufferFrames);
      const now = played();
      if (now - lastPeriod >= p.periodFrames) { lastPeriod = now; void kernel.upcall('periodElapsed', { played: now }).catch(() => undefined); }
      let pcm = data;
      if (level !== 1 && p.format === 's16le') {
        pcm = new Uint8Array(data);
        const v = new DataView(pcm.buffer);
        for (let i = 0; i < pcm.length; i += 2) v.setInt16(i, Math.round(v.getInt16(i, true) * level), true);
      }
      put(pcm, 44 + at * fb);
      if (at + frames > written) {
        written = at + frames;
        const sizes = Buffer.alloc(4);
        sizes.writeUInt32LE(36 + written * fb); put(sizes, 4);
        sizes.writeUInt32LE(written * fb); put(sizes, 40);
      }
    },
    read() { throw new DeviceError('SD_ERR_NOT_SUPPORTED', 'a WAV file sink records nothing'); },
    async drain() { await until(() => played() >= written); },
    pause({ on }) { restartClock(); paused = on; clockAt = performance.now(); },
    reset() { written = start = 0; clockAt = performance.now(); },
    volume({ level: l }) { level = l; },
    position: () => ({ written, played: played() }),
  } as ReturnType<Parameters<typeof defineSoundDriver>[0]>;
});
