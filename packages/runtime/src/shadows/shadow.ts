/**
 * The generic shadow driver: one `Shadow` per device, applying its class contract (the policy,
 * as data) to the driver it watches, across every incarnation of that driver.
 *
 * Passive mode: the kernel->driver tap reports every call and result here; the shadow keeps
 * the bounded log. Active mode: the taps point here; each call is answered by its entry
 * point's declared action (log, busy, suspend, queue, drop, fail), the restarted driver's
 * registration is answered with the preserved device, the log is replayed, and requests that
 * were in flight are resubmitted by their idempotency, or given an honest outcome.
 */
import { barriersOf, type ClassContract, type EntryPoint } from '../classes/contract.js';
import { DriverFailure, ErrorCodes, ShadowError, type ErrorCode, type Outcome } from '../errors.js';
import type { CallTarget, TapObserver } from '../taps/tap.js';
import { isDeviceAnswer } from '../classes/error-table.js';
import { ShadowLog, type CallRecord, type LogEntry, type ReplayMark } from './shadow-log.js';

export type ShadowMode = 'passive' | 'active';

const QUARANTINE_LIMIT = 256;

/** What makes two requests the same request: the entry point and its arguments. */
export function signature(entry: string, args: unknown): string {
  return `${entry}:${JSON.stringify(args, (_key, value: unknown) =>
    value instanceof Uint8Array ? `bytes:${value.length}:${checksum(value)}` : value)}`;
}

/**
 * A deterministic bug kills the driver the same way every time. Counting only consecutive
 * failures of one kind keeps a slow request that happens to be in flight during unrelated
 * faults (a crash, then a hang elsewhere) from being taken for a poison request.
 */
function countFailure(record: CallRecord, failure: DriverFailure): void {
  record.failures = record.failureKind === failure.kind ? record.failures + 1 : 1;
  record.failureKind = failure.kind;
}

function checksum(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return h >>> 0;
}

/** Kernel-to-driver callbacks (timers) are events: dropped while the driver recovers. */
const CALLBACK: EntryPoint = {
  kind: 'event', idempotent: false, sideEffects: false, log: { kind: 'none' }, recovery: 'drop', deadlineMs: 1000,
};

export interface ShadowOptions {
  /** A request in flight at this many consecutive failures is quarantined. */
  poisonThreshold: number;
  /** What the kernel knows of the device (the registration the restarted driver must match). */
  registered(): unknown;
  /** Told when a request is quarantined or given up. */
  onQuarantine?(record: CallRecord, outcome: Outcome): void;
  /**
   * Told when this many requests in a row were quarantined with none completing in between:
   * the fault is not in one request but in the driver, and restarting it cannot help.
   */
  brokenAfter?: number;
  onBroken?(quarantined: number): void;
  /**
   * Issues a call to the driver as the kernel would (through the taps): the barrier the shadow
   * asks for when requests kept until a barrier reach their bound (back-pressure).
   */
  issue?: CallTarget;
}

interface Waiting {
  entry: string;
  args: unknown;
  decl: EntryPoint;
  settle?: { resolve(value: unknown): void; reject(error: unknown): void };
}

/** A device's shadow driver: its class's policy (the contract, as data) applied to one device. */
export class Shadow {
  readonly contract: ClassContract;
  readonly log = new ShadowLog();
  /** Class hooks' own state (counters, positions). */
  readonly memory: Record<string, any> = {};
  #mode: ShadowMode = 'passive';
  /** A planned switch (live update): calls that would be refused wait instead (nothing failed). */
  #planned = false;
  #seq = 0;
  #waiting: Waiting[] = [];
  #queuedUpcalls: unknown[] = [];
  #gaveUp: ShadowError | undefined;
  #quarantineStreak = 0;
  /** Signatures of quarantined requests: the same request again is refused, not re-run. */
  readonly #quarantined = new Map<string, number>();
  readonly #options: ShadowOptions;
  /** Entry points that are some `until-barrier` rule's barrier (flush). */
  readonly #barriers: Set<string>;
  /** The barrier the shadow issued for back-pressure, while it runs (one at a time). */
  #barrierRun: Promise<unknown> | undefined;

