/**
 * `file`: a disk image or a real block device (/dev/loopN). The kernel opens and holds the
 * descriptor; the driver reads and writes through the one it is lent, so the device's
 * identity survives the driver. Flush is fdatasync.
 */
import { defineBlockDriver } from '../../classes/block/contract.js';
import { diskDriver } from './disk-driver.js';

export default defineBlockDriver((kernel) =>
  diskDriver(kernel, { resource: 'disk', readOnly: (_m, grantReadOnly) => grantReadOnly }));
