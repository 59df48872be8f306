/**
 * Live update's replay ahead, without threads: the open objects and settings are replayed into
 * the new driver while the old one serves, and the pause replays only what changed since; a
 * state that no longer holds (an object closed or reopened, a late older call) is detected.
 */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { blockClass } from '../../src/classes/block/contract.js';
import { netClass } from '../../src/classes/net/contract.js';
import type { ClassContract } from '../../src/classes/contract.js';
import { Shadow } from '../../src/shadows/shadow.js';

function shadowOf(contract: ClassContract) {
  const shadow = new Shadow(contract, { poisonThreshold: 3, registered: () => undefined });
  /** A call the application made and the old driver completed, as the passive tap reports it. */
  const done = (entry: string, args: unknown, result: unknown = undefined) => shadow.observer.after(shadow.observer.before(entry, args), result);
  const calls: string[] = [];
  const driver = async (entry: string, args: unknown) => { calls.push(`${entry} ${JSON.stringify(args)}`); };
  return { shadow, done, calls, driver };
}

const writeback = { setting: 'writeCache', value: 'writeback' };
const writethrough = { setting: 'writeCache', value: 'writethrough' };

test('the pause replays only the settings changed since the replay ahead; kept writes are never replayed ahead', async () => {
  const { shadow, done, calls, driver } = shadowOf(blockClass);
  done('open', { readOnly: false });
  done('configure', writeback);
  done('write', { offset: 0, data: new Uint8Array(4096) });
  const mark = await shadow.replayAhead(driver);
  assert.deepEqual(calls, ['open {"readOnly":false}', `configure ${JSON.stringify(writeback)}`], 'the state ahead; not the kept write');
  assert.deepEqual(shadow.changedSince(mark), [], 'nothing changed yet');
  done('configure', writethrough);
  const changed = shadow.changedSince(mark);
  assert.deepEqual(changed?.map((e) => e.args), [writethrough], 'only the changed setting');
  calls.length = 0;
  const report = await shadow.replay(driver, changed);
  assert.deepEqual(calls.map((c) => c.split(' ')[0]), ['configure', 'write'], 'the change, then the kept write');
  assert.deepEqual(report, { replayed: 1, unflushed: 1, refused: 0 });
});

test('the old driver writes back its cache while quiesced: the kept writes need no replay', async () => {
  const { shadow, done, calls, driver } = shadowOf(blockClass);
  done('open', { readOnly: false });
  for (let i = 0; i < 3; i++) done('write', { offset: i * 4096, data: new Uint8Array(4096) });
  assert.equal(shadow.log.unflushed.size, 3);
  assert.equal(await shadow.writeBack(driver), 3);
  assert.deepEqual(calls, ['flush {}']);
  assert.equal(shadow.log.unflushed.size, 0);
  assert.equal(await shadow.writeBack(driver), 0, 'nothing kept: no barrier issued');
  assert.equal(calls.length, 1);
});

test('a state that no longer holds is detected: an object closed, closed and reopened, or a late older call', async () => {
  {
    const { shadow, done, driver } = shadowOf(blockClass);
    done('open', { readOnly: false });
    const mark = await shadow.replayAhead(driver);
    done('close', {});
    assert.equal(shadow.changedSince(mark), undefined, 'closed since');
    done('open', { readOnly: true });
    assert.equal(shadow.changedSince(mark), undefined, 'reopened since: the new driver has the old open');
  }
  {
    const { shadow, done, driver } = shadowOf(blockClass);
    done('open', { readOnly: false });
    const late = shadow.observer.before('configure', writeback); // issued before the replay ahead
    done('configure', { setting: 'other', value: 'x' });
    const mark = await shadow.replayAhead(driver);
    shadow.observer.after(late, undefined); // ... and completed after it
    assert.equal(shadow.changedSince(mark), undefined, 'an older call completed after the replay ahead');
  }
});

test('a class with upcalls (a NIC) is not replayed ahead: bringing it up starts its stream', async () => {
  const { shadow, done, calls, driver } = shadowOf(netClass);
  done('up', {});
  done('setMtu', { mtu: 1400 });
  const mark = await shadow.replayAhead(driver);
  assert.deepEqual(calls, []);
  assert.deepEqual(shadow.changedSince(mark)?.map((e) => e.entry), ['up', 'setMtu'], 'all of it in the pause');
});
