/**
 * The serial class on the `virtual` driver (hardware in the kernel, a loopback plug), in worker
 * and process domains: settings replayed after a fault (lost under restart-only recovery), the
 * modem lines looped back, the write-announcement rule (a write in flight that the driver had
 * not announced is resubmitted once; an announced one fails as indeterminate, never repeated),
 * and the pty frontend carrying bytes both ways.
 */
import { strict as assert } from 'node:assert';
import { closeSync, constants, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { createRuntime, DEFAULT_SETTINGS, ErrorCodes, isShadowError, type RecoveryEvent, type Runtime } from '../../src/index.js';
import { VirtualSerialPort } from '../../src/devices/serial/virtual-serial.js';
import { openSerialPty } from '../../src/frontends/serial-pty.js';
import { until, waitForEvent } from '../../src/testing/events.js';
import { expectNoLeaks, snapshot } from '../../src/testing/leaks.js';

const writeFail = new URL('../fixtures/drivers/serial-write-fail.js', import.meta.url).href;
const take = new URL('../fixtures/drivers/serial-take.js', import.meta.url).href;
const fast = { heartbeatMs: 50, heartbeatTimeoutMs: 1000, deadlineScale: 0.5 };

async function withPort(run: (rt: Runtime, port: VirtualSerialPort) => Promise<void>): Promise<void> {
  const before = snapshot();
  const port = await new VirtualSerialPort().listen();
  const rt = createRuntime({ faultInjection: true });
  try {
    await run(rt, port);
  } finally {
    await rt.close();
    await port.close();
  }
  await expectNoLeaks(before);
}

const recovered = (rt: Runtime, name: string) => waitForEvent<RecoveryEvent>(rt.manager, 'recovery', (e) => e.device === name, 20_000);

for (const domain of ['worker', 'process'] as const) {
  describe(`serial class, virtual driver, ${domain} domain`, () => {
    test('settings and modem lines set before a fault are in force after it', () => withPort(async (rt, port) => {
      const serial = await rt.attachSerial({ name: 'v0', driver: 'virtual', domain, config: { socket: port.socketPath }, ...fast });
      await serial.open({ baudRate: 19200, parity: 'even', stopBits: 2, rtscts: true });
      await serial.update(57600);
      await serial.set({ dtr: true, rts: false });
      const back = recovered(rt, 'v0');
      rt.inject('v0', { kind: 'exit' });
      await back;
      assert.deepEqual({ ...port.settings }, { ...DEFAULT_SETTINGS, baudRate: 57600, parity: 'even', stopBits: 2, rtscts: true });
      assert.equal(port.lines.dtr, true);
      assert.equal(port.lines.rts, false);
      assert.equal(await serial.getBaudRate(), 57600);
      assert.deepEqual(await serial.get(), { cts: false, dsr: true, dcd: true });
    }));

    test('a read waiting for input at a failure is resubmitted without holding back the calls after it', () => withPort(async (rt, port) => {
      const serial = await rt.attachSerial({ name: 'v9', driver: 'virtual', domain, config: { socket: port.socketPath }, ...fast });
      await serial.open({ baudRate: 9600 });
      let readDone = false;
      // Nothing arrives on the line: the read waits its whole second, in the failed driver and
      // again in the fresh one. Recovery must not wait for it (the paper resubmits, then
      // resumes), or every call after it (a write of the same program) waits for input too.
      const reading = serial.read(16, 1000).then((bytes) => { readDone = true; return bytes; });
      const back = recovered(rt, 'v9');
      rt.inject('v9', { kind: 'exit' });
      const event = await back;
      assert.equal(event.resubmitted, 1, 'the read was in flight at the failure');
      await serial.set({ dtr: true, rts: true });
      assert.equal(readDone, false, 'recovery waited for the resubmitted read before resuming');
      assert.equal((await reading).length, 0);
    }));

    test('restart-only recovery: the fresh driver reset the line and nobody replays the settings', () => withPort(async (rt, port) => {
      const serial = await rt.attachSerial({ name: 'v1', driver: 'virtual', domain, recovery: 'restart', config: { socket: port.socketPath }, ...fast });
      await serial.open({ baudRate: 19200, parity: 'odd' });
      const back = recovered(rt, 'v1');
      rt.inject('v1', { kind: 'exit' });
      await back;
      assert.deepEqual({ ...port.settings }, { ...DEFAULT_SETTINGS });
      await assert.rejects(serial.getBaudRate(), (err: unknown) => isShadowError(err, ErrorCodes.NOT_OPEN));
    }));

    test('the contract fault on a serial device is one the kernel sees (a reply answered twice), and the read loses nothing', () => withPort(async (rt, port) => {
      const serial = await rt.attachSerial({ name: 'v6', driver: 'virtual', domain, config: { socket: port.socketPath }, ...fast });
      await serial.open({ baudRate: 9600 });
      port.receiveFromLine(Buffer.from('abc'));
      const back = recovered(rt, 'v6');
      // The next call is the read: the injector's own pick for a byte reply (one byte dropped)
      // would pass as a legal short read, and no recovery would come.
      rt.inject('v6', { kind: 'contract' });
      let got = '';
      while (got.length < 3) got += Buffer.from(await serial.read(16, 200)).toString('latin1');
      const event = await back;
      assert.equal(event.cause, 'contract');
      assert.equal(got, 'abc');
    }));

    test('modem lines: DTR loops back to DSR and DCD, RTS to CTS', () => withPort(async (rt, port) => {
      const serial = await rt.attachSerial({ name: 'v2', driver: 'virtual', domain, config: { socket: port.socketPath }, ...fast });
      await serial.open({ baudRate: 9600 });
      for (const [dtr, rts] of [[true, false], [false, true], [true, true], [false, false]] as const) {
        await serial.set({ dtr, rts });
        assert.deepEqual(await serial.get(), { cts: rts, dsr: dtr, dcd: dtr }, `dtr ${dtr}, rts ${rts}`);
      }
    }));

    for (const when of ['before-announce', 'after-announce'] as const) {
      test(`a write in flight when the driver fails ${when === 'before-announce' ? 'before announcing it' : 'after announcing it'}: ${when === 'before-announce' ? 'resubmitted once, on the line once' : 'indeterminate, never repeated'}`,
        () => withPort(async (rt, port) => {
          const dir = mkdtempSync(join(tmpdir(), 'shadow-serial-flag-'));
          try {
            const serial = await rt.attachSerial({ name: 'v3', driver: writeFail, domain, sandbox: false,
              config: { socket: port.socketPath, marker: 'MARK', when, flag: join(dir, 'failed') }, ...fast });
            await serial.open({ baudRate: 9600 });
            await serial.write(Buffer.from('before '));
            const back = recovered(rt, 'v3');
            const result = await serial.write(Buffer.from('MARK once')).then(() => undefined, (err: unknown) => err);
            await back;
            await serial.write(Buffer.from(' after'));
            const line = Buffer.concat(port.transmitted).toString('latin1');
            if (when === 'before-announce') {
              assert.equal(result, undefined, `the write failed: ${String(result)}`);
              assert.equal(line, 'before MARK once after');
            } else {
              assert.ok(isShadowError(result, ErrorCodes.NOT_RESUBMITTED), `expected SD_ERR_NOT_RESUBMITTED, got ${String(result)}`);
              assert.equal((result as { outcome?: string }).outcome, 'indeterminate');
              assert.equal(line, 'before  after', 'an announced write was repeated');
            }
            assert.equal(rt.status('v3')!.recoveries, 1);
          } finally {
            rmSync(dir, { recursive: true, force: true });
          }
        }));
    }

    test('a write whose resubmission fails again before its announcement is not resubmitted twice', () => withPort(async (rt, port) => {
      const serial = await rt.attachSerial({ name: 'v4', driver: writeFail, domain, sandbox: false,
        config: { socket: port.socketPath, marker: 'MARK', when: 'before-announce', always: true }, ...fast });
      await serial.open({ baudRate: 9600 });
      const back = recovered(rt, 'v4');
      const result = await serial.write(Buffer.from('MARK always')).then(() => undefined, (err: unknown) => err);
      const event = await back;
      // The first driver failed before announcing it: resubmitted. The second failed running the
      // resubmission, inside recovery, where announcements are not recorded: not again, and the
      // kernel cannot say it never started.
      assert.equal(event.attempts, 2);
      assert.ok(isShadowError(result, ErrorCodes.NOT_RESUBMITTED), `expected SD_ERR_NOT_RESUBMITTED, got ${String(result)}`);
      assert.equal((result as { outcome?: string }).outcome, 'indeterminate');
      assert.equal(Buffer.concat(port.transmitted).toString('latin1'), '');
    }));

    for (const extra of [0, 1]) {
      test(`a read answered "kernel, take ${extra ? 'more than asked' : 'it'}" on a port with no tty: a contract breach, recovered, the input read by the next driver`,
        () => withPort(async (rt, port) => {
          const dir = mkdtempSync(join(tmpdir(), 'shadow-serial-flag-'));
          try {
            const serial = await rt.attachSerial({ name: 'v6', driver: take, domain, sandbox: false,
              config: { socket: port.socketPath, flag: join(dir, 'answered'), extra }, ...fast });
            await serial.open({ baudRate: 9600 });
            const failed = waitForEvent<{ device: string; kind: string; message: string }>(rt.manager, 'failure', (e) => e.device === 'v6', 20_000);
            const back = recovered(rt, 'v6');
            port.receiveFromLine(Buffer.from('input'));
            const read = serial.read(64, 1000);
            const failure = await failed;
            assert.equal(failure.kind, 'contract');
            assert.match(failure.message, extra ? /take 65 bytes for a call of 64/ : /does not have/);
            await back;
            assert.equal(Buffer.from(await read).toString('latin1'), 'input');
          } finally {
            rmSync(dir, { recursive: true, force: true });
          }
        }));
    }

    test('openSerialPty: what a client writes reaches the line, what the line receives reaches the client', () => withPort(async (rt, port) => {
      const serial = await rt.attachSerial({ name: 'v5', driver: 'virtual', domain, config: { socket: port.socketPath }, ...fast });
      await serial.open({ baudRate: 115200 });
      const pty = openSerialPty(serial);
      const client = openSync(pty.path, constants.O_RDWR | constants.O_NOCTTY | constants.O_NONBLOCK);
      try {
        let got = '';
        const take = () => {
          const buffer = Buffer.alloc(4096);
          try { got += buffer.subarray(0, readSync(client, buffer)).toString('latin1'); } catch { /* EAGAIN: nothing yet */ }
          return got;
        };
        writeSync(client, 'to the line\n');
        // The loopback plug sends it straight back: out through the device, in again, to the client.
        await until(() => take().includes('to the line\n'), 'the echo through the pty', 10_000);
        assert.equal(Buffer.concat(port.transmitted).toString('latin1'), 'to the line\n');
        port.receiveFromLine(Buffer.from('from the far end\n'));
        await until(() => take().includes('from the far end\n'), 'bytes from the line at the client', 10_000);
        assert.equal(got, 'to the line\nfrom the far end\n');
      } finally {
        closeSync(client);
        await pty.close();
      }
    }));
  });
}
