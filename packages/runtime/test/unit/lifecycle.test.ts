/** The device lifecycle's table: every allowed transition works and is published; every other throws. */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { Lifecycle, transitions, type DriverState, type StateChange } from '../../src/manager/lifecycle.js';

const states = Object.keys(transitions) as DriverState[];

/** A lifecycle walked to `state` along allowed transitions. */
function at(state: DriverState, changes: StateChange[] = []): Lifecycle {
  const life = new Lifecycle((c) => changes.push(c));
  const path: Record<DriverState, DriverState[]> = {
    starting: [], running: ['running'], updating: ['running', 'updating'], recovering: ['running', 'recovering'], 'gave-up': ['gave-up'], closed: ['closed'],
  };
  for (const next of path[state]) life.to(next, 'setup');
  assert.equal(life.state, state);
  return life;
}

test('every transition of the table is allowed and published; every other throws and changes nothing', () => {
  for (const from of states) {
    for (const to of states) {
      const changes: StateChange[] = [];
      const life = at(from, changes);
      const before = changes.length;
      if (transitions[from].includes(to)) {
        life.to(to, 'test');
        assert.equal(life.state, to);
        assert.deepEqual(changes.slice(before), [{ from, to, why: 'test' }]);
      } else {
        assert.throws(() => life.to(to, 'test'), new RegExp(`no transition from ${from} to ${to}`));
        assert.equal(life.state, from);
        assert.equal(changes.length, before);
      }
    }
  }
});

test('closed is final, gave-up only closes, and over says so', () => {
  assert.deepEqual(transitions.closed, []);
  assert.deepEqual(transitions['gave-up'], ['closed']);
  assert.equal(at('gave-up').over, true);
  assert.equal(at('closed').over, true);
  assert.equal(at('recovering').over, false);
  assert.ok(at('recovering').is('recovering', 'running'));
});