  constructor(contract: ClassContract, options: ShadowOptions) {
    this.contract = contract;
    this.#options = options;
    this.#barriers = barriersOf(contract);
  }

  get mode(): ShadowMode {
    return this.#mode;
  }

  /** Passive mode: what the kernel->driver tap reports to. */
  readonly observer: TapObserver<CallRecord> = {
    before: (entry, args) => {
      const record: CallRecord = { seq: ++this.#seq, entry, args, decl: this.#decl(entry), failures: 0 };
      if (this.#barriers.has(entry)) record.barrierMark = this.log.completions;
      this.log.inFlight.set(record.seq, record);
      return record;
    },
    after: (record, result) => this.#completed(record, result),
    failed: (record, error) => this.#failed(record, error),
  };

  /** Passive mode: what the driver->kernel tap reports to (upcalls feed the class hooks). */
  readonly serviceObserver: TapObserver<{ name: string; args: unknown }> = {
    before: (name, args) => ({ name, args }),
    after: (call, result) => {
      if (call.name === 'upcall' && this.contract.hooks.upcall) {
        const { name, args } = call.args as { name: string; args: unknown };
        this.contract.hooks.upcall(name, args, this.memory);
      }
      return result;
    },
    failed: (_call, error) => Promise.reject(error),
  };

  /**
   * Passive mode: a request identical to one already quarantined is refused before it reaches
   * (and kills) the driver again. Costs nothing while nothing is quarantined.
   */
  screen(next: CallTarget): CallTarget {
    return (entry, args) => {
      if (this.#quarantined.size > 0 && this.#quarantined.has(this.#signature(entry, args))) {
        return Promise.reject(new ShadowError(ErrorCodes.POISON_REQUEST,
          `${entry} matches a quarantined request and was refused without running`, { outcome: 'not-executed' }));
      }
      return next(entry, args);
    };
  }

  /** Active mode: how the shadow answers the kernel for the driver. */
  readonly answer: CallTarget = async (entry, args) => {
    if (this.#gaveUp) throw this.#gaveUpError('not-executed');
    const decl = this.#decl(entry);
    const action = decl.recovery;
    if (action === 'log') {
      const kept = this.log.answer(entry, decl.log.kind === 'answer' ? decl.log.key?.(args) : undefined);
      if (kept.found) return kept.value;
      return this.#wait(entry, args, decl); // nothing to answer with yet: the caller waits
    }
    // A live update is planned: an application must see a pause, never a refusal.
    if (this.#planned && (action === 'busy' || typeof action === 'object')) return this.#wait(entry, args, decl);
    if (action === 'busy') throw new ShadowError(ErrorCodes.BUSY, `${entry}: the driver is recovering`);
    if (action === 'suspend') return this.#wait(entry, args, decl);
    if (action === 'queue') {
      if (!decl.coalesce || !this.#waiting.some((w) => w.entry === entry)) this.#waiting.push({ entry, args, decl });
      return undefined;
    }
    if (action === 'drop') return undefined;
    throw new ShadowError(action.fail, `${entry}: refused while the driver is recovering`);
  };

  /** Active mode: answers the restarting driver's kernel-service calls. */
  services(kernel: CallTarget): CallTarget {
    return async (name, args) => {
      if (name === 'register') {
        const previous = this.#options.registered();
        const problem = this.contract.registration.validate(args) ??
          (previous === undefined ? undefined : this.contract.registration.compatible(previous, args));
        if (problem) throw new Error(problem);
        return undefined; // the device object the kernel already holds stays the device
      }
      if (name === 'upcall') {
        const { name: upcall } = (args ?? {}) as { name?: string };
        const decl = upcall === undefined ? undefined : this.contract.upcalls[upcall];
        if (!decl) throw new Error(`no upcall ${String(upcall)} in class ${this.contract.name}`);
        if (decl.recovery === 'queue') this.#queuedUpcalls.push(args);
        return undefined;
      }
      return kernel(name, args);
    };
  }

  /** An upcall of the failed driver the kernel never answered (see ClassHooks.unanswered). */
  unanswered(name: string, args: unknown): void {
    this.contract.hooks.unanswered?.(name, args, this.memory);
  }

  /** A reply the failed driver sent too late for its call (see ChannelHandlers.late): the class keeps what it needs. */
  late(entry: string, args: unknown, value: unknown): void {
    this.contract.hooks.late?.(entry, args, value, this.memory);
  }

  /** What the kernel held of the device's input during recovery (ClassContract.heldInput). */
  held(bytes: Uint8Array): void {
    this.contract.hooks.held?.(bytes, this.memory);
  }

  /** `planned`: a live update, not a failure; it lasts until resume(), through a rollback's recovery. */
  activate(options: { planned?: boolean } = {}): void {
    this.#mode = 'active';
    if (options.planned) this.#planned = true;
    // A planned switch may still go back to the old driver (whose counters did not restart):
    // the class hears that its driver is replaced only when it is (replaced()).
    else this.contract.hooks.failed?.(this.memory);
  }

  /** A live update committed to the new driver: the class's hooks see a fresh driver, as after a failure. */
  replaced(): void {
    this.contract.hooks.failed?.(this.memory);
  }

  /**
   * Brings a fresh driver to the logged state: open objects and settings, in call order. A
   * call the device refuses (SD_ERR_IO) stays logged and replay goes on: the new driver is
   * healthy, and a failing disk is no reason to restart it again.
   */
  async replay(call: CallTarget, state: LogEntry[] = this.log.replayList()): Promise<{ replayed: number; unflushed: number; refused: number }> {
    // Requests a driver may have cached come after the objects and settings they need.
    const unflushed = this.log.unflushedList();
    const { refused } = await this.#replayItems(call, [...state, ...unflushed]);
    return { replayed: state.length, unflushed: unflushed.length, refused };
  }

  /**
   * Live update, ahead of the quiesce: the new version gets the open objects and settings while
   * the old one still serves, so that the pause replays only what changed since (`changedSince`).
   * Requests kept until a barrier are not replayed ahead: the old driver may still cache them.
   */
  async replayAhead(call: CallTarget): Promise<ReplayMark> {
    // A device that raises upcalls (frames, periods) starts streaming once opened or brought up:
    // two drivers taking from one stream would split it. Its whole state is replayed in the pause.
    const state = Object.keys(this.contract.upcalls).length > 0 ? [] : this.log.replayList();
    // An object reopened from state that moves (a stream's position) is replayed in the pause,
    // and so is everything logged after it (its settings need it open).
    const moving = this.contract.hooks.reopen
      ? state.findIndex((item) => this.#decl(item.entry).log.kind === 'open') : -1;
    const ahead = new Set(moving < 0 ? state : state.slice(0, moving));
    const pick = (log: Map<string, LogEntry>) => new Map([...log].filter(([, item]) => ahead.has(item)));
    const mark: ReplayMark = { objects: pick(this.log.objects), settings: pick(this.log.settings), lastSeq: 0 };
    for (const item of ahead) mark.lastSeq = Math.max(mark.lastSeq, item.seq);
    await this.#replayItems(call, [...ahead]);
    return mark;
  }

  /**
   * The open objects and settings logged since `mark`, in call order; undefined when the
   * state replayed ahead no longer holds (an object closed or reopened, a setting reset, or a
   * call older than the mark completed late): replaying on top of it would diverge.
   */
  changedSince(mark: ReplayMark): LogEntry[] | undefined {
    const { objects, settings } = this.log;
    for (const [key, item] of mark.objects) if (objects.get(key) !== item) return undefined;
    for (const key of mark.settings.keys()) if (!settings.has(key)) return undefined;
    const changed = [
      ...[...objects].filter(([key]) => !mark.objects.has(key)).map(([, item]) => item),
      ...[...settings].filter(([key, item]) => mark.settings.get(key) !== item).map(([, item]) => item),
    ].sort((a, b) => a.seq - b.seq);
    return changed.some((item) => item.seq < mark.lastSeq) ? undefined : changed;
  }

  /**
   * Live update, while quiesced: the old driver writes back what it caches (the class's
   * barrier, a flush), so that the requests kept for it need no replay into the new one, a
   * round trip each in the pause. Kept requests a barrier refused (SD_ERR_IO) stay for replay.
   */
  async writeBack(call: CallTarget): Promise<number> {
    const kept = this.log.unflushed.size;
    if (kept === 0) return 0;
    for (const barrier of this.#barriers) {
      const mark = this.log.completions;
      try {
        await call(barrier, {});
      } catch (error) {
        if (!isDeviceAnswer(error)) throw error;
        continue;
      }
      this.log.barrierCompleted(mark);
    }
    return kept - this.log.unflushed.size;
  }

  async #replayItems(call: CallTarget, items: LogEntry[]): Promise<{ refused: number }> {
    let refused = 0;
    for (const item of items) {
      const rule = this.#decl(item.entry).log;
      const args = rule.kind === 'open' && this.contract.hooks.reopen
        ? this.contract.hooks.reopen(rule.object(item.args), item.args, this.memory) : item.args;
      try {
        await call(item.entry, args);
      } catch (error) {
        if (!isDeviceAnswer(error)) throw error;
        refused++;
      }
    }
    return { refused };
  }

  /**
   * Requests in flight at the failure: resubmitted in their original order when idempotent,
   * otherwise failed with an outcome; quarantined when they keep killing the driver. Suspects
   * (in flight at two or more failures) go one at a time, so the poison one is found alone.
   */
  async resubmit(call: CallTarget): Promise<number> {
    const records = this.log.outstanding();
    const serial = records.some((r) => r.failures >= 2);
    const running: Promise<unknown>[] = [];
    let count = 0;
    try {
      for (const record of records) {
        if (!record.settle) continue; // its failure has not reached the shadow: it re-enters later
        if (record.decl.kind === 'event') { this.#finish(record); record.settle.resolve(undefined); continue; }
        if (record.failures >= this.#options.poisonThreshold) { this.#quarantine(record); continue; }
        if (!record.decl.idempotent && !this.contract.hooks.resubmittable?.(record.entry, record.args, this.memory)) { this.#refuse(record); continue; }
        count++;
        const done = this.#reissue(record, call);
        if (serial || record.decl.barrier) await done;
        // Reissued, not waited for: it completes as a passive call would (a failure of the new
        // driver while it waits is that driver's failure, and the read is resubmitted again).
        else if (record.decl.waitsForInput) done.catch(() => undefined);
        else running.push(done);
      }
    } finally {
      // A barrier that failed the new driver ends resubmission early (recovery starts over); the
      // requests reissued before it fail with that driver too, and must not be left unhandled.
      for (const done of running) done.catch(() => undefined);
    }
    await Promise.all(running);
    return count;
  }

  /** Back to passive: calls that waited during recovery go to the driver, in arrival order. */
  resume(issue: CallTarget, kernel: CallTarget): void {
    this.#mode = 'passive';
    this.#planned = false;
    const waiting = this.#waiting;
    this.#waiting = [];
    const upcalls = this.#queuedUpcalls;
    this.#queuedUpcalls = [];
    for (const u of upcalls) void kernel('upcall', u).catch(() => undefined);
    void this.#drain(waiting, issue);
  }

  /** The budget is spent: every call from now on fails fast, nothing waits forever. */
  giveUp(reason: string, code: ErrorCode = ErrorCodes.GAVE_UP): void {
    this.#gaveUp = new ShadowError(code, `the driver was given up: ${reason}`);
    for (const w of this.#waiting.splice(0)) w.settle?.reject(this.#gaveUpError('not-executed'));
    for (const record of this.log.outstanding()) {
      this.#finish(record);
      record.settle?.reject(this.#gaveUpError(record.decl.sideEffects ? 'indeterminate' : 'not-executed'));
    }
  }

  get gaveUp(): boolean {
    return this.#gaveUp !== undefined;
  }

  get waitingCount(): number {
    return this.#waiting.length;
  }

  #completed(record: CallRecord, result: unknown): unknown {
    if (record.decl.kind === 'request') this.#quarantineStreak = 0;
    const hooks = this.contract.hooks;
    hooks.observe?.(record.entry, record.args, result, this.memory);
    const patched = hooks.patch ? hooks.patch(record.entry, record.args, result, this.memory) : result;
    const rule = record.decl.log;
    const durable = rule.kind === 'until-barrier' && rule.durable?.(this.#options.registered()) === true;
    this.log.completed(record, patched, durable);
    if (record.barrierMark !== undefined) this.log.barrierCompleted(record.barrierMark);
    if (rule.kind === 'until-barrier' && this.#options.issue &&
      (this.log.unflushed.size > rule.maxEntries || this.log.unflushedBytes > rule.maxBytes)) {
      // Back-pressure: this acknowledgment waits until the driver says its cache is on the medium.
      return this.#barrier(rule.barrier, this.#options.issue).then(() => patched);
    }
    return patched;
  }

  #barrier(entry: string, issue: CallTarget): Promise<unknown> {
    this.#barrierRun ??= issue(entry, {}).finally(() => { this.#barrierRun = undefined; });
    return this.#barrierRun;
  }

  #failed(record: CallRecord, error: unknown): Promise<unknown> {
    if (!(error instanceof DriverFailure)) {
      this.#finish(record);
      return Promise.reject(error);
    }
    countFailure(record, error);
    if (this.#gaveUp) {
      this.#finish(record);
      return Promise.reject(this.#gaveUpError(record.decl.sideEffects ? 'indeterminate' : 'not-executed'));
    }
    return new Promise((resolve, reject) => { record.settle = { resolve, reject }; });
  }

  #reissue(record: CallRecord, call: CallTarget): Promise<unknown> {
    const settle = record.settle!;
    return call(record.entry, record.args).then(
      (result) => settle.resolve(this.#completed(record, result)),
      (error: unknown) => {
        if (error instanceof DriverFailure) { countFailure(record, error); throw error; }
        this.#finish(record);
        settle.reject(error);
      },
    );
  }

  #quarantine(record: CallRecord): void {
    const outcome: Outcome = record.decl.sideEffects ? 'indeterminate' : 'not-executed';
    this.#finish(record);
    this.#quarantined.set(this.#signature(record.entry, record.args), record.failures);
    // Bounded: the oldest signature goes first.
    if (this.#quarantined.size > QUARANTINE_LIMIT) this.#quarantined.delete(this.#quarantined.keys().next().value!);
    this.#options.onQuarantine?.(record, outcome);
    const limit = this.#options.brokenAfter;
    if (limit !== undefined && ++this.#quarantineStreak >= limit) this.#options.onBroken?.(this.#quarantineStreak);
    record.settle?.reject(new ShadowError(ErrorCodes.POISON_REQUEST,
      `${record.entry} was in flight at ${record.failures} consecutive driver failures and was quarantined`,
      { outcome }));
  }

  #refuse(record: CallRecord): void {
    this.#finish(record);
    record.settle?.reject(new ShadowError(ErrorCodes.NOT_RESUBMITTED,
      `${record.entry} is not idempotent and was in flight when the driver failed`, { outcome: 'indeterminate' }));
  }

  #finish(record: CallRecord): void {
    this.log.inFlight.delete(record.seq);
  }

  #wait(entry: string, args: unknown, decl: EntryPoint): Promise<unknown> {
    return new Promise((resolve, reject) => this.#waiting.push({ entry, args, decl, settle: { resolve, reject } }));
  }

  async #drain(waiting: Waiting[], issue: CallTarget): Promise<void> {
    let running: Promise<unknown>[] = [];
    for (const w of waiting) {
      const run = issue(w.entry, w.args).then(
        (value) => w.settle?.resolve(value),
        (error: unknown) => w.settle?.reject(error),
      );
      // A barrier (flush) waits for everything before it, and everything after waits for it.
      if (w.decl.barrier) { await Promise.all(running); await run; running = []; } else running.push(run);
    }
    await Promise.all(running);
  }

  #gaveUpError(outcome: Outcome): ShadowError {
    return new ShadowError(this.#gaveUp?.code ?? ErrorCodes.GAVE_UP, this.#gaveUp?.message ?? 'the driver was given up', { outcome });
  }

  /** A request's identity, without its output buffer (whose contents mean nothing). */
  #signature(entry: string, args: unknown): string {
    const bulk = this.#decl(entry).bulkOut;
    if (!bulk || !args || typeof args !== 'object' || !(bulk.arg in args)) return signature(entry, args);
    const { [bulk.arg]: _output, ...rest } = args as Record<string, unknown>;
    return signature(entry, rest);
  }

  #decl(entry: string): EntryPoint {
    return this.contract.entries[entry] ?? CALLBACK;
  }
}
