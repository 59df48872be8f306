/**
 * What the kernel answers a driver it has failed or killed: nothing. A bad kernel call fails the
 * driver before the rest of its batch is looked at, and an answer that never left is reported
 * as unanswered (a serial write announced and never answered never reached the line).
 */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { serialClass } from '../../src/classes/serial/contract.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { DriverChannel, type ChannelHandlers } from '../../src/isolation/channel.js';
import type { Domain } from '../../src/isolation/domain.js';
import type { ToDomain, ToDomainWire } from '../../src/isolation/protocol.js';
import { unpackCalls } from '../../src/isolation/packed.js';
import { SharedPool } from '../../src/isolation/shared-pool.js';
import type { DriverFailure } from '../../src/errors.js';

/** A process-like domain whose wire the test drives by hand. */
function fakeDomain() {
  let deliver: ((batch: unknown) => void) | undefined;
  const sent: ToDomain[] = [];
  const signals: string[] = [];
  const domain = {
    kind: 'process', sharesMemory: false, grants: [], sandbox: 'none',
    // As the domain host takes them: runs of calls come packed (packed.ts).
    send: (batch: ToDomainWire[]) => { for (const m of batch) { if (m.t === 'calls') sent.push(...unpackCalls(m)); else sent.push(m); } },
    onMessage: (listener: (batch: unknown) => void) => { deliver = listener; },
    onExit: () => undefined,
    kill: async () => undefined,
    signal: (s: string) => { signals.push(s); },
  } as unknown as Domain;
  return { domain, sent, signals, deliver: (batch: unknown) => deliver!(batch) };
}

function channelOn(domain: Domain, handlers: Partial<ChannelHandlers>) {
  const failures: DriverFailure[] = [];
  const channel = new DriverChannel(domain, {
    contract: serialClass, driverUrl: 'file:///none', extensions: [], clock: new FakeClock(),
    heartbeatMs: 100, heartbeatTimeoutMs: 1000, deadlineScale: 1, pool: new SharedPool(), gone: () => undefined,
  }, {
    service: () => Promise.resolve(undefined),
    failed: (f) => failures.push(f),
    deviceGone: () => undefined,
    ...handlers,
  });
  return { channel, failures };
}

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

test('a bad kernel call fails the driver at once: a write announced after it in the same batch is never taken', async () => {
  const wire = fakeDomain();
  const taken: string[] = [];
  const { failures } = channelOn(wire.domain, {
    service: (name) => {
      taken.push(name);
      if (name === 'acquire') throw new Error('acquire: resource x was not granted to this driver');
      return Promise.resolve(undefined);
    },
  });
  wire.deliver([
    { t: 'service', id: 1, name: 'acquire', args: { name: 'x' } },
    { t: 'service', id: 2, name: 'upcall', args: { name: 'writing', args: { seq: 7 } } },
  ]);
  await settle();
  assert.deepEqual(taken, ['acquire'], 'the announcement after the bad call was looked at');
  assert.equal(failures.length, 1);
  assert.equal(failures[0]!.kind, 'bad-kernel-call');
  assert.deepEqual(wire.sent.filter((m) => m.t === 'service-reply'), [], 'a failed driver was answered');
});

test('an answer still in the outbox when the driver is killed never leaves, and is reported unanswered', async () => {
  const wire = fakeDomain();
  const unanswered: unknown[] = [];
  const { channel } = channelOn(wire.domain, { unanswered: (_name, args) => unanswered.push(args) });
  const announce = { name: 'writing', args: { seq: 3 } };
  wire.deliver([{ t: 'service', id: 1, name: 'upcall', args: announce }]);
  // One microtask: the service's answer is in the outbox, which goes out in the next one. A
  // kill in between must keep it from a driver that will never act on it.
  await Promise.resolve();
  channel.kill();
  await settle();
  assert.deepEqual(wire.signals, ['SIGKILL']);
  assert.deepEqual(wire.sent.filter((m) => m.t === 'service-reply'), []);
  assert.deepEqual(unanswered, [announce]);
  // And a service that completes after the kill is not answered either.
  wire.deliver([{ t: 'service', id: 2, name: 'upcall', args: { name: 'writing', args: { seq: 4 } } }]);
  await settle();
  assert.deepEqual(wire.sent.filter((m) => m.t === 'service-reply'), []);
});

test('an answer that left before a failure was given: it is not reported unanswered', async () => {
  const wire = fakeDomain();
  const unanswered: unknown[] = [];
  const { channel } = channelOn(wire.domain, { unanswered: (_name, args) => unanswered.push(args) });
  wire.deliver([{ t: 'service', id: 1, name: 'upcall', args: { name: 'writing', args: { seq: 5 } } }]);
  await settle();
  assert.equal(wire.sent.filter((m) => m.t === 'service-reply').length, 1);
  channel.kill();
  await settle();
  assert.deepEqual(unanswered, []);
});

test('replies to the kernel\'s own calls are not a flood, however many come at once; unasked messages are', async () => {
  // The fake clock stands still: everything arrives within one rate window.
  const wire = fakeDomain();
  const { channel, failures } = channelOn(wire.domain, {});
  const calls = 120_000; // more than the window allows of unasked messages
  const answered: Promise<unknown>[] = [];
  for (let i = 0; i < calls; i++) answered.push(channel.call('getBaudRate', {}));
  await settle();
  const ids = wire.sent.flatMap((m) => (m.t === 'call' ? [m.id] : []));
  assert.equal(ids.length, calls);
  for (let at = 0; at < ids.length; at += 1000) {
    wire.deliver(ids.slice(at, at + 1000).map((id) => ({ t: 'reply', id, ok: true, value: { baudRate: 9600 } })));
  }
  assert.deepEqual(failures, [], 'the replies were taken for a flood');
  assert.equal((await Promise.all(answered)).filter((v) => (v as { baudRate: number }).baudRate === 9600).length, calls);
  // As many pongs nobody asked for are one.
  for (let at = 0; at < calls && failures.length === 0; at += 1000) {
    wire.deliver(Array.from({ length: 1000 }, (_, seq) => ({ t: 'pong', seq })));
  }
  assert.equal(failures.length, 1);
  assert.match((failures[0] as DriverFailure).message, /a flood/);
  await channel.close();
});
