/**
 * The dashboard's routes, mounted on any HTTP server (the service's metrics server, or the
 * server startDashboard opens): the page and its files, GET /events (server-sent events), and
 * the actions POST /api/inject, POST /api/restart and POST /api/update, which need the token.
 * Every refusal is one JSON line with a stable code, never a stack trace.
 */
import type http from 'node:http';
import { authorized } from './auth.js';
import { asset } from './assets.js';
import { SseHub } from './hub.js';
import type { DashboardSource } from './source.js';

const MAX_BODY = 4096;
/** A driver is a catalogue name or a module path: one line of text, not a document. */
const MAX_DRIVER = 1024;
// The page loads nothing from elsewhere, runs no inline script, and is framed by no one.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'";

export interface DashboardRoutes {
  /** Answers the request if it is the dashboard's; false leaves it to the caller. */
  handle(req: http.IncomingMessage, res: http.ServerResponse): boolean;
  readonly hub: SseHub;
  close(): void;
}

function reply(res: http.ServerResponse, status: number, body: object): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(`${JSON.stringify(body)}\n`);
}

function refuse(res: http.ServerResponse, status: number, code: string, message: string): void {
  reply(res, status, { ok: false, code, message });
}

function readBody(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => { text += chunk; if (text.length > MAX_BODY) { reject(new Error('request body too large')); req.destroy(); } });
    req.on('end', () => {
      try {
        const body = JSON.parse(text) as unknown;
        if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new Error();
        resolve(body as Record<string, unknown>);
      } catch { reject(new Error('the body is one JSON object')); }
    });
    req.on('error', reject);
  });
}

/** What an action does once its body is read and its device exists; the reply's `result`. */
async function perform(source: DashboardSource, verb: string, device: string, body: Record<string, unknown>): Promise<unknown> {
  if (verb === 'restart') { source.restart(device); return { restarted: device }; }
  if (verb === 'inject') {
    const kind = typeof body.kind === 'string' ? body.kind : '';
    if (!source.faultKinds.includes(kind)) throw Object.assign(new Error(`no fault kind ${JSON.stringify(kind)}`), { status: 400 });
    source.inject(device, kind);
    return { injected: kind, device };
  }
  const driver = typeof body.driver === 'string' ? body.driver.trim() : '';
  if (driver === '' || driver.length > MAX_DRIVER || /[\0-\x1f]/.test(driver)) {
    throw Object.assign(new Error('update needs a driver: a catalogue name or a module path, on one line'), { status: 400 });
  }
  // Resolves when the new version switched and served its probation, or rolled back (the report says which).
  return source.update(device, driver);
}

async function act(source: DashboardSource, verb: string, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  let body: Record<string, unknown>;
  try { body = await readBody(req); } catch (err) { refuse(res, 400, 'SD_ERR_INVALID_ARGUMENT', (err as Error).message); return; }
  const device = typeof body.device === 'string' ? body.device : '';
  if (!source.devices().some((d) => d.device === device)) { refuse(res, 404, 'SD_ERR_NOT_FOUND', `no device ${JSON.stringify(device)}`); return; }
  try {
    reply(res, 200, { ok: true, result: await perform(source, verb, device, body) });
  } catch (err) {
    const { code, status } = err as { code?: unknown; status?: number };
    refuse(res, status ?? 409, typeof code === 'string' && code.startsWith('SD_ERR_') ? code : 'SD_ERR_INVALID_ARGUMENT', (err as Error).message);
  }
}

export function dashboardRoutes(source: DashboardSource, token: string): DashboardRoutes {
  const hub = new SseHub(source);
  const handle = (req: http.IncomingMessage, res: http.ServerResponse): boolean => {
    const path = (req.url ?? '/').split('?')[0]!;
    const action = /^\/api\/(inject|restart|update)$/.exec(path);
    if (action) {
      if (req.method !== 'POST') { refuse(res, 405, 'SD_ERR_INVALID_ARGUMENT', `${path} takes POST`); return true; }
      if (!authorized(req, token)) {
        refuse(res, 403, 'SD_ERR_PERMISSION', 'actions need the token the service printed at start (Authorization: Bearer TOKEN)');
        req.resume();
        return true;
      }
      void act(source, action[1]!, req, res);
      return true;
    }
    if (req.method !== 'GET') return false;
    if (path === '/events') { hub.connect(req, res); return true; }
    if (!(path === '/' || path === '/index.html' || path === '/dashboard.css' || path.startsWith('/js/') || path.startsWith('/vendor/'))) return false;
    void asset(path).then((found) => {
      if (!found) { refuse(res, 404, 'SD_ERR_NOT_FOUND', `no file ${path}`); return; }
      res.writeHead(200, { 'content-type': found.type, 'content-security-policy': CSP, 'x-content-type-options': 'nosniff', 'cache-control': 'no-cache' }).end(found.body);
    });
    return true;
  };
  return { handle, hub, close: () => { hub.close(); source.close?.(); } };
}
