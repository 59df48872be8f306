/**
 * `serialport`: the serial driver the Node ecosystem already uses, `@serialport/bindings-cpp`,
 * unmodified, loaded inside the driver's domain (a process domain by default: it is native
 * code, and its crashes must end only that process). This file only adapts the binding's API
 * to the class's entry points.
 *
 * The binding opens ports by path and cannot take a descriptor, so it opens
 * `/proc/self/fd/<n>`, the tty the kernel lent this domain: the same tty, reopened through the
 * kernel's descriptor, so the driver needs no access to /dev and follows the kernel's choice of
 * device. The kernel's own descriptor stays open beside it for the device's whole life, which
 * keeps what arrives while no driver runs in the tty's input queue.
 */
import { writeSync } from 'node:fs';
import { flushQueues, keepInputThroughOpens } from './keep-input.js';
import { DEFAULT_SETTINGS, defineSerialDriver, DeviceError, type ModemStatus, type SerialSettings } from '../../classes/serial/contract.js';

/** The parts of bindings-cpp's PortBinding this driver uses (bindings-interface). */
interface PortBinding {
  readonly fd: number | null;
  readonly poller: { once(event: 'readable', cb: (err: Error | null) => void): void; removeListener(event: string, cb: (err: Error | null) => void): void };
  close(): Promise<void>;
  read(buffer: Buffer, offset: number, length: number): Promise<{ bytesRead: number }>;
  write(buffer: Buffer): Promise<void>;
  update(options: { baudRate: number }): Promise<void>;
  set(options: Record<string, boolean>): Promise<void>;
  get(): Promise<ModemStatus>;
  getBaudRate(): Promise<{ baudRate: number }>;
  flush(): Promise<void>;
  drain(): Promise<void>;
}
interface Binding { open(options: Record<string, unknown>): Promise<PortBinding> }

async function loadBinding(): Promise<Binding> {
  try {
    const mod = (await import('@serialport/bindings-cpp')) as unknown as { autoDetect(): Binding };
    return mod.autoDetect();
  } catch (err) {
    throw new Error(`the serialport driver needs @serialport/bindings-cpp (npm install @serialport/bindings-cpp@13.0.0): ${(err as Error).message}`);
  }
}

/** An error the port reported (no such ioctl on a pty, the far end hung up): the device's, not the driver's. */
async function device<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code || /cannot|Inappropriate ioctl|Input\/output/i.test(e.message)) throw new DeviceError(e.code ?? 'EIO', `${what}: ${e.message}`);
    throw err;
  }
}

/** Writes what the tty takes without blocking; returns the rest. */
function writeNow(fd: number, data: Buffer): Buffer {
  let done = 0;
  while (done < data.length) {
    try {
      done += writeSync(fd, data, done, data.length - done);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EAGAIN') break;
      throw new DeviceError((err as NodeJS.ErrnoException).code ?? 'EIO', `write: ${(err as Error).message}`);
    }
  }
  return data.subarray(done);
}

export default defineSerialDriver((kernel) => {
  let binding: Binding | undefined;
  let path = '';
  let port: PortBinding | undefined;
  /**
   * bindings-cpp throws the tty's queues away (tcflush) on every open and baud-rate update, so
   * a restarted driver's reset and replayed open would drop what arrived while no driver ran:
   * the very bytes the kernel holds the tty to keep. In a process domain that flush is made a
   * no-op (keep-input.ts) and the bytes stay in the tty's queue. Elsewhere (a filter would bind
   * the host) the kernel's own hold on the input during recovery (kernel/input-hold.ts) keeps
   * all but what arrives in its last few milliseconds before the flush. The driver itself never
   * keeps bytes: one owner of held input (the kernel), so nothing can come out of order.
   */
  let flushKept = false;

  const openPort = async (settings: SerialSettings): Promise<PortBinding> => {
    // lock: false: the kernel holds the tty for the device; a flock would only keep the next driver out.
    return binding!.open({ ...DEFAULT_SETTINGS, ...settings, path, lock: false });
  };
  const mustOpen = (): PortBinding => {
    if (!port) throw new Error('the port is not open in this driver');
    return port;
  };

  /** Resolves true once bytes are waiting, false after `waitMs`: nothing leaves the tty's queue meanwhile. */
  const readable = (p: PortBinding, waitMs: number): Promise<boolean> => new Promise((resolve) => {
    const onReadable = (err: Error | null) => { clearTimeout(timer); resolve(err === null); };
    const timer = setTimeout(() => { p.poller.removeListener('readable', onReadable); resolve(false); }, waitMs);
    p.poller.once('readable', onReadable);
  });

  return {
    async init() {
      flushKept = keepInputThroughOpens() === undefined;
      binding = await loadBinding();
      const tty = await kernel.acquire('tty');
      path = `/proc/self/fd/${tty.fd}`;
      // A driver's probe resets the line: the class's default settings, then the port is closed.
      await (await device('reset', () => openPort(DEFAULT_SETTINGS))).close();
      await kernel.register({ port: tty.path });
    },
    async open(settings) { port = await device('open', () => openPort(settings)); },
    async close() { const p = mustOpen(); port = undefined; await p.close(); },
    async update(args) {
      const p = mustOpen();
      await device('update', () => p.update({ baudRate: args.baudRate }));
    },
    async set(lines) { const p = mustOpen(); await device('set', () => p.set({ ...lines })); },
    async get() { const p = mustOpen(); return device('get', () => p.get()); },
    async getBaudRate() { const p = mustOpen(); return device('getBaudRate', () => p.getBaudRate()); },
    async read({ length, waitMs }) {
      const p = mustOpen();
      if (!(await readable(p, waitMs))) return new Uint8Array(0);
      // Input is waiting: the kernel takes it off the tty itself, on its own descriptor, when
      // this answer arrives. The bytes never pass through this process, so a kill at any
      // instant (between a read() and its reply, too) loses none of them.
      return { take: length };
    },
    async write({ seq, data }) {
      const p = mustOpen();
      await kernel.upcall('writing', { seq }); // announced before any byte can reach the port
      // The write() system call made synchronously, in the task that got the kernel's answer:
      // the bytes and their reply leave together, so a fault in the driver's process (another
      // task) cannot land between them and leave a write that reached the line indeterminate.
      // What the tty does not take at once goes through the binding's own (async) write.
      const rest = writeNow(p.fd!, Buffer.from(data.buffer, data.byteOffset, data.length));
      if (rest.length > 0) await device('write', () => p.write(Buffer.from(rest)));
    },
    async flush() {
      const p = mustOpen();
      // The binding's own flush is the one system call the filter turns into a no-op.
      if (flushKept) await device('flush', async () => flushQueues(p.fd!));
      else await device('flush', () => p.flush());
    },
    async drain() { const p = mustOpen(); await device('drain', () => p.drain()); },
  };
});
