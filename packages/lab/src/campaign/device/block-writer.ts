/**
 * The application of the block device-fault scenarios: it writes seeded 16 KiB blocks over a
 * small disk and reads each back, keeps a model of what the disk must hold, and retries a
 * request the device refused with SD_ERR_IO (as a careful application does with EIO). Any
 * other error, or a retry that never succeeds, is an error of its own. At the end every block
 * is read and compared with the model.
 */
import { ErrorCodes } from 'shadow-drivers';
import type { BlockDevice } from 'shadow-drivers';

export const BLOCK = 16 * 1024;
const RETRY_LIMIT = 200;

export interface WriterStats {
  /** Requests done (writes and read-backs). */
  requests: number;
  /** Requests the device refused with SD_ERR_IO, each later retried. */
  deviceErrors: number;
  /** Other errors, or a request that kept failing: what the application could not get past. */
  errors: number;
  mismatches: number;
  problems: string[];
  /** The longest a single request took, retries included, ms. */
  longestMs: number;
}

export class BlockWriter {
  readonly stats: WriterStats = { requests: 0, deviceErrors: 0, errors: 0, mismatches: 0, problems: [], longestMs: 0 };
  readonly #disk: BlockDevice;
  readonly #blocks: number;
  readonly #random: () => number;
  readonly #model: Uint8Array[] = [];
  #running = false;
  #done: Promise<void> = Promise.resolve();

  constructor(disk: BlockDevice, blocks: number, random: () => number) {
    this.#disk = disk;
    this.#blocks = blocks;
    this.#random = random;
  }

  start(): void {
    this.#running = true;
    this.#done = this.#loop();
  }

  async stop(): Promise<void> {
    this.#running = false;
    await this.#done;
  }

  /** Reads every block the application wrote and compares it with the model. */
  async verify(): Promise<void> {
    for (let i = 0; i < this.#blocks; i++) {
      const expected = this.#model[i];
      if (!expected) continue;
      const got = await this.#retrying(() => this.#disk.read(i * BLOCK, BLOCK));
      if (got && Buffer.compare(Buffer.from(got.value), Buffer.from(expected)) !== 0) this.#problem(`block ${i} differs from what was written`, true);
    }
  }

  async #loop(): Promise<void> {
    // An error the application cannot get past ends its work (and never spins without yielding).
    while (this.#running && this.stats.errors === 0) {
      const i = Math.floor(this.#random() * this.#blocks);
      const data = new Uint8Array(BLOCK);
      for (let j = 0; j < BLOCK; j += 4) new DataView(data.buffer).setUint32(j, Math.floor(this.#random() * 2 ** 32));
      if ((await this.#retrying(() => this.#disk.write(i * BLOCK, data))) === undefined) continue;
      this.#model[i] = data;
      const back = await this.#retrying(() => this.#disk.read(i * BLOCK, BLOCK));
      if (back && Buffer.compare(Buffer.from(back.value), Buffer.from(data)) !== 0) this.#problem(`block ${i} read back other bytes`, true);
    }
  }

  /** One request, retried while the device refuses it with SD_ERR_IO; undefined when it never succeeded. */
  async #retrying<T>(request: () => Promise<T>): Promise<{ value: T } | undefined> {
    const started = performance.now();
    try {
      for (let attempt = 0; attempt < RETRY_LIMIT; attempt++) {
        try {
          const value = await request();
          this.stats.requests++;
          return { value };
        } catch (err) {
          const code = (err as { code?: string }).code;
          if (code !== ErrorCodes.IO) { this.#problem(`${code ?? 'error'}: ${(err as Error).message}`); return undefined; }
          this.stats.deviceErrors++;
          await new Promise((r) => setTimeout(r, 10));
        }
      }
      this.#problem(`a request still failed with SD_ERR_IO after ${RETRY_LIMIT} attempts`);
      return undefined;
    } finally {
      this.stats.longestMs = Math.max(this.stats.longestMs, performance.now() - started);
    }
  }

  #problem(message: string, mismatch = false): void {
    if (mismatch) this.stats.mismatches++;
    else this.stats.errors++;
    if (this.stats.problems.length < 3) this.stats.problems.push(message);
  }
}
