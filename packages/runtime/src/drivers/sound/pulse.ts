/**
 * `pulse`: a sound card that is a PulseAudio server (`config.server`, its unix socket). The
 * driver streams through a PulseAudio client the kernel runs for it (`pacat` to
 * `config.sink`, `parec` from `config.source`; the `spawnHelper` kernel service): a sandboxed
 * driver starts no process itself, and the client is the driver's, so it ends with a failed
 * driver (a playback client first plays what it was given). Each configuration starts a
 * client with those parameters, so the shadow's replay reaches PulseAudio. The driver keeps
 * at most `bufferFrames` ahead of what the client reports played, and counts what it handed
 * over: a write numbered below that count (a resubmission) is not played again.
 */
import { DEFAULT_PARAMS, defineSoundDriver, DeviceError, frameBytes, type StreamParams } from '../../classes/sound/contract.js';

import { pulseCapabilities } from './pulse-capabilities.js';

const NAME = /^[A-Za-z0-9_.:-]{1,128}$/;

/** Software volume: scales samples in place (a copy of the caller's data). */
function scaled(data: Uint8Array, format: StreamParams['format'], level: number): Uint8Array {
  if (level === 1) return data;
  const out = new Uint8Array(data);
  const view = new DataView(out.buffer);
  const n = out.length;
  if (format === 'u8') for (let i = 0; i < n; i++) out[i] = Math.round((out[i]! - 128) * level + 128);
  else if (format === 's16le') for (let i = 0; i < n; i += 2) view.setInt16(i, Math.round(view.getInt16(i, true) * level), true);
  else if (format === 's32le') for (let i = 0; i < n; i += 4) view.setInt32(i, Math.round(view.getInt32(i, true) * level), true);
  else for (let i = 0; i < n; i += 4) view.setFloat32(i, view.getFloat32(i, true) * level, true);
  return out;
}

