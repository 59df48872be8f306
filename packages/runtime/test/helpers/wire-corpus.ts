/**
 * The boundary fuzzer's corpus: arbitrary values and message batches, as a hostile or broken
 * driver could post them. One generator for the decoder's unit fuzzer (decode-fuzz.test.ts)
 * and for the fuzz that posts it from real domains (wire-fuzz.test.ts), so both see the same
 * cases. Every value is structured-cloneable: it can cross a worker's port or a process's
 * IPC channel (advanced serialization) as it is.
 */
import fc from 'fast-check';
import { kernelServices } from '../../src/kernel/services.js';

/** The message types of the wire (protocol.ts `FromDomain`). */
export const WIRE_TYPES = ['loaded', 'load-failed', 'reply', 'service', 'pong', 'fault'] as const;

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
}, { requiredKeys: ['t'] });

/** One raw batch, as one postMessage or IPC send carries it. */
export const wireBatch = fc.oneof(anything, fc.array(fc.oneof(nearMessage, anything), { maxLength: 12 }));

/** `count` batches from `seed`: the same corpus wherever it is drawn. */
export function wireCorpus(seed: number, count: number): unknown[] {
  return fc.sample(wireBatch, { seed, numRuns: count });
}
