/**
 * Carries out an injected fault inside the driver's domain, in the driver's own context, so
 * that the kernel detects it exactly as it would detect the bug it stands for.
 */
import type { InjectedFault } from './fault-kinds.js';

export interface FaultContext {
  exit(code: number): void;
  abort(): void;
  /** Make the next entry-point call misbehave. */
  arm(fault: InjectedFault): void;
  /** Call a kernel service without waiting for the answer. */
  kernelCall(name: string, args: unknown): void;
}

/** Kept reachable so the allocation loop really exhausts the heap. */
const hoard: unknown[] = [];

export function applyFault(fault: InjectedFault, context: FaultContext): void {
  switch (fault.kind) {
    case 'exit':
      return context.exit(70);
    case 'abort':
    case 'kill':
      return context.abort();
    case 'throw':
      setImmediate(() => { throw new Error('injected fault: exception escaped the driver'); });
      return;
    case 'rejection':
      void Promise.reject(new Error('injected fault: unhandled rejection in the driver'));
      return;
    case 'busy-loop':
      setImmediate(() => { for (;;) { /* never yields: only the heartbeat can see this */ } });
      return;
    case 'memory':
      setImmediate(() => { for (;;) hoard.push(new Array(1 << 16).fill(hoard.length)); });
      return;
    case 'bad-kernel-call':
      // Names a resource the kernel never granted this driver.
      return context.kernelCall('acquire', { name: 'resource-not-granted' });
    case 'never-answer':
    case 'contract':
      return context.arm(fault);
  }
}
