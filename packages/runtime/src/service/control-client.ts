/**
 * The CLI's side of the control socket: one request, one answer (or, for `events --follow`,
 * every event until interrupted). Errors come back as `shadowd: CODE: message` and exit 1.
 */
import net from 'node:net';
import type { ControlReply, ControlRequest } from './control-protocol.js';

export class ControlError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

function connectError(path: string, err: NodeJS.ErrnoException): ControlError {
  if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') return new ControlError('SD_ERR_NOT_FOUND', `no service answers on ${path} (is shadowd run running? give its socket with --control PATH)`);
  if (err.code === 'EACCES' || err.code === 'EPERM') return new ControlError('SD_ERR_PERMISSION', `not allowed to use ${path} (the control socket serves its owner only)`);
  return new ControlError('SD_ERR_IO', `cannot reach ${path}: ${err.code ?? err.message}`);
}

/** Sends one request; calls onLine for each reply line; resolves when the service closes or `done` says so. */
export function request(path: string, body: ControlRequest, onLine: (reply: ControlReply) => boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(path);
    let buffered = '';
    let settled = false;
    let connected = false;
    const finish = (err?: Error) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      if (err) reject(err); else resolve();
    };
    socket.on('connect', () => { connected = true; socket.write(`${JSON.stringify(body)}\n`); });
    socket.on('error', (err: NodeJS.ErrnoException) => finish(!connected ? connectError(path, err) : new ControlError('SD_ERR_IO', err.message)));
    socket.on('close', () => finish());
    socket.on('data', (chunk) => {
      buffered += chunk.toString('utf8');
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        let reply: ControlReply;
        try { reply = JSON.parse(line) as ControlReply; } catch { return finish(new ControlError('SD_ERR_IO', 'the service sent a line that is not JSON')); }
        if ('ok' in reply && !reply.ok) return finish(new ControlError(reply.code, reply.message));
        if (!onLine(reply)) return finish();
      }
    });
  });
}

/** One request, its result. */
export async function call(path: string, body: ControlRequest): Promise<unknown> {
  let result: unknown;
  await request(path, body, (reply) => { if ('ok' in reply && reply.ok) result = reply.result; return false; });
  return result;
}
