/**
 * The shadow's passive-mode log: only what a fresh driver needs to reach the failed driver's
 * state. Its size is bounded by (settings + open objects + answers + requests in flight +
 * requests not yet behind a barrier, themselves bounded by their rule), never by how many
 * calls were made: superseded settings are compacted away, closed objects removed, completed
 * requests forgotten (those a driver may still cache: once a barrier after them completed).
 */
import type { EntryPoint } from '../classes/contract.js';

export interface LogEntry {
  /** Order of the call that produced it; replay follows it. */
  seq: number;
  entry: string;
  args: unknown;
}

/** A call the shadow is responsible for until it completes or is given an honest outcome. */
export interface CallRecord extends LogEntry {
  decl: EntryPoint;
  /** Consecutive driver failures of one kind this call was in flight at. */
  failures: number;
  /** The kind of the last of those failures. */
  failureKind?: string;
  /** The application's promise, once the shadow has taken the call over. */
  settle?: { resolve(value: unknown): void; reject(error: unknown): void };
  /** A barrier (flush): how many kept requests had completed when it was issued. */
  barrierMark?: number;
}

/** The open objects and settings a live update replayed ahead, as they were logged then. */
export interface ReplayMark {
  objects: Map<string, LogEntry>;
  settings: Map<string, LogEntry>;
  /** The newest call replayed ahead: an older one completing later was missed. */
  lastSeq: number;
}

/** A completed request the driver may still hold in a volatile cache. */
interface KeptEntry extends LogEntry {
  completion: number;
  bytes: number;
  key: string | undefined;
}

export class ShadowLog {
  readonly settings = new Map<string, LogEntry>();
  readonly objects = new Map<string, LogEntry>();
  readonly answers = new Map<string, unknown>();
  readonly inFlight = new Map<number, CallRecord>();
  /** Completed requests not yet behind a completed barrier, in completion order. */
  readonly unflushed = new Map<number, KeptEntry>();
  #unflushedBytes = 0;
  /** The kept request of each key (rule `key`): a later one supersedes it. */
  readonly #keptByKey = new Map<string, number>();
  /** Requests kept so far (a barrier covers at least those completed before it was issued). */
  completions = 0;

  /**
   * Applies an entry point's log rule to a call that completed. `durable`: the driver said an
   * acknowledged request cannot be lost with it (rule `until-barrier`'s `durable`).
   */
  completed(record: CallRecord, result: unknown, durable = false): void {
    this.inFlight.delete(record.seq);
    const rule = record.decl.log;
    if (rule.kind === 'request' || rule.kind === 'none') return; // the hot path keeps nothing
    if (rule.kind === 'until-barrier') return durable ? undefined : this.#keep(record);
    const item: LogEntry = { seq: record.seq, entry: record.entry, args: replayArgs(record) };
    switch (rule.kind) {
      case 'setting': {
        const key = rule.key(record.args);
        this.settings.delete(key); // re-inserted last: replay keeps the order of the survivors
        this.settings.set(key, item);
        return;
      }
      case 'open':
        this.objects.set(rule.object(record.args), item);
        return;
      case 'close': {
        const object = rule.object(record.args);
        this.objects.delete(object);
        for (const key of [...this.settings.keys()]) if (key.startsWith(`${object}:`)) this.settings.delete(key);
        return;
      }
      case 'reset':
        this.settings.clear();
        return;
      case 'answer':
        this.answers.set(answerKey(record.entry, rule.key?.(record.args)), result);
        return;
    }
  }

  /** The application may reuse its buffers once acknowledged: the log keeps its own copies. */
  #keep(record: CallRecord): void {
    let bytes = 64;
    const args = record.args !== null && typeof record.args === 'object' ? { ...(record.args as Record<string, unknown>) } : record.args;
    if (args !== null && typeof args === 'object') {
      for (const [key, value] of Object.entries(args)) {
        if (value instanceof Uint8Array) { (args as Record<string, unknown>)[key] = value.slice(); bytes += value.length; }
      }
    }
    const completion = ++this.completions;
    const rule = record.decl.log;
    const key = rule.kind === 'until-barrier' && rule.key ? rule.key(record.args) : undefined;
    if (key !== undefined) {
      const superseded = this.#keptByKey.get(key);
      if (superseded !== undefined) this.#forget(superseded);
      this.#keptByKey.set(key, completion);
    }
    this.unflushed.set(completion, { seq: record.seq, entry: record.entry, args, completion, bytes, key });
    this.#unflushedBytes += bytes;
  }

  #forget(completion: number): void {
    const kept = this.unflushed.get(completion);
    if (!kept) return;
    this.unflushed.delete(completion);
    this.#unflushedBytes -= kept.bytes;
    if (kept.key !== undefined && this.#keptByKey.get(kept.key) === completion) this.#keptByKey.delete(kept.key);
  }

  /** A barrier completed: every kept request completed before it was issued is on the medium. */
  barrierCompleted(mark: number): void {
    for (const completion of this.unflushed.keys()) {
      if (completion > mark) break; // completion order: the rest came later
      this.#forget(completion);
    }
  }

  get unflushedBytes(): number {
    return this.#unflushedBytes;
  }

  /** Kept requests, in the order they completed: replayed after objects and settings. */
  unflushedList(): LogEntry[] {
    return [...this.unflushed.values()];
  }

  answer(entry: string, key: string | undefined): { found: boolean; value: unknown } {
    const k = answerKey(entry, key);
    return { found: this.answers.has(k), value: this.answers.get(k) };
  }

  /** Open objects and settings, in the order the calls that made them were issued. */
  replayList(): LogEntry[] {
    return [...this.objects.values(), ...this.settings.values()].sort((a, b) => a.seq - b.seq);
  }

  /** Requests in flight, oldest first. */
  outstanding(): CallRecord[] {
    return [...this.inFlight.values()].sort((a, b) => a.seq - b.seq);
  }

  get size(): number {
    return this.settings.size + this.objects.size + this.answers.size + this.inFlight.size + this.unflushed.size;
  }
}

function answerKey(entry: string, key: string | undefined): string {
  return key === undefined ? entry : `${entry}:${key}`;
}

/** A call's arguments without its output buffer: a fresh one is provided on every issue. */
export function replayArgs(record: CallRecord): unknown {
  const bulk = record.decl.bulkOut;
  if (!bulk || !record.args || typeof record.args !== 'object') return record.args;
  const { [bulk.arg]: _dropped, ...rest } = record.args as Record<string, unknown>;
  return rest;
}
