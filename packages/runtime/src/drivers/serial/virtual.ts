/**
 * `virtual`: the driver of a virtual serial port (devices/serial/virtual-serial.ts), the
 * zero-setup default of the serial class. It attaches to the port's hardware over the socket in
 * `config.socket` and maps each entry point to one hardware operation; it holds no bytes of
 * its own (the hardware keeps its receive queue until a read's answer leaves it).
 */
import { connect, type Socket } from 'node:net';
import { DEFAULT_SETTINGS, defineSerialDriver, type ModemStatus } from '../../classes/serial/contract.js';
import { jsonMessage, MessageReader, parseJson } from '../../devices/framing.js';
import { MAX_PORT_MESSAGE, PORT_MESSAGES, PortMessage, type PortAnswer, type PortOp } from '../../devices/serial/port-protocol.js';

export default defineSerialDriver((kernel) => {
  let socket: Socket | undefined;
  let nextId = 1;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  const op = (body: PortOp): Promise<unknown> => new Promise((resolve, reject) => {
    const id = nextId++;
    pending.set(id, { resolve, reject });
    socket!.write(jsonMessage(PortMessage.Op, { id, body }));
  });

  const connectTo = (path: string): Promise<void> => new Promise((resolve, reject) => {
    const s = connect(path, () => resolve());
    socket = s;
    const reader = new MessageReader(PORT_MESSAGES, MAX_PORT_MESSAGE, (type, payload) => {
      if (type !== PortMessage.Answer) return;
      const answer = parseJson<PortAnswer>(payload);
      const waiter = pending.get(answer.id);
      pending.delete(answer.id);
      if (answer.ok) waiter?.resolve(answer.value);
      else waiter?.reject(new Error(answer.error ?? 'the port refused the operation'));
    }, (message) => s.destroy(new Error(`virtual serial hardware: ${message}`)));
    s.on('data', (chunk: Buffer) => reader.push(chunk));
    s.on('error', reject);
    // The hardware went away under a running driver: the driver cannot go on.
    s.on('close', () => { if (pending.size > 0) throw new Error('virtual serial hardware closed the connection'); });
  });

  return {
    async init({ config }) {
      if (typeof config.socket !== 'string') throw new Error('the virtual serial driver needs config.socket');
      await connectTo(config.socket);
      await op({ op: 'reset' }); // a driver's probe puts the port in its reset state
      await kernel.register({ port: `virtual:${config.socket}` });
    },
    async open(settings) { await op({ op: 'configure', settings: { ...DEFAULT_SETTINGS, ...settings } }); },
    async close() { await op({ op: 'reset' }); },
    async update({ baudRate }) { await op({ op: 'configure', settings: { baudRate } }); },
    async set(lines) { await op({ op: 'lines', lines: { ...lines } }); },
    async get() { return (await op({ op: 'status' })) as ModemStatus; },
    async getBaudRate() { return { baudRate: (await op({ op: 'baudRate' })) as number }; },
    async read({ length, waitMs }) {
      return new Uint8Array(Buffer.from((await op({ op: 'receive', length, waitMs })) as string, 'base64'));
    },
    async write({ seq, data }) {
      await kernel.upcall('writing', { seq }); // announced before any byte can reach the port
      await op({ op: 'transmit', data: Buffer.from(data.buffer, data.byteOffset, data.length).toString('base64') }); },
    async flush() { await op({ op: 'flush' }); },
    async drain() { await op({ op: 'drain' }); },
  };

});
