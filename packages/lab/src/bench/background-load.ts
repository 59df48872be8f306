/**
 * A small application load that keeps running while drivers fail under it: a few lanes of
 * 4 KiB random reads and writes, each lane pausing a millisecond between requests. It records
 * how long each request took, so the benchmark can report the longest wait an application
 * saw across a recovery, and counts every request that failed (with a shadow: none should).
 */
import type { BlockDevice } from 'shadow-drivers';
import { seededRandom } from './stats.js';

const BLOCK = 4096;

export class BackgroundLoad {
  readonly #disk: BlockDevice;
  readonly #blocks: number;
  readonly #random = seededRandom(7);
  readonly #payload = new Uint8Array(BLOCK).fill(0x5a);
  #running = false;
  #lanes: Promise<void>[] = [];
  /** Completion time and latency of recent requests, in order of completion. */
  #done: { at: number; latency: number }[] = [];
  #completed = 0;
  #waiters: { count: number; resolve(): void }[] = [];
  errors = 0;
  lastError: unknown;

  constructor(disk: BlockDevice, sizeBytes: number) {
    this.#disk = disk;
    this.#blocks = Math.floor(sizeBytes / BLOCK);
  }

  start(lanes: number): void {
    this.#running = true;
    this.#lanes = Array.from({ length: lanes }, (_, i) => this.#lane(i));
  }

  async stop(): Promise<void> {
    this.#running = false;
    await Promise.all(this.#lanes);
  }

  get completed(): number {
    return this.#completed;
  }

  /** Resolves once `count` more requests have completed (successfully or not). */
  completions(count: number): Promise<void> {
    const target = this.#completed + count;
    return new Promise((resolve) => this.#waiters.push({ count: target, resolve }));
  }

  /** The longest a request that completed at or after `since` waited. */
  longestWaitSince(since: number): number {
    let longest = 0;
    for (let i = this.#done.length - 1; i >= 0 && this.#done[i]!.at >= since; i--) {
      longest = Math.max(longest, this.#done[i]!.latency);
    }
    return longest;
  }

  async #lane(index: number): Promise<void> {
    while (this.#running) {
      const offset = Math.floor(this.#random() * this.#blocks) * BLOCK;
      const start = performance.now();
      try {
        if (index % 2 === 0) await this.#disk.read(offset, BLOCK);
        else await this.#disk.write(offset, this.#payload);
      } catch (err) {
        this.errors++;
        this.lastError = err;
      }
      const at = performance.now();
      this.#done.push({ at, latency: at - start });
      if (this.#done.length > 20_000) this.#done.splice(0, 10_000); // bounded memory
      this.#completed++;
      this.#wake();
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  }

  #wake(): void {
    const reached = this.#waiters.filter((w) => w.count <= this.#completed);
    if (reached.length === 0) return;
    this.#waiters = this.#waiters.filter((w) => w.count > this.#completed);
    for (const w of reached) w.resolve();
  }
}
