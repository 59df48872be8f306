/** The private PulseAudio server the sound tests use (src/sound/pulse-server.ts). */
export * from '../../src/harness/pulse-server.js';
