/**
 * An NMEA reader (@serialport/parser-readline over the shadowed serialport binding) follows a
 * GPS log replayed onto the far end of a socat pty pair at 4800 and 115200 baud while faults
 * hit the driver: every sentence arrives once, in order, with a valid checksum, and sentences
 * written while the driver is down (after each fault, before its recovery) are not lost: the
 * kernel holds the tty, so they wait in its input queue for the next driver, and what a driver
 * declared failed but still running read off the queue reaches the application from its late
 * reply (the faults the kernel detects: a bad kernel call, a contract breach, a hang).
 *
 * The log is replayed by the test, not by gpsfake: gpsfake makes its own pty and hands it to a
 * gpsd it starts; it cannot feed a given serial device.
 */
import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { ReadlineParser } from '@serialport/parser-readline';
import { allFaultKinds, createRuntime, type FailureEvent, type FaultKind } from 'shadow-drivers';
import { expectNoLeaks, requires, snapshot, until, waitForEvent } from 'shadow-drivers/testing';
import { ptyPair } from '../helpers/pty-pair.js';
import { gpsLog, nmeaValid, replay } from '../../src/apps/serial/nmea.js';
import { closePort, openPort } from '../helpers/serial-peers.js';

const missing = requires('socat');

const runs = [
  { baudRate: 4800, sentences: 40, kinds: ['kill', 'segfault', 'exit', 'contract'] as FaultKind[] },
  { baudRate: 115200, sentences: 1200, kinds: [...allFaultKinds] },
];

describe('NMEA reader through the shadowed binding', { skip: missing }, () => {
  for (const run of runs) {
    test(`${run.baudRate} baud: every sentence once, in order, checksum valid, through ${run.kinds.length} faults`, async () => {
      const before = snapshot();
      const pair = await ptyPair();
      const rt = createRuntime({ faultInjection: true });
      const log = gpsLog(run.sentences);
      try {
        const port = await openPort(rt, pair.near, { baudRate: run.baudRate });
        const device = rt.statuses()[0]!.device;
        const received: string[] = [];
        port.pipe(new ReadlineParser({ delimiter: '\r\n', encoding: 'latin1' })).on('data', (line: string) => received.push(line));
        const errors: Error[] = [];
        port.on('error', (err) => errors.push(err));
        const marks: string[] = [];
        rt.manager.on('failure', (e: FailureEvent) => marks.push(`failed: ${e.kind} @${gps.sent}`));
        const gps = replay(pair.far, log, run.baudRate);
        try {
          for (const kind of run.kinds) {
            await until(() => received.length > gps.sent - 3 || gps.sent >= log.length, 'the stream flowing', 20_000);
            marks.push(`${kind}@${gps.sent}`);
            // The receiver keeps talking while the driver is down: a burst is written once the
            // driver has failed, in the same task as the failure event (before any recovery can
            // finish), and nothing more until it is back. (Bytes arriving during the new
            // driver's open are another matter: bindings-cpp's open flushes the tty's input.)
            gps.pause();
            const failed = waitForEvent<FailureEvent>(rt.manager, 'failure', (e) => e.device === device, 20_000);
            const back = waitForEvent(rt.manager, 'recovery', (e: { device: string }) => e.device === device, 20_000);
            rt.inject(device, { kind });
            await failed;
            gps.writeNow(3);
            await back;
            gps.resume();
          }
          await gps.done;
          await until(() => received.length >= log.length, `all ${log.length} sentences`, 20_000).catch((err: Error) => {
            const missing = log.map((l, i) => (received.includes(l) ? -1 : i)).filter((i) => i >= 0);
            throw new Error(`${err.message}: ${received.length} arrived, missing ${missing.join(', ')} (faults at ${marks.join(', ')})`);
          });
        } finally {
          gps.close();
        }
        assert.deepEqual(errors, []);
        assert.equal(received.length, log.length, 'a sentence was lost or repeated');
        assert.deepEqual(received, log, 'sentences out of order or changed');
        assert.ok(received.every(nmeaValid), 'a checksum does not match');
        assert.equal(rt.status(device)!.recoveries, run.kinds.length);
        await closePort(port);
      } finally {
        await rt.close();
        await pair.stop();
      }
      await expectNoLeaks(before);
    });
  }

  // The window a driver that reads the tty itself cannot close: bytes off the queue, then death
  // before the reply. The fault lands exactly there (as each read with input completes), over and
  // over; the shipped driver leaves the taking to the kernel, so every sentence still arrives.
  test('a driver that dies after each read, before its reply leaves, loses no sentence', async () => {
    const before = snapshot();
    const pair = await ptyPair();
    const rt = createRuntime({ faultInjection: true });
    const log = gpsLog(12);
    try {
      const port = await openPort(rt, pair.near, { baudRate: 115200 });
      const device = rt.statuses()[0]!.device;
      const received: string[] = [];
      port.pipe(new ReadlineParser({ delimiter: '\r\n', encoding: 'latin1' })).on('data', (line: string) => received.push(line));
      const errors: Error[] = [];
      port.on('error', (err) => errors.push(err));
      const gps = replay(pair.far, log, 115200);
      gps.pause();
      try {
        for (let round = 0; round < 4; round++) {
          const failed = waitForEvent<FailureEvent>(rt.manager, 'failure', (e) => e.device === device, 20_000);
          const back = waitForEvent(rt.manager, 'recovery', (e: { device: string }) => e.device === device, 20_000);
          rt.inject(device, { kind: 'abort', when: 'before-reply' });
          // The next read completes once input is there: the sentences are written, and the
          // driver dies with them seen, its reply not sent. (A read that times out empty first
          // takes the fault with nothing in it: then this round proves less, not something false.)
          gps.writeNow(3);
          await failed;
          await back;
        }
        await until(() => received.length >= log.length, `all ${log.length} sentences`, 20_000).catch((err: Error) => {
          throw new Error(`${err.message}: ${received.length} arrived: ${received.map((l) => log.indexOf(l)).join(', ')}`);
        });
      } finally {
        gps.close();
      }
      assert.deepEqual(errors, []);
      assert.deepEqual(received, log, 'a sentence was lost, repeated, reordered or changed');
      assert.equal(rt.status(device)!.recoveries, 4);
      await closePort(port);
    } finally {
      await rt.close();
      await pair.stop();
    }
    await expectNoLeaks(before);
  });
});
