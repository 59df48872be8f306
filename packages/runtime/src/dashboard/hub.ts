/**
 * The server-sent events hub: every connected page gets, at once, a `hello` (the devices, the
 * recent events, the fault kinds, the catalogue's drivers), then each event as it happens and a `devices` snapshot once
 * a second (uptime, request counts, pids) while at least one page is connected. A slow page
 * that stops reading is dropped rather than buffered without bound.
 */
import type http from 'node:http';
import type { DashboardEvent, DashboardSource } from './source.js';

const TICK_MS = 1000;
/** Bytes a page may fall behind before it is dropped (it reconnects and starts from hello). */
const MAX_BACKLOG = 1 << 20;

export class SseHub {
  readonly #source: DashboardSource;
  readonly #clients = new Set<http.ServerResponse>();
  readonly #unsubscribe: () => void;
  #tick: NodeJS.Timeout | undefined;

  constructor(source: DashboardSource) {
    this.#source = source;
    this.#unsubscribe = source.subscribe((event) => this.#broadcast('event', event));
  }

  get clients(): number {
    return this.#clients.size;
  }

  /** Takes over a GET /events response. */
  connect(req: http.IncomingMessage, res: http.ServerResponse): void {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive' });
    // A reconnecting page waits 1 s, not the browser's default 3 s.
    res.write('retry: 1000\n\n');
    this.#send(res, 'hello', { devices: this.#source.devices(), recent: this.#source.recent(), faultKinds: this.#source.faultKinds, drivers: this.#source.driverNames(), now: new Date().toISOString() });
    this.#clients.add(res);
    const drop = () => { this.#clients.delete(res); if (this.#clients.size === 0) this.#stopTick(); };
    req.on('close', drop);
    res.on('error', drop);
    if (!this.#tick) {
      this.#tick = setInterval(() => this.#broadcast('devices', { now: new Date().toISOString(), devices: this.#source.devices() }), TICK_MS);
      this.#tick.unref();
    }
  }

  #send(res: http.ServerResponse, type: string, data: unknown): void {
    this.#write(res, `event: ${type}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  #write(res: http.ServerResponse, message: string): void {
    if (res.writableLength > MAX_BACKLOG) { res.destroy(); return; }
    res.write(message);
  }

  /** Serialized once, whatever the number of pages. */
  #broadcast(type: string, data: DashboardEvent | unknown): void {
    if (this.#clients.size === 0) return;
    const message = `event: ${type}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const res of this.#clients) this.#write(res, message);
  }

  #stopTick(): void {
    clearInterval(this.#tick);
    this.#tick = undefined;
  }

  /** Ends every stream (the pages show "disconnected" and retry). */
  close(): void {
    this.#unsubscribe();
    this.#stopTick();
    for (const res of this.#clients) res.destroy();
    this.#clients.clear();
  }
}
