/**
 * Sound applications on a real PulseAudio server (a private one with a null sink): an MP3
 * player, an audio recorder, a speech synthesizer and game sound effects, each with faults of
 * every kind injected into its sound driver. What reached the sink is recorded from its
 * monitor and compared with the source by cross-correlation: every part of the source heard,
 * in order, at the right rate and format, each discontinuity no longer than the measured
 * recovery window plus one period; `sox stat` agrees on the levels.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { decodeMp3 } from '../../src/apps/sound/mp3.js';
import { createRuntime, frameBytes, type StreamParams } from '../../src/index.js';
import { expectNoLeaks, snapshot } from '../helpers/leaks.js';
import { onPath, PulseServer, pulseAvailable, run } from '../helpers/pulse.js';
import { checkRecording, injectEveryFault, soxStat, withoutSilence } from '../helpers/sound-check.js';

const available = pulseAvailable();
const fast = { heartbeatMs: 50, heartbeatTimeoutMs: 500, deadlineScale: 0.5, restart: { intensity: 10_000 }, warmStandby: true };
const STEREO48: StreamParams = { format: 's16le', rate: 48000, channels: 2, periodFrames: 2400, bufferFrames: 14400 };
const periodMs = (p: StreamParams) => (p.periodFrames * 1000) / p.rate;

let work = '';
before(() => { work = mkdtempSync(join(tmpdir(), 'shadow-sound-apps-')); });
after(() => { rmSync(work, { recursive: true, force: true }); });

/** A few seconds of music-like sound as an MP3: sox synthesizes it, lame encodes it. */
function makeMp3(seconds: number): Uint8Array {
  const wav = join(work, 'music.wav');
  const mp3 = join(work, 'music.mp3');
  run('sox', ['-n', '-r', '48000', '-c', '2', '-b', '16', wav, 'synth', String(seconds), 'sine', '110:1760', 'triangle', '330-220',
    'remix', '1,2v0.3', '1v0.3,2', 'tremolo', '3', '40', 'gain', '-6']);
  run('lame', ['--quiet', '-b', '192', wav, mp3]);
  return readFileSync(mp3);
}

test('MP3 player: a decoded MP3 plays in real time through the pulse driver with faults of every kind (process)', { skip: !available || !onPath('lame') }, async () => {
  const leaks = snapshot();
  const decoded = await decodeMp3(makeMp3(12));
  assert.equal(decoded.rate, 48000);
  assert.equal(decoded.channels, 2);
  const pulse = await PulseServer.start();
  const rt = createRuntime();
  try {
    const capture = pulse.capture();
    await capture.ready();
    const sound = await rt.attachSound({ name: 'mp3', driver: 'pulse', domain: 'process', config: { server: pulse.socket, sink: pulse.sink }, ...fast });
    await sound.open('playback');
    await sound.configure(STEREO48);
    let done = false;
    const playing = sound.play(decoded.pcm).then(() => sound.drain()).finally(() => { done = true; });
    const windows = await injectEveryFault(rt, 'mp3', sound, { periods: 10, stop: () => done });
    await playing;
    const recording = await capture.stop();
    assert.equal(windows.length, 10, 'every fault kind was injected while the music played');
    checkRecording('mp3 (process)', decoded.pcm, recording, STEREO48, windows, periodMs(STEREO48), { exact: true });
    const [src, rec] = [soxStat(decoded.pcm, STEREO48), soxStat(withoutSilence(recording, frameBytes(STEREO48)), STEREO48)];
    console.log(`mp3: sox RMS source ${src['RMS     amplitude']} recording ${rec['RMS     amplitude']}; rough frequency ${src['Rough   frequency']} / ${rec['Rough   frequency']}`);
    assert.ok(Math.abs(rec['RMS     amplitude']! - src['RMS     amplitude']!) <= 0.1 * src['RMS     amplitude']!, 'sox: the same level');
    assert.ok(Math.abs(rec['Rough   frequency']! - src['Rough   frequency']!) <= 0.1 * src['Rough   frequency']!, 'sox: the same frequency (the right rate)');
  } finally {
    await rt.close();
    await pulse.stop();
  }
  await expectNoLeaks(leaks);
});
