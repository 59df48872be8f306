/**
 * A GPS log in NMEA 0183 (GGA and RMC sentences with valid checksums) and a replayer that
 * writes it to the far end of a pty at the pace of a baud rate (10 bit times a byte, as on a
 * real 8N1 line), the way a GPS receiver talks.
 */
import { closeSync, constants, openSync, writeSync } from 'node:fs';

export function nmeaChecksum(body: string): string {
  let sum = 0;
  for (let i = 0; i < body.length; i++) sum ^= body.charCodeAt(i);
  return sum.toString(16).toUpperCase().padStart(2, '0');
}

/** `$<body>*<checksum>` is a sentence whose checksum is right. */
export function nmeaValid(sentence: string): boolean {
  const m = /^\$([^*$]+)\*([0-9A-F]{2})$/.exec(sentence);
  return m !== null && nmeaChecksum(m[1]!) === m[2];
}

const sentence = (body: string) => `$${body}*${nmeaChecksum(body)}`;

/** `count` sentences of a receiver moving north-east, one GGA and one RMC per second of the log. */
export function gpsLog(count: number): string[] {
  const out: string[] = [];
  for (let i = 0; out.length < count; i++) {
    const t = new Date(Date.UTC(2026, 0, 1, 12, 0, i));
    const hms = `${t.toISOString().slice(11, 19).replace(/:/g, '')}.00`;
    const lat = `48${(7.038 + i * 0.001).toFixed(3).padStart(6, '0')}`;
    const lon = `011${(31.324 + i * 0.001).toFixed(3).padStart(6, '0')}`;
    out.push(sentence(`GPGGA,${hms},${lat},N,${lon},E,1,08,0.9,545.${i % 10},M,46.9,M,,`));
    if (out.length < count) out.push(sentence(`GPRMC,${hms},A,${lat},N,${lon},E,022.4,084.4,010126,003.1,W`));
  }
  return out;
}

export interface Replayer {
  /** Sentences written so far. */
  readonly sent: number;
  /** Stops pacing; `writeNow` still works. */
  pause(): void;
  resume(): void;
  /** Writes the next `n` sentences at once (as a burst the receiver buffered). */
  writeNow(n: number): void;
  done: Promise<void>;
  close(): void;
}

export function replay(path: string, log: string[], baudRate: number): Replayer {
  const fd = openSync(path, constants.O_RDWR | constants.O_NOCTTY);
  let sent = 0;
  let paused = false;
  let timer: NodeJS.Timeout | undefined;
  let finish!: () => void;
  const done = new Promise<void>((resolve) => { finish = resolve; });
  const write = (n: number) => {
    const lines = log.slice(sent, sent + n);
    if (lines.length) writeSync(fd, Buffer.from(lines.map((l) => `${l}\r\n`).join(''), 'latin1'));
    sent += lines.length;
    if (sent >= log.length) finish();
  };
  // Pacing, not waiting: each sentence takes its bytes' time on the line at this baud rate.
  const tick = () => {
    timer = undefined;
    if (paused || sent >= log.length) return;
    write(1);
    timer = setTimeout(tick, ((log[sent - 1]!.length + 2) * 10 * 1000) / baudRate);
  };
  tick();
  return {
    get sent() { return sent; },
    pause() { paused = true; if (timer) clearTimeout(timer); timer = undefined; },
    resume() { paused = false; if (!timer) tick(); },
    writeNow: write,
    done,
    close() { if (timer) clearTimeout(timer); closeSync(fd); },
  };
}
