/**
 * The fault injector: a domain extension (see isolation/domain-extension.ts) that carries out an
 * injected fault inside the driver's domain, in the driver's own context, so that the kernel
 * detects it exactly as it would detect the bug it stands for. The runtime loads it into a
 * domain only when fault injection was asked for (`createRuntime({ faultInjection: true })`).
 */
import type { DomainExtensionFactory, DomainHooks } from '../isolation/domain-extension.js';
import type { FromDomain } from '../isolation/protocol.js';
import { endsDomain, isFaultKind, type InjectedFault } from './fault-kinds.js';

export const INJECTOR = 'fault-injector';

/** Kept reachable so the allocation loop really exhausts the heap. */
const hoard: unknown[] = [];

export function applyFault(fault: InjectedFault, hooks: DomainHooks): void {
  if (fault.when === 'before-reply' && endsDomain.has(fault.kind)) {
    // The reply is never posted: the domain ends in its place, in the task that completed the call.
    return hooks.interceptNextCall({ reply: () => applyFault({ kind: fault.kind }, hooks) });
  }
  switch (fault.kind) {
    case 'exit':
      return hooks.exit(70);
    case 'abort':
    case 'kill':
      return hooks.abort();
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
      return hooks.kernelCall('acquire', { name: 'resource-not-granted' });
    case 'never-answer':
      return hooks.interceptNextCall({ swallow: true });
    case 'contract':
      return hooks.interceptNextCall({ reply: (id, value, post) => breakContract(id, value, fault, post) });
    case 'segfault':
      return segfault();
  }
}

/**
 * A real SIGSEGV: strlen(NULL) through koffi, a null pointer dereferenced in native code. It
 * fires in the task that injects it, as every other kind does: koffi is loaded ahead (only in
 * a process domain, the only one a segfault may be injected into), not on demand, whose
 * await let the driver's next request start first and put every such fault in one spot. A
 * sandboxed domain that may not load addons gets the same signal from the kernel instead.
 */
let strlen: ((p: null) => number) | undefined;
if (process.env.SHADOW_DOMAIN === 'process') {
  import('koffi').then(({ default: koffi }) => {
    strlen = koffi.load('libc.so.6').func('size_t strlen(void *s)') as (p: null) => number;
  }).catch(() => undefined);
}

function segfault(): void {
  try {
    strlen?.(null);
  } finally {
    process.kill(process.pid, 'SIGSEGV');
  }
}

/** The reply to a call, broken the way the fault asks (or as fits the value). */
function breakContract(id: number, value: unknown, fault: InjectedFault, post: (m: FromDomain) => void): void {
  const variant = fault.variant ?? (value instanceof Uint8Array ? 'wrong-length' : 'duplicate-reply');
  switch (variant) {
    case 'wrong-length':
      return post({ t: 'reply', id, ok: true, value: value instanceof Uint8Array ? value.subarray(1) : new Uint8Array(1) });
    case 'wrong-type':
      return post({ t: 'reply', id, ok: true, value: 'not what the contract says' });
    case 'unknown-reply':
      post({ t: 'reply', id: -id - 1_000_000, ok: true, value });
      return post({ t: 'reply', id, ok: true, value });
    case 'duplicate-reply':
      post({ t: 'reply', id, ok: true, value });
      return post({ t: 'reply', id, ok: true, value });
  }
}

const injector: DomainExtensionFactory = (hooks) => ({
  name: INJECTOR,
  receive(body) {
    const fault = body as InjectedFault;
    if (typeof fault?.kind === 'string' && isFaultKind(fault.kind)) applyFault(fault, hooks);
  },
});
export default injector;

/** The injector module's URL, for LoadSpec.extensions. */
export const injectorUrl = import.meta.url;
