/**
 * `tap` (the TAP NIC driver; not to be confused with the call-interposing `Tap` of taps/):
 * the driver of a Linux TAP interface. The kernel opens the TAP (config.ifname) and
 * lends its descriptor; the driver reads and writes frames on it. The NIC's own address is
 * derived from the interface name, so every driver instance registers the same one. With
 * offloads (the default), frames come and go with their virtio-net header: checksums left to
 * complete and TCP segments of up to 64 KiB, registered as `offloads` with the kernel.
 */
import { createHash } from 'node:crypto';
import { defineNetDriver } from '../../classes/net/contract.js';
import { fdPort } from './fd-port.js';
import { nicDriver } from './nic-core.js';

/** A locally administered unicast address, stable for a name. */
function addressFor(name: string): string {
  const h = createHash('sha256').update(`shadow-tap:${name}`).digest();
  h[0] = (h[0]! & 0xfc) | 0x02;
  return [...h.subarray(0, 6)].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

export default defineNetDriver((kernel) => {
  let grantFd = -1;
  const driver = nicDriver(kernel, (config) => {
    if (grantFd < 0) throw new Error('the TAP descriptor was not acquired');
    // The kernel opened the TAP with a virtio-net header unless config.offloads is false (manifests.ts).
    return fdPort({ fd: grantFd, permanentMac: addressFor(String(config.ifname)), maxMtu: 9000, vnetHeader: config.offloads !== false });
  });
  return {
    ...driver,
    async init(args) {
      grantFd = (await kernel.acquire('tap')).fd;
      await driver.init(args);
    },
  };
});
