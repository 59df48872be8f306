/**
 * What the kernel's services record about the objects a driver acquires. The object tracker
 * implements it; the kernel only knows this interface.
 */
export interface TrackedObject {
  type: 'resource' | 'timer' | 'buffer' | 'child-process' | string;
  id: string | number;
  /** Kept across a driver failure: the kernel or the device still uses it. */
  kernelFacing: boolean;
  /** Frees it; called at most once. */
  release(): void;
  /** Bytes it accounts for (buffers), for resource limits. */
  bytes?: number;
}

export interface Holdings {
  hold(object: TrackedObject): void;
  holds(type: string, id: string | number): boolean;
  drop(type: string, id: string | number): boolean;
  count(type?: string): number;
  /** Bytes held in objects that account for memory (buffers). */
  bytesHeld(): number;
}
