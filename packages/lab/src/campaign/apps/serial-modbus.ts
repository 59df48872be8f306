/**
 * Serial: a Modbus RTU master (modbus-serial) reading and writing holding registers of a Modbus
 * RTU server (pymodbus) at the far end of a pty pair, through the shadowed serialport binding;
 * the fault hits the driver after the first transactions. Verified: every read returned the
 * values written, and the server executed each write exactly once (its own log of writes).
 */
import { fileURLToPath } from 'node:url';
import modbusSerial from 'modbus-serial';
import type { CampaignApp } from './context.js';
import { until } from './dataset.js';
import { bindingFor, cable, peer } from './serial-ports.js';

// A CommonJS package whose typings say `export default`: at run time the default is the class.
const ModbusRTU = modbusSerial as unknown as typeof modbusSerial.default;
const SERVER = fileURLToPath(new URL('../../../../test/fixtures/modbus-rtu-server.py', import.meta.url));

export const serialModbusApp: CampaignApp = {
  name: 'serial-modbus', className: 'serial', realTools: true, nativeCode: true,
  paperRow: 'serial: a Modbus RTU master polling an instrument (pymodbus on a pty)',
  async run(context) {
    const line = await cable();
    const server = peer('/usr/bin/python3', [SERVER, line.far, '115200']);
    const client = new ModbusRTU();
    let errors = 0;
    let problem = '';
    try {
      await until(() => server.lines.includes('READY') || server.child.exitCode !== null, 20_000);
      if (!server.lines.includes('READY')) throw new Error('the Modbus server did not start (python3-pymodbus, python3-serial-asyncio)');
      // A careful master listens for port errors (without a listener, one ends the process).
      (client as unknown as NodeJS.EventEmitter).on('error', (err: Error) => { errors++; problem = `port: ${err.message}`; });
      await client.connectRTUBuffered(line.near, { baudRate: 115200, binding: bindingFor(context, line.near) } as never);
      client.setID(1);
      client.setTimeout(10_000);
      const model = new Array<number>(64).fill(0);
      const total = 20 + Math.round(60 * (context.scale ?? 1));
      let writes = 0;
      let wrong = 0;
      let done = 0;
      for (let i = 0; i < total; i++) {
        if (i === 20) await context.inject();
        const address = (i * 5) % 60;
        try {
          const value = (i * 257) & 0xffff;
          writes++; // sent, whatever its answer: the server's count must not exceed this
          await client.writeRegisters(address, [value, value ^ 0xffff]);
          model[address] = value;
          model[address + 1] = value ^ 0xffff;
          const read = await client.readHoldingRegisters(address, 4);
          if (read.data.some((v, k) => v !== model[address + k])) wrong++;
          done++;
        } catch (err) {
          errors++;
          problem = problem ? `${problem}; ${(err as Error).message}` : (err as Error).message;
          if (!client.isOpen) break;
        }
      }
      await new Promise<void>((resolve) => client.close(() => resolve()));
      await server.stop();
      const executed = server.lines.filter((l) => l.startsWith('WRITE ')).length;
      return {
        finished: errors === 0 && done === total, errors, verified: wrong === 0 && executed === writes && errors === 0 && done === total,
        detail: `${done} of ${total} write-and-read transactions, ${wrong} read back wrong, ${writes} writes sent, ${executed} executed by the server` +
          (problem ? `; error: ${problem}` : ''),
      };
    } finally {
      if (client.isOpen) await new Promise<void>((resolve) => client.close(() => resolve()));
      await context.rt.close();
      await server.stop();
      await line.close();
    }
  },
};
