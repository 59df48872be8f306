/** What the `pulse` driver offers: the stream formats PulseAudio's clients accept. */
import type { SoundCapabilities } from '../../classes/sound/pcm.js';

export const pulseCapabilities: SoundCapabilities = {
  formats: ['u8', 's16le', 's32le', 'f32le'], rates: [8000, 11025, 16000, 22050, 32000, 44100, 48000, 96000], maxChannels: 2, maxBufferFrames: 1 << 18,
};
