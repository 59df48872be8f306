/**
 * Calls and replies packed for the crossing. A message between threads or processes is a
 * structured clone: each object in it is walked, its keys written out and read back. For the
 * small requests that dominate a busy device (a 4 KiB read: an id, an entry, an offset, a
 * length, a buffer) that walk cost more than the request: 8 calls took 5.4 µs to send and 6.8
 * to receive as objects, 3.3 and 3.5 packed; 8 replies 2.1 and 3.9, packed 1.1 and 1.1.
 *
 * So a run of simple calls travels as one `calls` message: the numbers of all of them in one
 * array, their entries and argument names once per message, their buffers in a list of their
 * own. A run of simple replies travels as one `replies` message: a Float64Array of
 * [id, kind, value] triples. Everything else travels as it is. Packing keeps the order of a
 * batch; unpacking gives the messages the other side would have got unpacked.
 *
 * The kernel packs calls and the domain host unpacks them (the kernel is trusted). The domain
 * host packs replies, and the kernel's decoder (decode.ts) checks every triple before it
 * expands them: a driver that packs badly is a contract failure like any malformed message.
 */
import type { FromDomain, PackedCalls, PackedReplies, ToDomain } from './protocol.js';

/** A packed reply's kind: no value, a number, or that many bytes in the output the call was lent (`inSlot`). */
export const REPLY_UNDEFINED = 0;
export const REPLY_NUMBER = 1;
export const REPLY_IN_SLOT = 2;
/** Replies one `replies` message may carry, at most. */
export const MAX_PACKED_REPLIES = 1024;

const NAME = /^[A-Za-z_$][\w$]{0,63}$/;
const MIN_RUN = 2;

/** The argument names of a call that packs (a plain object of numbers and byte arrays), else undefined. */
function shapeOf(m: ToDomain): string[] | undefined {
  if (m.t !== 'call' || m.slots) return undefined;
  const args = m.args;
  if (!args || typeof args !== 'object' || Object.getPrototypeOf(args) !== Object.prototype) return undefined;
  const shape: string[] = [];
  for (const key of Object.keys(args)) {
    const value = (args as Record<string, unknown>)[key];
    if (!NAME.test(key) || key === '__proto__') return undefined; // set again, it would be a prototype
    if (typeof value === 'number') shape.push(key);
    else if (value instanceof Uint8Array) shape.push(`*${key}`);
    else return undefined;
  }
  return shape;
}

/** A kernel batch with each run of simple calls in one `calls` message. */
export function packCalls(batch: ToDomain[]): (ToDomain | PackedCalls)[] {
  let packable = 0;
  for (const m of batch) if (m.t === 'call') packable++;
  if (packable < MIN_RUN) return batch;
  const out: (ToDomain | PackedCalls)[] = [];
  let run: { m: Extract<ToDomain, { t: 'call' }>; shape: string[] }[] = [];
  const end = () => {
    if (run.length >= MIN_RUN) out.push(pack(run));
    else for (const { m } of run) out.push(m);
    run = [];
  };
  for (const m of batch) {
    const shape = shapeOf(m);
    if (shape) run.push({ m: m as Extract<ToDomain, { t: 'call' }>, shape });
    else { end(); out.push(m); }
  }
  end();
  return out;
}

function pack(run: { m: Extract<ToDomain, { t: 'call' }>; shape: string[] }[]): PackedCalls {
  const entries: string[] = [];
  const shapes: string[][] = [];
  const shapeKeys: string[] = [];
  const nums: number[] = [];
  const refs: unknown[] = [];
  for (const { m, shape } of run) {
    let entry = entries.indexOf(m.entry);
    if (entry < 0) entry = entries.push(m.entry) - 1;
    const key = shape.join(',');
    let s = shapeKeys.indexOf(key);
    if (s < 0) { s = shapeKeys.push(key) - 1; shapes.push(shape); }
    nums.push(m.id, entry, s);
    for (const value of Object.values(m.args as Record<string, unknown>)) {
      nums.push(typeof value === 'number' ? value : refs.push(value) - 1); // in the shape's order
    }
  }
  return { t: 'calls', entries, shapes, nums, refs };
}

/** A shape's argument names, and which of them are buffers (`*name`: an index into `refs`). */
function named(shape: string[]): { names: string[]; isRef: boolean[] } {
  const isRef = shape.map((name) => name.charCodeAt(0) === 42 /* * */);
  return { names: shape.map((name, k) => (isRef[k] ? name.slice(1) : name)), isRef };
}

/** The calls a `calls` message carries, as the kernel made them. */
export function unpackCalls(m: PackedCalls): Extract<ToDomain, { t: 'call' }>[] {
  const out: Extract<ToDomain, { t: 'call' }>[] = [];
  const { nums, entries, refs } = m;
  const shapes = m.shapes.map(named);
  for (let i = 0; i < nums.length;) {
    const id = nums[i++]!;
    const entry = entries[nums[i++]!]!;
    const { names, isRef } = shapes[nums[i++]!]!;
    const args: Record<string, unknown> = {};
    for (let k = 0; k < names.length; k++) args[names[k]!] = isRef[k] ? refs[nums[i++]!] : nums[i++];
    out.push({ t: 'call', id, entry, args });
  }
  return out;
}

/** A reply's packed kind and value, or undefined when it travels as it is. */
function replyOf(m: FromDomain): [number, number] | undefined {
  if (m.t !== 'reply' || !m.ok) return undefined;
  if (m.inSlot !== undefined) return [REPLY_IN_SLOT, m.inSlot];
  if (m.value === undefined) return [REPLY_UNDEFINED, 0];
  if (typeof m.value === 'number') return [REPLY_NUMBER, m.value];
  return undefined;
}

/** A domain's batch with each run of simple replies in one `replies` message. */
export function packReplies(batch: FromDomain[]): (FromDomain | PackedReplies)[] {
  if (batch.length < MIN_RUN) return batch;
  const out: (FromDomain | PackedReplies)[] = [];
  let run: [FromDomain, number, number][] = [];
  const end = () => {
    if (run.length >= MIN_RUN) {
      const r = new Float64Array(run.length * 3);
      run.forEach(([m, kind, value], i) => { r[i * 3] = (m as { id: number }).id; r[i * 3 + 1] = kind; r[i * 3 + 2] = value; });
      out.push({ t: 'replies', r });
    } else for (const [m] of run) out.push(m);
    run = [];
  };
  for (const m of batch) {
    const packed = replyOf(m);
    if (!packed) { end(); out.push(m); continue; }
    if (run.length >= MAX_PACKED_REPLIES) end();
    run.push([m, packed[0], packed[1]]);
  }
  end();
  return out;
}
