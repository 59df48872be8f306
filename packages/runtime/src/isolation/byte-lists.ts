/**
 * Lists of byte arrays (a batch of frames) as both sides of a boundary handle them: a batch
 * crosses as one run of bytes and the lengths of its arrays, and is cut back into views.
 */

/** A non-empty list of byte arrays. */
export function isByteList(value: unknown): value is Uint8Array[] {
  if (!Array.isArray(value) || value.length === 0) return false;
  for (const item of value) if (!(item instanceof Uint8Array)) return false;
  return true;
}

/** The sum of `lengths`, or why they are not lengths (not a list of at most `max` whole numbers). */
export function totalOf(lengths: unknown, max: number): number | string {
  if (!Array.isArray(lengths) || lengths.length > max) return 'not a list of lengths';
  let sum = 0;
  for (const n of lengths) {
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) return 'a length that is not a whole number';
    sum += n;
  }
  return sum;
}

/** `bytes` cut into views of `lengths` in order (checked lengths: their sum is at most its length). */
export function cut(bytes: Uint8Array, lengths: readonly number[]): Uint8Array[] {
  const views = new Array<Uint8Array>(lengths.length);
  for (let i = 0, at = 0; i < lengths.length; at += lengths[i]!, i++) views[i] = bytes.subarray(at, at + lengths[i]!);
  return views;
}
