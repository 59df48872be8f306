/**
 * The virtual devices shipped with the runtime (their hardware lives in the kernel) and the
 * hardware protocols their drivers speak: for tools that talk to the hardware directly, such as
 * a baseline that plays to a card without a driver.
 */
export { VirtualNic, type WireEnd } from './net/virtual-nic.js';
export { LearningSwitch, type SwitchCounters, type SwitchOptions } from './net/switch.js';
export { WireType, WireReader, MAX_MESSAGE, encode, encodeHello, encodeCarrier, type Hello } from './net/wire-protocol.js';
export { VirtualSoundCard, defaultCapabilities, type CaptureSegment, type PlayedSegment } from './sound/virtual-card.js';
export { frameIndex, signalPeriod, sourceFrames } from './sound/capture-source.js';
export * from './sound/card-protocol.js';
export { frameMessage, jsonMessage, parseJson, MessageReader } from './framing.js';
export { VirtualSerialPort, type VirtualSerialOptions } from './serial/virtual-serial.js';
export * from './serial/port-protocol.js';
