/**
 * Plays PCM through a sound device in real time: the device paces the writes (a write waits
 * for room in the card's buffer), so the application only opens, configures and writes
 * period after period, then drains.
 */
import type { StreamParams } from 'shadow-drivers';
import type { SoundDevice } from 'shadow-drivers';

export async function playPcm(sound: SoundDevice, pcm: Uint8Array, params: StreamParams): Promise<void> {
  await sound.open('playback');
  await sound.configure(params);
  await sound.play(pcm);
  await sound.drain();
}
