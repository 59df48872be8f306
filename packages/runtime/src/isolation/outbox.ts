/**
 * Items sent together: whatever is queued in one turn goes as one message at the end of it
 * (a microtask), or at once when `limit` items are waiting, so the other side can start on
 * the first ones while this side still makes the rest. A domain group's two sides use it.
 */
export class Outbox<T> {
  readonly #limit: number;
  readonly #send: (items: T[]) => void;
  #items: T[] = [];
  #scheduled = false;

  constructor(limit: number, send: (items: T[]) => void) {
    this.#limit = limit;
    this.#send = send;
  }

  push(item: T): void {
    this.#items.push(item);
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
    this.#items = [];
    this.#send(items);
  }
}
