/**
 * A spare domain's boot (spare-domains.ts): the kernel sends `preload` and waits for the entry's
 * answer, before any channel listens. What in a batch from the domain ends the wait.
 */

/** `pong`: the modules were imported; `fault`: importing them failed; undefined: not an answer yet. */
export function bootReply(batch: unknown): 'pong' | 'fault' | undefined {
  const kinds = Array.isArray(batch) ? batch.map((m) => (m as { t?: unknown } | null)?.t) : [];
  // A fault while its modules were imported (a driver's top-level code threw, or touched a
  // descriptor it was not lent): the spare is unusable, as if it had died while starting.
  if (kinds.includes('fault')) return 'fault';
  return kinds.includes('pong') ? 'pong' : undefined;
}
