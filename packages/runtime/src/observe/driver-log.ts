/**
 * A driver's own words, brought to the operator: what it says through `kernel.log`, and the
 * lines it writes to its stdout or stderr (captured from its domain, never passed through).
 * Everything a driver says is untrusted text: control characters are removed, so a message can
 * neither forge a line of the host's output nor move its cursor; lines are cut to a length,
 * and a device gets a number of lines per second (the rest are counted, not kept), so a driver
 * flooding its logs costs the host no memory.
 */

export type DriverLogSource = 'kernel.log' | 'stdout' | 'stderr';

export interface DriverLogEvent {
  /** The device's name (the one the application attached). */
  device: string;
  /** The driver as the spec named it. */
  driver: string;
  level: string;
  /** One line: no newlines, no control characters, at most MAX_LINE_CHARS. */
  message: string;
  source: DriverLogSource;
  /** Lines of this device dropped (over the rate) since the previous event. */
  dropped: number;
}

/** Longest line kept; the rest of a longer line is cut and marked with `…`. */
export const MAX_LINE_CHARS = 1000;
/** Lines per device per second; the rest are dropped and counted. */
export const LINES_PER_SECOND = 100;

const LEVELS = new Set(['debug', 'info', 'warn', 'error']);

/**
 * One line of untrusted text made safe to print: escape sequences and every control character
 * (C0 but tab, DEL, C1, line and paragraph separators, bidirectional overrides) removed, line
 * breaks inside it turned into spaces, cut to MAX_LINE_CHARS.
 */
export function cleanLine(text: string): string {
  const clean = text
    .replace(/\r\n|[\n\r\u2028\u2029\u0085]/g, ' ')
    // eslint-disable-next-line no-control-regex
    .replace(/\u001b\[[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(\u0007|\u001b\\)?|\u001b./g, '')
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, '')
    .replace(/\t/g, ' ');
  return clean.length > MAX_LINE_CHARS ? `${clean.slice(0, MAX_LINE_CHARS)}…` : clean;
}

export function cleanLevel(level: unknown): string {
  return typeof level === 'string' && LEVELS.has(level) ? level : 'info';
}

/**
 * Splits a stream's chunks into lines without holding more than MAX_LINE_CHARS of a line that
 * does not end: the rest of an over-long line is discarded up to its newline.
 */
export class LineSplitter {
  #partial = '';
  #overflow = false;
  readonly #emit: (line: string) => void;

  constructor(emit: (line: string) => void) {
    this.#emit = emit;
  }

  push(chunk: string): void {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf('\n', start);
      const piece = chunk.slice(start, nl === -1 ? undefined : nl);
      if (!this.#overflow) {
        this.#partial += piece;
        if (this.#partial.length > MAX_LINE_CHARS) {
          this.#emit(`${this.#partial.slice(0, MAX_LINE_CHARS)}…`);
          this.#partial = '';
          this.#overflow = true;
        }
      }
      if (nl === -1) return;
      if (!this.#overflow) this.#emit(this.#partial);
      this.#partial = '';
      this.#overflow = false;
      start = nl + 1;
    }
  }

  /** The stream ended: a last line without a newline still counts. */
  end(): void {
    if (!this.#overflow && this.#partial !== '') this.#emit(this.#partial);
    this.#partial = '';
    this.#overflow = false;
  }
}

/** Lines per second for one device: a fixed window; what is over is counted, never queued. */
export class LogLimiter {
  #windowStart = -Infinity;
  #inWindow = 0;
  #droppedSince = 0;
  /** Every line dropped over the device's life. */
  droppedTotal = 0;
  readonly #now: () => number;
  readonly #perSecond: number;

  constructor(now: () => number, perSecond = LINES_PER_SECOND) {
    this.#now = now;
    this.#perSecond = perSecond;
  }

  /** The number of lines dropped since the last admitted one, or undefined when this one is dropped too. */
  admit(): number | undefined {
    const now = this.#now();
    if (now - this.#windowStart >= 1000) {
      this.#windowStart = now;
      this.#inWindow = 0;
    }
    if (this.#inWindow >= this.#perSecond) {
      this.#droppedSince++;
      this.droppedTotal++;
      return undefined;
    }
    this.#inWindow++;
    const dropped = this.#droppedSince;
    this.#droppedSince = 0;
    return dropped;
  }
}

/** How the operator sees an event on the host's stderr: one line, prefixed with the device. */
export function formatDriverLog(event: DriverLogEvent): string {
  const dropped = event.dropped > 0 ? ` (${event.dropped} earlier lines dropped)` : '';
  const level = event.source === 'kernel.log' ? `${event.level}: ` : event.source === 'stdout' ? '' : 'stderr: ';
  return `[${cleanLine(event.device)}] ${level}${event.message}${dropped}\n`;
}
