/**
 * Capture on the virtual card: a 48 kHz stereo stream is read in real time while faults of
 * every kind hit its driver. The card's source spells each frame's index, so what the
 * application captured is checked frame by frame: it starts at the source's first frame, every
 * frame is the source's, once and in order, and the only holes are overruns inside a recovery
 * window, each no longer than that window plus one period. After it all, the position counts
 * every frame read once.
 */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import {
  createRuntime, faultKinds, frameBytes, frameIndex, sourceFrames, VirtualSoundCard,
  type FaultKind, type RecoveryEvent, type StreamParams,
} from '../../src/index.js';
import { until, waitForEvent } from '../../src/testing/events.js';
import { expectNoLeaks, snapshot } from '../../src/testing/leaks.js';

// A second of buffer: shorter recoveries lose nothing, longer ones (hangs caught at their
// deadlines) overrun it.
const PARAMS: StreamParams = { format: 's16le', rate: 48000, channels: 2, periodFrames: 480, bufferFrames: 48000 };
const FB = frameBytes(PARAMS);
const PERIOD_MS = (PARAMS.periodFrames * 1000) / PARAMS.rate;
/**
 * Frames per read: 200 ms, so that round trips into a process domain on a loaded machine (tens
 * of milliseconds each) still keep up with the card's clock.
 */
const READ_FRAMES = 20 * PARAMS.periodFrames;
const fast = { heartbeatMs: 100, heartbeatTimeoutMs: 1500, restart: { intensity: 10_000 }, warmStandby: true };

interface Hole { at: number; frames: number }

/** Checks every captured frame against the source; returns the holes (where the index jumps). */
function holesIn(captured: Buffer): Hole[] {
  const holes: Hole[] = [];
  const frames = captured.length / FB;
  let expected = 0;
  let runStart = 0;
  const checkRun = (end: number, from: number) => {
    const got = captured.subarray(runStart * FB, end * FB);
    const want = sourceFrames(PARAMS, from, end - runStart);
    assert.equal(Buffer.compare(got, want), 0, `frames ${runStart}..${end} are the source's frames from ${from}`);
  };
  let runFrom = 0;
  for (let i = 0; i < frames; i++) {
    const n = frameIndex(PARAMS, captured.subarray(i * FB, (i + 1) * FB));
    if (n === expected) { expected++; continue; }
    assert.ok(n > expected, `frame ${i} is source frame ${n}, after ${expected - 1}: repeated or out of order`);
    checkRun(i, runFrom);
    holes.push({ at: i, frames: n - expected });
    runStart = i;
    runFrom = n;
    expected = n + 1;
  }
  checkRun(frames, runFrom);
  return holes;
}

for (const domain of ['worker', 'process'] as const) {
  test(`a 48 kHz stereo capture gets every frame once, in order, with faults of every kind in its driver (${domain})`, async () => {
    const before = snapshot();
    const card = await VirtualSoundCard.create();
    const rt = createRuntime({ faultInjection: true });
    try {
      const sound = await rt.attachSound({ name: 'cap0', driver: 'virtual', domain, config: { socket: card.socketPath }, ...fast });
      await sound.open('capture');
      await sound.configure(PARAMS);
      const chunks: Buffer[] = [];
      let captured = 0;
      let stop = false;
      let failure: unknown;
      const reading = (async () => {
        while (!stop) {
          chunks.push(Buffer.from(await sound.read(READ_FRAMES * FB)));
          captured += READ_FRAMES;
        }
      })().catch((err: unknown) => { failure = err; });
      const steady = async () => {
        const mark = captured;
        await until(() => captured >= mark + PARAMS.rate / 2 || failure !== undefined, 'half a second of steady capture', 10_000);
        if (failure !== undefined) throw failure;
      };
      // One fault of each kind, each after half a second of steady capture; the application's
      // position in the captured stream is noted when the fault falls and when it is recovered.
      const windows: { kind: FaultKind; ms: number; from: number; to: number }[] = [];
      for (const kind of faultKinds) {
        await steady();
        const recovered = waitForEvent<RecoveryEvent>(rt.manager, 'recovery', (e) => e.device === 'cap0', 20_000);
        const start = Date.now();
        const from = captured;
        rt.inject('cap0', { kind });
        void sound.capabilities().catch(() => undefined); // faults that act on the next call get one
        await recovered;
        windows.push({ kind, ms: Date.now() - start, from, to: captured });
      }
      await steady();
      stop = true;
      await reading;
      if (failure !== undefined) throw failure;

      const stream = Buffer.concat(chunks);
      const holes = holesIn(stream);
      console.log(`${domain}: ${faultKinds.length} faults, ${captured} frames captured, ${holes.length} holes ` +
        `(${holes.map((h) => ((h.frames * 1000) / PARAMS.rate).toFixed(1)).join(' ')} ms); windows ${windows.map((w) => `${w.kind}:${w.ms}`).join(' ')}; ` +
        `${card.captures[0]!.served - captured} frames fetched again by resubmitted reads`);
      assert.equal(frameIndex(PARAMS, stream.subarray(0, FB)), 0, 'capture starts at the source\'s first frame');
      for (const hole of holes) {
        const w = windows.find((x) => hole.at >= x.from && hole.at <= x.to + READ_FRAMES);
        assert.ok(w, `a hole of ${hole.frames} frames at ${hole.at} is outside every recovery window`);
        const ms = (hole.frames * 1000) / PARAMS.rate;
        assert.ok(ms <= w.ms + PERIOD_MS, `a ${ms.toFixed(1)} ms hole is longer than its recovery window (${w.kind}: ${w.ms} ms) plus a period`);
      }
      const overruns = card.captures[0]!.overruns;
      assert.equal(card.captures.length, 1, 'one capture stream, never reconfigured by a restart');
      assert.deepEqual(holes.map((h) => h.frames), overruns.map((o) => o.frames), 'the holes are the card\'s overruns');
      assert.ok(card.captures[0]!.served > captured, 'reads in flight at failures were resubmitted and got their frames again');
      const position = await sound.position();
      assert.equal(position.written, captured, 'the position counts every frame read once');
    } finally {
      await rt.close();
      await card.close();
    }
    await expectNoLeaks(before);
  });
}
