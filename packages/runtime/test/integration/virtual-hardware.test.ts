/**
 * The virtual devices' kernel-side hardware takes messages from drivers: a message it cannot
 * take (bad JSON, parameters it does not offer, fields of the wrong type) ends that driver's
 * connection and never the kernel. Found by the mutation campaign: a mutant sound driver sent
 * a configuration without parameters and the card's exception ended the host.
 */
import { strict as assert } from 'node:assert';
import { connect } from 'node:net';
import { test } from 'node:test';
import { VirtualSoundCard } from '../../src/devices/sound/virtual-card.js';
import { CardMessage } from '../../src/devices/sound/card-protocol.js';
import { frameMessage, jsonMessage } from '../../src/devices/framing.js';
import { expectNoLeaks, snapshot } from '../../src/testing/leaks.js';

const malformed: Record<string, Buffer> = {
  'config without parameters': jsonMessage(CardMessage.Config, { direction: 'playback' }),
  'config with a rate the card does not offer': jsonMessage(CardMessage.Config, { direction: 'playback', params: { format: 's16le', rate: 12345, channels: 2, periodFrames: 480, bufferFrames: 4800 } }),
  'config of an unknown direction': jsonMessage(CardMessage.Config, { direction: 'sideways', params: { format: 's16le', rate: 48000, channels: 2, periodFrames: 480, bufferFrames: 4800 } }),
  'config that is not JSON': frameMessage(CardMessage.Config, Buffer.from('{not json')),
  'control that is null': jsonMessage(CardMessage.Control, null),
  'volume that is not a number': jsonMessage(CardMessage.Control, { volume: 'loud' }),
  'data shorter than its header': frameMessage(CardMessage.Data, Buffer.alloc(3)),
};

for (const [name, message] of Object.entries(malformed)) {
  test(`the virtual sound card drops a driver that sends a ${name}, and serves the next`, async () => {
    const before = snapshot();
    const card = await VirtualSoundCard.create();
    try {
      const socket = connect(card.socketPath);
      await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject); });
      const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      socket.on('error', () => undefined);
      socket.on('data', () => undefined);
      socket.write(message);
      await closed; // the card ended this driver's connection; this process (the kernel) lives on
      const next = connect(card.socketPath);
      const hello = await new Promise<Buffer>((resolve, reject) => { next.once('data', resolve); next.once('error', reject); });
      assert.equal(hello[0], CardMessage.Hello);
      next.destroy();
      assert.equal(card.counters.attaches, 2);
    } finally {
      await card.close();
    }
    await expectNoLeaks(before);
  });
}
