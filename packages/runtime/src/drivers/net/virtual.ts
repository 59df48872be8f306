/**
 * `virtual`: the driver of a virtual NIC (src/net/virtual-nic.ts), the zero-setup default of
 * the network class. It attaches to the hardware over the unix socket named in
 * `config.socket` and speaks the hardware's framing; everything else is the common NIC core.
 */
import { connect, type Socket } from 'node:net';
import { defineNetDriver } from '../../classes/net/contract.js';
import { decodeAck, encode, WireReader, WireType, type Hello } from '../../devices/net/wire-protocol.js';
import { nicDriver, type Port, type PortEvents } from './nic-core.js';

/** Bytes the driver lets queue towards the hardware before it drops frames (a full TX ring). */
const TX_RING_BYTES = 1 << 20;

function virtualPort(config: Record<string, unknown>): Port {
  if (typeof config.socket !== 'string') throw new Error('the virtual NIC driver needs config.socket');
  const path = config.socket;
  let socket: Socket | undefined;
  let closing = false;
  /** Frames written to the hardware, frames it acknowledged taking (modulo 2^32), sends waiting for theirs. */
  let written = 0;
  let acked = 0;
  const waiting: { until: number; resolve: () => void }[] = [];
  const taken = (until: number): boolean => ((acked - until) | 0) >= 0;
  return {
    open(events: PortEvents) {
      return new Promise((resolve, reject) => {
        const s = connect(path);
        socket = s;
        let greeted = false;
        const reader = new WireReader((type, payload) => {
          if (type === WireType.Hello && !greeted) {
            greeted = true;
            const hello = JSON.parse(Buffer.from(payload).toString('utf8')) as Hello;
            resolve({ permanentMac: hello.permanentMac, maxMtu: hello.maxMtu, carrier: hello.carrier });
          } else if (type === WireType.Frame) events.frame(payload);
          else if (type === WireType.Carrier) events.carrier(payload[0] === 1);
          else if (type === WireType.Ack) {
            acked = decodeAck(payload);
            while (waiting.length > 0 && taken(waiting[0]!.until)) waiting.shift()!.resolve();
          }
        }, (message) => s.destroy(new Error(`virtual NIC hardware: ${message}`)));
        s.on('data', (chunk: Buffer) => reader.push(chunk));
        s.on('error', (err) => { if (!greeted) reject(err); else throw err; });
        // The hardware went away under a running driver: the driver cannot go on.
        s.on('close', () => { if (greeted && !closing) throw new Error('virtual NIC hardware closed the connection'); });
      });
    },
    send(frames) {
      let count = 0;
      socket!.cork(); // one writev for the batch, not a system call per frame
      for (const frame of frames) {
        if (socket!.writableLength > TX_RING_BYTES) break;
        socket!.write(encode(WireType.Frame, frame));
        count++;
      }
      socket!.uncork();
      if (count === 0) return 0;
      // Sent once the hardware took them: bytes still in the socket die with the connection (a
      // driver stopped for a live update, or one the NIC dropped), frames the kernel counted sent.
      written = (written + count) >>> 0;
      const until = written;
      return new Promise<number>((resolve) => waiting.push({ until, resolve: () => resolve(count) }));
    },
    close() {
      closing = true;
      socket?.destroy();
    },
  };
}

export default defineNetDriver((kernel) => nicDriver(kernel, virtualPort));
