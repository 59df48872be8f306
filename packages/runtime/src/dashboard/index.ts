/**
 * `shadow-drivers/dashboard`: the live dashboard on any Runtime. startDashboard opens an HTTP
 * server (127.0.0.1 and a free port by default) with the page, its event stream and its
 * actions; the URL it returns carries the token in its fragment, for the operator to open.
 */
import http from 'node:http';
import type { Runtime } from '../runtime.js';
import { newToken } from './auth.js';
import { dashboardRoutes } from './routes.js';
import { runtimeSource, type RuntimeSourceOptions } from './source.js';

export { newToken, writeTokenFile } from './auth.js';
export { dashboardRoutes, type DashboardRoutes } from './routes.js';
export { runtimeSource, type DashboardEvent, type DashboardSource, type DeviceCard } from './source.js';

export interface DashboardOptions extends RuntimeSourceOptions {
  host?: string;
  port?: number;
  /** The actions' authority; a random one when absent. */
  token?: string;
}

export interface Dashboard {
  /** The page's URL with `#token=`: what the operator opens. */
  url: string;
  /** The page's URL without the token. */
  origin: string;
  token: string;
  /** Pages connected now. */
  readonly clients: number;
  close(): Promise<void>;
}

export function dashboardUrl(address: { address: string; port: number }, token: string): { origin: string; url: string } {
  const host = address.address.includes(':') ? `[${address.address}]` : address.address;
  const origin = `http://${host}:${address.port}/`;
  return { origin, url: `${origin}#token=${token}` };
}

export async function startDashboard(runtime: Runtime, options: DashboardOptions = {}): Promise<Dashboard> {
  const token = options.token ?? newToken();
  const routes = dashboardRoutes(runtimeSource(runtime, options), token);
  const server = http.createServer((req, res) => {
    if (!routes.handle(req, res)) res.writeHead(404, { 'content-type': 'application/json' }).end('{"ok":false,"code":"SD_ERR_NOT_FOUND","message":"not a dashboard path"}\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => { server.off('error', reject); resolve(); });
  });
  const { origin, url } = dashboardUrl(server.address() as { address: string; port: number }, token);
  return {
    url, origin, token,
    get clients() { return routes.hub.clients; },
    async close() {
      routes.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
