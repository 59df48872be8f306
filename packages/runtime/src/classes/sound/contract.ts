/**
 * The sound class: what a sound-card driver implements and what the shadow does with each
 * call while the driver recovers — the paper's Table 1: reads and writes suspend the caller,
 * interrupts are dropped, capability queries are answered from the log, the buffer-space
 * query reports busy, resets are queued and a duplicate reset is dropped. The stream's
 * configuration and position are replayed, so it continues where it was. Every write names
 * its place in the stream (`at`, in frames): a write resubmitted after a failure never plays
 * twice what the device already has.
 */
import { ErrorCodes, ShadowError } from '../../errors.js';
import type { ClassContract, DeviceState, EntryPoint } from '../contract.js';
import type { LiveStateHooks } from '../driver-api.js';
import { checkParams, DEFAULT_PARAMS, frameBytes, sampleBytes, type SoundCapabilities, type StreamParams } from './pcm.js';

export * from './pcm.js';

export type Direction = 'playback' | 'capture';

export interface SoundCalls {
  init: { config: Record<string, unknown> };
  /** `position`: frames already written to this stream (replayed opens continue there). */
  open: { direction: Direction; position?: number };
  close: Record<string, never>;
  configure: StreamParams;
  capabilities: Record<string, never>;
  bufferSpace: Record<string, never>;
  write: { at: number; data: Uint8Array };
  /**
   * Capture: `bytes` (whole frames) of recorded audio, into the caller's buffer when given;
   * `at`: their place in the captured stream (frames read before them), so a read resubmitted
   * after a failure gets the same frames again.
   */
  read: { bytes: number; into?: Uint8Array; at?: number };
  drain: Record<string, never>;
  pause: { on: boolean };
  reset: Record<string, never>;
  volume: { level: number };
  position: Record<string, never>;
}

export interface StreamPosition {
  /** Frames the application has written. */
  written: number;
  /** Frames the card has played. */
  played: number;
}

export interface SoundUpcalls {
  periodElapsed: { played: number };
}

export interface SoundDriver extends LiveStateHooks {
  init(args: SoundCalls['init']): Promise<void> | void;
  open(args: SoundCalls['open']): Promise<void> | void;
  close(args: SoundCalls['close']): Promise<void> | void;
  configure(args: StreamParams): Promise<void> | void;
  capabilities(args: SoundCalls['capabilities']): Promise<SoundCapabilities> | SoundCapabilities;
  bufferSpace(args: SoundCalls['bufferSpace']): Promise<{ frames: number }> | { frames: number };
  /** Resolves once the card has taken the data (it waits for room in the card's buffer). */
  write(args: SoundCalls['write']): Promise<void> | void;
  /** Fills `into` with the next recorded frames (waits until there are enough). */
  read(args: SoundCalls['read'] & { into: Uint8Array }): Promise<Uint8Array> | Uint8Array;
  drain(args: SoundCalls['drain']): Promise<void> | void;
  pause(args: SoundCalls['pause']): Promise<void> | void;
  reset(args: SoundCalls['reset']): Promise<void> | void;
  volume(args: SoundCalls['volume']): Promise<void> | void;
  position(args: SoundCalls['position']): Promise<StreamPosition> | StreamPosition;
}

const bad = (message: string) => new ShadowError(ErrorCodes.INVALID_ARGUMENT, message);
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);
const isCount = (v: unknown): v is number => isInt(v) && v >= 0;
/** Formats or rates a card may list. */
const MAX_LISTED = 64;
/** The highest sample rate a card may list (the highest ALSA knows). */
const MAX_RATE = 768_000;

/**
 * What is wrong with a card's capabilities as its driver states them (at registration, and in
 * every `capabilities` answer the application sees), or undefined.
 */
function capabilitiesProblem(c: SoundCapabilities, said: string): string | undefined {
  if (typeof c !== 'object' || c === null || !Array.isArray(c.formats) || !Array.isArray(c.rates)) return `${said} no list of formats and rates`;
  if (c.formats.length === 0 || c.formats.length > MAX_LISTED || !c.formats.every((f) => typeof f === 'string' && Object.hasOwn(sampleBytes, f))) {
    return `${said} formats that are not a list of ${Object.keys(sampleBytes).join(', ')}`;
  }
  if (c.rates.length === 0 || c.rates.length > MAX_LISTED || !c.rates.every((r) => isInt(r) && r > 0 && r <= MAX_RATE)) {
    return `${said} rates that are not a list of sample rates from 1 to ${MAX_RATE}`;
  }
  if (!isInt(c.maxChannels) || c.maxChannels < 1 || !isInt(c.maxBufferFrames) || c.maxBufferFrames < 32) return `${said} bad channel or buffer limits`;
  return undefined;
}
const nothing = (_a: unknown, r: unknown) => (r === undefined ? undefined : `returned ${typeof r}, expected nothing`);

