/**
 * An NBD client session that outlives its connections. Requests are numbered by handle and
 * may complete in any order. When the connection drops (the server was killed or restarted),
 * the requests it carried are kept, the session reconnects with backoff for up to `outageMs`,
 * and resends them in their original order: block reads and writes are idempotent, so a
 * request the server may already have executed is safe to send again. When the window ends
 * with no server, every waiting request fails with EIO: a device error, never a hang.
 */
import { connect, type Socket } from 'node:net';
import { DeviceError } from '../../classes/block/contract.js';
import {
  ByteReader, Command, ConnectionLost, ExportRefused, ProtocolBreach, errorName, handshake, isConnectionError, parseReply, requestHeader, type NbdExport,
} from './nbd-wire.js';

export interface NbdAddress {
  /** A unix socket path; otherwise `host` (default 127.0.0.1) and `port` (default 10809). */
  socket?: string;
  host?: string;
  port?: number;
  exportName: string;
}

export interface NbdTimings {
  /** How long a lost connection is retried before the requests waiting on it fail with EIO. */
  outageMs: number;
  /** How long the first connection (init, open) is retried. */
  connectMs: number;
}

export interface NbdRequest {
  type: number;
  flags: number;
  offset: number;
  length: number;
  data?: Uint8Array;
  resolve(data: Buffer | undefined): void;
  reject(error: Error): void;
}

const HANDSHAKE_MS = 2000;
const FIRST_RETRY_MS = 20;
const MAX_RETRY_MS = 250;

/** One transmission-phase connection: sends requests, matches replies to them by handle. */
class Connection {
  readonly info: NbdExport;
  readonly #socket: Socket;
  readonly #reader: ByteReader;
  readonly #inflight = new Map<bigint, NbdRequest>();
  #nextHandle = 1n;
  #over = false;
  #lost: (reason: Error, inflight: NbdRequest[]) => void = () => {};

  private constructor(socket: Socket, reader: ByteReader, info: NbdExport) {
    this.#socket = socket;
    this.#reader = reader;
    this.info = info;
  }

