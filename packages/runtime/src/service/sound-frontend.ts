/**
 * A sound device's frontend: a unix socket that takes raw PCM (s16le at the configured rate
 * and channels) and plays it through the device, whose driver is the output: the `pulse`
 * driver's sink or a `wav` file. One stream at a time, as a sound card plays one; a second
 * client waits in the accept queue until the first is done.
 */
import net from 'node:net';
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import type { SoundDevice } from '../kernel/sound-device.js';
import type { SoundDeviceConfig } from './config-schema.js';
import { removeLeftoverSocket, type Frontend } from './frontend.js';
import { BYTES_WRITTEN, type DeviceStats } from './device-stats.js';

export async function startSoundFrontend(sound: SoundDevice, frontend: SoundDeviceConfig['frontend'], stats: DeviceStats): Promise<Frontend> {
  const rate = frontend.rate ?? 48000;
  const channels = frontend.channels ?? 2;
  const periodFrames = Math.round(rate / 20);
  const params = { format: 's16le' as const, rate, channels, periodFrames, bufferFrames: periodFrames * 6 };
  const frameBytes = 2 * channels;
  const path = resolve(frontend.socket);
  removeLeftoverSocket(path);
  const streams = new Set<Promise<void>>();
  const clients = new Set<net.Socket>();
  let queue = Promise.resolve();
  const play = async (client: net.Socket) => {
    await sound.open('playback');
    await sound.configure(params);
    let rest = Buffer.alloc(0);
    for await (const chunk of client) {
      const data = Buffer.concat([rest, chunk as Buffer]);
      const whole = data.length - (data.length % frameBytes);
      rest = data.subarray(whole);
      if (whole === 0) continue;
      stats.inFlight++;
      try { await sound.write(data.subarray(0, whole)); stats.requests++; stats.bytes.counts[BYTES_WRITTEN] += whole; }
      finally { stats.inFlight--; }
    }
    await sound.drain();
  };
  const server = net.createServer((client) => {
    clients.add(client);
    client.pause();
    client.on('close', () => clients.delete(client));
    client.on('error', () => undefined);
    const stream = (queue = queue.then(() => play(client)).catch(() => { stats.errors++; }).finally(async () => {
      await sound.close().catch(() => undefined);
      client.destroy();
    }));
    streams.add(stream);
    void stream.finally(() => streams.delete(stream));
  });
  await new Promise<void>((done, fail) => { server.once('error', fail); server.listen(path, () => { server.off('error', fail); done(); }); });
  return {
    addresses: [`unix:${path} (raw s16le, ${rate} Hz, ${channels} channels)`],
    async close() {
      const closed = new Promise<void>((done) => server.close(() => done()));
      for (const client of clients) client.end();
      await Promise.allSettled([...streams]);
      for (const client of clients) client.destroy();
      await closed;
      rmSync(path, { force: true });
    },
  };
}
