/**
 * The boundary fuzzer's corpus: arbitrary values and message batches, as a hostile or broken
 * driver could post them. One generator for the decoder's unit fuzzer (decode-fuzz.test.ts)
 * and for the fuzz that posts it from real domains (wire-fuzz.test.ts), so both see the same
 * cases. Every value is structured-cloneable: it can cross a worker's port or a process's
 * wire (v8-serialized frames) as it is.
 */
import fc from 'fast-check';
import { kernelServices } from '../../src/kernel/services.js';

/** The message types of the wire (protocol.ts `FromDomainWire`). */
export const WIRE_TYPES = ['loaded', 'load-failed', 'reply', 'service', 'pong', 'fault', 'replies'] as const;

/** Anything a structured clone carries: null-prototype objects, boxed values, sparse arrays, Map, Set, BigInt, Date, typed arrays. */
const anything = fc.anything({
  withBoxedValues: true, withNullPrototype: true, withSparseArray: true, withBigInt: true,
  withDate: true, withMap: true, withSet: true, withTypedArray: true,
});

/** Values near the schema: the right tags and names with fields of any type, plus anything at all. */
const field = fc.oneof(anything, fc.integer(), fc.string(), fc.boolean(), fc.constant(undefined), fc.constant(null));
export const nearMessage = fc.record({
  t: fc.oneof(fc.constantFrom(...WIRE_TYPES), fc.string()),
  id: field, ok: field, value: field, error: fc.oneof(field, fc.record({ message: field, code: field, name: field })),
  device: field, name: fc.oneof(field, fc.constantFrom(...Object.keys(kernelServices))), args: field, seq: field,
  kind: fc.oneof(field, fc.constantFrom('exception', 'rejection', 'bad-kernel-call')),
  // Packed replies (packed.ts): [id, kind, value] triples, near the schema or not.
  r: fc.oneof(field, fc.float64Array({ maxLength: 9 }), fc.array(fc.constantFrom(1, 2, 0, 4096, 0.5, -1), { maxLength: 9 }).map((a) => Float64Array.from(a))),
}, { requiredKeys: ['t'] });

/**
 * Messages of Node's own IPC protocol (handle passing, cluster): a host that used Node's IPC
 * channel for process domains was ended by `{ cmd: 'NODE_HANDLE_ACK' }` from a driver.
 */
export const nodeInternal = fc.record({
  cmd: fc.oneof(fc.constantFrom('NODE_HANDLE', 'NODE_HANDLE_ACK', 'NODE_HANDLE_NACK', 'NODE_CLUSTER'), fc.string().map((s) => `NODE_${s}`)),
  type: field, msg: field, key: field,
}, { requiredKeys: ['cmd'] });

/** One raw batch, as one postMessage or frame carries it. */
export const wireBatch = fc.oneof(
  { arbitrary: anything, weight: 4 },
  { arbitrary: fc.array(fc.oneof(nearMessage, anything), { maxLength: 12 }), weight: 4 },
  { arbitrary: nodeInternal, weight: 1 },
);

/** `count` batches from `seed`: the same corpus wherever it is drawn. */
export function wireCorpus(seed: number, count: number): unknown[] {
  return fc.sample(wireBatch, { seed, numRuns: count });
}