  static async open(address: NbdAddress, handshakeMs: number): Promise<Connection> {
    const socket = address.socket !== undefined
      ? connect({ path: address.socket })
      : connect({ host: address.host ?? '127.0.0.1', port: address.port ?? 10809 });
    socket.setNoDelay(true);
    const reader = new ByteReader(socket);
    // Without a listener a refused or reset connection would be an uncaught exception,
    // which the runtime would blame on the driver instead of the device.
    socket.on('error', (err) => reader.end(err));
    // A server that accepts but never answers must not hold the handshake forever.
    const timer = setTimeout(() => socket.destroy(new ConnectionLost('the NBD handshake timed out')), handshakeMs);
    try {
      const connection = new Connection(socket, reader, await handshake(socket, reader, address.exportName));
      void connection.#receive();
      return connection;
    } catch (err) {
      socket.destroy();
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  onLost(callback: (reason: Error, inflight: NbdRequest[]) => void): void {
    this.#lost = callback;
  }

  send(request: NbdRequest): void {
    const handle = this.#nextHandle++;
    this.#inflight.set(handle, request);
    const socket = this.#socket;
    socket.cork();
    socket.write(requestHeader(request.type, request.flags, handle, request.offset, request.length));
    if (request.data) socket.write(request.data);
    process.nextTick(() => socket.uncork());
  }

  /** Orderly end (NBD_CMD_DISC); returns what was still in flight. */
  disconnect(): NbdRequest[] {
    const inflight = this.#drain();
    if (!this.#socket.destroyed) this.#socket.end(requestHeader(Command.DISC, 0, 0n, 0, 0));
    return inflight;
  }

  async #receive(): Promise<void> {
    try {
      for (;;) {
        const { handle, errno } = parseReply(await this.#reader.read(16));
        const request = this.#inflight.get(handle);
        // The payload length of a reply to an unknown request is unknowable: framing is lost.
        if (!request) throw new ProtocolBreach(`the server replied to handle ${handle}, which no request in flight has`);
        const data = errno === 0 && request.type === Command.READ ? await this.#reader.read(request.length) : undefined;
        // Removed only once its data is in: a connection lost mid-payload still owes this request.
        this.#inflight.delete(handle);
        if (errno === 0) request.resolve(data);
        else request.reject(new DeviceError(errorName(errno), `the NBD server answered ${errorName(errno)} (${errno}) ` +
          `to command ${request.type} at ${request.offset}+${request.length}`));
      }
    } catch (err) {
      if (this.#over) return;
      // Anything but a lost connection or a breach is a bug here: let it fail the driver.
      if (!(err instanceof ProtocolBreach) && !isConnectionError(err)) throw err;
      const inflight = this.#drain();
      this.#socket.destroy();
      this.#lost(err as Error, inflight);
    }
  }

  #drain(): NbdRequest[] {
    this.#over = true;
    const inflight = [...this.#inflight.values()]; // in handle order: the order they were sent
    this.#inflight.clear();
    return inflight;
  }
}

export class NbdClient {
  readonly #address: NbdAddress;
  readonly #timings: NbdTimings;
  readonly #log: (message: string) => void;
  #connection: Connection | undefined;
  /** Requests not on any connection: submitted during an outage, or taken back from a lost one. */
  #waiting: NbdRequest[] = [];
  #reconnecting = false;
  #closed = false;
  #sleeping = new Set<{ timer: NodeJS.Timeout; wake(): void }>();
  info: NbdExport | undefined;

  constructor(address: NbdAddress, timings: NbdTimings, log: (message: string) => void) {
    this.#address = address;
    this.#timings = timings;
    this.#log = log;
  }

  /** The first connection. Throws DeviceError when no server answers within `connectMs`. */
  async connect(): Promise<NbdExport> {
    this.#attach(await this.#establish(this.#timings.connectMs));
    return this.info!;
  }

  submit(request: NbdRequest): void {
    if (this.#closed) return request.reject(new DeviceError('ESHUTDOWN', 'the NBD connection was closed'));
    if (this.#connection) return this.#connection.send(request);
    this.#waiting.push(request);
    this.#reconnect();
  }

  /** Ends the session: DISC to the server, and every unanswered request fails. */
  close(): void {
    this.#closed = true;
    for (const sleep of this.#sleeping) { clearTimeout(sleep.timer); sleep.wake(); }
    const left = [...(this.#connection?.disconnect() ?? []), ...this.#waiting];
    this.#connection = undefined;
    this.#waiting = [];
    for (const request of left) request.reject(new DeviceError('ESHUTDOWN', 'the NBD connection was closed'));
  }

  #attach(connection: Connection): void {
    if (this.info && connection.info.sizeBytes !== this.info.sizeBytes) {
      connection.disconnect();
      throw new ExportRefused(`the export's size changed from ${this.info.sizeBytes} to ${connection.info.sizeBytes}`);
    }
    this.info ??= connection.info;
    this.#connection = connection;
    connection.onLost((reason, inflight) => this.#lost(reason, inflight));
  }

  #lost(reason: Error, inflight: NbdRequest[]): void {
    this.#connection = undefined;
    if (reason instanceof ProtocolBreach) {
      // The server misbehaved and the stream cannot be trusted for any request on it: that
      // is a device error for those requests, not something to resend into the same server.
      this.#log(`protocol breach by the NBD server: ${reason.message}`);
      for (const request of inflight) request.reject(new DeviceError('EIO', `NBD protocol breach: ${reason.message}`));
    } else {
      this.#log(`lost the NBD connection (${reason.message}); ${inflight.length} requests wait for it`);
      this.#waiting.unshift(...inflight);
    }
    if (this.#waiting.length > 0) this.#reconnect();
  }

  #reconnect(): void {
    if (this.#reconnecting || this.#closed) return;
    this.#reconnecting = true;
    const started = Date.now();
    this.#establish(this.#timings.outageMs).then((connection) => {
      if (this.#closed) return void connection.disconnect(); // closed while reconnecting: nothing to serve
      this.#attach(connection);
      this.#log(`NBD connection back after ${Date.now() - started} ms; resending ${this.#waiting.length} requests`);
      const waiting = this.#waiting;
      this.#waiting = [];
      for (const request of waiting) connection.send(request);
    }).catch((err: unknown) => {
      // Only the device's failures become EIO; a bug here must still fail the driver.
      if (!(err instanceof DeviceError || err instanceof ExportRefused)) throw err;
      const waiting = this.#waiting;
      this.#waiting = [];
      for (const request of waiting) request.reject(new DeviceError('EIO', `NBD server unreachable: ${(err as Error).message}`));
    }).finally(() => { this.#reconnecting = false; });
  }

  /** Connects, retrying with exponential backoff until `windowMs` has passed. */
  async #establish(windowMs: number): Promise<Connection> {
    const end = Date.now() + windowMs;
    let delay = FIRST_RETRY_MS;
    for (let attempt = 1; ; attempt++) {
      if (this.#closed) throw new DeviceError('ESHUTDOWN', 'the NBD connection was closed');
      try {
        // The last attempt ends with the window: a silent server must not stretch it.
        return await Connection.open(this.#address, Math.max(100, Math.min(HANDSHAKE_MS, end - Date.now())));
      } catch (err) {
        if (!(err instanceof ExportRefused || err instanceof ProtocolBreach) && !isConnectionError(err)) throw err;
        const error = err as Error;
        // A refused export or a server that is not NBD will not change by retrying.
        if (err instanceof ExportRefused || err instanceof ProtocolBreach) throw new DeviceError('ENXIO', error.message);
        if (Date.now() >= end) {
          throw new DeviceError('EIO', `no NBD server at ${this.#where()} after ${attempt} attempts in ${windowMs} ms: ${error.message}`);
        }
      }
      await this.#sleep(Math.min(delay, end - Date.now()));
      delay = Math.min(delay * 2, MAX_RETRY_MS);
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const sleep = { timer: setTimeout(() => { this.#sleeping.delete(sleep); resolve(); }, ms), wake: resolve };
      this.#sleeping.add(sleep);
    });
  }

  #where(): string {
    return this.#address.socket ?? `${this.#address.host ?? '127.0.0.1'}:${this.#address.port ?? 10809}`;
  }
}
