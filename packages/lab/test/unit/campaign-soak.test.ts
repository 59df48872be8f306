/**
 * The soak's accounting: every fault it counts is one it injected (per kind too), every fault
 * is either followed by a recovery or counted as not followed, the kinds come from the seed,
 * and a device given up or gone ends the soak with its reason.
 */
import { strict as assert } from 'node:assert';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import { Soak } from '../../src/campaign/soak.js';
import type { InjectedFault } from 'shadow-drivers';
import { mulberry32 } from '../../src/faults/schedule.js';

/** A device whose driver recovers after every fault but `never-answer` ones (no call comes). */
function fakeDevice(stopAfter: number | undefined, onGiveUp = Infinity) {
  const events = new EventEmitter();
  const injected: InjectedFault['kind'][] = [];
  let soak: Soak | undefined;
  let done!: () => void;
  const finished = new Promise<void>((r) => { done = r; });
  const target = {
    device: 'dev0', events,
    inject(fault: InjectedFault) {
      if (injected.length >= onGiveUp) throw new Error('no device dev0');
      injected.push(fault.kind);
      if (fault.kind !== 'never-answer') setImmediate(() => { events.emit('recovery', { device: 'other' }); events.emit('recovery', { device: 'dev0' }); });
      if (injected.length === stopAfter) setImmediate(done);
    },
  };
  return { events, injected, target, finished, set soak(s: Soak) { soak = s; }, get soak() { return soak!; } };
}

test('faults counted are the faults injected, per kind; each is recovered or counted as not', async () => {
  const dev = fakeDevice(40);
  const soak = new Soak(dev.target, { random: mulberry32(7), intervalMs: [0, 2], recoveryWaitMs: 20 });
  soak.start();
  assert.equal(dev.injected.length, 1, 'the first fault is injected at once');
  await dev.finished;
  const count = await soak.stop();
  assert.equal(count.injected, dev.injected.length);
  assert.ok(count.injected >= 40);
  const byKind: Record<string, number> = {};
  for (const k of dev.injected) byKind[k] = (byKind[k] ?? 0) + 1;
  assert.deepEqual(count.byKind, byKind);
  assert.equal(count.recovered + count.unrecovered, count.injected);
  assert.equal(count.unrecovered, byKind['never-answer'] ?? 0, 'only the faults no recovery followed');
  assert.equal(dev.events.listenerCount('recovery'), 0, 'stop() detaches from the manager');
  // The same seed gives the same kinds.
  const again = fakeDevice(40);
  const soak2 = new Soak(again.target, { random: mulberry32(7), intervalMs: [0, 2], recoveryWaitMs: 20 });
  soak2.start();
  await again.finished;
  await soak2.stop();
  assert.deepEqual(again.injected.slice(0, 40), dev.injected.slice(0, 40));
  assert.ok(new Set(dev.injected).size >= 5, `kinds seen: ${[...new Set(dev.injected)].join(', ')}`);
});

test('a device that is gone ends the soak, and the fault that could not be injected is not counted', async () => {
  const dev = fakeDevice(undefined, 3);
  const soak = new Soak(dev.target, { random: mulberry32(1), kinds: ['exit'], intervalMs: [0, 1] });
  soak.start();
  const ended = await new Promise<Soak['count']>((resolve) => {
    const check = () => (soak.count.stopReason ? resolve(soak.count) : setImmediate(check));
    check();
  });
  assert.equal(ended.injected, 3);
  assert.match(ended.stopReason!, /could not inject: no device dev0/);
  assert.equal((await soak.stop()).injected, 3);
});

test('a device given up ends the soak after the fault that was injected', async () => {
  const events = new EventEmitter();
  let n = 0;
  const soak = new Soak({ device: 'dev0', events, inject() { n++; setImmediate(() => events.emit('gave-up', { device: 'dev0' })); } },
    { random: mulberry32(3), intervalMs: [0, 1] });
  soak.start();
  while (!soak.count.stopReason) await new Promise((r) => setImmediate(r));
  const count = await soak.stop();
  assert.deepEqual([n, count.injected, count.unrecovered, count.stopReason], [1, 1, 1, 'the device was given up']);
});
