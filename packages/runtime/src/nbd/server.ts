/**
 * An NBD server in the kernel: exports shadowed block devices to real NBD clients (nbdinfo,
 * nbdcopy, qemu-img, qemu-io, nbdfuse) over TCP or a unix socket. The devices are the
 * application-facing BlockDevice objects, so a driver failure behind an export is a pause for
 * the client, never an error.
 *
 * Each export's device must already be open. A client that breaks the protocol loses its
 * connection; nothing it sends can take the server (or the kernel) down.
 */
import net from 'node:net';
import { BlockDevice } from '../kernel/block-device.js';
import { ByteRangeDevice } from './byte-range-device.js';
import { handshake, ProtocolError, type ExportView } from './handshake.js';
import { SocketReader } from './socket-reader.js';
import { BusyPoll, busyPollWindow, type PollTarget } from '../isolation/busy-poll.js';
import { enlargeSendBuffer } from './socket-buffers.js';
import { transmit } from './transmission.js';

export interface NbdExport {
  device: BlockDevice;
  /** Export read-only even though the device is writable. */
  readOnly?: boolean;
  description?: string;
  /**
   * Why the export takes no new client now (its driver gave up, say), or undefined. A client
   * is then refused with this reason instead of a misleading "no such export".
   */
  unavailable?: () => string | undefined;
}

export interface NbdServerOptions {
  /** Exports by name; "" is the default export (the one `nbd://host:port` reaches). */
  exports: Record<string, BlockDevice | NbdExport>;
  /** Requests carried out at once per connection (default 64); reading pauses beyond it. */
  maxInFlight?: number;
  /** Bytes of reads and writes carried out at once per connection (default 64 MiB). */
  maxInFlightBytes?: number;
  /** A client that has not finished its handshake by then is disconnected (default 10 s). */
  handshakeTimeoutMs?: number;
  /**
   * How long (µs) the server keeps polling for a client's next request after it replied,
   * instead of sleeping (isolation/busy-poll.ts; adaptive); 0 (the default) turns it off.
   */
  busyPollUs?: number;
}

/** Replies queued on a socket beyond which no further request is read. */
const WRITE_HIGH_WATER = 16 * 1024 * 1024;

/** Resolves once the socket's write queue is under the high-water mark, or the socket closed; undefined when it is already. */
function drained(socket: net.Socket): Promise<void> | undefined {
  if (socket.writableLength <= WRITE_HIGH_WATER || socket.destroyed) return undefined;
  return new Promise((resolve) => {
    const done = () => {
      socket.off('drain', done);
      socket.off('close', done);
      resolve();
    };
    socket.on('drain', done);
    socket.on('close', done);
  });
}

export type NbdListenAddress = { host?: string; port?: number } | { path: string };
export type NbdAddress = { host: string; port: number } | { path: string };

export interface NbdServerStats {
  /** Connections accepted so far. */
  connections: number;
  /** Connections open now. */
  open: number;
  /** Requests answered with an error. */
  errorReplies: number;
  /** Connections closed because the client broke the protocol. */
  protocolErrors: number;
}

interface ExportEntry extends ExportView {
  device: BlockDevice;
}

export class NbdServer {
  readonly #exports = new Map<string, ExportEntry>();
  /**
   * One byte-range view per device, whatever names it is exported under: its range locks must
   * order every read-modify-write of the device, from any connection and any name.
   */
  readonly #io = new WeakMap<BlockDevice, ByteRangeDevice>();
  readonly #listeners = new Set<net.Server>();
  readonly #sockets = new Set<net.Socket>();
  /** Sessions and requests still running: close() waits for all of them. */
  readonly #work = new Set<Promise<unknown>>();
  readonly #maxInFlight: number;
  readonly #maxInFlightBytes: number;
  readonly #handshakeTimeoutMs: number;
  readonly #poll: BusyPoll;
  #closing: Promise<void> | undefined;
  readonly stats: NbdServerStats = { connections: 0, open: 0, errorReplies: 0, protocolErrors: 0 };

  constructor(options: NbdServerOptions) {
    this.#maxInFlight = options.maxInFlight ?? 64;
    this.#maxInFlightBytes = options.maxInFlightBytes ?? 64 * 1024 * 1024;
    this.#handshakeTimeoutMs = options.handshakeTimeoutMs ?? 10_000;
    this.#poll = new BusyPoll(busyPollWindow(options.busyPollUs));
    for (const [name, exported] of Object.entries(options.exports)) this.addExport(name, exported);
  }

