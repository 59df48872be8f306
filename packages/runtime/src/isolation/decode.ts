/**
 * The kernel's decoder for everything a domain sends. Nothing from a driver is read before it
 * passes here: a batch must be an array of at most MAX_BATCH messages, each message a plain
 * object of a known type with fields of the declared types. Errors a driver reports are copied
 * into plain, bounded strings; getters run once, here, inside a try (a throwing getter or a
 * proxy is a malformed message). Anything else is a contract failure of that driver, never an
 * exception in the kernel. The `FromDomain` union in protocol.ts is the schema; the decoder
 * test checks every variant against it.
 */
import type { WireError } from '../errors.js';
import type { FromDomain } from './protocol.js';
import { liveStateEntries } from '../classes/contract.js';
import { MAX_PACKED_REPLIES, REPLY_IN_SLOT, REPLY_NUMBER, REPLY_UNDEFINED } from './packed.js';

/** Messages in one batch: the domain host sends at most 8; room for a slow kernel. */
export const MAX_BATCH = 1024;
/** Longest error message kept from a driver (longer ones are cut). */
export const MAX_ERROR_TEXT = 2000;
/** Longest kernel-service name. */
const MAX_NAME = 64;

export type Decoded = { ok: true; messages: FromDomain[] } | { ok: false; problem: string };

class Malformed extends Error {}

function fail(problem: string): never {
  throw new Malformed(problem);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function id(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) fail(`${what} is not an integer`);
  return v;
}

function text(v: unknown, what: string, max: number): string {
  if (typeof v !== 'string') fail(`${what} is not a string`);
  return v.length > max ? `${v.slice(0, max)}…` : v;
}

/** A plain copy of a reported error: message, and code and name when they are strings. */
export function wireError(v: unknown, what = 'error'): WireError {
  if (!isRecord(v)) fail(`${what} is not an object`);
  const message = text(v.message, `${what}.message`, MAX_ERROR_TEXT);
  const code = v.code;
  const name = v.name;
  const out: WireError = { message };
  if (code !== undefined) out.code = text(code, `${what}.code`, MAX_NAME);
  if (name !== undefined) out.name = text(name, `${what}.name`, MAX_NAME);
  return out;
}

/** Paths a service call's slots may name: a key of its `args` object (an upcall's `frames`). */
const SLOT_PATH = /^args\.[A-Za-z_$][\w$]{0,63}$/;
/** Slots per service call, at most. */
const MAX_SLOTS = 4;

/** A service call's `slots`: a few paths, each with an offset and a length (checked against the region where used). */
function serviceSlots(v: unknown): Record<string, [number, number]> {
  if (!isRecord(v)) fail('service.slots is not an object');
  const keys = Object.keys(v);
  if (keys.length > MAX_SLOTS) fail(`service.slots names more than ${MAX_SLOTS} arguments`);
  const out: Record<string, [number, number]> = {};
  for (const key of keys) {
    if (!SLOT_PATH.test(key)) fail('service.slots names something that is not an argument');
    const ref = v[key];
    if (!Array.isArray(ref) || ref.length !== 2) fail('service.slots has a slot that is not [offset, length]');
    const [offset, length] = ref as unknown[];
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || (offset as number) < 0 || (length as number) < 0) {
      fail('service.slots has a slot whose offset or length is not a whole number');
    }
    out[key] = [offset as number, length as number];
  }
  return out;
}

