/**
 * The supervisor of the service's devices: attaches each device of the config with its
 * frontend, starts the switches, follows every failure, recovery, quarantine and give-up
 * (to the log, the metrics, the device's stats and the event stream), and applies a new
 * config (SIGHUP) as a difference: devices added are attached, removed ones detached, changed
 * ones restarted; the others are not touched.
 */
import { EventEmitter } from 'node:events';
import { LearningSwitch } from '../devices/net/switch.js';
import type { NetDevice } from '../kernel/net-device.js';
import type { Runtime } from '../runtime.js';
import type { FailureEvent, GaveUpEvent, QuarantineEvent, RecoveryEvent } from '../observe/channels.js';
import type { DriverLogEvent } from '../observe/driver-log.js';
import type { DeviceConfig, ServiceConfig } from './config-schema.js';
import { newStats, onFailure, onQuarantine, onRecovery, type DeviceStats } from './device-stats.js';
import { startDevice, type Started } from './device-start.js';
import { logEvents, type Logger } from './log.js';
import type { ServiceMetrics } from './metrics.js';
import { statusOf, type DeviceStatus } from './status.js';

export interface ServiceEvent { at: string; type: string; device: string; [field: string]: unknown }

interface Record_ {
  config: DeviceConfig;
  key: string;
  state: 'attached' | 'detached';
  started: Started | undefined;
  stats: DeviceStats;
}

const RECENT_EVENTS = 200;

export class Supervisor extends EventEmitter {
  readonly runtime: Runtime;
  readonly #log: Logger;
  readonly #metrics: ServiceMetrics;
  readonly #devices = new Map<string, Record_>();
  readonly #switches = new Map<string, { ports: NetDevice[]; running: LearningSwitch }>();
  readonly recent: ServiceEvent[] = [];
  #config: ServiceConfig;
  /** One change at a time: a reload, an attach and a detach never interleave. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(runtime: Runtime, config: ServiceConfig, log: Logger, metrics: ServiceMetrics) {
    super();
    this.runtime = runtime;
    this.#config = config;
    this.#log = log;
    this.#metrics = metrics;
    const manager = runtime.manager;
    const follow = <E extends { device: string }>(type: string, apply: (e: E, stats: DeviceStats) => void) =>
      manager.on(type, (e: E) => {
        const stats = this.#devices.get(e.device)?.stats;
        if (stats) apply(e, stats);
        if (type !== 'log') this.#publish({ at: new Date().toISOString(), type, ...e });
      });
    follow<FailureEvent>('failure', (e, s) => { onFailure(s, e); metrics.failure(e); logEvents.failure(log, e); });
    follow<RecoveryEvent>('recovery', (e, s) => { onRecovery(s, e); metrics.recovery(e); logEvents.recovery(log, e); });
    follow<QuarantineEvent>('quarantine', (e, s) => { onQuarantine(s, e); metrics.quarantine(e); logEvents.quarantine(log, e); });
    follow<GaveUpEvent>('gave-up', (e, s) => { s.gaveUp = { at: new Date().toISOString(), reason: e.reason }; metrics.gaveUpEvent(e); logEvents.gaveUp(log, e); });
    for (const type of ['update-started', 'update-quiesced', 'update-switched', 'update-rolled-back']) follow(type, () => undefined);
    follow<DriverLogEvent>('log', (e) => logEvents.driverLog(log, e));
  }

  #publish(event: ServiceEvent): void {
    this.recent.push(event);
    if (this.recent.length > RECENT_EVENTS) this.recent.shift();
    this.emit('event', event);
  }

  #serial<T>(step: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(step, step);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** Attaches every device; a device that cannot start stops the whole start (nothing half-up). */
  start(): Promise<void> {
    return this.#serial(async () => {
      for (const [name, config] of Object.entries(this.#config.devices)) await this.#attach(name, config);
      await this.#rebuildSwitches();
    });
  }

  async #attach(name: string, config: DeviceConfig, stats = newStats()): Promise<void> {
    const record: Record_ = { config, key: JSON.stringify(config), state: 'detached', started: undefined, stats };
    this.#devices.set(name, record);
    record.started = await startDevice(this.runtime, name, config, stats, this.#metrics, this.#log);
    record.state = 'attached';
    stats.attachedAt = Date.now();
    this.#metrics.up.set({ device: name }, 1);
    this.#publish({ at: new Date().toISOString(), type: 'attached', device: name });
    this.#log.info({ event: 'attached', device: name, class: config.class, driver: config.driver, frontend: record.started.frontend?.addresses }, `${name} serving`);
  }

