/**
 * The Prometheus endpoint (prom-client), on the address the config names. Every metric is
 * listed in docs/operations.md; names follow Prometheus conventions (`_total` counters, base
 * units: seconds, bytes). The registry is the service's own, never prom-client's global one.
 */
import http from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { FailureEvent, GaveUpEvent, QuarantineEvent, RecoveryEvent } from '../observe/channels.js';

const recoveryBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class ServiceMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({ name: 'shadowd_requests_total', help: 'Requests the frontends made of each device, by entry point', labelNames: ['device', 'entry'], registers: [this.registry] });
  readonly errors = new Counter({ name: 'shadowd_request_errors_total', help: 'Requests that ended in an error, by entry point and error code', labelNames: ['device', 'entry', 'code'], registers: [this.registry] });
  readonly failures = new Counter({ name: 'shadowd_driver_failures_total', help: 'Driver failures detected, by cause', labelNames: ['device', 'cause'], registers: [this.registry] });
  readonly recoveries = new Counter({ name: 'shadowd_recoveries_total', help: 'Recoveries completed, by the cause of the failure and the recovery mode', labelNames: ['device', 'cause', 'mode'], registers: [this.registry] });
  readonly recoverySeconds = new Histogram({ name: 'shadowd_recovery_duration_seconds', help: 'Time from failure detection to resume, backoff excluded', labelNames: ['device'], buckets: recoveryBuckets, registers: [this.registry] });
  readonly phaseSeconds = new Histogram({ name: 'shadowd_recovery_phase_duration_seconds', help: 'Time spent in each recovery phase', labelNames: ['device', 'phase'], buckets: recoveryBuckets, registers: [this.registry] });
  readonly restarts = new Counter({ name: 'shadowd_driver_restarts_total', help: 'Driver instances started by recovery (a recovery whose new driver failed counts each attempt)', labelNames: ['device'], registers: [this.registry] });
  readonly inFlight = new Gauge({ name: 'shadowd_requests_in_flight', help: 'Requests the frontends are waiting on', labelNames: ['device'], registers: [this.registry] });
  readonly quarantined = new Counter({ name: 'shadowd_quarantined_requests_total', help: 'Requests quarantined for being in flight at consecutive driver failures', labelNames: ['device'], registers: [this.registry] });
  readonly gaveUp = new Counter({ name: 'shadowd_gave_up_total', help: 'Times a device gave up (restart budget spent)', labelNames: ['device'], registers: [this.registry] });
  readonly bytes = new Counter({ name: 'shadowd_bytes_total', help: 'Bytes moved through each device, by direction (read, write)', labelNames: ['device', 'direction'], registers: [this.registry] });
  readonly up = new Gauge({ name: 'shadowd_device_up', help: '1 while the device serves or recovers, 0 once it gave up', labelNames: ['device'], registers: [this.registry] });

  /**
   * `processDefaults`: prom-client's process metrics (CPU, memory, event-loop lag, GC). Only
   * where the endpoint is served: their GC observer runs at every collection, and a service
   * copying a disk collects often (docs/benchmarks.md measures it); nobody reads them otherwise.
   */
  constructor(options: { processDefaults: boolean } = { processDefaults: true }) {
    if (options.processDefaults) collectDefaultMetrics({ register: this.registry });
  }

  /**
   * The shared spare domains (`warmStandby: shared`), read at each scrape: waiting (booted) and
   * starting. An operator sees the pool run dry or stop refilling.
   */
  watchSpares(count: () => { booted: number; starting: number }): void {
    new Gauge({
      name: 'shadowd_spare_domains', help: 'Shared spare domains kept for warmStandby: shared devices, booted or starting',
      labelNames: ['state'], registers: [this.registry],
      collect() {
        const { booted, starting } = count();
        this.set({ state: 'booted' }, booted);
        this.set({ state: 'starting' }, starting);
      },
    });
  }

  failure(e: FailureEvent): void {
    this.failures.inc({ device: e.device, cause: e.kind });
  }

  recovery(e: RecoveryEvent): void {
    this.recoveries.inc({ device: e.device, cause: e.cause, mode: e.mode });
    this.recoverySeconds.observe({ device: e.device }, e.totalMs / 1000);
    for (const [phase, ms] of Object.entries(e.phases)) this.phaseSeconds.observe({ device: e.device, phase }, ms / 1000);
    this.restarts.inc({ device: e.device }, e.attempts);
  }

  quarantine(e: QuarantineEvent): void {
    this.quarantined.inc({ device: e.device });
  }

  gaveUpEvent(e: GaveUpEvent): void {
    this.gaveUp.inc({ device: e.device });
    this.up.set({ device: e.device }, 0);
  }

  /** A device left the config: its series go, so a scrape shows only devices that exist. */
  async forget(device: string): Promise<void> {
    for (const metric of [this.requests, this.errors, this.failures, this.recoveries, this.recoverySeconds, this.phaseSeconds,
      this.restarts, this.inFlight, this.quarantined, this.gaveUp, this.bytes, this.up] as Counter[]) {
      const { values } = await metric.get();
      const seen = new Set<string>();
      for (const { labels } of values) {
        if (labels.device !== device) continue;
        const { le: _bucket, ...own } = labels as Record<string, string>;
        const key = JSON.stringify(own);
        if (!seen.has(key)) { seen.add(key); metric.remove(own); }
      }
    }
  }
}

/** A handler for the other paths of the same server (the dashboard); false when not its path. */
export type ExtraRoutes = (req: http.IncomingMessage, res: http.ServerResponse) => boolean;

/** Serves /metrics (and `extra`'s paths); resolves with the address it listens on. */
export async function serveMetrics(metrics: ServiceMetrics, host: string, port: number, extra?: ExtraRoutes): Promise<{ server: http.Server; url: string }> {
  const server = http.createServer((req, res) => {
    if (req.url !== '/metrics') { if (!extra?.(req, res)) res.writeHead(404).end('see /metrics\n'); return; }
    metrics.registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
      (err: Error) => res.writeHead(500).end(`${err.message}\n`));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => { server.off('error', reject); resolve(); });
  });
  const a = server.address() as { address: string; port: number };
  return { server, url: `http://${a.address.includes(':') ? `[${a.address}]` : a.address}:${a.port}/metrics` };
}