export default defineSoundDriver((kernel) => {
  let server = '';
  let sink = '';
  let source = '';
  let latencyMs = 20;
  let direction: 'playback' | 'capture' = 'playback';
  let params: StreamParams | undefined;
  let helper: number | undefined;
  let timer: number | undefined;
  /** Frames handed to PulseAudio in this stream; `base`: when the current client started. */
  let handed = 0;
  let base = 0;
  let played = 0;
  let lastPeriod = 0;
  let paused = false;
  let level = 1;
  let exited = false;
  const waiters: { until: () => boolean; resolve: () => void; reject: (e: Error) => void }[] = [];

  const wake = (): void => {
    for (let i = waiters.length - 1; i >= 0; i--) {
      const w = waiters[i]!;
      if (exited) { waiters.splice(i, 1); w.reject(new DeviceError('EIO', 'the PulseAudio client ended')); } else if (w.until()) { waiters.splice(i, 1); w.resolve(); }
    }
  };
  const waitFor = (until: () => boolean): Promise<void> =>
    until() ? Promise.resolve() : new Promise((resolve, reject) => { waiters.push({ until, resolve, reject }); });

  /** Polls the client's report of the stream time: what has been played. */
  const tick = async (): Promise<void> => {
    if (helper === undefined || !params) return;
    const id = helper;
    const s = await kernel.helperStatus(id);
    if (id !== helper) return;
    if (s.exited) { exited = true; wake(); return; }
    if (direction === 'capture') return;
    const seconds = s.seconds + (s.ageMs < 100 && s.seconds > 0 ? s.ageMs / 1000 : 0);
    played = Math.max(played, Math.min(handed, base + Math.floor(seconds * params.rate)));
    wake();
    if (played - lastPeriod >= params.periodFrames) {
      lastPeriod = played - ((played - base) % params.periodFrames);
      await kernel.upcall('periodElapsed', { played });
    }
  };

  const stop = async (drain: boolean): Promise<void> => {
    if (timer !== undefined) { const t = timer; timer = undefined; await kernel.clearTimer(t); }
    if (helper !== undefined) { const h = helper; helper = undefined; await kernel.stopHelper(h, drain); }
  };

  const start = async (next: StreamParams): Promise<void> => {
    params = next;
    exited = false;
    base = played = lastPeriod = handed;
    const program = direction === 'playback' ? 'pacat' : 'parec';
    helper = await kernel.spawnHelper({
      program, server, device: direction === 'playback' ? sink : source, format: next.format, rate: next.rate,
      channels: next.channels, latencyMs, streamName: `shadow-${direction}`,
    }).catch((err: { code?: string; message?: string }) => {
      // No server to connect to is the device's answer to this request, not a fault of ours.
      if (err?.code === 'SD_ERR_IO') throw new DeviceError('EIO', err.message ?? 'no PulseAudio server');
      throw err;
    });
    const periodMs = (next.periodFrames * 1000) / next.rate;
    timer = await kernel.setTimer(Math.max(5, Math.min(25, Math.round(periodMs / 2))), tick, { repeat: true });
  };

  return {
    async init({ config }) {
      if (typeof config.server !== 'string') throw new Error('the pulse driver needs config.server (the PulseAudio socket)');
      server = config.server;
      sink = typeof config.sink === 'string' ? config.sink : '@DEFAULT_SINK@';
      source = typeof config.source === 'string' ? config.source : '@DEFAULT_MONITOR@';
      if (!NAME.test(sink.replace(/@/g, '')) || !NAME.test(source.replace(/@/g, ''))) throw new Error('bad sink or source name');
      if (config.latencyMs !== undefined) latencyMs = Number(config.latencyMs);
      await kernel.register({ ...pulseCapabilities });
    },
    async open({ direction: d, position }) {
      direction = d;
      handed = base = played = lastPeriod = position ?? 0;
      paused = false;
    },
    async close() { await stop(true); params = undefined; },
    async configure(next: StreamParams) {
      if (params && helper !== undefined && JSON.stringify(params) === JSON.stringify(next)) return;
      await stop(true);
      await start(next);
    },
    capabilities: () => ({ ...pulseCapabilities }),
    bufferSpace: () => ({ frames: params ? Math.max(0, params.bufferFrames - (handed - played)) : 0 }),
    async write({ at, data }) {
      if (!params) await this.configure(DEFAULT_PARAMS); // never configured: the card's power-on defaults
      const p = params!;
      const fb = frameBytes(p);
      const frames = data.length / fb;
      if (at + frames <= handed) return; // handed over already (a resubmission)
      const skip = Math.max(0, handed - at);
      await waitFor(() => !paused && handed + frames - skip - played <= p.bufferFrames);
      if (helper === undefined) throw new DeviceError('EIO', 'the stream is closed');
      handed = Math.max(handed, at) + frames - skip;
      // Not awaited: the write is done once it is on its way (messages keep their order), so a
      // failure between the hand-over and the reply cannot make the shadow resubmit what
      // PulseAudio already has. A client that went away shows in the next status.
      kernel.helperWrite(helper, scaled(data.subarray(skip * fb), p.format, level)).catch(() => { exited = true; wake(); });
    },
    async read({ bytes, into }) {
      if (!params) await this.configure(DEFAULT_PARAMS);
      if (helper === undefined || exited) throw new DeviceError('EIO', 'the capture client ended');
      const data = await kernel.helperRead(helper, bytes);
      into.set(data);
      handed += bytes / frameBytes(params!);
      void kernel.upcall('periodElapsed', { played: handed }).catch(() => undefined); // a period recorded
      return into;
    },
    async drain() { await waitFor(() => played >= handed); },
    pause({ on }) { paused = on; wake(); },
    async reset() {
      const p = params;
      await stop(false);
      handed = base = played = lastPeriod = 0;
      if (p) await start(p);
      wake();
    },
    volume({ level: l }) { level = l; },
    position: () => ({ written: handed, played: direction === 'capture' ? handed : played }),
  } as ReturnType<Parameters<typeof defineSoundDriver>[0]>;
});
