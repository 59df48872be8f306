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
import { alignExact, bestMatch, toMono } from '../../src/apps/sound/align.js';
import { decodeMp3 } from '../../src/apps/sound/mp3.js';
import { synthesize } from '../../src/apps/sound/speech.js';
import { makeEffect, playEffects, type Trigger } from '../../src/apps/sound/sfx.js';
import { record } from '../../src/apps/sound/recorder.js';
import { parseWav } from '../../src/apps/sound/pcm.js';
import { pulseCapabilities } from 'shadow-drivers';
import { createRuntime, frameBytes, type RecoveryEvent, type StreamParams } from 'shadow-drivers';
import { until, waitForEvent } from 'shadow-drivers/testing';
import { expectNoLeaks, requires, snapshot } from 'shadow-drivers/testing';
import { PulseServer, run } from '../helpers/pulse.js';
import { checkRecording, injectEveryFault, soxStat, withoutSilence } from '../helpers/sound-check.js';

/** A private PulseAudio server, and its clients: play, record, control. */
const PULSE = ['pulseaudio', 'pacat', 'parec', 'pactl'];
const fast = { heartbeatMs: 50, heartbeatTimeoutMs: 500, deadlineScale: 0.5, restart: { intensity: 10_000 }, warmStandby: true };
const STEREO48: StreamParams = { format: 's16le', rate: 48000, channels: 2, periodFrames: 2400, bufferFrames: 14400 };
const periodMs = (p: StreamParams) => (p.periodFrames * 1000) / p.rate;
const pulseCapabilitiesOffer = (p: StreamParams) => pulseCapabilities.rates.includes(p.rate) && p.channels <= pulseCapabilities.maxChannels;

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

