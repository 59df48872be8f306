/** Unit tests of the small core parts, no threads: tracker, tap, shadow log, kernel services. */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { blockClass } from '../../src/classes/block/contract.js';
import { Device } from '../../src/kernel/device.js';
import { servicesFor } from '../../src/kernel/services.js';
import { DriverFailure } from '../../src/errors.js';
import { Shadow } from '../../src/shadows/shadow.js';
import { ShadowLog, type CallRecord } from '../../src/shadows/shadow-log.js';
import { Tap } from '../../src/taps/tap.js';
import { ObjectTracker } from '../../src/tracker/object-tracker.js';
import { FakeClock } from '../helpers/fake-clock.js';

test('the object tracker releases newest first and keeps kernel-facing objects', () => {
  const tracker = new ObjectTracker();
  const released: string[] = [];
  for (const [id, kernelFacing] of [['a', false], ['disk', true], ['b', false], ['c', false]] as const) {
    tracker.hold({ type: 't', id, kernelFacing, release: () => released.push(id) });
  }
  assert.throws(() => tracker.hold({ type: 't', id: 'a', kernelFacing: false, release: () => undefined }));
  assert.equal(tracker.drop('t', 'b'), true);
  assert.deepEqual(released, ['b']);
  const report = tracker.releaseAll();
  assert.deepEqual(released, ['b', 'c', 'a']);
  assert.deepEqual(report.kept.map((o) => o.id), ['disk']);
  assert.equal(tracker.count(), 0);
});

test('a tap forwards to its target and reports to its observer; attach redirects', async () => {
  const seen: string[] = [];
  const tap = new Tap('t', { target: async (e) => `driver:${e}` });
  assert.equal(await tap.invoke('read', {}), 'driver:read');
  tap.attach({
    target: async (e) => { if (e === 'bad') throw new Error('boom'); return `driver:${e}`; },
    observer: {
      before: (e) => { seen.push(`before ${e}`); return e; },
      after: (token, r) => { seen.push(`after ${String(token)}`); return `${String(r)}+patched`; },
      failed: async (token, err) => { seen.push(`failed ${String(token)}`); return `answered ${(err as Error).message}`; },
    },
  });
  assert.equal(await tap.invoke('read', {}), 'driver:read+patched');
  assert.equal(await tap.invoke('bad', {}), 'answered boom');
  assert.deepEqual(seen, ['before read', 'after read', 'before bad', 'failed bad']);
});

function record(entry: string, args: unknown, seq: number): CallRecord {
  return { seq, entry, args, decl: blockClass.entries[entry]!, failures: 0 };
}

test('the shadow log compacts settings, removes closed objects and forgets completed requests', () => {
  const log = new ShadowLog();
  const calls: [string, unknown][] = [
    ['open', { readOnly: false }],
    ['configure', { setting: 'writeCache', value: 'writethrough' }],
    ['configure', { setting: 'writeCache', value: 'writeback' }],
    ['read', { offset: 0, length: 4096, into: new Uint8Array(4096) }],
    ['geometry', {}],
  ];
  calls.forEach(([entry, args], i) => {
    const r = record(entry, args, i + 1);
    log.inFlight.set(r.seq, r);
    log.completed(r, entry === 'geometry' ? { sizeBytes: 1 } : undefined);
  });
  assert.equal(log.inFlight.size, 0);
  assert.deepEqual(log.replayList().map((e) => [e.entry, e.args]), [
    ['open', { readOnly: false }],
    ['configure', { setting: 'writeCache', value: 'writeback' }],
  ]);
  assert.deepEqual(log.answer('geometry', undefined), { found: true, value: { sizeBytes: 1 } });
  const close = record('close', {}, 9);
  log.completed(close, undefined);
  assert.deepEqual(log.replayList(), [], 'close removed the object and the settings scoped to it');
});

test('kernel services check arguments and ownership: a bad call throws at once (the channel fails the driver before the rest of its batch)', async () => {
  const device = new Device('d', blockClass, []);
  const tracker = new ObjectTracker();
  const clock = new FakeClock();
  const fired: number[] = [];
  const call = servicesFor({
    device, holdings: tracker, clock, sharesMemory: true, bufferLimitBytes: 8192,
    grants: [{ name: 'disk', fd: 5, path: '/x', sizeBytes: 4096, readOnly: false, isBlockDevice: false }],
    fireTimer: (id) => fired.push(id), log: () => undefined,
  });
  assert.throws(() => call('register', { sizeBytes: 100, blockSize: 512, readOnly: false }), /multiple/);
  await call('register', { sizeBytes: 4096, blockSize: 512, readOnly: false });
  assert.throws(() => call('register', { sizeBytes: 8192, blockSize: 512, readOnly: false }), /expected/);
  assert.equal(((await call('acquire', { name: 'disk' })) as { fd: number }).fd, 5);
  assert.throws(() => call('acquire', { name: '/etc/passwd' }), /not granted/);
  assert.throws(() => call('release', { name: 'other' }), /not held/);
  assert.throws(() => call('clearTimer', { timerId: 12345 }), /not held/);
  assert.throws(() => call('setTimer', { ms: -1 }), /ms must be/);
  assert.throws(() => call('allocBuffer', { bytes: 16384 }), /exceed/);
  assert.throws(() => call('upcall', { name: 'frames', args: [] }), /no upcall/);
  assert.throws(() => call('format-disk', {}), /no kernel service/);
  const timer = (await call('setTimer', { ms: 10 })) as number;
  clock.advance(10);
  assert.deepEqual(fired, [timer]);
  assert.equal(tracker.holds('timer', timer), false, 'a one-shot timer is released when it fires');
  const repeating = (await call('setTimer', { ms: 5, repeat: true })) as number;
  clock.advance(15);
  assert.equal(fired.filter((t) => t === repeating).length, 3);
  tracker.releaseAll();
  clock.advance(50);
  assert.equal(fired.filter((t) => t === repeating).length, 3, 'released timers never fire');
  assert.equal(clock.pending, 0);
});

test('resubmission ended early by a barrier that fails the new driver leaves no rejection unhandled', async () => {
  const shadow = new Shadow(blockClass, { poisonThreshold: 3, registered: () => undefined });
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => { unhandled.push(reason); };
  process.on('unhandledRejection', onUnhandled);
  try {
    // A read and then a flush (a barrier) in flight when the driver fails.
    const failure = new DriverFailure('exception', 'driver threw: offset is out of bounds');
    const read = shadow.observer.before('read', { offset: 0, length: 4096 });
    const flush = shadow.observer.before('flush', {});
    const waiting = [shadow.observer.failed(read, failure), shadow.observer.failed(flush, failure)];
    shadow.activate();
    // The new driver fails too: the flush's failure ends resubmission, the read's arrives after it.
    let failRead: (e: unknown) => void = () => undefined;
    const call = (entry: string) => entry === 'read' ? new Promise((_r, reject) => { failRead = reject; }) : Promise.reject(failure);
    await assert.rejects(shadow.resubmit(call), DriverFailure);
    failRead(failure);
    for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
    assert.deepEqual(unhandled, [], 'every reissued request\'s failure is handled');
    // Both stay in flight for the next attempt, and are answered by it.
    assert.equal(await shadow.resubmit(async (entry) => (entry === 'read' ? new Uint8Array(0) : undefined)), 2);
    await Promise.all(waiting);
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
});