  addExport(name: string, exported: BlockDevice | NbdExport): void {
    const spec: NbdExport = exported instanceof BlockDevice ? { device: exported } : exported;
    if (Buffer.byteLength(name) > 4096) throw new RangeError('an NBD export name is at most 4096 bytes');
    const device = spec.device;
    this.#exports.set(name, {
      name, device, readOnly: spec.readOnly ?? false, description: spec.description, unavailable: spec.unavailable,
      geometry: () => device.geometry(),
    });
  }

  /** New connections no longer see the export; connections already using it keep it. */
  removeExport(name: string): void {
    this.#exports.delete(name);
  }

  /** Starts listening (TCP on 127.0.0.1 by default, port 0 = assigned, or a unix socket path). */
  listen(address: NbdListenAddress = {}): Promise<NbdAddress> {
    if (this.#closing) return Promise.reject(new Error('the NBD server is closed'));
    const listener = net.createServer((socket) => this.#accept(socket));
    this.#listeners.add(listener);
    return new Promise((resolve, reject) => {
      const failed = (e: Error) => {
        this.#listeners.delete(listener);
        reject(e);
      };
      listener.once('error', failed);
      const ready = () => {
        listener.off('error', failed);
        // Later listener errors (rare: e.g. EMFILE on accept) must not crash the kernel.
        listener.on('error', () => {});
        const a = listener.address();
        resolve(typeof a === 'string' ? { path: a } : { host: a!.address, port: a!.port });
      };
      if ('path' in address) listener.listen(address.path, ready);
      else listener.listen(address.port ?? 0, address.host ?? '127.0.0.1', ready);
    });
  }

  /** Stops listening, ends every connection, and resolves when all sockets and requests are done. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      const stopped = [...this.#listeners].map((l) => new Promise<void>((r) => l.close(() => r())));
      for (const socket of this.#sockets) socket.destroy();
      await Promise.all(stopped);
      while (this.#work.size > 0) await Promise.allSettled([...this.#work]);
    })();
    return this.#closing;
  }

  #track(work: Promise<unknown>): void {
    this.#work.add(work);
    void work.finally(() => this.#work.delete(work));
  }

  #accept(socket: net.Socket): void {
    if (this.#closing) {
      socket.destroy();
      return;
    }
    this.stats.connections++;
    this.stats.open++;
    this.#sockets.add(socket);
    socket.on('close', () => {
      this.#sockets.delete(socket);
      this.stats.open--;
    });
    if (socket.remoteFamily !== undefined) socket.setNoDelay(true);
    enlargeSendBuffer(socket);
    this.#track(this.#session(socket));
  }

  /** One connection, handshake to disconnect; never rejects. */
  async #session(socket: net.Socket): Promise<void> {
    const reader = new SocketReader(socket);
    // After replies leave, the client's next request is likely soon (a client at queue depth 1
    // sends it as soon as it has the reply): poll for it rather than sleep (busy-poll.ts).
    let awaitingRequest = false;
    const pollTarget: PollTarget = { owes: () => awaitingRequest && !socket.destroyed };
    if (this.#poll.enabled) {
      socket.prependListener('data', () => {
        awaitingRequest = false;
        this.#poll.heard(pollTarget);
      });
      socket.once('close', () => this.#poll.forget(pollTarget));
    }
    // Replies that complete together leave together: the socket is corked at the first of
    // them and uncorked once the completions queued with it have run, so a batch of replies
    // is one writev, not one write() each.
    let corked = false;
    let replies = 0;
    const uncork = () => {
      corked = false;
      if (socket.destroyed) return;
      socket.uncork();
      awaitingRequest = true;
      this.#poll.sent(pollTarget, replies);
      replies = 0;
    };
    const send = (b: Buffer) => {
      if (socket.destroyed) return;
      if (!corked) {
        corked = true;
        socket.cork();
        setImmediate(uncork);
      }
      replies++;
      socket.write(b);
    };
    // A client that connects and stays silent would otherwise hold a socket forever.
    const timer = setTimeout(() => socket.destroy(), this.#handshakeTimeoutMs);
    try {
      const negotiated = await handshake({
        reader, send, lookup: (name) => this.#exports.get(name), names: () => [...this.#exports.keys()],
      }).finally(() => clearTimeout(timer));
      if (!negotiated) {
        socket.end();
        return;
      }
      const entry = negotiated.export as ExportEntry;
      let io = this.#io.get(entry.device);
      if (!io) {
        io = new ByteRangeDevice(entry.device, negotiated.info.blockSize);
        this.#io.set(entry.device, io);
      }
      await transmit({
        reader, send, io, sizeBytes: negotiated.info.sizeBytes, readOnly: negotiated.readOnly,
        maxInFlight: this.#maxInFlight, maxInFlightBytes: this.#maxInFlightBytes, drained: () => drained(socket),
        track: (work) => this.#track(work),
        onError: () => { this.stats.errorReplies++; },
      });
      socket.end();
    } catch (error) {
      // ConnectionClosed: the client went away, nothing to do. ProtocolError: it broke the
      // rules, and the stream's framing cannot be trusted any more.
      if (error instanceof ProtocolError) this.stats.protocolErrors++;
      socket.destroy();
    }
  }
}

/** Creates an NBD server and starts it listening on each address given. */
export async function startNbdServer(options: NbdServerOptions & { listen?: NbdListenAddress | NbdListenAddress[] }):
  Promise<{ server: NbdServer; addresses: NbdAddress[] }> {
  const server = new NbdServer(options);
  const wanted = options.listen === undefined ? [{}] : Array.isArray(options.listen) ? options.listen : [options.listen];
  try {
    const addresses: NbdAddress[] = [];
    for (const address of wanted) addresses.push(await server.listen(address));
    return { server, addresses };
  } catch (error) {
    await server.close();
    throw error;
  }
}