  async #detach(name: string, record: Record_): Promise<void> {
    if (record.state !== 'attached') return;
    record.state = 'detached';
    await record.started?.frontend?.close();
    record.started = undefined;
    await this.#rebuildSwitches();
    await this.runtime.detach(name);
    this.#metrics.up.set({ device: name }, 0);
    this.#publish({ at: new Date().toISOString(), type: 'detached', device: name });
    this.#log.info({ event: 'detached', device: name }, `${name} detached`);
  }

  /** Starts each switch again whose attached ports changed (a switch's ports are fixed while it runs). */
  async #rebuildSwitches(): Promise<void> {
    for (const [name] of Object.entries(this.#config.switches ?? {})) {
      const ports = [...this.#devices.values()].flatMap((r) =>
        r.state === 'attached' && r.config.class === 'net' && r.config.frontend.switch === name && r.started?.port ? [r.started.port] : []);
      const current = this.#switches.get(name);
      if (current && current.ports.length === ports.length && current.ports.every((p, i) => p === ports[i])) continue;
      current?.running.stop();
      this.#switches.delete(name);
      if (ports.length > 0) this.#switches.set(name, { ports, running: await LearningSwitch.start(ports, { agingMs: this.#config.switches?.[name]?.agingMs }) });
    }
    for (const [name, sw] of this.#switches) if (!this.#config.switches?.[name]) { sw.running.stop(); this.#switches.delete(name); }
  }

  #record(name: string): Record_ {
    const record = this.#devices.get(name);
    if (!record) throw Object.assign(new Error(`no device ${name} in the config`), { code: 'SD_ERR_NOT_FOUND' });
    return record;
  }

  /** `shadowd detach`: the device stops serving (its frontend closes) but stays in the config. */
  detach(name: string): Promise<void> {
    return this.#serial(async () => {
      const record = this.#record(name);
      if (record.state !== 'attached') throw Object.assign(new Error(`${name} is already detached`), { code: 'SD_ERR_INVALID_ARGUMENT' });
      await this.#detach(name, record);
    });
  }

  /** `shadowd attach`: a detached device of the config serves again. */
  attach(name: string): Promise<void> {
    return this.#serial(async () => {
      const record = this.#record(name);
      if (record.state === 'attached') throw Object.assign(new Error(`${name} is already attached`), { code: 'SD_ERR_INVALID_ARGUMENT' });
      await this.#attach(name, record.config, record.stats);
      await this.#rebuildSwitches();
    });
  }

  /** `shadowd restart`: a planned recovery; clients see a pause. */
  restart(name: string): void {
    if (this.#record(name).state !== 'attached') throw Object.assign(new Error(`${name} is detached`), { code: 'SD_ERR_INVALID_ARGUMENT' });
    this.runtime.restart(name);
  }

  /**
   * `shadowd update`: a live update of the device's driver (see Runtime.update); resolves with
   * the report once the update switched or rolled back. The config file still names the
   * version it names: a reload that changes the device restarts it from the config.
   */
  update(name: string, driver: string, force: boolean, probationMs?: number): Promise<Awaited<ReturnType<Runtime['update']>>> {
    if (typeof driver !== 'string' || driver === '') throw Object.assign(new Error('update needs a driver'), { code: 'SD_ERR_INVALID_ARGUMENT' });
    if (this.#record(name).state !== 'attached') throw Object.assign(new Error(`${name} is detached`), { code: 'SD_ERR_INVALID_ARGUMENT' });
    if (probationMs !== undefined && !(Number.isSafeInteger(probationMs) && probationMs >= 0)) {
      throw Object.assign(new Error('probationMs must be a whole number of milliseconds'), { code: 'SD_ERR_INVALID_ARGUMENT' });
    }
    return this.runtime.update(name, { driver, force, probation: probationMs === undefined ? undefined : { ms: probationMs } });
  }

  /** Applies a new config as a difference; returns what changed. */
  reload(config: ServiceConfig): Promise<{ added: string[]; removed: string[]; restarted: string[]; failed: string[] }> {
    return this.#serial(async () => {
      const removed = [...this.#devices.keys()].filter((n) => !(n in config.devices));
      const restarted = Object.entries(config.devices).filter(([n, d]) => this.#devices.has(n) && this.#devices.get(n)!.key !== JSON.stringify(d)).map(([n]) => n);
      const added = Object.keys(config.devices).filter((n) => !this.#devices.has(n));
      for (const name of [...removed, ...restarted]) {
        await this.#detach(name, this.#devices.get(name)!);
        if (removed.includes(name)) { this.#devices.delete(name); await this.#metrics.forget(name); }
      }
      this.#config = config;
      const failed: string[] = [];
      for (const name of [...restarted, ...added]) {
        // One device that cannot start does not stop the others; it stays detached, and says why.
        await this.#attach(name, config.devices[name]!, restarted.includes(name) ? this.#devices.get(name)!.stats : undefined).catch((err: Error) => {
          failed.push(name);
          this.#log.error({ event: 'attach-failed', device: name, code: (err as { code?: string }).code }, err.message);
        });
      }
      await this.#rebuildSwitches();
      return { added, removed, restarted, failed };
    });
  }

  /** The config the devices run on now. */
  get config(): ServiceConfig {
    return this.#config;
  }

  /** True once every device of the config serves (for systemd's READY=1). */
  get serving(): boolean {
    return [...this.#devices.values()].every((r) => r.state === 'attached');
  }

  status(): DeviceStatus[] {
    return [...this.#devices.entries()].map(([name, r]) => statusOf(name, r.config, r.state, r.stats, r.started, this.runtime.status(name)));
  }

  /** SIGTERM: every frontend drains and closes, then every driver stops; in reverse start order. */
  close(): Promise<void> {
    return this.#serial(async () => {
      for (const [name, record] of [...this.#devices.entries()].reverse()) await this.#detach(name, record).catch((err: Error) =>
        this.#log.error({ event: 'detach-failed', device: name }, err.message));
      for (const sw of this.#switches.values()) sw.running.stop();
      this.#switches.clear();
      await this.runtime.close();
    });
  }
}
