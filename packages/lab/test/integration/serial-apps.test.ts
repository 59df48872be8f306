/**
 * Serial applications on real ttys (pty pairs made by socat) through the unmodified
 * serialport binding in a process domain, while faults of every kind, SIGSEGV included, hit
 * the driver: an interactive line session and the line's settings.
 */
import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { SerialPort } from 'serialport';
import { allFaultKinds, createRuntime, type FaultKind, type Runtime } from 'shadow-drivers';
import { shadowBinding } from 'shadow-drivers/serialport';
import { expectNoLeaks, requires, snapshot, until, waitForEvent } from 'shadow-drivers/testing';
import { echoPeer, ptyPair, stty } from '../helpers/pty-pair.js';

const missing = requires('socat', 'stty');
const spec = { heartbeatMs: 50, heartbeatTimeoutMs: 1000, deadlineScale: 0.5, memoryLimitMb: 64 };

function openPort(rt: Runtime, path: string, options: Record<string, unknown> = {}): Promise<SerialPort> {
  return new Promise((resolve, reject) => {
    // The one changed line of an existing program: `binding: shadowBinding(rt)`.
    const port: SerialPort = new SerialPort({ path, baudRate: 115200, binding: shadowBinding(rt, { spec }), ...options } as never,
      (err: Error | null) => (err ? reject(err) : resolve(port)));
  });
}

const closePort = (port: SerialPort) => new Promise<void>((resolve) => port.close(() => resolve()));

/** Injects `kind` and waits until the driver is back. */
async function strike(rt: Runtime, device: string, kind: FaultKind): Promise<void> {
  const back = waitForEvent(rt.manager, "recovery", (e: { device: string }) => e.device === device, 20_000).catch((err: Error) => { throw new Error(`${kind}: ${err.message}`); });
  // The contract fault is the serial class's own (contractFault: a reply answered twice).
  rt.inject(device, { kind });
  await back;
}

describe('serial applications through the shadowed serialport binding', { skip: missing }, () => {
  test('interactive line session at 20 lines/s through every fault kind: no line lost, duplicated or reordered', async () => {
    const before = snapshot();
    const pair = await ptyPair();
    const peer = echoPeer(pair.far);
    const rt = createRuntime({ faultInjection: true });
    try {
      const port = await openPort(rt, pair.near);
      const device = rt.statuses()[0]!.device;
      let received = '';
      port.on('data', (chunk: Buffer) => { received += chunk.toString('latin1'); });
      const errors: Error[] = [];
      port.on('error', (err) => errors.push(err));
      let worst = 0;
      const kinds = [...allFaultKinds];
      for (let i = 0; i < 20 * kinds.length; i++) {
        const line = `line ${i}\n`;
        const sent = performance.now();
        await new Promise<void>((resolve, reject) => port.write(line, (err) => (err ? reject(err) : resolve())));
        await until(() => received.includes(line), `echo of ${line.trim()}`, 20_000);
        // A fault once the echo is in: it hits the driver while its next read waits on the line.
        if (i % 20 === 5) await strike(rt, device, kinds[(i - 5) / 20]!);
        worst = Math.max(worst, performance.now() - sent);
        await new Promise((resolve) => setTimeout(resolve, 50)); // 20 lines a second, as a person at a prompt
      }
      const lines = received.split('\n').filter(Boolean);
      assert.deepEqual(lines, Array.from({ length: 20 * kinds.length }, (_, i) => `line ${i}`));
      assert.deepEqual(errors, []);
      assert.equal(rt.status(device)!.recoveries, kinds.length);
      console.log(`line session: ${lines.length} lines, ${kinds.length} faults, worst echo delay ${worst.toFixed(0)} ms`);
      await closePort(port);
    } finally {
      await rt.close();
      await peer.stop();
      await pair.stop();
    }
    await expectNoLeaks(before);
  });

  for (const recovery of ['shadow', 'restart'] as const) {
    test(`settings set before a fault are ${recovery === 'shadow' ? 'in force after it' : 'lost under restart-only recovery'}`, async () => {
      const before = snapshot();
      const pair = await ptyPair();
      const rt = createRuntime({ faultInjection: true });
      try {
        const serial = await rt.attachSerial({ name: 'tty0', driver: 'serialport', recovery, config: { path: pair.near }, ...spec });
        await serial.open({ baudRate: 19200, parity: 'even', rtscts: true, xon: true, xoff: true });
        await serial.update(38400);
        const set = stty(pair.near);
        // A pty has no parity hardware (Linux keeps -parenb on it): baud rate and flow control are what it shows.
        const kept = ['speed 38400', ' crtscts', ' ixon', ' ixoff'];
        for (const s of kept) assert.ok(set.includes(s), `${s.trim()} before the fault: ${set}`);
        await strike(rt, 'tty0', 'segfault');
        const after = stty(pair.near);
        if (recovery === 'shadow') {
          for (const s of kept) assert.ok(after.includes(s), `${s.trim()} after the fault: ${after}`);
          assert.equal(await serial.getBaudRate(), 38400);
        } else {
          // The fresh driver reset the line (9600 8N1, no flow control) and nobody replayed the settings.
          for (const s of ['speed 9600', ' -crtscts', ' -ixon']) assert.ok(after.includes(s), `${s.trim()} after a restart: ${after}`);
          await assert.rejects(serial.getBaudRate(), (err: Error & { code?: string }) => err.code === 'SD_ERR_NOT_OPEN');
        }
      } finally {
        await rt.close();
        await pair.stop();
      }
      await expectNoLeaks(before);
    });
  }
});
