/**
 * The control socket: a unix socket, mode 0600, created under a umask that never lets it be
 * anything else even for an instant, and a second gate behind the file mode: every peer's uid
 * (SO_PEERCRED) must be the service owner's, so root-owned or inherited descriptors do not
 * open it to others. Requests are JSON lines (control-protocol.ts).
 */
import { chmodSync, rmSync } from 'node:fs';
import net from 'node:net';
import { ErrorCodes, ShadowError } from '../errors.js';
import type { ControlReply, ControlRequest } from './control-protocol.js';
import { removeLeftoverSocket } from './frontend.js';
import { peerCredentials } from './peer-credentials.js';
import type { ServiceEvent, Supervisor } from './supervisor.js';

const MAX_LINE = 64 * 1024;

export interface ControlOptions {
  path: string;
  supervisor: Supervisor;
  faultDrills: boolean;
  reload: () => Promise<unknown>;
}

function fail(err: unknown): ControlReply {
  const code = (err as { code?: unknown }).code;
  return { ok: false, code: typeof code === 'string' && code.startsWith('SD_ERR_') ? code : 'SD_ERR_INVALID_ARGUMENT', message: (err as Error).message };
}

async function answer(request: ControlRequest, options: ControlOptions): Promise<unknown> {
  const { supervisor } = options;
  switch (request.verb) {
    case 'status': return supervisor.status();
    case 'inject':
      if (!options.faultDrills) throw new ShadowError(ErrorCodes.NOT_SUPPORTED, 'fault drills are off: set faultDrills: true in the config to allow shadowd inject');
      supervisor.runtime.inject(request.device, { kind: request.kind as never });
      return { injected: request.kind, device: request.device };
    case 'restart': supervisor.restart(request.device); return { restarted: request.device };
    case 'detach': await supervisor.detach(request.device); return { detached: request.device };
    case 'attach': await supervisor.attach(request.device); return { attached: request.device };
    case 'update': return supervisor.update(request.device, request.driver, request.force === true, request.probationMs);
    case 'reload': return options.reload();
    case 'events': return supervisor.recent;
    default: throw new ShadowError(ErrorCodes.INVALID_ARGUMENT, `no verb ${String((request as { verb?: unknown }).verb)}`);
  }
}

function session(socket: net.Socket, options: ControlOptions): void {
  const send = (reply: ControlReply) => { if (!socket.destroyed) socket.write(`${JSON.stringify(reply)}\n`); };
  let buffered = '';
  let following: ((e: ServiceEvent) => void) | undefined;
  socket.on('close', () => { if (following) options.supervisor.off('event', following); });
  socket.on('error', () => undefined);
  socket.on('data', (chunk) => {
    buffered += chunk.toString('utf8');
    if (buffered.length > MAX_LINE) { send(fail(new ShadowError(ErrorCodes.INVALID_ARGUMENT, 'request line too long'))); socket.destroy(); return; }
    let newline: number;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      let request: ControlRequest;
      try { request = JSON.parse(line) as ControlRequest; } catch { send(fail(new ShadowError(ErrorCodes.INVALID_ARGUMENT, 'a request is one JSON object per line'))); continue; }
      if (request.verb === 'events' && request.follow && !following) {
        following = (event) => send({ event });
        options.supervisor.on('event', following);
      }
      answer(request, options).then((result) => send({ ok: true, result }), (err: unknown) => send(fail(err)));
    }
  });
}

export async function startControl(options: ControlOptions): Promise<{ close(): Promise<void> }> {
  const owner = process.getuid?.() ?? 0;
  const server = net.createServer((socket) => {
    const peer = peerCredentials(socket);
    if (!peer || peer.uid !== owner) {
      socket.end(`${JSON.stringify(fail(new ShadowError(ErrorCodes.PERMISSION, `the control socket serves uid ${owner} only${peer ? `, not uid ${peer.uid}` : ''}`)))}\n`);
      return;
    }
    session(socket, options);
  });
  const sockets = new Set<net.Socket>();
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  removeLeftoverSocket(options.path);
  const umask = process.umask(0o177);
  try {
    await new Promise<void>((done, failed) => { server.once('error', failed); server.listen(options.path, () => { server.off('error', failed); done(); }); });
  } finally {
    process.umask(umask);
  }
  chmodSync(options.path, 0o600);
  return {
    async close() {
      const closed = new Promise<void>((done) => server.close(() => done()));
      for (const s of sockets) s.destroy();
      await closed;
      rmSync(options.path, { force: true });
    },
  };
}
