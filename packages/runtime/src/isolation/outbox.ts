/**
 * Items sent together: whatever is queued in one turn goes as one message at the end of it
 * (a microtask), or at once when `limit` items are waiting, so the other side can start on
 * the first ones while this side still makes the rest. A domain group's two sides use it.
 * Buffers an item gives up (`transfer`) move with the message that carries it.
 */
export class Outbox<T> {
  readonly #limit: number;
  readonly #send: (items: T[], transfer: ArrayBuffer[]) => void;
  #items: T[] = [];
  #transfer: ArrayBuffer[] = [];
  #scheduled = false;

  constructor(limit: number, send: (items: T[], transfer: ArrayBuffer[]) => void) {
    this.#limit = limit;
    this.#send = send;
  }

  push(item: T, transfer?: readonly ArrayBuffer[]): void {
    this.#items.push(item);
    if (transfer) for (const buffer of transfer) this.#transfer.push(buffer);
    if (this.#items.length >= this.#limit) return this.flush();
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(() => this.flush());
  }

  /** Sends what is waiting now (a control message must not overtake it). */
  flush(): void {
    this.#scheduled = false;
    if (this.#items.length === 0) return;
    const items = this.#items;
    const transfer = this.#transfer.length > 1 ? [...new Set(this.#transfer)] : this.#transfer; // each once
    this.#items = [];
    this.#transfer = [];
    this.#send(items, transfer);
  }
}
