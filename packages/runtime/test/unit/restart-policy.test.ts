import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { RestartPolicy } from '../../src/manager/restart-policy.js';

function policy(options = {}, random = () => 0.5) {
  let now = 0;
  const p = new RestartPolicy({ baseDelayMs: 10, maxDelayMs: 80, jitter: 0.2, stableAfterMs: 500, intensity: 100, periodMs: 10_000, ...options }, () => now, random);
  return { p, advance: (ms: number) => { now += ms; } };
}

test('the first restart is immediate, then delays double up to the cap', () => {
  const { p, advance } = policy();
  const delays: number[] = [];
  for (let i = 0; i < 6; i++) {
    const d = p.onFailure();
    assert.equal(d.action, 'restart');
    if (d.action === 'restart') delays.push(d.delayMs);
    advance(1);
  }
  assert.deepEqual(delays, [0, 10, 20, 40, 80, 80]);
});

test('jitter stays within its bounds', () => {
  for (const r of [0, 0.25, 0.999]) {
    const { p } = policy({}, () => r);
    p.onFailure();
    const d = p.onFailure();
    assert.equal(d.action, 'restart');
    if (d.action === 'restart') {
      assert.ok(d.delayMs >= 8 - 1e-9 && d.delayMs <= 12 + 1e-9, `delay ${d.delayMs}`);
    }
  }
});

test('a driver that stayed up for stableAfterMs is forgiven: the next restart is immediate', () => {
  const { p, advance } = policy();
  p.onFailure(); p.onRecovered(); advance(10);
  const second = p.onFailure();
  assert.equal(second.action === 'restart' && second.delayMs, 10);
  p.onRecovered(); advance(500);
  const third = p.onFailure();
  assert.equal(third.action === 'restart' && third.delayMs, 0);
});

test('more than `intensity` failures within `period` gives up; older failures fall out of the window', () => {
  const { p, advance } = policy({ intensity: 3, periodMs: 1000 });
  for (let i = 0; i < 3; i++) { assert.equal(p.onFailure().action, 'restart'); advance(100); }
  assert.equal(p.onFailure().action, 'give-up');
  const fresh = policy({ intensity: 3, periodMs: 1000 });
  for (let i = 0; i < 10; i++) { assert.equal(fresh.p.onFailure().action, 'restart'); fresh.advance(400); }
});

test('the same failure by drivers that never became stable, maxRepeated times in a row, gives up; a stable driver or another failure starts the count again', () => {
  const { p, advance } = policy({ maxRepeated: 4 });
  const sig = 'exception in write: driver threw: boom';
  for (let i = 0; i < 3; i++) { assert.equal(p.onFailure(sig).action, 'restart'); p.onRecovered(); advance(100); }
  const fourth = p.onFailure(sig);
  assert.equal(fourth.action, 'give-up');
  assert.match(fourth.action === 'give-up' ? fourth.reason : '', /same failure 4 times in a row.*boom/);

  const other = policy({ maxRepeated: 4 });
  for (let i = 0; i < 10; i++) {
    // Alternating failures, or a driver that stayed up past stableAfterMs, are not one bug repeating.
    assert.equal(other.p.onFailure(i % 2 ? sig : 'hang in read: read missed its deadline').action, 'restart');
    other.p.onRecovered();
    other.advance(100);
  }
  const stable = policy({ maxRepeated: 4 });
  for (let i = 0; i < 10; i++) { assert.equal(stable.p.onFailure(sig).action, 'restart'); stable.p.onRecovered(); stable.advance(600); }
  // Failures of attempts within one recovery carry no signature and never count.
  const attempts = policy({ maxRepeated: 2, maxAttempts: 100 });
  for (let i = 0; i < 10; i++) assert.equal(attempts.p.onFailure().action, 'restart');
});
