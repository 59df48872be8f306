/**
 * The dashboard's authority: a random token, printed by the service at start (and written to
 * a 0600 file next to the control socket). An action request must carry it as
 * `Authorization: Bearer TOKEN`; the page gets it from the `#token=` fragment of the URL the
 * operator opens (a fragment never leaves the browser, so it is in no request line or log).
 * Without it, a page anyone on the machine can open cannot inject faults or restart drivers.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { closeSync, openSync, rmSync, writeSync } from 'node:fs';
import type http from 'node:http';

export function newToken(): string {
  return randomBytes(24).toString('base64url');
}

/** True when the request carries the token (compared in constant time). */
export function authorized(req: http.IncomingMessage, token: string): boolean {
  const header = req.headers.authorization ?? '';
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  if (!match) return false;
  const given = Buffer.from(match[1]!);
  const wanted = Buffer.from(token);
  return given.length === wanted.length && timingSafeEqual(given, wanted);
}

/**
 * Writes the token to `path`, created 0600 under a umask that never lets it be more open even
 * for an instant (as the control socket). Returns the remover.
 */
export function writeTokenFile(path: string, token: string): () => void {
  rmSync(path, { force: true });
  const umask = process.umask(0o177);
  let fd: number;
  try { fd = openSync(path, 'wx', 0o600); } finally { process.umask(umask); }
  try { writeSync(fd, `${token}\n`); } finally { closeSync(fd); }
  return () => rmSync(path, { force: true });
}
