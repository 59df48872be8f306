/**
 * What a shadowed block device must answer, as a model the model-based tests check every
 * request against. Time is a logical counter (one tick per issue and per settlement the test
 * observes), so the model never depends on the machine's speed.
 *
 * - A read returns what a write left in the block: the newest write that completed before the
 *   read was issued, or any write overlapping that one or the read (issued before the read
 *   settled, not superseded by a write that completed before the read began). Never anything
 *   else; zeros only while no write has surely superseded them.
 * - A write that failed with outcome `not-executed` never reached the medium; `indeterminate`
 *   may have.
 * - Errors carry documented codes, each only when its cause happened: SD_ERR_GAVE_UP after a
 *   give-up, SD_ERR_POISON_REQUEST after a quarantine, SD_ERR_CLOSED after a detach. A request
 *   the device accepted and could not carry out says what happened to it (an outcome): reads
 *   `not-executed`, writes, flushes and settings `not-executed` or `indeterminate`.
 */
import { ErrorCodes, ShadowError } from '../../src/errors.js';
import { BLOCK, blockContent } from '../../src/testing/workload.js';

export type Op = 'read' | 'write' | 'flush' | 'configure';

export interface Request {
  id: number;
  op: Op;
  block: number;
  /** The write's generation (its content is blockContent(block, gen)); 0 for other requests. */
  gen: number;
  issuedAt: number;
  settledAt: number | undefined;
  ok: boolean | undefined;
  error: unknown;
}

export class BlockModel {
  readonly blocks: number;
  readonly requests: Request[] = [];
  readonly violations: string[] = [];
  time = 0;
  gaveUpAt: number | undefined;
  quarantinedAt: number | undefined;
  detachedAt: number | undefined;
  #gen = 0;

  constructor(blocks: number) {
    this.blocks = blocks;
  }

  issue(op: Op, block: number): Request {
    const request: Request = {
      id: this.requests.length + 1, op, block, gen: op === 'write' ? ++this.#gen : 0,
      issuedAt: ++this.time, settledAt: undefined, ok: undefined, error: undefined,
    };
    this.requests.push(request);
    return request;
  }

  /** Watches the application's promise of one request and checks its answer when it settles. */
  track(request: Request, promise: Promise<unknown>): void {
    promise.then(
      (value) => this.#settled(request, true, value),
      (error: unknown) => this.#settled(request, false, error),
    );
  }

  get pending(): Request[] {
    return this.requests.filter((r) => r.settledAt === undefined);
  }

  /** The generations block `block` may hold for a read issued at `issuedAt` (0: still zeros). */
  candidates(block: number, issuedAt: number, settledAt = Infinity): Set<number> {
    const writes = [
      { gen: 0, issuedAt: 0, end: 0, ok: true },
      ...this.requests
        .filter((r) => r.op === 'write' && r.block === block && r.issuedAt < settledAt && !this.#notExecuted(r))
        .map((r) => ({ gen: r.gen, issuedAt: r.issuedAt, end: r.settledAt ?? Infinity, ok: r.ok === true })),
    ];
    // Superseded: a write that surely completed began after this one ended and ended before the read began.
    return new Set(writes
      .filter((w) => !writes.some((later) => later.ok && w.end < later.issuedAt && later.end < issuedAt))
      .map((w) => w.gen));
  }

  /** Which generation `data` is for `block`, if any the model knows of. */
  generationOf(block: number, data: Uint8Array, candidates: Iterable<number>): number | undefined {
    for (const gen of candidates) if (equal(data, gen === 0 ? new Uint8Array(BLOCK) : blockContent(block, gen))) return gen;
    return undefined;
  }

  #notExecuted(r: Request): boolean {
    return r.ok === false && r.error instanceof ShadowError && r.error.outcome === 'not-executed';
  }

  #settled(request: Request, ok: boolean, value: unknown): void {
    request.settledAt = ++this.time;
    request.ok = ok;
    const name = `${request.op}#${request.id}${request.op === 'read' || request.op === 'write' ? `(block ${request.block})` : ''}`;
    if (ok) {
      if (request.op !== 'read') return;
      const allowed = this.candidates(request.block, request.issuedAt, request.settledAt);
      if (!(value instanceof Uint8Array) || value.length !== BLOCK) {
        this.violations.push(`${name} returned ${describe(value)}`);
      } else if (this.generationOf(request.block, value, allowed) === undefined) {
        this.violations.push(`${name} returned data of no write it may see (allowed generations ${[...allowed].join(', ')}; ` +
          `got ${this.generationOf(request.block, value, this.#allGens(request.block)) ?? 'unknown data'})`);
      }
      return;
    }
    request.error = value;
    const problem = this.#errorProblem(request, value);
    if (problem) this.violations.push(`${name} failed: ${problem}`);
  }

  #allGens(block: number): number[] {
    return [0, ...this.requests.filter((r) => r.op === 'write' && r.block === block).map((r) => r.gen)];
  }

  #errorProblem(request: Request, error: unknown): string | undefined {
    if (!(error instanceof ShadowError)) return `not a coded error: ${String(error)}`;
    const cause: Record<string, number | undefined> = {
      [ErrorCodes.GAVE_UP]: this.gaveUpAt, [ErrorCodes.POISON_REQUEST]: this.quarantinedAt, [ErrorCodes.CLOSED]: this.detachedAt,
    };
    if (!(error.code in cause)) return `${error.code} (${error.message}) is not a code this device may answer`;
    if (cause[error.code] === undefined) return `${error.code} (${error.message}) without its cause`;
    // A call the device refused at its door after a detach was accepted by nobody: no outcome needed.
    const accepted = this.detachedAt === undefined || request.issuedAt < this.detachedAt;
    if (error.outcome === undefined && !accepted) return undefined;
    const honest = request.op === 'read' ? ['not-executed'] : ['not-executed', 'indeterminate'];
    if (!honest.includes(String(error.outcome))) return `${error.code} (${error.message}) with outcome ${String(error.outcome)}`;
    return undefined;
  }
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;
}

function describe(value: unknown): string {
  return value instanceof Uint8Array ? `${value.length} bytes` : typeof value;
}
