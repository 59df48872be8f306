/**
 * `virtual`: the driver of a virtual sound card (src/sound/virtual-card.ts), the zero-setup
 * default of the sound class. It attaches to the card over the socket in `config.socket`,
 * keeps the card's buffer fed (a write waits for room, learned from period interrupts, and is
 * done once the card acknowledges it: bytes still in the socket die with the connection),
 * fetches captured frames by their index in the application's stream (a read resubmitted to
 * a restarted driver gets the same frames again while the card still has them), and passes
 * each period to the kernel as a `periodElapsed` upcall.
 */
import { connect, type Socket } from 'node:net';
import { DEFAULT_PARAMS, defineSoundDriver, DeviceError, frameBytes, type SoundCapabilities, type StreamParams } from '../../classes/sound/contract.js';
import { frameMessage, jsonMessage, MessageReader, parseJson } from '../../devices/framing.js';
import {
  CARD_MESSAGES, CardMessage, dataPayload, MAX_CARD_MESSAGE, parseData,
  type CardAck, type CardControl, type CardDirection, type CardHello, type CardPeriod,
} from '../../devices/sound/card-protocol.js';

export default defineSoundDriver((kernel) => {
  let socket: Socket | undefined;
  let closing = false;
  let caps: SoundCapabilities | undefined;
  let params: StreamParams | undefined;
  /** Frames sent to the card, frames it acknowledged taking, frames it reported played. */
  let received = 0;
  let acked = 0;
  let played = 0;
  /** Resets sent and not yet answered: reports until then describe the stream before it. */
  const resets: (() => void)[] = [];
  let greetedStream: CardHello['stream'];
  let direction: CardDirection = 'playback';
  /** Capture: the next frame of the application's stream, and fetches waiting for their frames. */
  let nextRead = 0;
  const fetches: { at: number; bytes: number; resolve: (pcm: Uint8Array) => void }[] = [];
  const waiters: { until: () => boolean; resolve: () => void }[] = [];

  const wake = (): void => {
    for (let i = waiters.length - 1; i >= 0; i--) {
      if (waiters[i]!.until()) { waiters[i]!.resolve(); waiters.splice(i, 1); }
    }
  };
  const waitFor = (until: () => boolean): Promise<void> =>
    until() ? Promise.resolve() : new Promise((resolve) => waiters.push({ until, resolve }));
  const control = (c: CardControl): void => { socket!.write(jsonMessage(CardMessage.Control, c)); };

  return {
    init({ config }) {
      if (typeof config.socket !== 'string') throw new Error('the virtual sound driver needs config.socket');
      const path = config.socket;
      return new Promise<void>((resolve, reject) => {
        const s = connect(path);
        socket = s;
        const reader = new MessageReader(CARD_MESSAGES, MAX_CARD_MESSAGE, (type, payload) => {
          if (type === CardMessage.Hello && !caps) {
            const hello = parseJson<CardHello>(payload);
            caps = hello.capabilities;
            greetedStream = hello.stream;
            // The card's stream state as of now; its period reports move it on from here.
            received = acked = hello.stream?.received ?? 0;
            played = hello.stream?.played ?? 0;
            kernel.register({ ...caps }).then(resolve, reject);
          } else if (type === CardMessage.Data) {
            const { at, pcm } = parseData(payload);
            const i = fetches.findIndex((f) => f.at === at && f.bytes === pcm.length);
            if (i >= 0) fetches.splice(i, 1)[0]!.resolve(pcm);
          } else if (type === CardMessage.Ack) {
            const a = parseJson<CardAck>(payload);
            if (a.reset) resets.shift()?.();
            else if (resets.length === 0) acked = Math.max(acked, a.received);
            wake();
          } else if (type === CardMessage.Period && resets.length === 0) {
            const p = parseJson<CardPeriod>(payload);
            played = p.played;
            wake();
            void kernel.upcall('periodElapsed', { played });
          }
        }, (message) => s.destroy(new Error(`sound card: ${message}`)));
        s.on('data', (chunk: Buffer) => reader.push(chunk));
        s.on('error', (err) => { if (!caps) reject(err); else throw err; });
        s.on('close', () => { if (caps && !closing) throw new Error('the sound card closed the connection'); });
      });
    },
    open({ direction: d, position }) {
      // Playback: the card's state came with the greeting and its period reports, and an older
      // value set here could hide the last report (a drain would then wait forever).
      direction = d;
      if (d === 'capture') nextRead = position ?? 0;
    },
    close() { control({ close: true }); params = undefined; },
    configure(next: StreamParams) {
      const same = greetedStream && greetedStream.direction === direction && JSON.stringify(greetedStream.params) === JSON.stringify(next);
      if (!same) { received = acked = played = 0; }
      greetedStream = undefined;
      params = next;
      socket!.write(jsonMessage(CardMessage.Config, { params: next, direction }));
    },
    capabilities: () => caps!,
    bufferSpace: () => ({ frames: params ? Math.max(0, params.bufferFrames - (received - played)) : 0 }),
    async write({ at, data }) {
      if (!params) this.configure(DEFAULT_PARAMS); // never configured: the card's power-on defaults
      if (direction !== 'playback') throw new DeviceError('EINVAL', 'the stream is not a playback stream');
      const p = params!;
      const fb = frameBytes(p);
      const frames = data.length / fb;
      if (at + frames <= received) return waitFor(() => acked >= at + frames); // sent already (a resubmission)
      const skip = Math.max(0, received - at);
      await waitFor(() => p.bufferFrames - (received - played) >= frames - skip);
      // Done only once the card has taken it: bytes still in a socket die with the connection,
      // and the kernel, told the write completed, would never resubmit it.
      socket!.write(frameMessage(CardMessage.Data, dataPayload(at + skip, data.subarray(skip * fb))));
      received = Math.max(received, at) + frames - skip;
      const end = received;
      await waitFor(() => acked >= end);
    },
    async read({ at, bytes, into }) {
      if (!params) this.configure(DEFAULT_PARAMS);
      if (direction !== 'capture') throw new DeviceError('EINVAL', 'the stream is not a capture stream');
      const from = at ?? nextRead;
      const pcm = await new Promise<Uint8Array>((resolve) => {
        fetches.push({ at: from, bytes, resolve });
        socket!.write(jsonMessage(CardMessage.Fetch, { at: from, frames: bytes / frameBytes(params!) }));
      });
      into.set(pcm);
      nextRead = Math.max(nextRead, from + bytes / frameBytes(params!));
      return into;
    },
    async drain() { if (direction === 'playback') await waitFor(() => played >= received); },
    pause({ on }) { control({ pause: on }); },
    async reset() {
      const answered = new Promise<void>((resolve) => resets.push(resolve));
      control({ reset: true });
      received = acked = played = nextRead = 0;
      wake();
      await answered;
    },
    volume({ level }) { control({ volume: level }); },
    position: () => (direction === 'capture' ? { written: nextRead, played: nextRead } : { written: received, played }),
    shutdown() { closing = true; socket?.destroy(); },
  } as ReturnType<Parameters<typeof defineSoundDriver>[0]>;
});
