/**
 * Bytes that arrive while the serialport driver is down, and while the next one opens the port,
 * are not lost: the far end of a socat pty pair writes numbered lines without a pause while
 * every fault kind, SIGKILL and SIGSEGV included, hits the driver, and every line arrives once,
 * in order. (The driver never holds input: it tells the kernel input is waiting, and the kernel
 * takes it off the tty itself, so even a driver killed between seeing the input and answering
 * loses none. bindings-cpp flushes the tty's queues on every open; without the driver's filter
 * that keeps them, a stream this dense loses lines on most recoveries.)
 */
import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { describe, test } from 'node:test';
import { allFaultKinds, builtInDrivers, createRuntime, type RecoveryEvent } from 'shadow-drivers';
import type { AppContext } from '../../src/campaign/apps/context.js';
import { bindingFor } from '../../src/campaign/apps/serial-ports.js';
import { expectNoLeaks, requires, snapshot, until } from 'shadow-drivers/testing';
import { ptyPair, stty } from '../helpers/pty-pair.js';
import { SerialPort } from 'serialport';
import { shadowBinding } from 'shadow-drivers/serialport';
import { closePort, openPort, PYTHON, serialSpec, strike } from '../helpers/serial-peers.js';

const missing = requires('socat', 'stty', PYTHON);

/**
 * Writes "<n>\n" for n = 0, 1, ... to `path`, one line a millisecond, until SIGTERM; then
 * prints the count it wrote. A full tty queue blocks its write: the pty loses nothing itself.
 */
const WRITER = `
import os, signal, sys, time, termios, tty
stop = False
def on_term(*_):
    global stop
    stop = True
signal.signal(signal.SIGTERM, on_term)
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_NOCTTY)
tty.setraw(fd)
n = 0
while not stop:
    os.write(fd, b"%d\\n" % n)
    n += 1
    time.sleep(0.001)
print(n, flush=True)
`;

function writer(path: string): { stop(): Promise<number> } {
  const child: ChildProcess = spawn(PYTHON, ['-c', WRITER, path], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => { out += c; });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    async stop() {
      child.kill('SIGTERM');
      await exited;
      const count = Number(out.trim());
      if (!Number.isSafeInteger(count)) throw new Error(`the writer printed ${JSON.stringify(out)}`);
      return count;
    },
  };
}