function mustBeOpen(state: DeviceState): ShadowError | undefined {
  return state.open.has('stream') ? undefined : new ShadowError(ErrorCodes.NOT_OPEN, 'no stream is open');
}

export function paramsOf(state: DeviceState): StreamParams | undefined {
  return state.settings.get('stream:params')?.args as StreamParams | undefined;
}

const streamSetting = (key: string, validate: EntryPoint['validate']): EntryPoint => ({
  kind: 'configure', idempotent: true, sideEffects: true, log: { kind: 'setting', key: () => `stream:${key}` },
  recovery: 'suspend', deadlineMs: 2000, validate: (a, s) => mustBeOpen(s) ?? validate?.(a, s), check: nothing,
});

export const soundClass: ClassContract = {
  name: 'sound',
  entries: {
    init: { kind: 'init', idempotent: true, sideEffects: false, log: { kind: 'none' }, recovery: 'suspend', deadlineMs: 5000 },
    open: {
      kind: 'open', idempotent: true, sideEffects: false, log: { kind: 'open', object: () => 'stream' }, recovery: 'suspend',
      deadlineMs: 2000, check: nothing,
      validate: (a: SoundCalls['open'], s) => (s.open.has('stream') ? new ShadowError(ErrorCodes.INVALID_ARGUMENT, 'a stream is already open')
        : a?.direction === 'playback' || a?.direction === 'capture' ? undefined : bad('open takes { direction: "playback" | "capture" }')),
    },
    close: { kind: 'close', idempotent: true, sideEffects: false, log: { kind: 'close', object: () => 'stream' }, recovery: 'suspend',
      deadlineMs: 2000, validate: (_a, s) => mustBeOpen(s), check: nothing },
    configure: streamSetting('params', (a: StreamParams, s) => {
      const problem = checkParams(a, s.info as SoundCapabilities | undefined);
      return problem ? bad(problem) : undefined;
    }),
    pause: streamSetting('pause', (a: SoundCalls['pause']) => (typeof a?.on === 'boolean' ? undefined : bad('pause takes { on: boolean }'))),
    volume: streamSetting('volume', (a: SoundCalls['volume']) =>
      typeof a?.level === 'number' && a.level >= 0 && a.level <= 1 ? undefined : bad('volume takes { level } from 0 to 1')),
    capabilities: { kind: 'query', idempotent: true, sideEffects: false, log: { kind: 'answer' }, recovery: 'log', deadlineMs: 1000,
      check: (_a, r) => capabilitiesProblem(r as SoundCapabilities, 'capabilities returned') },
    bufferSpace: { kind: 'query', idempotent: true, sideEffects: false, log: { kind: 'none' }, recovery: 'busy', deadlineMs: 1000,
      validate: (_a, s) => mustBeOpen(s),
      check: (_a, r) => (isCount((r as { frames?: unknown } | undefined)?.frames) ? undefined : 'bufferSpace returned no frame count') },
    write: {
      kind: 'request', idempotent: true, sideEffects: true, log: { kind: 'request' }, recovery: 'suspend', deadlineMs: 5000, check: nothing,
      validate: (a: SoundCalls['write'], s) => {
        const open = mustBeOpen(s);
        if (open) return open;
        if ((s.open.get('stream') as SoundCalls['open']).direction !== 'playback') return bad('the stream is not a playback stream');
        const params = paramsOf(s) ?? DEFAULT_PARAMS; // an unconfigured stream plays with the card's defaults
        if (!(a?.data instanceof Uint8Array) || !isInt(a.at) || a.at < 0) return bad('write takes { at: frame index, data: Uint8Array }');
        const fb = frameBytes(params);
        if (a.data.length === 0 || a.data.length % fb !== 0) return bad(`write data must be a non-empty multiple of the frame size (${fb} bytes)`);
        if (a.data.length > params.bufferFrames * fb) return bad(`a write may be at most the buffer (${params.bufferFrames} frames)`);
        return undefined;
      },
    },
    read: {
      kind: 'request', idempotent: true, sideEffects: false, log: { kind: 'request' }, recovery: 'suspend', deadlineMs: 5000,
      bulkOut: { arg: 'into', lengthArg: 'bytes' },
      validate: (a: SoundCalls['read'], s) => {
        const open = mustBeOpen(s);
        if (open) return open;
        if ((s.open.get('stream') as SoundCalls['open']).direction !== 'capture') return bad('the stream is not a capture stream');
        const params = paramsOf(s) ?? DEFAULT_PARAMS;
        const fb = frameBytes(params);
        if (!isInt(a?.bytes) || a.bytes <= 0 || a.bytes % fb !== 0) return bad(`read takes { bytes }, a positive multiple of the frame size (${fb})`);
        if (a.bytes > params.bufferFrames * fb) return bad(`a read may be at most the buffer (${params.bufferFrames} frames)`);
        if (a.into !== undefined && !(a.into instanceof Uint8Array && a.into.length >= a.bytes)) return bad(`into must be a Uint8Array of at least ${a.bytes} bytes`);
        if (a.at !== undefined && (!isInt(a.at) || a.at < 0)) return bad('read takes { at } as a frame index');
        return undefined;
      },
      check: (a: SoundCalls['read'], r) => (r instanceof Uint8Array && r.length === a.bytes ? undefined : `read of ${a.bytes} bytes returned something else`),
    },
    drain: { kind: 'request', idempotent: true, sideEffects: false, log: { kind: 'request' }, recovery: 'suspend', deadlineMs: 30_000,
      barrier: true, validate: (_a, s) => mustBeOpen(s), check: nothing },
    // A reset during recovery is queued; a second one while the first waits adds nothing.
    reset: { kind: 'request', idempotent: true, sideEffects: true, log: { kind: 'none' }, recovery: 'queue', coalesce: true,
      deadlineMs: 2000, validate: (_a, s) => mustBeOpen(s), check: nothing },
    position: { kind: 'query', idempotent: true, sideEffects: false, log: { kind: 'answer' }, recovery: 'log', deadlineMs: 1000,
      validate: (_a, s) => mustBeOpen(s),
      check: (_a, r) => (isCount((r as StreamPosition | undefined)?.played) && isCount((r as StreamPosition).written)
        ? undefined : 'position returned no frame counts') },
  },
  upcalls: {
    periodElapsed: { recovery: 'drop', validate: (a: SoundUpcalls['periodElapsed']) =>
      isInt(a?.played) && a.played >= 0 ? undefined : 'periodElapsed takes { played: frames }' },
  },
  registration: {
    validate(c: SoundCapabilities) {
      return capabilitiesProblem(c, 'registration:');
    },
    compatible(previous: SoundCapabilities, next: SoundCapabilities) {
      return JSON.stringify(previous) === JSON.stringify(next) ? undefined : 'the restarted driver offers different capabilities';
    },
  },
  hooks: {
    // The stream's position: frames written (playback) or read (capture), so a replayed open
    // continues where it was.
    observe(entry, args, _result, memory) {
      if (entry === 'open') { memory.written = (args as SoundCalls['open']).position ?? 0; memory.frameBytes = frameBytes(DEFAULT_PARAMS); }
      else if (entry === 'configure') memory.frameBytes = frameBytes(args as StreamParams);
      else if (entry === 'write') {
        const w = args as SoundCalls['write'];
        memory.written = Math.max(memory.written ?? 0, w.at + w.data.length / (memory.frameBytes ?? 1));
      } else if (entry === 'read') {
        const r = args as SoundCalls['read'];
        const at = r.at ?? memory.written ?? 0;
        memory.written = Math.max(memory.written ?? 0, at + r.bytes / (memory.frameBytes ?? 1));
      } else if (entry === 'reset') memory.written = 0;
    },
    reopen(_object, args, memory) {
      return { ...(args as SoundCalls['open']), position: memory.written ?? 0 };
    },
    patch(entry, _args, result, memory) {
      if (entry !== 'position') return result;
      const r = result as StreamPosition;
      const floor: StreamPosition = memory.reported ?? { written: 0, played: 0 };
      const patched = { written: Math.max(r.written, floor.written), played: Math.max(r.played, floor.played) };
      memory.reported = patched;
      return patched;
    },
  },
};

export { DeviceError } from '../driver-api.js';
export type { KernelServices, ResourceGrant } from '../driver-api.js';
import type { DriverFactory } from '../driver-api.js';

export function defineSoundDriver(factory: DriverFactory<SoundDriver>): DriverFactory<SoundDriver> {
  return factory;
}
