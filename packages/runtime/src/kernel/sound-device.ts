/**
 * The sound device as applications use it: the same object for the device's whole life. It
 * numbers every write and read with its place in the stream, so a write resubmitted after a
 * driver failure is recognised by the card and never played twice, and a resubmitted read
 * gets the frames it was asking for.
 */
import type { Direction, SoundCapabilities, StreamParams, StreamPosition } from '../classes/sound/contract.js';
import { DEFAULT_PARAMS, frameBytes } from '../classes/sound/pcm.js';
import type { Device } from './device.js';

export class SoundDevice {
  readonly device: Device;
  /** Frames written (playback) or read (capture) so far. */
  #written = 0;
  #params: StreamParams = DEFAULT_PARAMS;

  constructor(device: Device) {
    this.device = device;
  }

  get name(): string {
    return this.device.name;
  }

  async open(direction: Direction = 'playback'): Promise<void> {
    await this.device.call('open', { direction });
    this.#written = 0;
    this.#params = DEFAULT_PARAMS;
  }

  async close(): Promise<void> {
    await this.device.call('close', {});
  }

  async configure(params: StreamParams): Promise<void> {
    await this.device.call('configure', params);
    this.#params = params;
  }

  /** Plays `pcm` (whole frames); resolves once the card has taken it. */
  async write(pcm: Uint8Array): Promise<void> {
    const at = this.#written;
    await this.device.call('write', { at, data: pcm });
    this.#written = at + pcm.length / frameBytes(this.#params);
  }

  /** Plays a whole buffer in period-sized writes. */
  async play(pcm: Uint8Array): Promise<void> {
    const step = this.#params.periodFrames * frameBytes(this.#params);
    for (let at = 0; at < pcm.length; at += step) await this.write(pcm.subarray(at, Math.min(pcm.length, at + step)));
  }

  /** Capture: the next `bytes` of recorded audio (whole frames), into `into` when given. */
  async read(bytes: number, into?: Uint8Array): Promise<Uint8Array> {
    const at = this.#written;
    const data = (await this.device.call('read', into ? { at, bytes, into } : { at, bytes })) as Uint8Array;
    this.#written = at + bytes / frameBytes(this.#params);
    return data;
  }

  drain = async (): Promise<void> => { await this.device.call('drain', {}); };
  pause = async (on: boolean): Promise<void> => { await this.device.call('pause', { on }); };
  reset = async (): Promise<void> => { await this.device.call('reset', {}); this.#written = 0; };
  volume = async (level: number): Promise<void> => { await this.device.call('volume', { level }); };
  capabilities = async (): Promise<SoundCapabilities> => (await this.device.call('capabilities', {})) as SoundCapabilities;
  bufferSpace = async (): Promise<number> => ((await this.device.call('bufferSpace', {})) as { frames: number }).frames;
  position = async (): Promise<StreamPosition> => (await this.device.call('position', {})) as StreamPosition;

  onPeriod(listener: (played: number) => void): () => void {
    return this.device.on('periodElapsed', (a) => listener((a as { played: number }).played));
  }
}
