/**
 * A driver's own state across a live update: the old version's `exportState()` handed to the
 * new version's `importState()`, for drivers that hold more than the class log keeps (a cache).
 * Both hooks are optional (see LiveState in the class contract). What the old version exports
 * is untrusted: checked here, at the boundary, before the new version sees it. A bad export is
 * the update's failure (it rolls back, the old version goes on serving), never the host's.
 */
import v8 from 'node:v8';
import { liveStateOf, type ClassContract } from '../classes/contract.js';
import type { Incarnation } from './incarnation.js';

/** Why carrying the state failed; the update rolls back with it as its cause. */
export class CarryFailed extends Error {}

const MAX_PROBLEM = 200;

/** Nothing to carry: the old version has no exportState, or the new one no importState. */
export const NOTHING = Symbol('nothing to carry');

/**
 * The old driver's exported state, checked and copied, for the spare's importState. Called
 * while quiesced (the old driver holds no request, so what it exports is final).
 */
export async function exportState(contract: ClassContract, old: Incarnation, spare: Incarnation): Promise<unknown> {
  if (!old.channel.hasHook('exportState') || !spare.channel.hasHook('importState')) return NOTHING;
  const answer = await old.call('exportState', undefined).catch((err: unknown) => {
    throw new CarryFailed(`exportState failed: ${short(err)}`);
  });
  const state = exportedState(answer);
  let bytes: Buffer;
  try {
    bytes = v8.serialize(state);
  } catch (err) {
    throw new CarryFailed(`exportState returned a value that is not structured-clonable (${short(err)})`);
  }
  const { maxBytes } = liveStateOf(contract);
  if (bytes.length > maxBytes) throw new CarryFailed(`exportState returned ${bytes.length} bytes, more than the class's ${maxBytes}`);
  // A copy: in an in-process domain the new version must not share objects with the old one.
  return v8.deserialize(bytes);
}

/** The exported state into the new version (after its init, before it serves). */
export async function importState(spare: Incarnation, state: unknown): Promise<void> {
  if (state === NOTHING) return;
  await spare.call('importState', state).catch((err: unknown) => {
    throw new CarryFailed(`importState failed: ${short(err)}`);
  });
}

/** The domain's envelope ({ ok, state } or { ok: false, problem }), checked like any driver answer. */
function exportedState(answer: unknown): unknown {
  if (answer === null || typeof answer !== 'object' || typeof (answer as { ok?: unknown }).ok !== 'boolean') {
    throw new CarryFailed('exportState answered outside the protocol');
  }
  const envelope = answer as { ok: boolean; state?: unknown; problem?: unknown };
  if (!envelope.ok) throw new CarryFailed(`exportState failed: ${short(envelope.problem)}`);
  return envelope.state;
}

function short(v: unknown): string {
  const text = v instanceof Error ? v.message : String(v);
  return text.length > MAX_PROBLEM ? `${text.slice(0, MAX_PROBLEM)}…` : text;
}
