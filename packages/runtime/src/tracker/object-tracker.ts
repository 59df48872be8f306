/**
 * The object tracker: every kernel object a driver instance holds, recorded when it is
 * acquired. When the driver fails, one call releases them in reverse order of acquisition,
 * except the kernel-facing ones (the disk handle, the TAP descriptor), which are kept so the
 * kernel never sees its device disappear.
 */
import type { Holdings, TrackedObject } from '../kernel/holdings.js';

export interface ReleaseReport {
  released: TrackedObject[];
  kept: TrackedObject[];
}

export class ObjectTracker implements Holdings {
  readonly #objects = new Map<string, TrackedObject>();

  hold(object: TrackedObject): void {
    const key = keyOf(object.type, object.id);
    if (this.#objects.has(key)) throw new Error(`${key} is already held`);
    this.#objects.set(key, object);
  }

  holds(type: string, id: string | number): boolean {
    return this.#objects.has(keyOf(type, id));
  }

  /** The driver gave the object back: release it now (kernel-facing objects stay open). */
  drop(type: string, id: string | number): boolean {
    const key = keyOf(type, id);
    const object = this.#objects.get(key);
    if (!object) return false;
    this.#objects.delete(key);
    if (!object.kernelFacing) object.release();
    return true;
  }

  count(type?: string): number {
    if (type === undefined) return this.#objects.size;
    let n = 0;
    for (const o of this.#objects.values()) if (o.type === type) n++;
    return n;
  }

  bytesHeld(): number {
    let n = 0;
    for (const o of this.#objects.values()) n += o.bytes ?? 0;
    return n;
  }

  /** Releases everything the driver held, newest first; kernel-facing objects are kept. */
  releaseAll(): ReleaseReport {
    const report: ReleaseReport = { released: [], kept: [] };
    for (const object of [...this.#objects.values()].reverse()) {
      if (object.kernelFacing) { report.kept.push(object); continue; }
      try { object.release(); } finally { report.released.push(object); }
    }
    this.#objects.clear();
    return report;
  }
}

function keyOf(type: string, id: string | number): string {
  return `${type}:${id}`;
}
