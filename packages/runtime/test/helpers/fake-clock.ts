/** A clock tests advance by hand: timers fire in time order, nothing waits for real time. */
import type { Cancel, Clock } from '../../src/clock.js';

interface Timer { at: number; every: number | undefined; fn: () => void; cancelled: boolean }

export class FakeClock implements Clock {
  #now = 0;
  #timers: Timer[] = [];

  now(): number {
    return this.#now;
  }

  after(ms: number, fn: () => void): Cancel {
    return this.#add({ at: this.#now + ms, every: undefined, fn, cancelled: false });
  }

  every(ms: number, fn: () => void): Cancel {
    return this.#add({ at: this.#now + ms, every: ms, fn, cancelled: false });
  }

  /** Moves time forward, firing every timer that falls due, in order. */
  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      const next = this.#timers.filter((t) => !t.cancelled && t.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!next) break;
      this.#now = next.at;
      if (next.every === undefined) next.cancelled = true;
      else next.at += next.every;
      next.fn();
    }
    this.#now = end;
    this.#timers = this.#timers.filter((t) => !t.cancelled);
  }

  /** Milliseconds until the next one-shot timer is due, or undefined. */
  nextOneShot(): number | undefined {
    const due = this.#timers.filter((t) => !t.cancelled && t.every === undefined).map((t) => t.at - this.#now);
    return due.length ? Math.min(...due) : undefined;
  }

  get pending(): number {
    return this.#timers.filter((t) => !t.cancelled).length;
  }

  #add(timer: Timer): Cancel {
    this.#timers.push(timer);
    return { cancel: () => { timer.cancelled = true; } };
  }
}
