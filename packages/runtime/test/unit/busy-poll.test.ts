/**
 * The kernel's busy poll for replies (isolation/busy-poll.ts): a window opens when a batch
 * leaves for a domain that owes replies and closes when it answers or the window ends; a domain
 * that misses MISS_LIMIT windows in a row rests for REST_MS; off at 0; one bad option is one
 * line with a stable code. Time is the test's own (the window's clock is injected).
 */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { BusyPoll, POLL_DEVICES, MISS_LIMIT, POLL_DEPTH, REST_MS } from '../../src/isolation/busy-poll.js';
import { blockClass } from '../../src/classes/block/contract.js';
import { DriverChannel } from '../../src/isolation/channel.js';
import type { Domain } from '../../src/isolation/domain.js';
import type { ToDomain } from '../../src/isolation/protocol.js';
import { SharedPool } from '../../src/isolation/shared-pool.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { NbdServer } from '../../src/nbd/server.js';
import { createRuntime, ErrorCodes, ShadowError } from '../../src/index.js';

function target(owes = true) {
  return { owing: owes, owes() { return this.owing; } };
}

test('a window opens on a send and closes when the domain answers', () => {
  let now = 0;
  const poll = new BusyPoll(200, () => now);
  const t = target();
  poll.sent(t);
  assert.equal(poll.polling(t), true);
  now = 0.1;
  poll.check();
  assert.equal(poll.polling(t), true, 'still owed, still inside the window');
  poll.heard(t);
  t.owing = false;
  poll.check();
  assert.equal(poll.polling(t), false, 'answered: the window closed early');
});

test(`a batch of more than ${POLL_DEPTH} requests opens no window: it shares its wake-up`, () => {
  const poll = new BusyPoll(200, () => 0);
  const t = target();
  poll.sent(t, POLL_DEPTH + 1);
  assert.equal(poll.polling(t), false);
  poll.sent(t, POLL_DEPTH);
  assert.equal(poll.polling(t), true);
  poll.forget(t);
});

test('a domain that owes nothing is not polled, and 0 turns polling off', () => {
  const poll = new BusyPoll(200, () => 0);
  const idle = target(false);
  poll.sent(idle);
  assert.equal(poll.polling(idle), false);
  const off = new BusyPoll(0, () => 0);
  const t = target();
  off.sent(t);
  assert.equal(off.enabled, false);
  assert.equal(off.polling(t), false);
});

test(`${MISS_LIMIT} windows in a row without an answer rest the domain for ${REST_MS} ms; after it, one miss rests it again, a hit starts over`, () => {
  let now = 0;
  const poll = new BusyPoll(200, () => now);
  const slow = target();
  for (let i = 0; i < MISS_LIMIT; i++) {
    poll.sent(slow);
    assert.equal(poll.polling(slow), true, `window ${i + 1} opens`);
    now += 1; // past the 0.2 ms window, nothing heard
    poll.check();
    assert.equal(poll.polling(slow), false, `window ${i + 1} ended`);
  }
  poll.sent(slow);
  assert.equal(poll.polling(slow), false, 'resting: not polled');
  now += REST_MS;
  poll.sent(slow);
  assert.equal(poll.polling(slow), true, 'after the rest it is polled again');
  now += 1;
  poll.check();
  poll.sent(slow);
  assert.equal(poll.polling(slow), false, 'one more miss rests it again');
  now += REST_MS;
  poll.sent(slow);
  poll.heard(slow);
  slow.owing = false;
  poll.check();
  slow.owing = true;
  for (let i = 0; i < MISS_LIMIT - 1; i++) { poll.sent(slow); now += 1; poll.check(); }
  poll.sent(slow);
  assert.equal(poll.polling(slow), true, 'a hit started the count over');
  poll.forget(slow);
  assert.equal(poll.polling(slow), false, 'forgotten: nothing of it is kept');
});

test('an answer inside a window resets the count of misses', () => {
  let now = 0;
  const poll = new BusyPoll(200, () => now);
  const t = target();
  const miss = () => { poll.sent(t); now += 1; poll.check(); };
  for (let i = 0; i < MISS_LIMIT - 1; i++) miss();
  poll.sent(t);
  poll.heard(t); // a reply came, more are owed (queue depth > 1)
  now += 1;
  poll.check();
  for (let i = 0; i < MISS_LIMIT - 1; i++) miss();
  poll.sent(t);
  assert.equal(poll.polling(t), true, 'the hit started the count again');
  poll.forget(t);
});

test('a bad busyPollUs is refused with one line and a stable code, by the runtime and by the NBD server', () => {
  const refused = (err: unknown) => err instanceof ShadowError && err.code === ErrorCodes.INVALID_ARGUMENT && !err.message.includes('\n');
  for (const bad of [-1, 1.5, 1001, Number.NaN]) {
    assert.throws(() => createRuntime({ busyPollUs: bad }), refused);
    assert.throws(() => new NbdServer({ exports: {}, busyPollUs: bad }), refused);
  }
});

/** A worker-like domain whose wire the test reads; it never answers. */
function silentDomain() {
  const sent: ToDomain[] = [];
  const domain = {
    kind: 'worker', sharesMemory: false, grants: [], sandbox: 'none',
    send: (batch: ToDomain[]) => { sent.push(...batch); },
    onMessage: () => undefined,
    onExit: () => undefined,
    kill: async () => undefined,
  } as unknown as Domain;
  return { domain, sent };
}

test(`while more than ${POLL_DEVICES} device(s) are busy nobody polls: not the kernel, and the domains are told`, async () => {
  const poll = new BusyPoll(200, () => 0); // time stands still: every window stays open
  const channels = Array.from({ length: POLL_DEVICES + 1 }, () => {
    const wire = silentDomain();
    const channel = new DriverChannel(wire.domain, {
      contract: blockClass, driverUrl: 'file:///none', extensions: [], clock: new FakeClock(),
      heartbeatMs: 100, heartbeatTimeoutMs: 1000, deadlineScale: 1, pool: new SharedPool(), gone: () => undefined, busyPoll: poll,
    }, { service: () => Promise.resolve(undefined), failed: () => undefined, deviceGone: () => undefined });
    return { channel, wire };
  });
  const said = (i: number) => channels[i]!.wire.sent.filter((m): m is Extract<ToDomain, { t: 'poll' }> => m.t === 'poll').map((m) => m.on);
  const calls: Promise<unknown>[] = [];
  const flushAll = async () => {
    for (const { channel } of channels) {
      calls.push(channel.call('flush', {}).catch(() => undefined));
      await Promise.resolve(); // the batch leaves at the end of the microtask
      await Promise.resolve();
    }
  };
  try {
    await flushAll();
    for (let i = 0; i < POLL_DEVICES; i++) assert.deepEqual(said(i), [true], `device ${i} was let poll`);
    assert.deepEqual(said(POLL_DEVICES), [], `device ${POLL_DEVICES} was not: ${POLL_DEVICES} were busy already`);
    assert.equal(poll.active, POLL_DEVICES, 'the kernel polls for the first ones only');
    await flushAll();
    for (let i = 0; i < POLL_DEVICES; i++) assert.deepEqual(said(i), [true, false], `device ${i} was told to stop`);
  } finally {
    for (const { channel } of channels) await channel.close();
    await Promise.all(calls);
  }
  assert.equal(poll.active, 0, 'a closed channel leaves no window open');
});