test('MP3 player: a decoded MP3 plays in real time through the pulse driver with faults of every kind (process)', { skip: requires(...PULSE, 'sox', 'lame') }, async () => {
  const leaks = snapshot();
  const decoded = await decodeMp3(makeMp3(12));
  assert.equal(decoded.rate, 48000);
  assert.equal(decoded.channels, 2);
  const pulse = await PulseServer.start();
  const rt = createRuntime({ faultInjection: true });
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

/** Frames whose samples spell their own index: any loss, repeat or reordering shows. */
function indexed(frames: number): Uint8Array {
  const pcm = new Uint8Array(frames * 4);
  const view = new DataView(pcm.buffer);
  for (let i = 0; i < frames; i++) {
    view.setInt16(i * 4, (i & 0x7fff) - 0x4000, true);
    view.setInt16(i * 4 + 2, ((i >> 15) & 0x7fff) + 1000, true);
  }
  return pcm;
}

/** The sample format PulseAudio reports for the newest playback stream on the server. */
async function streamSpec(pulse: PulseServer): Promise<string | undefined> {
  const { out } = await pulse.pactl(['list', 'sink-inputs']);
  return [...out.matchAll(/Sample Specification: (.+)/g)].at(-1)?.[1]?.trim();
}

test('pulse driver: restart-only recovery loses the stream\'s format, rate and position; the shadow keeps them', { skip: requires(...PULSE) }, async () => {
  const leaks = snapshot();
  const pulse = await PulseServer.start();
  try {
    for (const recovery of ['restart', 'shadow'] as const) {
      const rt = createRuntime({ faultInjection: true });
      const capture = pulse.capture();
      try {
        await capture.ready();
        const sound = await rt.attachSound({ name: 'pcm', driver: 'pulse', domain: 'worker', recovery, config: { server: pulse.socket, sink: pulse.sink }, ...fast });
        const params: StreamParams = { ...STEREO48, periodFrames: 960, bufferFrames: 9600 };
        await sound.open('playback');
        await sound.configure(params);
        const pcm = indexed(params.rate);
        const half = pcm.length / 2;
        await sound.play(pcm.subarray(0, half));
        const before = await streamSpec(pulse);
        const recovered = waitForEvent<RecoveryEvent>(rt.manager, 'recovery', (e) => e.device === 'pcm');
        rt.inject('pcm', { kind: 'exit' });
        await recovered;
        // What a simple player does when a write fails: reopen and carry on.
        let failures = 0;
        let tail = pcm.subarray(half);
        try {
          await sound.play(tail);
        } catch {
          failures++;
          await sound.open('playback');
          tail = tail.subarray(0, 3840); // one period of the rest, enough to see what PulseAudio is given
          await sound.play(tail);
        }
        const after = await streamSpec(pulse);
        await sound.drain();
        const position = await sound.position();
        await sound.close();
        const recording = await capture.stop();
        const heard = alignExact(pcm, recording, 4, params.rate);
        console.log(`${recovery}: PulseAudio stream ${before} -> ${after}; position ${position.written}; heard ${(heard.coverage * 100).toFixed(1)}% of the source exactly; ` +
          `${heard.discontinuities.length} discontinuities ${heard.discontinuities.map((d) => `[silence ${d.silenceMs.toFixed(1)} ms, lost ${d.lostMs.toFixed(1)} ms]`).join(' ')}`);
        assert.equal(before, 's16le 2ch 48000Hz');
        if (recovery === 'shadow') {
          assert.equal(failures, 0, 'shadow: the application saw no error');
          assert.equal(after, 's16le 2ch 48000Hz', 'shadow: the replayed configuration reached PulseAudio');
          assert.equal(position.written, params.rate, 'shadow: the position continued');
          assert.ok(heard.coverage >= 0.97, 'shadow: the source was heard (PulseAudio skips up to 5 ms after an underrun)');
          for (const d of heard.discontinuities) assert.ok(Math.abs(d.lostMs) <= 20, `shadow: ${d.lostMs} ms lost or repeated`);
        } else {
          assert.equal(failures, 1, 'restart-only: the write after the restart failed');
          assert.equal(after, 'u8 1ch 8000Hz', 'restart-only: PulseAudio got the power-on format and rate');
          assert.equal(position.written, tail.length, 'restart-only: the position started again from 0, counting bytes as u8 mono frames');
          assert.ok(heard.coverage <= 0.55, 'restart-only: the rest of the source was never heard as itself');
        }
      } finally {
        await capture.stop();
        await rt.close();
      }
    }
  } finally {
    await pulse.stop();
  }
  await expectNoLeaks(leaks);
});

const TEXT = 'Shadow drivers keep an application running while its driver fails and recovers. ' +
  'The shadow logs every call that configures the device, restarts the driver in a fresh domain, replays the configuration, ' +
  'and sends the requests that were in flight again, so the listener hears only a short pause. ' +
  'This was played through a driver that failed ten times.';

test('speech synthesizer: espeak-ng speech plays at its own rate through the pulse driver with faults of every kind (worker)', { skip: requires(...PULSE, 'espeak-ng', 'sox') }, async () => {
  const leaks = snapshot();
  const speech = await synthesize(TEXT);
  const params: StreamParams = { format: 's16le', rate: speech.rate, channels: speech.channels, periodFrames: 1024, bufferFrames: 6144 };
  assert.ok(pulseCapabilitiesOffer(params), `espeak-ng speaks at ${speech.rate} Hz, ${speech.channels} channel(s)`);
  const pulse = await PulseServer.start();
  const rt = createRuntime({ faultInjection: true });
  try {
    // Recorded at the speech's own rate and channels: PulseAudio converts to the sink and back.
    const capture = pulse.capture({ format: 's16le', rate: speech.rate, channels: speech.channels });
    await capture.ready();
    const sound = await rt.attachSound({ name: 'tts', driver: 'pulse', domain: 'worker', config: { server: pulse.socket, sink: pulse.sink }, ...fast });
    await sound.open('playback');
    await sound.configure(params);
    let done = false;
    const playing = sound.play(speech.pcm).then(() => sound.drain()).finally(() => { done = true; });
    const windows = await injectEveryFault(rt, 'tts', sound, { periods: 8, stop: () => done });
    await playing;
    const recording = await capture.stop();
    assert.equal(windows.length, 10, 'every fault kind was injected while it spoke');
    // Converted to the sink's rate and back, noise-like consonants correlate poorly block by
    // block: the coverage asked of this path is lower than of the bit-exact one (MP3 test), and
    // the final "s" may not be recognised on its own.
    checkRecording('speech (worker)', speech.pcm, recording, params, windows, periodMs(params), { threshold: 0.85, minCoverage: 0.9, maxTailMs: 150 });
    const [src, rec] = [soxStat(speech.pcm, params), soxStat(withoutSilence(recording, frameBytes(params)), params)];
    console.log(`speech: sox RMS source ${src['RMS     amplitude']} recording ${rec['RMS     amplitude']}; rough frequency ${src['Rough   frequency']} / ${rec['Rough   frequency']}`);
    assert.ok(Math.abs(rec['Rough   frequency']! - src['Rough   frequency']!) <= 0.15 * src['Rough   frequency']!, 'sox: the same frequency (the right rate)');
  } finally {
    await rt.close();
    await pulse.stop();
  }
  await expectNoLeaks(leaks);
});

test('game sound effects: many short overlapping effects, mixed period by period with low latency, are each heard through the pulse driver with faults of every kind (worker)', { skip: requires(...PULSE) }, async () => {
  const leaks = snapshot();
  const params: StreamParams = { format: 's16le', rate: 48000, channels: 2, periodFrames: 480, bufferFrames: 3840 };
  const kinds = ['laser', 'coin', 'explosion', 'jump'] as const;
  const totalFrames = params.rate * 9;
  // 72 effects over the game's timeline, a new one every 50 to 160 ms: two or three sound at once.
  const triggers: Trigger[] = [];
  for (let i = 0, at = params.rate / 4; at < totalFrames - params.rate / 2; i++) {
    triggers.push({ at, effect: makeEffect(kinds[i % 4]!, i % 7, params.rate), pan: ((i * 37) % 100) / 100 });
    at += Math.round(((50 + ((i * 53) % 110)) * params.rate) / 1000);
  }
  const pulse = await PulseServer.start();
  const rt = createRuntime({ faultInjection: true });
  try {
    const capture = pulse.capture();
    await capture.ready();
    const sound = await rt.attachSound({ name: 'sfx', driver: 'pulse', domain: 'worker', config: { server: pulse.socket, sink: pulse.sink }, ...fast });
    await sound.open('playback');
    await sound.configure(params);
    let done = false;
    const playing = playEffects(sound, params, triggers, totalFrames).then(async (pcm) => { await sound.drain(); return pcm; }).finally(() => { done = true; });
    const windows = await injectEveryFault(rt, 'sfx', sound, { periods: 40, stop: () => done });
    const played = await playing;
    const recording = await capture.stop();
    assert.equal(windows.length, 10, 'every fault kind was injected during the game');
    const { alignment } = checkRecording('sfx (worker)', played, recording, params, windows, periodMs(params), { exact: true });
    // Each effect: heard frame by frame (its share of the mix), and found by a matched filter
    // (its own waveform, cross-correlated with the recording near where the alignment puts it).
    const rec = toMono(recording, 's16le', 2);
    const runs = alignment.runs!;
    const results = triggers.map((t) => {
      const end = t.at + t.effect.samples.length;
      let heard = 0;
      for (const r of runs) heard += Math.max(0, Math.min(end, r.src + r.length) - Math.max(t.at, r.src));
      // Where the alignment puts it: by the lag of any piece it overlaps (an effect cut by a gap has two).
      const lags = runs.filter((r) => r.src < end && r.src + r.length > t.at).map((r) => r.cap - r.src);
      const places = (lags.length ? lags : [alignment.startLag]).map((lag) => t.at + lag);
      const slack = params.rate / 20;
      const hit = bestMatch(t.effect.samples, rec, Math.min(...places) - slack, Math.max(...places) + slack + t.effect.samples.length);
      const offset = Math.min(...places.map((p) => Math.abs(hit.index - p)));
      return { name: t.effect.name, heard: heard / t.effect.samples.length, score: hit.score, offset };
    });
    const worst = results.reduce((a, b) => (b.heard < a.heard ? b : a));
    const scores = results.map((r) => r.score);
    console.log(`sfx: ${triggers.length} effects; heard min ${(worst.heard * 100).toFixed(1)}% (${worst.name}), mean ${(100 * results.reduce((n, r) => n + r.heard, 0) / results.length).toFixed(1)}%; ` +
      `matched filter score min ${Math.min(...scores).toFixed(3)} mean ${(scores.reduce((a, b) => a + b, 0) / scores.length).toFixed(3)}; ` +
      `largest offset from the alignment ${Math.max(...results.map((r) => r.offset))} frames`);
    for (const r of results) {
      assert.ok(r.heard >= 0.75, `effect ${r.name}: only ${(r.heard * 100).toFixed(1)}% heard`);
      // Two or three effects sound at once, so an effect is part of what is heard: chance
      // correlation of a template this long is below 0.01. Tonal effects cut by a gap may peak
      // a few of their periods away from either piece: within 20 ms counts as in place.
      assert.ok(r.score >= 0.2 && Math.abs(r.offset) <= params.rate / 50, `effect ${r.name}: not found where it was played (score ${r.score.toFixed(3)}, ${r.offset} frames off)`);
    }
  } finally {
    await rt.close();
    await pulse.stop();
  }
  await expectNoLeaks(leaks);
});

test('audio recorder: what another program plays into the sink is captured from its monitor through the pulse driver into a WAV file, with faults of every kind (worker)', { skip: requires(...PULSE, 'sox') }, async () => {
  const leaks = snapshot();
  const params: StreamParams = { format: 's16le', rate: 48000, channels: 2, periodFrames: 960, bufferFrames: 9600 };
  const seconds = 10;
  const source = run('sox', ['-n', '-r', '48000', '-c', '2', '-b', '16', '-e', 'signed', '-t', 'raw', '-', 'synth', String(seconds),
    'sine', '110:1760', 'triangle', '330-220', 'remix', '1,2v0.3', '1v0.3,2', 'tremolo', '3', '40', 'gain', '-6']);
  const pulse = await PulseServer.start();
  const rt = createRuntime({ faultInjection: true });
  try {
    const sound = await rt.attachSound({ name: 'rec', driver: 'pulse', domain: 'worker', config: { server: pulse.socket, source: `${pulse.sink}.monitor` }, ...fast });
    const path = join(work, 'recording.wav');
    let done = false;
    const recording = record(sound, params, params.rate * (seconds + 2), path).finally(() => { done = true; });
    // The player starts once the recorder records.
    let recorded = 0;
    const off = sound.onPeriod(() => { recorded++; });
    await until(() => recorded > 0, 'the recorder to record', 10_000);
    off();
    const player = pulse.play(source, { format: 's16le', rate: 48000, channels: 2 });
    const windows = await injectEveryFault(rt, 'rec', sound, { periods: 25, stop: () => done });
    await player.done;
    await recording;
    assert.equal(windows.length, 10, 'every fault kind was injected while it recorded');
    const wav = parseWav(readFileSync(path));
    assert.deepEqual([wav.rate, wav.channels, wav.bitsPerSample], [48000, 2, 16], 'the WAV file has the stream\'s format');
    // What played while the capture client was being replaced is not in the file: a recorder
    // loses the sound of its recovery windows. Everything else must be there, in order.
    const lostAllowed = windows.reduce((n, w) => n + Math.max(w.end - w.start, w.totalMs), 0) + windows.length * 2 * periodMs(params);
    const { alignment } = checkRecording('recorder (worker)', source, wav.pcm, params, windows, periodMs(params),
      { exact: true, minCoverage: 1 - lostAllowed / (seconds * 1000) });
    console.log(`recorder: lost ${alignment.discontinuities.reduce((n, d) => n + d.lostMs, 0).toFixed(0)} ms in ${alignment.discontinuities.length} pieces; allowed in all ${lostAllowed.toFixed(0)} ms`);
  } finally {
    await rt.close();
    await pulse.stop();
  }
  await expectNoLeaks(leaks);
});

test('wav driver: a stream written to a WAV file in real time is the source exactly, with faults of every kind (process)', async () => {
  const leaks = snapshot();
  const params: StreamParams = { format: 's16le', rate: 48000, channels: 2, periodFrames: 960, bufferFrames: 9600 };
  const path = join(work, 'speaker.wav');
  const rt = createRuntime({ faultInjection: true });
  try {
    const sound = await rt.attachSound({ name: 'wav', driver: 'wav', domain: 'process', config: { path }, ...fast });
    await sound.open('playback');
    await sound.configure(params);
    const pcm = indexed(params.rate * 8);
    const started = performance.now();
    let done = false;
    const playing = sound.play(pcm).then(() => sound.drain()).finally(() => { done = true; });
    const windows = await injectEveryFault(rt, 'wav', sound, { periods: 15, stop: () => done });
    await playing;
    const elapsed = performance.now() - started;
    assert.equal(windows.length, 10, 'every fault kind was injected while it played');
    const wav = parseWav(readFileSync(path));
    assert.deepEqual([wav.rate, wav.channels, wav.bitsPerSample], [48000, 2, 16], 'the header has the stream\'s format');
    assert.equal(Buffer.compare(Buffer.from(wav.pcm), Buffer.from(pcm)), 0, 'the file holds the source exactly, every frame once, in order');
    // A restarted driver's clock starts at the stream's position: what was buffered counts as
    // played, so each recovery may gain up to one buffer.
    const bufferMs = (params.bufferFrames * 1000) / params.rate;
    assert.ok(elapsed >= 8000 - (windows.length + 1) * bufferMs, `paced in real time (${elapsed.toFixed(0)} ms for 8 s)`);
    console.log(`wav: 8 s of audio in ${elapsed.toFixed(0)} ms; windows ${windows.map((w) => `${w.kind}:${w.end - w.start}`).join(' ')}`);
  } finally {
    await rt.close();
  }
  await expectNoLeaks(leaks);
});
