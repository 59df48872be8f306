/**
 * Around the network applications in test namespaces (src/net/ns-process.ts starts them): a
 * fault rotation that hits several devices in turn with every fault kind, and a sampler that
 * measures alongside a test.
 */
import { setTimeout as pace } from 'node:timers/promises';
import type { FaultKind, RecoveryEvent, Runtime } from 'shadow-drivers';
import { waitForEvent } from 'shadow-drivers/testing';

export interface Injection { device: string; kind: FaultKind; at: number }

/**
 * Injects faults into the targets in turn, a new one only after the previous recovery is over
 * and a pause (which sets the rate): fault i goes to target i mod n with kind ⌊i / n⌋ mod k,
 * so every target gets every kind. After each injection `poke` gives a fault that acts on the
 * next call a call to act on. `onInject` hears of each injection as it happens (for recovery
 * windows, which start when a fault acts, before it is detected).
 */
export function faultRotation(rt: Runtime, targets: { name: string; poke: () => Promise<unknown> }[], kinds: readonly FaultKind[],
  pauseMs: number, onInject: (injection: Injection) => void = () => undefined) {
  const stop = new AbortController();
  const injections: Injection[] = [];
  const recoveries: RecoveryEvent[] = [];
  const covered = (): boolean => targets.every((t) => kinds.every((k) => injections.some((x) => x.device === t.name && x.kind === k)));
  let onCovered = (): void => undefined;
  const coverage = new Promise<void>((resolve) => { onCovered = resolve; });
  const done = (async () => {
    for (let i = 0; !stop.signal.aborted; i++) {
      try {
        await pace(pauseMs + ((i * 37) % Math.max(1, Math.round(pauseMs / 2))), undefined, { signal: stop.signal });
      } catch {
        break;
      }
      const target = targets[i % targets.length]!;
      const kind = kinds[Math.floor(i / targets.length) % kinds.length]!;
      const recovered = waitForEvent<RecoveryEvent>(rt.manager, 'recovery', (e) => e.device === target.name, 20_000);
      rt.inject(target.name, { kind });
      const injection = { device: target.name, kind, at: Date.now() };
      injections.push(injection);
      onInject(injection);
      const [event] = await Promise.all([recovered, target.poke()]);
      recoveries.push(event);
      if (covered()) onCovered();
    }
  })();
  return {
    injections,
    recoveries,
    /** Every target has had every kind (and recovered). */
    covered,
    /** Resolves once every target has had every kind and recovered from it. */
    coverage,
    stop: async () => { stop.abort(); await done; },
  };
}

/** Runs `sample` every `everyMs` until stopped (a measurement alongside a test, never a wait). */
export function sampler(sample: () => Promise<void>, everyMs: number) {
  let stopped = false;
  let current: Promise<void> = Promise.resolve();
  const timer = setInterval(() => { if (!stopped) current = current.then(sample).catch(() => undefined); }, everyMs);
  return { stop: async () => { stopped = true; clearInterval(timer); await current; } };
}
