/**
 * `shadowd run [CONFIG]`: the service. Nothing starts until the whole config is valid; then
 * the metrics endpoint, the devices with their frontends, and the control socket; READY=1 to
 * systemd once every device serves. SIGTERM/SIGINT drain and close everything and exit 0;
 * SIGHUP reloads the config file.
 */
import { resolve } from 'node:path';
import { dashboardUrl } from '../dashboard/index.js';
import { newToken, writeTokenFile } from '../dashboard/auth.js';
import { dashboardRoutes, type DashboardRoutes } from '../dashboard/routes.js';
import type http from 'node:http';
import { createRuntime } from '../runtime.js';
import { ConfigError, loadConfig, validate } from './config-load.js';
import { defaultControlPath, hostProblems, socketPaths, type DriverChecker } from './config-check.js';
import type { ServiceConfig } from './config-schema.js';
import { startControl } from './control-server.js';
import { defaultConfig } from './default-config.js';
import { splitAddress } from './frontend.js';
import { supervisorSource } from './dashboard-source.js';
import { createLogger, type Logger } from './log.js';
import { ServiceMetrics, serveMetrics } from './metrics.js';
import { notify, startWatchdog } from './notify.js';
import { Supervisor } from './supervisor.js';

export interface RunOptions {
  control?: string;
  check?: boolean;
}

function drivers(): DriverChecker {
  return createRuntime().manager.catalog as unknown as DriverChecker;
}

/** The config from the file (or the embedded default), fully checked; throws a ConfigError. */
export async function readConfig(file: string | undefined, options: RunOptions, running?: ServiceConfig): Promise<ServiceConfig> {
  const config = file === undefined ? validate('(embedded default)', defaultConfig, drivers()) : loadConfig(file, drivers());
  if (options.control !== undefined) config.control = options.control;
  const problems = await hostProblems(config, new Set(running ? socketPaths(running).map((s) => s.path) : []));
  if (problems.length > 0) throw new ConfigError(problems.map((p) => `${file ?? '(embedded default)'}: ${p}`));
  return config;
}

export async function runService(file: string | undefined, options: RunOptions): Promise<number> {
  const config = await readConfig(file, options);
  if (options.check) {
    console.log(`${file ?? '(embedded default)'}: valid (${Object.keys(config.devices).length} devices)`);
    return 0;
  }
  const log = createLogger(config.logLevel ?? 'info');
  const metrics = new ServiceMetrics({ processDefaults: config.metrics !== false });
  const runtime = createRuntime({ faultInjection: config.faultDrills ?? false, spareDomains: config.spareDomains, busyPollUs: config.busyPollUs });
  metrics.watchSpares(() => runtime.manager.spareDomains());
  const supervisor = new Supervisor(runtime, config, log, metrics);
  const controlPath = resolve(config.control ?? defaultControlPath);
  let metricsServer: http.Server | undefined;
  let control: { close(): Promise<void> } | undefined;
  let dashboard: DashboardRoutes | undefined;
  let removeToken: (() => void) | undefined;
  const stopAll = async () => {
    await control?.close();
    removeToken?.();
    // Open event streams would keep the server from closing; the pages show "disconnected".
    dashboard?.close();
    await supervisor.close();
    if (metricsServer) await new Promise((r) => { metricsServer!.close(r); metricsServer!.closeAllConnections(); });
  };
  try {
    let metricsUrl: string | undefined;
    let dashboardLink: string | undefined;
    if (config.metrics !== false) {
      // The dashboard's actions carry the control socket's authority: a token only the
      // service's output and a 0600 file next to the socket know.
      const token = newToken();
      dashboard = dashboardRoutes(supervisorSource(supervisor, config.faultDrills ?? false), token);
      const { host, port } = splitAddress(config.metrics ?? '127.0.0.1:0');
      ({ server: metricsServer, url: metricsUrl } = await serveMetrics(metrics, host, port, dashboard.handle));
      dashboardLink = dashboardUrl(metricsServer.address() as { address: string; port: number }, token).url;
      removeToken = writeTokenFile(tokenPath(controlPath), token);
    }
    await supervisor.start();
    control = await startControl({ path: controlPath, supervisor, faultDrills: config.faultDrills ?? false, reload: () => reload(file, options, supervisor, log) });
    log.info({ event: 'ready', control: controlPath, metrics: metricsUrl, dashboard: dashboardLink, devices: supervisor.status().map((s) => ({ device: s.device, frontend: s.frontend })) },
      `serving ${Object.keys(config.devices).length} devices; control ${controlPath}${metricsUrl ? `; metrics ${metricsUrl}; dashboard ${dashboardLink}` : ''}`);
  } catch (err) {
    log.error({ event: 'start-failed', code: (err as { code?: string }).code }, (err as Error).message);
    await stopAll().catch(() => undefined);
    throw Object.assign(new Error(`could not start: ${(err as Error).message}`), { code: (err as { code?: string }).code ?? 'SD_ERR_IO', logged: true });
  }
  notify('READY=1');
  const stopWatchdog = startWatchdog(() => true);
  return waitForSignals(file, options, supervisor, log, async () => {
    stopWatchdog();
    notify('STOPPING=1');
    await stopAll();
  }, config.drainTimeoutMs ?? 30_000);
}

/** The dashboard token's file: next to the control socket, `shadowd.sock` -> `shadowd.token`. */
export function tokenPath(controlPath: string): string {
  return `${controlPath.replace(/\.sock$/, '')}.token`;
}

async function reload(file: string | undefined, options: RunOptions, supervisor: Supervisor, log: Logger): Promise<unknown> {
  if (file === undefined) { log.warn({ event: 'reload' }, 'running the embedded default: nothing to reload'); return { added: [], removed: [], restarted: [], failed: [] }; }
  notify('RELOADING=1');
  try {
    const config = await readConfig(file, options, supervisor.config);
    const changes = await supervisor.reload(config);
    log.info({ event: 'reload', ...changes }, `reloaded ${file}`);
    return changes;
  } catch (err) {
    // A bad new config changes nothing: the devices keep running on the one they have.
    for (const line of err instanceof ConfigError ? err.lines : [(err as Error).message]) log.error({ event: 'reload-refused' }, line);
    throw err;
  } finally {
    notify('READY=1');
  }
}

function waitForSignals(file: string | undefined, options: RunOptions, supervisor: Supervisor, log: Logger,
  stop: () => Promise<void>, drainTimeoutMs: number): Promise<number> {
  return new Promise((done) => {
    const onHup = () => { reload(file, options, supervisor, log).catch(() => undefined); };
    let stopping = false;
    const onStop = (signal: string) => {
      // A second signal while draining must not kill the process half-way (sockets left behind).
      if (stopping) { log.warn({ event: 'stopping', signal }, `${signal}: already stopping`); return; }
      stopping = true;
      process.off('SIGHUP', onHup);
      log.info({ event: 'stopping', signal }, `${signal}: draining and stopping`);
      // A driver that never lets go must not keep the service from exiting.
      const deadline = setTimeout(() => { log.error({ event: 'drain-timeout' }, `not stopped after ${drainTimeoutMs} ms`); done(1); }, drainTimeoutMs);
      stop().then(() => { clearTimeout(deadline); log.info({ event: 'stopped' }, 'stopped'); done(0); },
        (err: Error) => { clearTimeout(deadline); log.error({ event: 'stop-failed' }, err.message); done(1); });
    };
    process.on('SIGHUP', onHup);
    process.on('SIGTERM', () => onStop('SIGTERM'));
    process.on('SIGINT', () => onStop('SIGINT'));
  });
}
