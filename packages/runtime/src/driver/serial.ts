/** What a serial driver imports: its entry points, their arguments, and the kernel's services. */
export {
  defineSerialDriver, DEFAULT_SETTINGS, type SerialDriver, type SerialCalls, type SerialUpcalls, type SerialSettings,
  type ModemLines, type ModemStatus, type SerialInfo, type Parity,
} from '../classes/serial/contract.js';
export * from './index.js';
