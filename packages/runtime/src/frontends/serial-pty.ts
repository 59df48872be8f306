/**
 * The pty frontend: a pty whose other end is a shadowed serial port, so that any program in
 * any language (minicom, pyserial, gpsd) opens a path and gets a serial port that survives its
 * driver. The kernel holds the pty's master; bytes a client writes go to the device as writes
 * (in order, one at a time), bytes the device reads go to the client. The pty carries bytes;
 * the line's settings are the device's (set them through the SerialDevice or the service's
 * configuration), not what the client sets on its end.
 */
import { closeSync, symlinkSync, unlinkSync, write } from 'node:fs';
import { ReadStream } from 'node:tty';
import { openPty } from '../kernel/os/pty.js';
import type { SerialDevice } from '../kernel/serial-device.js';

export interface SerialPtyOptions {
  /** A stable path to create as a symlink to the pty (like socat's `link=`). */
  link?: string;
}

export interface SerialPty {
  /** The path clients open: the link when one was asked for, else /dev/pts/N. */
  readonly path: string;
  /** Errors the bridge met (an indeterminate write, a given-up driver), for the operator. */
  onError(listener: (err: Error) => void): void;
  /** Stops the bridge and closes the pty (the device stays attached). */
  close(): Promise<void>;
}

const writeAll = (fd: number, data: Uint8Array): Promise<void> => new Promise((resolve, reject) => {
  write(fd, data, (err, n) => (err ? reject(err) : n < data.length ? writeAll(fd, data.subarray(n)).then(resolve, reject) : resolve()));
});

/** Opens a pty bridged to `serial`, which must be open. */
export function openSerialPty(serial: SerialDevice, options: SerialPtyOptions = {}): SerialPty {
  const pty = openPty();
  if (options.link) symlinkSync(pty.path, options.link);
  const listeners: ((err: Error) => void)[] = [];
  const report = (err: Error) => { for (const l of listeners) l(err); };
  let running = true;
  let writes = Promise.resolve();
  const input = new ReadStream(pty.master);
  input.on('data', (chunk: Buffer) => { writes = writes.then(() => serial.write(chunk)).catch(report); });
  input.on('error', () => { /* the master closes with the bridge */ });
  const pump = (async () => {
    while (running) {
      try {
        const data = await serial.read(4096, 200);
        if (data.length > 0 && running) await writeAll(pty.master, data);
      } catch (err) {
        if (running) report(err as Error);
        if (!serial.isOpen || serial.device.status !== 'ready') break;
      }
    }
  })();
  return {
    path: options.link ?? pty.path,
    onError: (listener) => { listeners.push(listener); },
    async close() {
      running = false;
      await pump;
      await writes;
      input.destroy(); // closes the master
      closeSync(pty.slave);
      if (options.link) { try { unlinkSync(options.link); } catch { /* already gone */ } }
    },
  };
}
