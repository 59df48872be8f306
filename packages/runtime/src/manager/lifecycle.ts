/**
 * A device's lifecycle, as one state machine with one owner: the allowed transitions are a
 * table, every change goes through `to()`, and each is published. Nothing else writes the
 * state; a transition the table does not allow is a bug in the runtime and throws at once,
 * instead of leaving a device half in two states (the failure the table prevents: a recovery
 * resuming a device that was detached or given up while it ran).
 *
 *   starting ──► running ◄──► recovering      running ◄──► updating ──► recovering
 *      │            │              │
 *      └────────────┴──► gave-up ◄─┘      (every state but closed may end in closed)
 *                           │
 *                           ▼
 *                         closed
 */
/** `updating`: a live update holds the device's calls while the old driver quiesces and the new one takes over. */
export type DriverState = 'starting' | 'running' | 'updating' | 'recovering' | 'gave-up' | 'closed';

export const transitions: Readonly<Record<DriverState, readonly DriverState[]>> = {
  starting: ['running', 'gave-up', 'closed'],
  running: ['recovering', 'updating', 'gave-up', 'closed'],
  // A live update ends switched (running), or in a recovery (the old driver failed while it
  // quiesced, or the new one during replay: the previous version comes back through it).
  updating: ['running', 'recovering', 'gave-up', 'closed'],
  recovering: ['running', 'gave-up', 'closed'],
  'gave-up': ['closed'],
  closed: [],
};

export interface StateChange {
  from: DriverState;
  to: DriverState;
  why: string;
}

export class Lifecycle {
  #state: DriverState = 'starting';
  readonly #changed: (change: StateChange) => void;

  constructor(changed: (change: StateChange) => void = () => undefined) {
    this.#changed = changed;
  }

  get state(): DriverState {
    return this.#state;
  }

  /** Closed or gave up: the device serves no more, whatever was running stops at its next step. */
  get over(): boolean {
    return this.#state === 'closed' || this.#state === 'gave-up';
  }

  is(...states: DriverState[]): boolean {
    return states.includes(this.#state);
  }

  /** Moves to `next`; throws on a transition the table does not allow. */
  to(next: DriverState, why: string): void {
    const from = this.#state;
    if (!transitions[from].includes(next)) throw new Error(`device lifecycle: no transition from ${from} to ${next} (${why})`);
    this.#state = next;
    this.#changed({ from, to: next, why });
  }
}
