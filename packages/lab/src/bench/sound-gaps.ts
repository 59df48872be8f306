/**
 * The audio gap per recovery: a 48 kHz stereo stream plays on the virtual card through a
 * shadowed driver, in a worker and in a process domain, with a cold restart and with a warm
 * standby, while faults are injected one at a time. Each fault is injected once the card has
 * half its buffer (50 ms) queued again after the last recovery (and the standby, if any, is
 * loaded); its gap is the silence the card recorded from the injection until audio flowed
 * again: the runs of silence it inserted when its buffer ran dry, plus any frames that never
 * arrived and were played as silence. Beside it: RecoveryEvent.totalMs (detection to resume)
 * and the window from the injection to the resume (adds detection).
 */
import type { FaultKind } from 'shadow-drivers';
import type { RecoveryEvent } from 'shadow-drivers';
import { createRuntime, type Runtime } from 'shadow-drivers';
import { VirtualSoundCard } from 'shadow-drivers';
import { benchRestartPolicy } from './configurations.js';
import { nextRecovery, type IsolatedDomain } from './recovery-times.js';
import { BUFFER_FRAMES, Player, streamParams, until } from './sound-stream.js';

export interface SoundGapOptions {
  /** Faults per series (one series per domain and standby setting). */
  faults: number;
  /** Fault kinds, taken in turn: each detected as it happens (no hang waits for a deadline). */
  kinds: readonly FaultKind[];
  periodFrames: number;
  progress?(message: string): void;
}

export interface SoundGap {
  kind: FaultKind;
  /** Silence the card played for this recovery (ms of audio). */
  gapMs: number;
  totalMs: number;
  /** From the injection to the resume (ms). */
  windowMs: number;
  cause: RecoveryEvent['cause'];
}

export interface SoundGapSeries {
  domain: IsolatedDomain;
  warmStandby: boolean;
  periodMs: number;
  gaps: SoundGap[];
  /** Resubmitted frames the card already had and dropped (none is played twice). */
  duplicateFrames: number;
  /** Writes that failed (a shadow should conceal every failure). */
  appErrors: number;
  lastError: string | undefined;
}

export async function measureSoundGaps(options: SoundGapOptions): Promise<SoundGapSeries[]> {
  const series: SoundGapSeries[] = [];
  for (const domain of ['worker', 'process'] as const) {
    for (const warmStandby of [false, true]) {
      options.progress?.(`sound: gaps, ${domain} domain, ${warmStandby ? 'warm standby' : 'cold restart'}, ${options.faults} faults`);
      series.push(await measureSeries(domain, warmStandby, options));
    }
  }
  return series;
}

async function measureSeries(domain: IsolatedDomain, warmStandby: boolean, options: SoundGapOptions): Promise<SoundGapSeries> {
  const params = streamParams(options.periodFrames);
  const name = `bench-sound-gaps-${domain}-${warmStandby ? 'warm' : 'cold'}`;
  const card = await VirtualSoundCard.create();
  const runtime = createRuntime({ faultInjection: true });
  const result: SoundGapSeries = {
    domain, warmStandby, periodMs: (params.periodFrames * 1000) / params.rate, gaps: [], duplicateFrames: 0, appErrors: 0, lastError: undefined,
  };
  let player: Player | undefined;
  try {
    const sound = await runtime.attachSound({
      name, driver: 'virtual', domain, recovery: 'shadow', warmStandby, config: { socket: card.socketPath }, restart: benchRestartPolicy,
    });
    await sound.open('playback');
    await sound.configure(params);
    player = new Player(sound, params);
    const p = player;
    const segment = () => card.output.at(-1)!;
    const silence = () => segment().gaps.reduce((sum, g) => sum + g.frames, 0) + card.counters.skippedFrames;
    for (let i = 0; i < options.faults; i++) {
      if (!await playing(card, p, () => segment().frames)) break; // the stream failed: reported as app errors
      if (warmStandby) await standbyLoaded(runtime, name);
      const kind = options.kinds[i % options.kinds.length]!;
      const silentBefore = silence();
      const recovered = nextRecovery(runtime, name);
      const since = performance.now();
      runtime.inject(name, { kind });
      const event = await recovered;
      const windowMs = performance.now() - since;
      if (!await playing(card, p, () => segment().frames)) break;
      result.gaps.push({ kind, cause: event.cause, gapMs: ((silence() - silentBefore) * 1000) / params.rate, totalMs: event.totalMs, windowMs });
    }
  } finally {
    await player?.stop();
    result.appErrors = player?.errors ?? 0;
    result.lastError = player?.lastError === undefined ? undefined : String(player.lastError);
    result.duplicateFrames = card.counters.duplicateFrames;
    await runtime.close();
    await card.close();
  }
  return result;
}

/**
 * Audio flows: half the buffer is queued and the card has played since (any silence before it
 * is then recorded, since the card commits a gap when audio resumes); false if the stream failed.
 */
async function playing(card: VirtualSoundCard, player: Player, frames: () => number): Promise<boolean> {
  await until(() => card.buffered >= BUFFER_FRAMES / 2 || player.errors > 0, 'buffered audio');
  const at = frames();
  await until(() => frames() > at || player.errors > 0, 'audio played');
  return player.errors === 0;
}

/** The manager starts the next spare shortly after a recovery: wait for it to exist, then to load. */
async function standbyLoaded(runtime: Runtime, name: string): Promise<void> {
  await until(() => runtime.status(name)?.standby === 'ready', 'standby loaded');
}
