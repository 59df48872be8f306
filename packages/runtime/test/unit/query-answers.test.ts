/**
 * A driver's answers to queries (geometry, statistics, link state, capabilities, positions)
 * reach the shadow's sums, the NBD export's handshake and the application: each class checks
 * every field of them, so a driver that answers with a string, NaN, a negative count or a block
 * size of 0 has broken its contract (the channel fails it) instead of handing the kernel garbage.
 */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { blockClass } from '../../src/classes/block/contract.js';
import { netClass } from '../../src/classes/net/contract.js';
import { serialClass } from '../../src/classes/serial/contract.js';
import { soundClass } from '../../src/classes/sound/contract.js';
import type { ClassContract } from '../../src/classes/contract.js';
import { BlockCounters } from '../../src/driver/block.js';
import { NetCounters } from '../../src/driver/net.js';

function answer(contract: ClassContract, entry: string, result: unknown, args: unknown = {}): string | undefined {
  const check = contract.entries[entry]?.check;
  assert.ok(check, `${contract.name}.${entry} checks its answers`);
  return check(args, result);
}

const geometry = { sizeBytes: 1 << 20, blockSize: 4096, readOnly: false };

test('block geometry: every field is checked, and the registration is held to the same rules', () => {
  assert.equal(answer(blockClass, 'geometry', geometry), undefined);
  assert.equal(answer(blockClass, 'geometry', { ...geometry, volatileCache: true }), undefined);
  for (const bad of [
    null, 'disk', { ...geometry, blockSize: 0 }, { ...geometry, blockSize: 3000 }, { ...geometry, blockSize: 1 << 20 },
    { ...geometry, blockSize: '4096' }, { ...geometry, sizeBytes: 1000 }, { ...geometry, sizeBytes: -4096 },
    { ...geometry, sizeBytes: Number.NaN }, { ...geometry, readOnly: 'no' }, { ...geometry, volatileCache: 1 },
  ]) {
    assert.match(answer(blockClass, 'geometry', bad) ?? 'accepted', /geometry returned/, `geometry ${JSON.stringify(bad)}`);
    assert.match(blockClass.registration.validate(bad as never) ?? 'accepted', /registration:/);
  }
});

test('block and NIC statistics: every count is a non-negative safe integer, what the counters give passes', () => {
  const block = new BlockCounters();
  block.count('write', 4096);
  assert.equal(answer(blockClass, 'stats', block.stats()), undefined);
  const nic = new NetCounters();
  nic.received(new Uint8Array(60));
  assert.equal(answer(netClass, 'stats', nic.stats()), undefined);
  for (const [contract, good] of [[blockClass, block.stats()], [netClass, nic.stats()]] as const) {
    for (const key of Object.keys(good)) {
      for (const value of [-1, 1.5, Number.NaN, 2 ** 60, '7', null, undefined]) {
        assert.match(answer(contract, 'stats', { ...good, [key]: value }) ?? 'accepted', new RegExp(`stats returned ${key}`),
          `${contract.name} stats with ${key} ${String(value)}`);
      }
    }
    assert.ok(answer(contract, 'stats', 'many'));
  }
});

test('NIC link state: flags, MAC, MTU and multicast groups are checked', () => {
  const good = { carrier: true, up: false, mac: '02:00:00:00:00:01', mtu: 1500, promiscuous: false, multicast: ['01:00:5e:00:00:01'] };
  assert.equal(answer(netClass, 'linkState', good), undefined);
  for (const bad of [
    { ...good, carrier: 'yes' }, { ...good, up: undefined }, { ...good, promiscuous: 0 }, { ...good, mac: 'nope' },
    { ...good, mtu: 0 }, { ...good, mtu: 1e9 }, { ...good, multicast: 'all' }, { ...good, multicast: ['02:00:00:00:00:01'] },
    { ...good, multicast: Array.from({ length: 65 }, () => '01:00:5e:00:00:01') },
  ]) assert.ok(answer(netClass, 'linkState', bad), `linkState ${JSON.stringify(bad).slice(0, 120)}`);
});

test('sound capabilities, buffer space and position: known formats, real rates, no negative frame counts', () => {
  const caps = { formats: ['s16le'], rates: [48000], maxChannels: 2, maxBufferFrames: 4096 };
  assert.equal(answer(soundClass, 'capabilities', caps), undefined);
  for (const bad of [
    { ...caps, formats: [] }, { ...caps, formats: ['mp3'] }, { ...caps, formats: ['__proto__'] }, { ...caps, rates: [0] },
    { ...caps, rates: [44100.5] }, { ...caps, rates: Array.from({ length: 65 }, () => 8000) }, { ...caps, maxChannels: 0 },
  ]) {
    assert.ok(answer(soundClass, 'capabilities', bad), `capabilities ${JSON.stringify(bad).slice(0, 120)}`);
    assert.ok(soundClass.registration.validate(bad as never));
  }
  assert.equal(answer(soundClass, 'bufferSpace', { frames: 0 }), undefined);
  assert.ok(answer(soundClass, 'bufferSpace', { frames: -1 }));
  assert.equal(answer(soundClass, 'position', { played: 0, written: 10 }), undefined);
  assert.ok(answer(soundClass, 'position', { played: -5, written: 10 }));
});

test('serial baud rate: a non-negative integer (0 is a hung-up line)', () => {
  assert.equal(answer(serialClass, 'getBaudRate', { baudRate: 115200 }), undefined);
  assert.equal(answer(serialClass, 'getBaudRate', { baudRate: 0 }), undefined);
  for (const bad of [{ baudRate: -9600 }, { baudRate: '9600' }, {}, null]) assert.ok(answer(serialClass, 'getBaudRate', bad));
});
