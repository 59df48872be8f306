/** What a sound driver imports: its entry points, their arguments, and the kernel's services. */
export { defineSoundDriver, type SoundDriver, type SoundCalls, type SoundUpcalls, type StreamPosition, type Direction } from '../classes/sound/contract.js';
export * from '../classes/sound/pcm.js';
export * from './index.js';
