/**
 * A block device's frontend: an NBD export named after the device (and the default export
 * "", so `nbd://host:port` reaches it too) on a unix socket and/or a TCP address, for as many
 * clients as connect. Closing drains: the NBD server stops listening, ends its connections
 * and waits for every request already running; then the device is flushed and closed.
 */
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { startNbdServer, type NbdListenAddress } from '../nbd/server.js';
import type { BlockDeviceConfig } from './config-schema.js';
import type { CountedBlockDevice } from './counted-block-device.js';
import { removeLeftoverSocket, splitAddress, type Frontend } from './frontend.js';
import { startKernelDevice, type KernelDevice } from './kernel-device.js';

/** `busyPollUs`: the NBD server's busy-poll window, the runtime's own (isolation/busy-poll.ts). */
export async function startBlockFrontend(disk: CountedBlockDevice, frontend: BlockDeviceConfig['frontend'], busyPollUs?: number): Promise<Frontend> {
  const readOnly = frontend.readOnly ?? false;
  await disk.open({ readOnly });
  const listen: NbdListenAddress[] = [];
  const socket = frontend.socket === undefined ? undefined : resolve(frontend.socket);
  if (socket) { removeLeftoverSocket(socket); listen.push({ path: socket }); }
  if (frontend.address) listen.push(splitAddress(frontend.address));
  const exported = { device: disk, readOnly, unavailable: () => disk.refusal() };
  const { server, addresses } = await startNbdServer({ exports: { [disk.name]: exported, '': exported }, listen, busyPollUs });
  const urls = addresses.map((a) => 'path' in a
    ? `nbd+unix:///${disk.name}?socket=${a.path}`
    : `nbd://${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}/${disk.name}`);
  let kernel: KernelDevice | undefined;
  if (frontend.kernelDevice) {
    try {
      kernel = await startKernelDevice(disk.name, urls[0]!);
    } catch (err) {
      await server.close();
      if (socket) rmSync(socket, { force: true });
      await disk.close().catch(() => undefined);
      throw err;
    }
  }
  return {
    addresses: kernel ? [...urls, kernel.path] : urls,
    async close() {
      // The kernel's users first (mounts, loop device, FUSE): they are clients of the server.
      await kernel?.close();
      await server.close();
      if (socket) rmSync(socket, { force: true });
      // What the clients wrote reaches the medium before the driver stops (a device that gave
      // up or a read-only export has nothing to flush).
      if (!readOnly) await disk.flush().catch(() => undefined);
      await disk.close().catch(() => undefined);
    },
  };
}