function message(m: unknown, index: number): FromDomain {
  if (!isRecord(m)) fail(`message ${index} is not an object`);
  const t = m.t;
  switch (t) {
    case 'pong': return { t, seq: id(m.seq, 'pong.seq') };
    case 'loaded': {
      // Only names the kernel knows are kept: a driver cannot make the kernel call anything else.
      if (m.hooks === undefined) return { t };
      if (!Array.isArray(m.hooks) || m.hooks.length > liveStateEntries.length) fail('loaded.hooks is not a short list');
      return { t, hooks: liveStateEntries.filter((name) => (m.hooks as unknown[]).includes(name)) };
    }
    case 'load-failed': return { t, error: wireError(m.error, 'load-failed.error') };
    case 'fault': {
      const kind = m.kind;
      if (kind !== 'exception' && kind !== 'rejection' && kind !== 'bad-kernel-call' && kind !== 'memory') {
        fail('fault.kind is not exception, rejection, bad-kernel-call or memory');
      }
      return { t, kind, error: wireError(m.error, 'fault.error') };
    }
    case 'service': {
      const name = text(m.name, 'service.name', MAX_NAME);
      if (m.slots === undefined) return { t, id: id(m.id, 'service.id'), name, args: m.args };
      return { t, id: id(m.id, 'service.id'), name, args: m.args, slots: serviceSlots(m.slots) };
    }
    case 'reply': {
      const replyId = id(m.id, 'reply.id');
      const ok = m.ok;
      if (ok === true) {
        if (m.inSlot === undefined) return { t, id: replyId, ok, value: m.value };
        const inSlot = id(m.inSlot, 'reply.inSlot');
        if (inSlot < 0) fail('reply.inSlot is negative');
        return { t, id: replyId, ok, value: undefined, inSlot };
      }
      if (ok !== false) fail('reply.ok is not a boolean');
      const device = m.device;
      if (typeof device !== 'boolean') fail('reply.device is not a boolean');
      return { t, id: replyId, ok, error: wireError(m.error, 'reply.error'), device };
    }
    default:
      return fail(`message ${index} has an unknown type ${typeof t === 'string' ? JSON.stringify(t.slice(0, MAX_NAME)) : typeof t}`);
  }
}

/**
 * A run of replies packed as [id, kind, value] triples (packed.ts), each checked as its
 * unpacked form would be, and expanded into `out`.
 */
function replies(m: Record<string, unknown>, out: FromDomain[]): void {
  const r = m.r;
  if (!(r instanceof Float64Array)) fail('replies.r is not a Float64Array');
  if (r.length % 3 !== 0) fail('replies.r is not a list of [id, kind, value] triples');
  if (r.length / 3 > MAX_PACKED_REPLIES) fail(`replies.r holds more than ${MAX_PACKED_REPLIES} replies`);
  for (let i = 0; i < r.length; i += 3) {
    const replyId = id(r[i], 'replies.r id');
    const kind = r[i + 1];
    const value = r[i + 2]!;
    if (kind === REPLY_UNDEFINED) {
      if (value !== 0) fail('replies.r has a reply of no value with a value');
      out.push({ t: 'reply', id: replyId, ok: true, value: undefined });
    } else if (kind === REPLY_NUMBER) {
      out.push({ t: 'reply', id: replyId, ok: true, value });
    } else if (kind === REPLY_IN_SLOT) {
      if (!Number.isSafeInteger(value) || value < 0) fail('replies.r has a slot length that is not a whole number');
      out.push({ t: 'reply', id: replyId, ok: true, value: undefined, inSlot: value });
    } else fail('replies.r has a reply of an unknown kind');
  }
}

/** Decodes one batch from a domain. Never throws. */
export function decodeBatch(raw: unknown): Decoded {
  try {
    if (!Array.isArray(raw)) return { ok: false, problem: `a batch that is not an array (${raw === null ? 'null' : typeof raw})` };
    const length = raw.length;
    if (length > MAX_BATCH) return { ok: false, problem: `a batch of ${length} messages (at most ${MAX_BATCH})` };
    const messages: FromDomain[] = [];
    for (let i = 0; i < length; i++) {
      const m: unknown = raw[i];
      if (isRecord(m) && m.t === 'replies') replies(m, messages);
      else messages.push(message(m, i));
    }
    return { ok: true, messages };
  } catch (err) {
    return { ok: false, problem: err instanceof Malformed ? err.message : 'a message whose fields could not be read' };
  }
}
