/**
 * The sound class on the virtual card: a 48 kHz stereo stream plays in real time while faults
 * of every kind hit its driver. What the card played must be the source exactly — every frame
 * once, in order, at the configured format and rate — with each silence the listener heard no
 * longer than the fault's recovery window plus one period. Under restart-only recovery the
 * same stream comes back at the card's power-on format and from position 0.
 */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import {
  createRuntime, faultKinds, frameBytes, VirtualSoundCard, type FaultKind, type RecoveryEvent, type StreamParams,
} from '../../src/index.js';
import { until, waitForEvent } from '../../src/testing/events.js';
import { expectNoLeaks, snapshot } from '../../src/testing/leaks.js';

const PARAMS: StreamParams = { format: 's16le', rate: 48000, channels: 2, periodFrames: 480, bufferFrames: 4800 };
const PERIOD_MS = (PARAMS.periodFrames * 1000) / PARAMS.rate;
// Hang detection with the default heartbeat timeout: on a loaded machine a tighter one declares a
// slow driver hung, and a request in flight across three such false alarms is quarantined.
const fast = { heartbeatMs: 100, heartbeatTimeoutMs: 1500, restart: { intensity: 10_000 }, warmStandby: true };

/** Frames whose samples spell their own index: any loss, repeat or reordering shows. */
function source(frames: number): Uint8Array {
  const pcm = new Uint8Array(frames * frameBytes(PARAMS));
  const view = new DataView(pcm.buffer);
  for (let i = 0; i < frames; i++) {
    view.setInt16(i * 4, (i & 0x7fff) - 0x4000, true);
    view.setInt16(i * 4 + 2, ((i >> 15) & 0x7fff) - 0x4000, true);
  }
  return pcm;
}

/** Where the played stream first differs from the source, or -1. */
function firstDifference(played: Uint8Array, expected: Uint8Array): number {
  const n = Math.min(played.length, expected.length);
  for (let i = 0; i < n; i++) if (played[i] !== expected[i]) return Math.floor(i / frameBytes(PARAMS));
  return played.length === expected.length ? -1 : Math.floor(n / frameBytes(PARAMS));
}

for (const domain of ['worker', 'process'] as const) {
  test(`a 48 kHz stereo stream plays every frame once, in order, with faults of every kind in its driver (${domain})`, async () => {
    const before = snapshot();
    const card = await VirtualSoundCard.create();
    const rt = createRuntime({ faultInjection: true });
    try {
      const sound = await rt.attachSound({ name: 'pcm0', driver: 'virtual', domain, config: { socket: card.socketPath }, ...fast });
      await sound.open('playback');
      await sound.configure(PARAMS);
      await sound.volume(0.8);
      const windows: { start: number; end: number; kind: FaultKind }[] = [];
      const seconds = 20; // long enough for one fault of every kind, hangs detected at their deadlines included
      const pcm = source(PARAMS.rate * seconds);
      const playing = sound.play(pcm);
      // One fault of each kind, spread over the stream, each once the last has recovered.
      for (const kind of faultKinds) {
        await until(() => card.buffered >= PARAMS.bufferFrames / 2, 'the card to have audio buffered', 10_000);
        const recovered = waitForEvent<RecoveryEvent>(rt.manager, 'recovery', (e) => e.device === 'pcm0', 20_000);
        const start = Date.now();
        rt.inject('pcm0', { kind });
        // Faults that act on the next call get one: a query that goes to the driver.
        void sound.capabilities().catch(() => undefined);
        await recovered;
        windows.push({ start, end: Date.now(), kind });
      }
      await playing;
      await sound.drain();

      assert.equal(card.output.length, 1, 'one stream, never reconfigured by a restart');
      const segment = card.output[0]!;
      assert.deepEqual(segment.params, PARAMS, 'the format and rate stayed as configured');
      assert.equal(segment.volume, 0.8, 'the volume stayed as set');
      assert.equal(card.counters.skippedFrames, 0, 'no frame the kernel counted as written was lost on its way to the card');
      assert.equal(firstDifference(card.played(0), pcm), -1, 'the card played the source exactly');
      const longestWindow = Math.max(...windows.map((w) => w.end - w.start));
      for (const gap of segment.gaps) {
        assert.ok(gap.ms <= longestWindow + PERIOD_MS + 10, `a ${gap.ms.toFixed(1)} ms gap is longer than the longest recovery window (${longestWindow} ms) plus a period`);
      }
      const position = await sound.position();
      assert.equal(position.written, pcm.length / frameBytes(PARAMS), 'the position counts every frame once');
      console.log(`${domain}: ${faultKinds.length} faults, ${segment.gaps.length} gaps, longest ` +
        `${Math.max(0, ...segment.gaps.map((g) => g.ms)).toFixed(1)} ms; windows ${windows.map((w) => `${w.kind}:${w.end - w.start}`).join(' ')}; ` +
        `${card.counters.duplicateFrames} resubmitted frames dropped by the card`);
    } finally {
      await rt.close();
      await card.close();
    }
    await expectNoLeaks(before);
  });
}

test('restart-only recovery loses the stream\'s format, rate and position; the shadow keeps them', async () => {
  const before = snapshot();
  for (const recovery of ['restart', 'shadow'] as const) {
    const card = await VirtualSoundCard.create();
    const rt = createRuntime({ faultInjection: true });
    try {
      const sound = await rt.attachSound({ name: 'pcm1', driver: 'virtual', domain: 'worker', recovery, config: { socket: card.socketPath }, ...fast });
      await sound.open('playback');
      await sound.configure(PARAMS);
      const pcm = source(PARAMS.rate);
      const half = pcm.length / 2;
      await sound.play(pcm.subarray(0, half));
      const recovered = waitForEvent<RecoveryEvent>(rt.manager, 'recovery', (e) => e.device === 'pcm1');
      rt.inject('pcm1', { kind: 'exit' });
      await recovered;
      // The application carries on; what a simple player does when a write fails: reopen and go on.
      let failures = 0;
      try {
        await sound.play(pcm.subarray(half));
      } catch {
        failures++;
        await sound.open('playback');
        await sound.play(pcm.subarray(half));
      }
      await sound.drain();
      const position = await sound.position();
      if (recovery === 'shadow') {
        assert.equal(failures, 0, 'shadow: the application saw no error');
        assert.equal(card.output.length, 1, 'shadow: one stream');
        assert.deepEqual(card.output[0]!.params, PARAMS, 'shadow: format and rate kept');
        assert.equal(firstDifference(card.played(0), pcm), -1, 'shadow: every frame played once, in order');
        assert.equal(position.written, PARAMS.rate, 'shadow: the position continued');
      } else {
        assert.equal(failures, 1, 'restart-only: the write after the restart failed');
        assert.equal(card.output.length, 2, 'restart-only: the card was reconfigured');
        assert.equal(card.output[1]!.params.rate, 8000, 'restart-only: back to the power-on rate');
        assert.equal(card.output[1]!.params.format, 'u8', 'restart-only: back to the power-on format');
        // The second half's bytes, read as 1-byte mono frames from 0: twice the frames, at a sixth of the rate.
        assert.equal(position.written, half, 'restart-only: the position started again from 0, in the wrong format');
        assert.equal(card.output[1]!.frames, half, 'restart-only: the card played the bytes as the wrong format');
      }
    } finally {
      await rt.close();
      await card.close();
    }
  }
  await expectNoLeaks(before);
});
