/**
 * A virtual serial port's hardware, the zero-setup default of the serial class. It lives in the
 * kernel: its line settings, its modem lines and its receive queue outlive every driver. Wired
 * as a loopback plug: what it transmits comes back on its receive line (after `echoDelayMs`),
 * DTR loops to DSR and DCD, RTS to CTS. A test can also put bytes on the receive line
 * (`receiveFromLine`); bytes received while no driver is attached wait in the queue, as they
 * would in a UART's FIFO. Everything transmitted is kept (`transmitted`) so a test can count
 * what reached the line. A driver attaches over a unix socket; a new one replaces the old.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_SETTINGS, type ModemLines, type SerialSettings } from '../../classes/serial/contract.js';
import { jsonMessage, MessageReader, parseJson } from '../framing.js';
import { MAX_PORT_MESSAGE, PORT_MESSAGES, PortMessage, type PortAnswer, type PortRequest } from './port-protocol.js';

export interface VirtualSerialOptions {
  /** Loop transmitted bytes back to the receive line (default true). */
  loopback?: boolean;
  echoDelayMs?: number;
}

const RESET_LINES: ModemLines = { brk: false, cts: false, dsr: false, dtr: false, rts: false };

export class VirtualSerialPort {
  readonly socketPath: string;
  settings: Required<SerialSettings> = { ...DEFAULT_SETTINGS };
  lines: ModemLines = { ...RESET_LINES };
  /** Every byte put on the line, in order. */
  readonly transmitted: Buffer[] = [];
  readonly #dir: string;
  readonly #server: Server;
  readonly #options: Required<VirtualSerialOptions>;
  #queue: Buffer = Buffer.alloc(0);
  #waiting: (() => void)[] = [];
  #driver: Socket | undefined;
  readonly #timers = new Set<NodeJS.Timeout>();

  constructor(options: VirtualSerialOptions = {}) {
    this.#options = { loopback: options.loopback ?? true, echoDelayMs: options.echoDelayMs ?? 0 };
    this.#dir = mkdtempSync(join(tmpdir(), 'shadow-serial-'));
    this.socketPath = join(this.#dir, 'port.sock');
    this.#server = createServer((s) => this.#attach(s));
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve, reject) => this.#server.once('error', reject).listen(this.socketPath, resolve));
    return this;
  }

  /** Bytes arriving on the receive line from the far end. */
  receiveFromLine(data: Uint8Array): void {
    this.#queue = Buffer.concat([this.#queue, data]);
    for (const wake of this.#waiting.splice(0)) wake();
  }

  /** Bytes waiting in the receive queue. */
  get queued(): number {
    return this.#queue.length;
  }

  async close(): Promise<void> {
    for (const t of this.#timers) clearTimeout(t);
    this.#driver?.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    rmSync(this.#dir, { recursive: true, force: true });
  }

  #attach(socket: Socket): void {
    this.#driver?.destroy(); // the old driver is gone: a new one replaces it
    this.#driver = socket;
    const reader = new MessageReader(PORT_MESSAGES, MAX_PORT_MESSAGE, (type, payload) => {
      if (type !== PortMessage.Op) throw new Error('the hardware takes operations only');
      const request = parseJson<PortRequest>(payload);
      void this.#perform(request).then(
        (value) => {
          // The driver died while the hardware waited: the bytes go back to the queue's head.
          if (socket.destroyed && request.body.op === 'receive') return this.#unshift(Buffer.from(value as string, 'base64'));
          socket.write(jsonMessage(PortMessage.Answer, { id: request.id, ok: true, value } satisfies PortAnswer));
        },
        (err: Error) => socket.write(jsonMessage(PortMessage.Answer, { id: request.id, ok: false, error: err.message } satisfies PortAnswer)));
    }, () => socket.destroy());
    socket.on('data', (chunk: Buffer) => reader.push(chunk));
    socket.on('error', () => socket.destroy());
  }

  async #perform({ body }: PortRequest): Promise<unknown> {
    switch (body.op) {
      case 'reset': this.settings = { ...DEFAULT_SETTINGS }; this.lines = { ...RESET_LINES }; return undefined;
      case 'configure': this.settings = { ...this.settings, ...(body.settings as Partial<SerialSettings>) }; return undefined;
      case 'lines': this.lines = { ...this.lines, ...(body.lines as Partial<ModemLines>) }; return undefined;
      case 'baudRate': return this.settings.baudRate;
      case 'status': return { cts: this.lines.rts, dsr: this.lines.dtr, dcd: this.lines.dtr };
      case 'transmit': return this.#transmit(Buffer.from(body.data, 'base64'));
      case 'receive': return (await this.#take(body.length, body.waitMs)).toString('base64');
      case 'flush': this.#queue = Buffer.alloc(0); return undefined;
      case 'drain': return undefined;
    }
  }

  #unshift(data: Buffer): void {
    this.#queue = Buffer.concat([data, this.#queue]);
  }

  #transmit(data: Buffer): undefined {
    this.transmitted.push(data);
    if (this.#options.loopback) {
      if (this.#options.echoDelayMs === 0) this.receiveFromLine(data);
      else {
        const t = setTimeout(() => { this.#timers.delete(t); this.receiveFromLine(data); }, this.#options.echoDelayMs);
        this.#timers.add(t);
      }
    }
    return undefined;
  }

  /** Removes bytes from the queue only when answering: a driver that dies first loses none. */
  async #take(length: number, waitMs: number): Promise<Buffer> {
    if (this.#queue.length === 0 && waitMs > 0) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => { this.#timers.delete(t); resolve(); }, waitMs);
        this.#timers.add(t);
        this.#waiting.push(() => { clearTimeout(t); this.#timers.delete(t); resolve(); });
      });
    }
    const out = this.#queue.subarray(0, length);
    this.#queue = this.#queue.subarray(out.length);
    return Buffer.from(out);
  }
}
