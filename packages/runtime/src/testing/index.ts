/**
 * A test kit for driver authors and the lab: wait on events with a deadline (never sleep),
 * check that a test leaked nothing, keep faults coming at a device, and drive a block device
 * with a workload that checks every read against a model; say what a test needs from the
 * machine (tools, root, kernel features) so that it skips, saying why, where they are missing.
 */
export { waitForEvent, until } from './events.js';
export { snapshot, childPids, leaksSince, expectNoLeaks, type Snapshot } from './leaks.js';
export { faultLoop } from './fault-loop.js';
export { recoveryWindows } from './recovery-windows.js';
export { BlockWorkload, blockContent, BLOCK } from './workload.js';
export { requires, findProgram } from './requires.js';
export { shadowdBin, shadowd, shadowdOk, ServiceProcess, type LogLine, type Run } from './service-process.js';
