/**
 * `packet`: the driver of an existing network interface (a veth end, a physical NIC) reached
 * through an AF_PACKET socket. The kernel opens the socket on `config.ifname`, binds it and
 * lends its descriptor (src/kernel/host/packet.ts); the driver reads and writes whole frames
 * on it, as the TAP driver does. The NIC's permanent address and maximum MTU are the
 * interface's when the kernel opened it, so every driver instance registers the same ones.
 */
import { defineNetDriver, type ResourceGrant } from '../../classes/net/contract.js';
import { MAX_MTU } from '../../classes/net/frames.js';
import { fdPort } from './fd-port.js';
import { nicDriver } from './nic-core.js';

export default defineNetDriver((kernel) => {
  let grant: ResourceGrant | undefined;
  const driver = nicDriver(kernel, () => {
    if (!grant?.link || grant.fd < 0) throw new Error('the packet socket was not acquired');
    return fdPort({ fd: grant.fd, permanentMac: grant.link.address, maxMtu: Math.min(MAX_MTU, grant.link.mtu) });
  });
  return {
    ...driver,
    async init(args) {
      grant = await kernel.acquire('packet');
      await driver.init(args);
    },
  };
});
