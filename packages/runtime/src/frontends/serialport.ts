/**
 * `shadow-drivers/serialport`: the ways into a shadowed serial port for programs that already
 * exist. A drop-in binding for the `serialport` package, and a pty whose other end is the
 * shadowed port, for programs in any language.
 */
export { shadowBinding, ShadowPortBinding, type ShadowBindingOptions, type BindingOpenOptions } from './serialport-binding.js';
export { openSerialPty, type SerialPty, type SerialPtyOptions } from './serial-pty.js';
