/**
 * The fail-stop faults the runtime can inject into a running driver, as data. Each one is
 * carried out inside the driver's own domain (or, for `kill`, by the kernel from outside),
 * through the real boundary, so detection and recovery are exercised exactly as for a bug.
 */
export const faultKinds = [
  'exit', // the driver's domain exits (process.exit inside it)
  'abort', // native-style abort: process.abort() in a process domain, SIGKILL-like elsewhere
  'kill', // the kernel kills the domain from outside (SIGKILL / terminate)
  'throw', // an exception escapes the driver (uncaught)
  'rejection', // a promise rejection nobody handles
  'busy-loop', // the driver spins forever without yielding (caught by the heartbeat)
  'never-answer', // the next call never completes (caught by the entry point's deadline)
  'memory', // the driver allocates until its domain's memory limit stops it
  'bad-kernel-call', // the driver calls a kernel service with objects it does not own
  'contract', // the next reply breaks the class contract (wrong length, duplicate completion)
] as const;

/**
 * Faults only native code can have, injectable only where the host survives them (a process
 * domain): `segfault` is a real SIGSEGV, a null pointer dereferenced inside the driver's
 * process (a worker thread's SIGSEGV would end the whole host). Kept apart from `faultKinds`,
 * which every domain takes.
 */
export const nativeFaultKinds = ['segfault'] as const;

export type FaultKind = (typeof faultKinds)[number] | (typeof nativeFaultKinds)[number];

/** Every kind, native ones included: what a process domain takes. */
export const allFaultKinds: readonly FaultKind[] = [...faultKinds, ...nativeFaultKinds];

export interface InjectedFault {
  kind: FaultKind;
  /** Contract faults come in several flavours; the injector picks one when unset. */
  variant?: 'wrong-length' | 'duplicate-reply' | 'unknown-reply' | 'wrong-type';
  /**
   * `before-reply`: the fault lands as the driver's next call completes, its work done and its
   * reply not yet sent (a driver that dies between a read() and its reply). Only for the kinds
   * that end the domain from inside it (`endsDomain`). Unset: at once.
   */
  when?: 'before-reply';
}

/** Faults that end the driver's domain from inside it: the ones `when: 'before-reply'` takes. */
export const endsDomain: ReadonlySet<FaultKind> = new Set<FaultKind>(['exit', 'abort', 'segfault']);

/** Faults that need the driver to be inside a call to show (they act on the next call). */
export const actsOnNextCall: ReadonlySet<FaultKind> = new Set<FaultKind>(['never-answer', 'contract']);

export function isFaultKind(value: string): value is FaultKind {
  return (allFaultKinds as readonly string[]).includes(value);
}