describe('a continuous stream through driver faults (serialport driver, pty pair)', { skip: missing }, () => {
  // A warm spare is loaded but initialized only once the failed driver is gone: it never
  // touches the tty beside a serving driver, so the stream is the same with one.
  for (const warmStandby of [false, true]) {
  test(`every fault kind, SIGSEGV included, while the far end writes a line a millisecond: every line once, in order, none lost${warmStandby ? ' (warm standby)' : ''}`, async (t) => {
    const before = snapshot();
    const pair = await ptyPair();
    const rt = createRuntime({ faultInjection: true });
    const events: RecoveryEvent[] = [];
    rt.manager.on('recovery', (e: RecoveryEvent) => events.push(e));
    let far: { stop(): Promise<number> } | undefined;
    try {
      const port = await openPort(rt, pair.near, {}, { warmStandby });
      const device = rt.statuses()[0]!.device;
      let received = '';
      port.on('data', (chunk: Buffer) => { received += chunk.toString('latin1'); });
      const errors: Error[] = [];
      port.on('error', (err) => errors.push(err));
      far = writer(pair.far);
      const lines = () => received.split('\n').length - 1;
      const strikes: { kind: string; line: number }[] = [];
      for (const kind of allFaultKinds) {
        const seen = lines();
        // Lines flowing before the fault, so it lands in mid-stream.
        await until(() => lines() > seen + 50, `lines flowing before ${kind}`, 20_000);
        if (warmStandby) await rt.standbyReady(device);
        strikes.push({ kind, line: lines() });
        await strike(rt, device, kind);
      }
      const seen = lines();
      await until(() => lines() > seen + 50, 'lines flowing after the last recovery', 20_000);
      const written = await far.stop();
      far = undefined;
      const last = String(written - 1);
      await until(() => received.endsWith(`\n${last}\n`), `the last line, ${last} (have ${lines()} lines)`, 20_000);
      const got = received.split('\n').slice(0, -1).map(Number);
      const reordered = got.findIndex((n, i) => i > 0 && n <= got[i - 1]!);
      assert.equal(reordered, -1, `line ${got[reordered]} after ${got[reordered - 1]}: duplicated or reordered`);
      // Lost lines, as runs [from, to]: none, whatever struck and wherever.
      const runs: [number, number][] = [];
      for (let i = 0, expect = 0; i <= got.length; i++) {
        const n = i < got.length ? got[i]! : written;
        if (n > expect) runs.push([expect, n - 1]);
        expect = n + 1;
      }
      t.diagnostic(`faults struck at ${strikes.map((x) => `${x.kind}@${x.line}`).join(' ')}`);
      assert.deepEqual(runs, [], `lines lost (faults at ${strikes.map((x) => `${x.kind}@${x.line}`).join(' ')})`);
      assert.deepEqual(errors.map((e) => e.message), []);
      const status = rt.status(device)!;
      assert.ok(status.recoveries >= allFaultKinds.length, `${status.recoveries} recoveries`);
      // Every recovery ran on a spare that had finished loading, or none did.
      const warm = events.map((e) => e.warmStandby);
      assert.deepEqual(warm.filter((w) => w !== warmStandby), [], `warm recoveries: ${warm.join(' ')}`);
      // The kernel held what arrived while no driver ran (the line never stops), within its bound.
      const held = events.map((e) => e.inputHeld?.bytes ?? 0);
      t.diagnostic(`bytes the kernel held per recovery: ${held.join(' ')}`);
      assert.ok(held.some((n) => n > 0), `bytes held per recovery: ${held.join(' ')}`);
      assert.ok(events.every((e) => e.inputHeld?.full !== true));
      await closePort(port);
    } finally {
      await far?.stop().catch(() => undefined);
      await rt.close();
      await pair.stop();
    }
    await expectNoLeaks(before);
  });
  }

  test('a live update of the serialport driver is refused with one line (its init would reset the line under the serving driver), and the port goes on', async () => {
    const before = snapshot();
    const pair = await ptyPair();
    const rt = createRuntime();
    try {
      const port = await openPort(rt, pair.near, { baudRate: 38400 });
      const device = rt.statuses()[0]!.device;
      await assert.rejects(rt.update(device, { driver: 'serialport' }), (err: Error & { code?: string }) =>
        err.code === 'SD_ERR_NOT_SUPPORTED' && !err.message.includes('\n') && /cannot be updated live: its init resets the tty's line settings/.test(err.message));
      assert.match(stty(pair.near), /speed 38400 baud/, 'the line kept its speed');
      assert.equal(rt.status(device)!.state, 'running');
      await closePort(port);
    } finally {
      await rt.close();
      await pair.stop();
    }
    await expectNoLeaks(before);
  });

  test('a campaign mutant runs: the serial applications\' binding loads the trial\'s driver, and a copy of the serialport manifest under another name serves', async () => {
    const before = snapshot();
    const pair = await ptyPair();
    const rt = createRuntime();
    try {
      // The trial's driver reaches the binding (a mutation trial's mutant, here a name nobody registered).
      const context = { rt, random: Math.random, inject: async () => undefined,
        spec: (name: string, base: Record<string, unknown>) => ({ ...base, name, driver: 'no-such-mutant', recovery: 'shadow' }) } as unknown as AppContext;
      await assert.rejects(bindingFor(context, pair.near).open({ path: pair.near, baudRate: 9600 }),
        (err: Error & { code?: string }) => err.code === 'SD_ERR_NOT_FOUND' && /no-such-mutant/.test(err.message));
      // A mutant is registered as a copy of the original's manifest: its sandbox still reads the
      // binding's packages and loads its addon, so the copy opens and carries bytes.
      const original = builtInDrivers.find((m) => m.class === 'serial' && m.name === 'serialport')!;
      rt.registerDriver({ ...original, name: 'serialport-copy' });
      const port = await new Promise<SerialPort>((resolve, reject) => {
        const p: SerialPort = new SerialPort({ path: pair.near, baudRate: 115200, binding: shadowBinding(rt, { driver: 'serialport-copy', spec: serialSpec }) } as never,
          (err: Error | null) => (err ? reject(err) : resolve(p)));
      });
      assert.equal(rt.statuses()[0]!.driver, 'serialport-copy');
      const far = writer(pair.far);
      let received = '';
      port.on('data', (chunk: Buffer) => { received += chunk.toString('latin1'); });
      await until(() => received.split('\n').length > 10, 'lines through the copied driver', 20_000);
      await far.stop();
      await closePort(port);
    } finally {
      await rt.close();
      await pair.stop();
    }
    await expectNoLeaks(before);
  });
});
