/**
 * Far-end programs for the serial tests: the Modbus RTU server (pymodbus, under Debian's own
 * python, with the lines it prints), and opening a port through the shadowed binding.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { SerialPort } from 'serialport';
import type { FaultKind, Runtime } from 'shadow-drivers';
import { shadowBinding } from 'shadow-drivers/serialport';
import { until, waitForEvent } from 'shadow-drivers/testing';

export const PYTHON = '/usr/bin/python3';
export const serialSpec = { heartbeatMs: 50, heartbeatTimeoutMs: 1000, deadlineScale: 0.5, memoryLimitMb: 64 };
const server = new URL('../../../test/fixtures/modbus-rtu-server.py', import.meta.url).pathname;

/** Why the Modbus server cannot run here, or false. */
export function modbusMissing(): string | false {
  const r = spawnSync(PYTHON, ['-c', 'import pymodbus, serial_asyncio'], { stdio: 'ignore' });
  return r.status === 0 ? false : `${PYTHON} lacks pymodbus or serial_asyncio (python3-pymodbus, python3-serial-asyncio)`;
}

export interface ModbusServer {
  /** Every register write the server executed: "WRITE <address> <values...>". */
  writes: string[];
  stop(): Promise<void>;
}

export async function modbusServer(path: string, baudRate: number): Promise<ModbusServer> {
  const child: ChildProcess = spawn(PYTHON, [server, path, String(baudRate)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let partial = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop()!;
    lines.push(...parts);
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (c: string) => { stderr = (stderr + c).slice(-2000); });
  await until(() => lines.includes('READY') || child.exitCode !== null, 'the Modbus server started', 20_000);
  if (child.exitCode !== null) throw new Error(`modbus server exited: ${stderr}`);
  return {
    get writes() { return lines.filter((l) => l.startsWith('WRITE ')); },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await gone;
    },
  };
}

export function openPort(rt: Runtime, path: string, options: Record<string, unknown> = {}, spec: Record<string, unknown> = {}): Promise<SerialPort> {
  return new Promise((resolve, reject) => {
    // The one changed line of an existing program: `binding: shadowBinding(rt)`.
    const port: SerialPort = new SerialPort({ path, baudRate: 115200, binding: shadowBinding(rt, { spec: { ...serialSpec, ...spec } }), ...options } as never,
      (err: Error | null) => (err ? reject(err) : resolve(port)));
  });
}

export const closePort = (port: SerialPort) => new Promise<void>((resolve) => port.close(() => resolve()));

/** Injects `kind` and waits until the driver is back. */
export async function strike(rt: Runtime, device: string, kind: FaultKind): Promise<void> {
  const back = waitForEvent(rt.manager, 'recovery', (e: { device: string }) => e.device === device, 20_000)
    .catch((err: Error) => { throw new Error(`${kind}: ${err.message}`); });
  rt.inject(device, { kind });
  await back;
}
