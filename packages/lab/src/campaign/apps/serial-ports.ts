/**
 * What the serial applications share: a socat pty pair (the "cable"), the port opened through
 * the shadowed serialport binding in the trial's configuration, and the far-end programs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SerialPort } from 'serialport';
import { shadowBinding } from 'shadow-drivers/serialport';
import type { AppContext } from './context.js';
import { until } from './dataset.js';

export interface Cable { near: string; far: string; close(): Promise<void> }

/**
 * Starts a helper program that dies with this process: under the native configuration a fault
 * kills the host before it can stop anything, and socat or the Modbus server would be left
 * running. `setpriv --pdeathsig KILL` execs the program with the kernel's parent-death signal set.
 */
export function spawnTied(command: string, args: string[], stdio: 'ignore' | 'stdout'): ChildProcess {
  return spawn('setpriv', ['--pdeathsig', 'KILL', '--', command, ...args], { stdio: stdio === 'ignore' ? 'ignore' : ['ignore', 'pipe', 'ignore'] });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await gone;
}

/** A socat pty pair: `near` for the application's port, `far` for the peer. */
export async function cable(): Promise<Cable> {
  const dir = mkdtempSync(join(tmpdir(), 'shadow-cable-'));
  const near = join(dir, 'near');
  const far = join(dir, 'far');
  const socat = spawnTied('socat', [`pty,raw,echo=0,link=${near}`, `pty,raw,echo=0,link=${far}`], 'ignore');
  await until(() => existsSync(near) && existsSync(far), 5000);
  if (!existsSync(near) || !existsSync(far)) throw new Error('socat made no pty pair');
  return { near, far, async close() { await stopChild(socat); rmSync(dir, { recursive: true, force: true }); } };
}

/** A program on the far end; its stdout lines are kept. */
export function peer(command: string, args: string[]): { lines: string[]; child: ChildProcess; stop(): Promise<void> } {
  const child = spawnTied(command, args, 'stdout');
  const lines: string[] = [];
  let partial = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop()!;
    lines.push(...parts);
  });
  return { lines, child, stop: () => stopChild(child) };
}

/**
 * The binding for the trial's configuration: the serialport driver in a process domain (a
 * worker could not survive its SIGSEGV), in the host under native. A warm standby as every
 * application has: a spare is loaded but initialized (its probe resets the line) only once the
 * failed driver is gone, never beside a serving one.
 */
export function bindingFor(context: AppContext, path: string) {
  const { name, driver, className, ...spec } = context.spec('tty0', { className: 'serial', driver: 'serialport', config: { path } }, true);
  void className;
  return shadowBinding(context.rt, {
    name: () => name,
    // A mutation trial's mutant (the binding's default would load the original serialport driver).
    driver,
    spec: { ...spec, domain: spec.recovery === 'native' ? 'none' : 'process', heartbeatTimeoutMs: 1000 },
  });
}

export function openPort(context: AppContext, path: string, baudRate: number): Promise<SerialPort> {
  return new Promise((resolve, reject) => {
    const port: SerialPort = new SerialPort({ path, baudRate, binding: bindingFor(context, path) } as never,
      (err: Error | null) => (err ? reject(err) : resolve(port)));
  });
}

export const closePort = (port: SerialPort) => new Promise<void>((resolve) => (port.isOpen ? port.close(() => resolve()) : resolve()));
