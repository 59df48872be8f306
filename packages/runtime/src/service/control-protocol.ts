/**
 * The control socket's wire: one JSON object per line each way. A request names a verb; the
 * answer is `{ ok: true, result }` or `{ ok: false, code, message }`. `events` with follow
 * keeps the connection open and sends one `{ event }` line per event.
 */
export type ControlRequest =
  | { verb: 'status' }
  | { verb: 'inject'; device: string; kind: string }
  | { verb: 'restart' | 'detach' | 'attach'; device: string }
  | { verb: 'update'; device: string; driver: string; force?: boolean; probationMs?: number }
  | { verb: 'events'; follow?: boolean }
  | { verb: 'reload' };

export type ControlReply =
  | { ok: true; result: unknown }
  | { ok: false; code: string; message: string }
  | { event: unknown };

export const controlVerbs = ['status', 'inject', 'restart', 'detach', 'attach', 'update', 'events', 'reload'] as const;
