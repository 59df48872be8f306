/**
 * What arrives on a tty while its driver recovers, read by the kernel on its own descriptor into
 * one bounded buffer. The tty's input queue is small (4 KiB in the line discipline, 64 KiB of
 * tty buffers behind it) and a new serialport driver's open may flush it; while no driver runs,
 * the kernel takes the bytes out itself, and the class's shadow gives them out before anything
 * the new driver reads.
 *
 * Ordering: the hold starts once the failed driver's domain is gone (no reader left), and stops
 * once the new driver's replay is done (its open has completed) and before it is asked to read:
 * every byte held arrived before any byte left in the queue. Nobody reads the queue meanwhile.
 *
 * The bound: at `limitBytes` the hold stops reading and counts it; later bytes stay in the tty's
 * queue, whose own bound then applies: a pty's writer blocks (nothing lost), a real UART's driver
 * drops what overflows its buffers (and counts it as an overrun in its own counters, where the
 * kernel cannot see it).
 */
import { readSync } from 'node:fs';

/** How often the hold empties the tty's queue while it runs: well within 4 KiB at 115,200 baud (about 350 ms). */
const PERIOD_MS = 5;

/** One read's room, shared: most reads find nothing (EAGAIN), and none should allocate for it. */
const scratch = Buffer.alloc(65536);

export interface HeldInput {
  bytes: Uint8Array;
  /** The hold reached its bound: it stopped reading, and later bytes waited in the tty's queue. */
  full: boolean;
}

export class InputHold {
  readonly #fd: number;
  readonly #limitBytes: number;
  #chunks: Buffer[] = [];
  #size = 0;
  #full = false;
  #timer: NodeJS.Timeout | undefined;
  /** Times the hold reached its bound, over the device's life. */
  fullCount = 0;

  constructor(fd: number, limitBytes: number) {
    this.#fd = fd;
    this.#limitBytes = limitBytes;
  }

  /** Bytes held now. */
  get heldBytes(): number {
    return this.#size;
  }

  get running(): boolean {
    return this.#timer !== undefined;
  }

  /** Starts holding (again, after an earlier stop; a second start while running changes nothing). */
  start(): void {
    if (this.#timer) return;
    this.#take();
    this.#timer = setInterval(() => this.#take(), PERIOD_MS);
    this.#timer.unref(); // recovery itself keeps the process going; this alone must not
  }

  /** Stops holding, with one last read; returns what was held and forgets it. */
  stop(): HeldInput {
    if (this.#timer) {
      clearInterval(this.#timer);
      this.#timer = undefined;
      this.#take();
    }
    const held = { bytes: new Uint8Array(Buffer.concat(this.#chunks)), full: this.#full };
    this.#chunks = [];
    this.#size = 0;
    this.#full = false;
    return held;
  }

  /** Reads without blocking until the queue is empty or the bound is reached. */
  #take(): void {
    while (!this.#full) {
      const room = this.#limitBytes - this.#size;
      if (room <= 0) {
        this.#full = true;
        this.fullCount++;
        return;
      }
      let n: number;
      try {
        n = readSync(this.#fd, scratch, 0, Math.min(room, scratch.length), null);
      } catch {
        return; // EAGAIN: nothing waits; EIO/EBADF: the far end hung up or the device is gone (the kernel's own check says which)
      }
      if (n === 0) return;
      this.#chunks.push(Buffer.from(scratch.subarray(0, n))); // a copy: the scratch is read into again
      this.#size += n;
    }
  }
}
