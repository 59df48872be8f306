/**
 * An application for tests: keeps a model of what every block should hold, keeps requests in
 * flight against a block device, and checks every read against the model. Any rejected call
 * is an application-visible error.
 */
import type { BlockDevice } from '../kernel/block-device.js';

export const BLOCK = 4096;

export function blockContent(index: number, generation: number): Uint8Array {
  const out = new Uint8Array(BLOCK);
  const view = new DataView(out.buffer);
  for (let i = 0; i < BLOCK; i += 8) {
    view.setUint32(i, index, true);
    view.setUint32(i + 4, generation * 2654435761 + i, true);
  }
  return out;
}

export class BlockWorkload {
  readonly disk: BlockDevice;
  readonly blocks: number;
  readonly generations: number[];
  readonly errors: unknown[] = [];
  mismatches = 0;
  completed = 0;
  #busy = new Set<number>();
  #seed: number;

  constructor(disk: BlockDevice, blocks: number, seed = 1) {
    this.disk = disk;
    this.blocks = blocks;
    this.generations = new Array(blocks).fill(0);
    this.#seed = seed;
  }

  #random(n: number): number {
    this.#seed = (this.#seed * 1103515245 + 12345) >>> 0;
    return this.#seed % n;
  }

  /** Writes every block once, so the whole data set is known. */
  async fill(): Promise<void> {
    for (let b = 0; b < this.blocks; b++) {
      this.generations[b] = 1;
      await this.disk.write(b * BLOCK, blockContent(b, 1));
    }
  }

  /** One random operation on a block nobody else is using (so the model stays exact). */
  async step(): Promise<void> {
    let b = this.#random(this.blocks);
    while (this.#busy.has(b)) b = (b + 1) % this.blocks;
    this.#busy.add(b);
    try {
      const op = this.#random(10);
      if (op < 5) {
        const generation = this.generations[b]! + 1;
        await this.disk.write(b * BLOCK, blockContent(b, generation));
        this.generations[b] = generation;
      } else if (op < 9) {
        this.#check(b, await this.disk.read(b * BLOCK, BLOCK));
      } else {
        await this.disk.flush();
      }
      this.completed++;
    } catch (err) {
      this.errors.push(err);
    } finally {
      this.#busy.delete(b);
    }
  }

  /** Keeps `depth` requests in flight until `stop()` returns true. */
  async run(depth: number, stop: () => boolean): Promise<void> {
    const lane = async () => { while (!stop() && this.errors.length === 0) await this.step(); };
    await Promise.all(Array.from({ length: depth }, lane));
  }

  /** Reads back the whole data set and compares it with the model. */
  async verifyAll(): Promise<void> {
    for (let b = 0; b < this.blocks; b++) {
      try { this.#check(b, await this.disk.read(b * BLOCK, BLOCK)); } catch (err) { this.errors.push(err); }
    }
  }

  #check(b: number, data: Uint8Array): void {
    const expected = blockContent(b, this.generations[b]!);
    if (Buffer.compare(Buffer.from(data.buffer, data.byteOffset, data.byteLength), Buffer.from(expected)) !== 0) this.mismatches++;
  }
}
