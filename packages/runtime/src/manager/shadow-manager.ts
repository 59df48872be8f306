/**
 * The shadow manager: the one place that wires kernel, taps, shadows and drivers together.
 * It starts each driver, points its taps, hears of every failure from the isolation layer,
 * and runs recovery (see recovery.ts) under the restart policy.
 */
import { EventEmitter } from 'node:events';
import { classByName } from '../classes/registry.js';
import { initEntry, type ClassContract } from '../classes/contract.js';
import { systemClock, type Clock } from '../clock.js';
import { DriverFailure, ErrorCodes, ShadowError } from '../errors.js';
import { endsDomain, faultKinds, isFaultKind, type InjectedFault } from '../faults/fault-kinds.js';
import { INJECTOR, injectorUrl } from '../faults/injector.js';
import type { DomainKind, SandboxKind } from '../isolation/domain.js';
import { ProcessDomain } from '../isolation/process-domain.js';
import { SharedPool } from '../isolation/shared-pool.js';
import { BusyPoll, busyPollWindow } from '../isolation/busy-poll.js';
import { SpareDomains, type SpareKind } from '../isolation/spare-domains.js';
import { DomainGroup, GROUP_SETTLE_MS, type TenantDomain } from '../isolation/domain-group.js';
import { kConnect, kSetStatus, type Device } from '../kernel/device.js';
import type { Kernel } from '../kernel/kernel.js';
import { InputHold } from '../kernel/input-hold.js';
import { channels, type StateEvent, type FailureEvent, type GaveUpEvent, type QuarantineEvent, type RecoveryEvent } from '../observe/channels.js';
import { cleanLevel, cleanLine, LogLimiter, type DriverLogEvent, type DriverLogSource } from '../observe/driver-log.js';
import { Shadow } from '../shadows/shadow.js';
import { Lifecycle } from './lifecycle.js';
import { Tap } from '../taps/tap.js';
import { deviceGone, Incarnation, type RetireStep } from './incarnation.js';
import { Recovery } from './recovery.js';
import { RestartPolicy } from './restart-policy.js';
import { routes } from './routes.js';
import { DriverCatalog, sandboxFor, type ResolvedDriver } from './driver-catalog.js';
import { GROUP_NAME, memoryLimitOf, type DriverSpec, type DriverState, type ManagedDriver, type RecoveryMode } from './managed.js';
import { LiveUpdate, runningVersion, versionOf, type UpdateOptions, type UpdateReport } from './update.js';

/** What `status()` tells of one device's driver. */
export interface DriverStatus {
  device: string;
  className: string;
  driver: string;
  fallbackDriver: string | undefined;
  domain: DomainKind;
  /** The driver's process, in a process domain. */
  pid: number | undefined;
  /**
   * The wall around the driver: `bubblewrap` (own namespaces and a read-only view, then Node's
   * permission model), `permission-model` (bubblewrap absent or unusable here, or turned off),
   * or `none` (worker and inline domains, `sandbox: false`).
   */
  sandbox: SandboxKind;
  recovery: RecoveryMode;
  state: DriverState;
  recoveries: number;
  /**
   * `gave-up`: spares kept dying idle, and none is started any more (see `standbyReason`);
   * `shared`: recovery takes a started domain from the runtime's shared spares;
   * `group`: recovery goes into the domain group's spare thread.
   */
  standby: 'none' | 'starting' | 'ready' | 'gave-up' | 'shared' | 'group';
  /** The domain group whose thread the driver shares (`domainGroup`), if any. */
  domainGroup: string | undefined;
  /** The loaded spare's process, in a process domain. */
  standbyPid: number | undefined;
  /** Why the device keeps no spare any more, when `standby` is `gave-up`. */
  standbyReason: string | undefined;
  /** Why the device was given up as gone (its resources failed the kernel's own check). */
  deviceGone: string | undefined;
  /** The driver's log lines dropped over the rate limit (see the manager's `log` event). */
  droppedLogLines: number;
  /** The version the current driver instance runs: its manifest's name, else its module URL. */
  version: string;
  /** What the last live update did (see `update()`). */
  lastUpdate: UpdateReport | undefined;
}

/** The key of the manager's internal record accessor (see `[kManaged]`). */
export const kManaged = Symbol('shadow.manager.managed');

function statusOf(managed: ManagedDriver): DriverStatus {
  const domain = managed.current?.channel.domain;
  const spare = managed.spare?.channel.domain;
  return {
    device: managed.device.name,
    className: managed.device.contract.name,
    driver: managed.spec.driver,
    fallbackDriver: managed.spec.fallbackDriver,
    domain: managed.spec.domain,
    pid: domain instanceof ProcessDomain ? domain.pid : undefined,
    sandbox: domain?.sandbox ?? 'none',
    recovery: managed.spec.recovery,
    state: managed.state,
    recoveries: managed.recoveries,
    domainGroup: managed.spec.domainGroup,
    standby: managed.standbyGaveUp !== undefined ? 'gave-up' : managed.spec.warmStandby === 'shared' ? 'shared'
      : managed.spec.domainGroup !== undefined && !managed.spec.warmStandby ? 'group'
      : managed.standby === undefined ? 'none' : managed.standbyReady === managed.standby ? 'ready' : 'starting',
    standbyPid: spare instanceof ProcessDomain && managed.standbyReady === managed.standby ? spare.pid : undefined,
    standbyReason: managed.standbyGaveUp,
    deviceGone: managed.goneReason,
    droppedLogLines: managed.logLimiter.droppedTotal,
    version: versionOf(runningVersion(managed)),
    lastUpdate: managed.lastUpdate && { ...managed.lastUpdate, phases: { ...managed.lastUpdate.phases } },
  };
}

export interface ManagerOptions {
  /**
   * Load the fault injector into every driver's domain, so that `inject()` works (tests, the
   * lab's campaigns, operators' fault drills). Off by default: a production domain carries no
   * fault injection.
   */
  faultInjection?: boolean;
  /** The drivers the manager may start by name. */
  catalog?: DriverCatalog;
  /**
   * Started domains kept for devices with `warmStandby: 'shared'`, per driver, domain, heap
   * limit and sandbox (default 2). None is started until such a device is attached.
   */
  spareDomains?: number;
  /**
   * How long (µs) the kernel's event loop keeps polling, without sleeping, for a domain's reply
   * after a batch leaves for it (busy-poll.ts); 0 turns it off. Default 0 (DEFAULT_BUSY_POLL_US).
   */
  busyPollUs?: number;
  clock?: Clock;
  random?: () => number;
}

/** The kernel's hold on a device's input during recovery, when its class asks for one and the device has that resource. */
function holdFor(contract: ClassContract, device: Device, shadow: Shadow | undefined): InputHold | undefined {
  const want = contract.heldInput;
  const resource = want && shadow ? device.resources.find((r) => r.name === want.resource && r.fd >= 0) : undefined;
  return resource && want ? new InputHold(resource.fd, want.limitBytes) : undefined;
}

export class ShadowManager extends EventEmitter {
  readonly clock: Clock;
  readonly random: () => number;
  readonly catalog: DriverCatalog;
  readonly #extensions: string[];
  readonly #kernel: Kernel;
  readonly #drivers = new Map<string, ManagedDriver>();
  readonly #recovery: Recovery;
  readonly #update: LiveUpdate = new LiveUpdate(this);
  readonly #spares: SpareDomains;
  /** Each sharing device's spare kinds, by driver URL (see #spareKind). */
  readonly #spareKinds = new WeakMap<ManagedDriver, Map<string, SpareKind>>();
  /** Worker threads several devices share (`domainGroup`), by group name. */
  readonly #groups = new Map<string, DomainGroup>();
  readonly #busyPoll: BusyPoll;
  /** The busy-poll window (µs) this manager's devices use (ManagerOptions.busyPollUs). */
  readonly busyPollUs: number;

  constructor(kernel: Kernel, options: ManagerOptions = {}) {
    super();
    this.#kernel = kernel;
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.catalog = options.catalog ?? new DriverCatalog();
    this.#extensions = options.faultInjection ? [injectorUrl] : [];
    this.#recovery = new Recovery(this);
    this.#spares = new SpareDomains(options.spareDomains ?? 2);
    this.busyPollUs = busyPollWindow(options.busyPollUs);
    this.#busyPoll = new BusyPoll(this.busyPollUs);
  }

  /** Starts a driver for a new device and returns the device object applications hold. */
  async attach(input: DriverSpec): Promise<Device> {
    const contract = classByName(input.className);
    if (!contract) throw new ShadowError(ErrorCodes.NOT_FOUND, `no driver class ${input.className}`);
    const recovery = input.recovery ?? 'shadow';
    const driver = this.catalog.resolve(input.className, input.driver);
    // Native code can crash or corrupt the process it runs in: by default it gets its own.
    const domain = recovery === 'native' ? 'none' as const : input.domain ?? (driver.manifest?.nativeCode ? 'process' : 'worker');
    const spec = { ...input, recovery, domain };
    if (spec.domainGroup !== undefined) this.#checkGroup(spec);
    const fallback = input.fallbackDriver === undefined ? driver : this.catalog.resolve(input.className, input.fallbackDriver);
    const resources = this.catalog.resources(driver, spec.config ?? {}, spec.resources);
    // Every resource reaches a process as a descriptor (a medium too: a tmpfs file), and a
    // started node process cannot be handed one: process spares are for devices without any.
    if (spec.warmStandby === 'shared' && domain === 'process' && resources.length > 0) {
      throw new ShadowError(ErrorCodes.INVALID_ARGUMENT, `${spec.name}: warmStandby 'shared' in a process domain needs a device without host resources ` +
        `(a started process cannot be handed the descriptor of ${resources.map((r) => r.name).join(', ')}); use warmStandby: true`);
    }
    // A manifest's socket list that cannot read the config is the operator's bad input, said now.
    if (domain === 'process') sandboxFor(spec.sandbox, driver, spec.config ?? {});
    const device = this.#kernel.createDevice(spec.name, contract, resources,
      { sharedMemory: spec.domain !== 'process' });
    const shadow = recovery === 'shadow' ? new Shadow(contract, {
      poisonThreshold: spec.poisonThreshold ?? 3,
      registered: () => device.state.info,
      onQuarantine: (record, outcome) => this.publish('quarantine', channels.quarantine,
        { device: device.name, entry: record.entry, failures: record.failures, outcome } satisfies QuarantineEvent),
      brokenAfter: spec.brokenAfter ?? 3,
      issue: (entry, args) => {
        const managed = this.#drivers.get(device.name);
        return managed ? managed.kernelTap.invoke(entry, args) : Promise.reject(new ShadowError(ErrorCodes.CLOSED, `${device.name} is closed`));
      },
      onBroken: (count) => {
        const managed = this.#drivers.get(device.name);
        if (managed && !managed.lifecycle.over) {
          this.giveUp(managed, `${count} requests in a row were quarantined: the driver fails on every request`);
        }
      },
    }) : undefined;
    const lifecycle = new Lifecycle((change) => this.publish('state', channels.state, { device: device.name, ...change } satisfies StateEvent));
    const managed = { spec, driver, fallback, device, shadow, lifecycle, recoveries: 0, dying: new Set(), pool: new SharedPool(),
      standbyDeaths: 0,
      logLimiter: new LogLimiter(() => this.clock.now()),
      initArgs: { config: spec.config ?? {} },
      policy: new RestartPolicy(spec.restart ?? {}, () => this.clock.now(), this.random) } as unknown as ManagedDriver;
    Object.defineProperty(managed, 'state', { get: () => lifecycle.state, enumerable: true });
    managed.inputHold = holdFor(contract, device, shadow);
    managed.routes = routes(managed);
    managed.kernelTap = new Tap(`${device.name}:kernel->driver`, managed.routes.passive);
    this.#drivers.set(device.name, managed);
    const start = async (resolved: ResolvedDriver) => {
      managed.current = await this.spawn(managed, resolved);
      await managed.current.call(initEntry(contract), managed.initArgs);
      // The class contract: a driver registers its device while it initializes.
      if (device.state.info === undefined) throw new DriverFailure('contract', 'init completed without registering the device', initEntry(contract));
    };
    try {
      try {
        await start(driver);
      } catch (err) {
        if (fallback === driver) throw err;
        // The driver failed to start: a failure like any other (published once), and the fallback starts instead.
        if (!managed.failedAtStart) this.publish('failure', channels.failure, {
          device: device.name, driver: spec.driver, kind: err instanceof DriverFailure ? err.kind : 'exception',
          message: (err as Error).message, call: initEntry(contract), duringRecovery: false,
        } satisfies FailureEvent);
        if (managed.current) await this.retire(managed, managed.current);
        await start(fallback);
      }
    } catch (err) {
      await this.detach(device.name);
      throw new ShadowError(ErrorCodes.DRIVER_FAILED, `driver ${spec.driver} failed to start: ${(err as Error).message}`, { cause: err });
    }
    managed.lifecycle.to('running', 'the driver started');
    device[kConnect](managed.kernelTap);
    this.prepareStandby(managed);
    return device;
  }

  /** Injects a fault into the device's current driver, through the real boundary. */
  inject(name: string, fault: InjectedFault): void {
    const managed = this.#get(name);
    if (this.#extensions.length === 0) {
      throw new ShadowError(ErrorCodes.NOT_SUPPORTED, 'fault injection is off: create the runtime with { faultInjection: true }');
    }
    if (typeof fault !== 'object' || fault === null || !isFaultKind(String(fault.kind))) {
      throw new ShadowError(ErrorCodes.INVALID_ARGUMENT, `no fault kind ${String((fault as { kind?: unknown } | null)?.kind)} (known: ${faultKinds.join(', ')})`);
    }
    if (fault.when !== undefined && (fault.when !== 'before-reply' || !endsDomain.has(fault.kind))) {
      throw new ShadowError(ErrorCodes.INVALID_ARGUMENT, `a fault's "when" may only be "before-reply", for ${[...endsDomain].join(', ')}`);
    }
    const channel = managed.current.channel;
    // A worker's SIGSEGV would end the host its isolation is there to protect. In the host itself
    // (native recovery, domain none) it does end the host: what the native configuration means.
    if (fault.kind === 'segfault' && channel.domain.kind === 'worker') {
      throw new ShadowError(ErrorCodes.NOT_SUPPORTED, `a segfault can be injected only into a process domain, or a native driver in the host (${name} runs in a worker)`);
    }
    if (fault.kind === 'kill' && channel.domain instanceof ProcessDomain) return channel.kill();
    if (fault.kind === 'kill') return channel.fail(new DriverFailure('exit', 'driver domain killed from outside'));
    const contractFault = managed.device.contract.contractFault;
    channel.toExtension(INJECTOR, fault.kind === 'contract' && fault.variant === undefined && contractFault
      ? { ...fault, variant: contractFault } : fault);
  }

  /**
   * A planned recovery (the operator's `shadowd restart`): the current driver is stopped and
   * the device recovered exactly as after a failure, so its clients see a pause, not an error.
   * Works without fault injection; only a running device can be restarted.
   */
  restart(name: string): void {
    const managed = this.#get(name);
    if (managed.state !== 'running') throw new ShadowError(ErrorCodes.BUSY, `${name} is ${managed.state}, not running: nothing to restart`);
    if (managed.spec.recovery === 'native') throw new ShadowError(ErrorCodes.NOT_SUPPORTED, `${name} runs with recovery native: a restart would lose it`);
    managed.current.channel.fail(new DriverFailure('exit', 'planned restart requested by the operator'));
  }

  /**
   * Live update: the device's driver replaced by another version while applications keep
   * going (see update.ts); rolled back by itself when the new version fails. Resolves when the
   * update is decided: switched (probation passed) or rolled back (the report says why).
   */
  update(name: string, options: UpdateOptions): Promise<UpdateReport> {
    return this.#update.run(this.#get(name), options);
  }

  /** A snapshot of one device's driver, for operators and tools (a copy: changing it changes nothing). */
  status(name: string): DriverStatus | undefined {
    const managed = this.#drivers.get(name);
    return managed ? statusOf(managed) : undefined;
  }

  /** Snapshots of every device's driver, in attach order. */
  statuses(): DriverStatus[] {
    return [...this.#drivers.values()].map(statusOf);
  }

  /** Resolves once the device has a loaded warm standby (at once when it has one). */
  async standbyReady(name: string): Promise<void> {
    const managed = this.#get(name);
    if (!managed.spec.warmStandby) throw new ShadowError(ErrorCodes.INVALID_ARGUMENT, `${name} has no warm standby`);
    if (managed.spec.warmStandby === 'shared') {
      await this.#spares.ready(this.#spareKind(managed)).catch((err: Error) => {
        throw new ShadowError(ErrorCodes.GAVE_UP, `${name} has no shared spare: ${err.message}`);
      });
      return;
    }
    for (;;) {
      const standby = managed.standby;
      if (standby) { await standby.catch(() => undefined); if (managed.standby === standby && managed.standbyReady === standby) return; }
      else await new Promise((resolve) => setImmediate(resolve));
      if (managed.state === 'closed' || managed.state === 'gave-up') throw new ShadowError(ErrorCodes.CLOSED, `${name} is ${managed.state}`);
      if (managed.standbyGaveUp) throw new ShadowError(ErrorCodes.GAVE_UP, `${name} keeps no standby: ${managed.standbyGaveUp}`);
    }
  }

  /** The kernel's busy poller so far (isolation/busy-poll.ts): windows opened, hits, misses, rests. */
  busyPollCounts(): { windows: number; hits: number; misses: number; rests: number } {
    return { ...this.#busyPoll.counts };
  }

  /** The shared spare domains (`warmStandby: 'shared'`) waiting, booted, and still starting. */
  spareDomains(): { booted: number; starting: number } {
    return this.#spares.counts();
  }

  /** The manager's own record of a driver: for the runtime's internals and its tests only. */
  [kManaged](name: string): ManagedDriver | undefined {
    return this.#drivers.get(name);
  }

  async detach(name: string): Promise<void> {
    const managed = this.#drivers.get(name);
    if (!managed) return;
    managed.lifecycle.to('closed', 'detached');
    this.#drivers.delete(name);
    if (managed.inputHold?.running) managed.inputHold.stop(); // before the kernel closes the tty under it
    managed.shadow?.giveUp('the device was detached', ErrorCodes.CLOSED);
    const standby = managed.standby;
    managed.standby = undefined;
    managed.standbyRetry?.cancel();
    await Promise.allSettled([
      managed.current && this.retire(managed, managed.current),
      standby?.then((s) => this.retire(managed, s)),
      ...managed.dying,
    ]);
    this.#kernel.removeDevice(name);
    if (managed.spec.warmStandby === 'shared') this.#pruneSpares();
    const group = managed.spec.domainGroup;
    if (group !== undefined && ![...this.#drivers.values()].some((m) => m.spec.domainGroup === group)) {
      const ending = this.#groups.get(group);
      this.#groups.delete(group);
      await ending?.close();
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.#drivers.keys()].map((name) => this.detach(name)));
    await Promise.all([this.#spares.close(), ...[...this.#groups.values()].map((g) => g.close())]);
    this.#groups.clear();
  }

  /** The domain groups (`domainGroup`): devices in each serving thread, and its spare thread. */
  domainGroups(): { name: string; devices: number; serving: number; spare: number; spareBooted: boolean }[] {
    return [...this.#groups.values()].map((g) => ({ name: g.name, devices: g.tenants, ...g.threads() }));
  }

  /** A device that names a group: a worker domain with shadow or restart recovery, no standby of its own, the group's heap limit. */
  #checkGroup(spec: DriverSpec & { domain: DomainKind; recovery: RecoveryMode }): void {
    const bad = (why: string) => new ShadowError(ErrorCodes.INVALID_ARGUMENT, `${spec.name}: domainGroup ${JSON.stringify(spec.domainGroup)} ${why}`);
    if (typeof spec.domainGroup !== 'string' || !GROUP_NAME.test(spec.domainGroup)) throw bad('must be 1 to 64 letters, digits, dots, dashes or underscores');
    if (spec.domain !== 'worker' || spec.recovery === 'native') throw bad(`needs a worker domain (this device runs in ${spec.recovery === 'native' ? 'none' : spec.domain}): only threads share a process`);
    if (spec.warmStandby === 'shared') throw bad('keeps its own spare thread for recovery: warmStandby \'shared\' would be a second one (use true: the standby driver waits in that thread)');
    const group = this.#groups.get(spec.domainGroup);
    const limit = memoryLimitOf(spec);
    if (group && group.memoryLimitMb !== limit) throw bad(`has a heap limit of ${group.memoryLimitMb} MiB, shared by its devices (this one asks ${limit})`);
  }

  /** The device's next driver instance goes into its group's serving thread (the spare one after a failure). */
  #joinGroup(managed: ManagedDriver, driver: ResolvedDriver, role: 'serve' | 'standby'): { domain: TenantDomain; booted: boolean } {
    const name = managed.spec.domainGroup!;
    let group = this.#groups.get(name);
    if (!group) this.#groups.set(name, group = new DomainGroup(name, { memoryLimitMb: memoryLimitOf(managed.spec) }));
    const domain = group.join([...managed.device.resources], [...this.#extensions, driver.url], role);
    return { domain, booted: domain.booted };
  }

  // --- used by recovery and routes ---

  /** A new incarnation of the driver, loaded but not initialized (by default the fallback's: a standby or a recovery). */
  async spawn(managed: ManagedDriver, driver = managed.fallback, role: 'serve' | 'standby' = 'serve'): Promise<Incarnation> {
    const { spec } = managed;
    const memoryLimitMb = memoryLimitOf(spec);
    const spare = spec.domainGroup !== undefined ? this.#joinGroup(managed, driver, role)
      : spec.warmStandby === 'shared' && spec.domain !== 'none'
        ? this.#spares.take(this.#spareKind(managed, driver), [...managed.device.resources]) : undefined;
    const incarnation = new Incarnation({
      ...(spare ? { spare } : {}),
      device: managed.device,
      driverUrl: driver.url,
      extensions: this.#extensions,
      domain: spec.domain,
      clock: this.clock,
      memoryLimitMb,
      sandbox: sandboxFor(spec.sandbox, driver, spec.config ?? {}),
      heartbeatMs: spec.heartbeatMs ?? 100,
      heartbeatTimeoutMs: spec.heartbeatTimeoutMs ?? 1500,
      deadlineScale: spec.deadlineScale ?? 1,
      bufferLimitBytes: spec.bufferLimitBytes ?? 64 * 1024 * 1024,
      pool: managed.pool,
      busyPoll: this.#busyPoll,
      fireTimer: (incarnation, timerId) => this.#fireTimer(managed, incarnation, timerId),
      failed: (incarnation, failure) => this.#failed(managed, incarnation, failure),
      // Only the serving driver's late replies: a spare or a driver already replaced has none to give.
      late: (incarnation, entry, args, value) => { if (incarnation === managed.current) managed.shadow?.late(entry, args, value); },
      unanswered: (incarnation, name, args) => {
        if (incarnation === managed.current && name === 'upcall') {
          const upcall = args as { name: string; args: unknown };
          managed.shadow?.unanswered(upcall.name, upcall.args);
        }
      },
      deviceGone: (incarnation, reason) => {
        if (incarnation === managed.current) this.giveUp(managed, reason, { deviceGone: true });
      },
      log: (level, message, source) => this.#driverLog(managed, level, message, source),
    });
    // Passive mode: the shadow also watches the driver->kernel direction (upcalls).
    if (managed.shadow) incarnation.serviceTap.attach({ target: incarnation.kernelServices, observer: managed.shadow.serviceObserver });
    try {
      return await incarnation.load();
    } catch (err) {
      await this.retire(managed, incarnation);
      throw err;
    }
  }

  /**
   * Every driver instance ends here, whatever ended it (detach, recovery, a dead standby, a
   * failed start before the fallback): see Incarnation.retire. Closing the device waits for
   * the ones still going.
   */
  retire(managed: ManagedDriver, incarnation: Incarnation, step?: RetireStep): Promise<void> {
    const retiring = incarnation.retire(step);
    managed.dying.add(retiring);
    void retiring.finally(() => managed.dying.delete(retiring)).catch(() => undefined);
    return retiring;
  }

  prepareStandby(managed: ManagedDriver, settled = false): void {
    if (managed.spec.warmStandby === 'shared') {
      this.#pruneSpares();
      return this.#spares.fill(this.#spareKind(managed));
    }
    if (!managed.spec.warmStandby || managed.spec.recovery === 'native' || managed.standby) return;
    if (managed.state === 'closed' || managed.state === 'gave-up') return;
    if (managed.standbyGaveUp !== undefined) return;
    if (!settled && managed.spec.domainGroup !== undefined && managed.recoveries > 0) {
      // The group's spare thread, where this standby would wait, was just taken by the recovery of
      // every device in the group: its successor starts once those recoveries have settled, not
      // beside them (a thread's start and a dozen drivers' imports would take their cores).
      if (managed.standbyRetry) return;
      managed.standbyRetry = this.clock.after(GROUP_SETTLE_MS, () => {
        managed.standbyRetry = undefined;
        this.prepareStandby(managed, true);
      });
      return;
    }
    const standby = this.spawn(managed, managed.fallback, 'standby');
    standby.then(
      (spare) => {
        if (managed.standby !== standby) return;
        managed.standbyReady = standby;
        managed.spare = spare;
        managed.spareSince = this.clock.now();
      },
      () => { if (managed.standby === standby) this.#standbyLost(managed); },
    );
    managed.standby = standby;
  }

  /**
   * The spare died (killed from outside, out of memory, or it failed to load): it is replaced,
   * the first time at once and then with the restart policy's backoff. A spare that keeps
   * dying (more than `maxAttempts` in a row; one that lived `stableAfterMs` is forgiven) is not
   * replaced any more, so it cannot fork in a loop; status() says why.
   */
  #standbyLost(managed: ManagedDriver): void {
    managed.standby = undefined;
    managed.standbyReady = undefined;
    managed.spare = undefined;
    if (managed.state === 'closed' || managed.state === 'gave-up') return;
    const { maxAttempts, stableAfterMs } = managed.policy.options;
    const now = this.clock.now();
    if (managed.spareSince !== undefined && now - managed.spareSince >= stableAfterMs) managed.standbyDeaths = 0;
    managed.spareSince = undefined;
    const deaths = ++managed.standbyDeaths;
    if (deaths > maxAttempts) {
      managed.standbyGaveUp = `${deaths} standbys in a row died before one was used (maxAttempts ${maxAttempts}): recovery cold-starts`;
      return;
    }
    managed.standbyRetry?.cancel();
    managed.standbyRetry = this.clock.after(managed.policy.delayFor(deaths), () => {
      managed.standbyRetry = undefined;
      this.prepareStandby(managed);
    });
  }

  /** Spares only for what a device would take: each shared device's next incarnation. */
  #pruneSpares(): void {
    this.#spares.prune([...this.#drivers.values()].filter((m) => m.spec.warmStandby === 'shared' && !m.lifecycle.over)
      .map((m) => this.#spareKind(m)));
  }

  /**
   * The shared spares a device's next incarnation can take (by default its recovery's: the
   * fallback driver). Worked out once per device and driver: a process sandbox's paths take
   * file-system lookups, and every prune asks for the kind of every sharing device.
   */
  #spareKind(managed: ManagedDriver, driver = managed.fallback): SpareKind {
    let kinds = this.#spareKinds.get(managed);
    if (!kinds) this.#spareKinds.set(managed, kinds = new Map());
    let kind = kinds.get(driver.url);
    if (kind) return kind;
    const { spec } = managed;
    kind = {
      domain: spec.domain === 'process' ? 'process' : 'worker',
      memoryLimitMb: memoryLimitOf(spec),
      preload: [...this.#extensions, driver.url],
      ...(spec.domain === 'process' ? { sandbox: sandboxFor(spec.sandbox, driver, spec.config ?? {}) } : {}),
    };
    kinds.set(driver.url, kind);
    return kind;
  }

  publish(event: string, channel: { publish(m: unknown): void; hasSubscribers: boolean }, message: unknown): void {
    if (channel.hasSubscribers) channel.publish(message);
    this.emit(event, message);
  }

  /**
   * A timer (interrupt-like callback) goes into the driver instance that set it: through the
   * kernel->driver tap while that instance serves, straight to it while recovery is bringing
   * it up (its flushes may wait on that very interrupt), nowhere once it has failed.
   */
  #fireTimer(managed: ManagedDriver, incarnation: Incarnation, timerId: number): void {
    if (incarnation !== managed.current || incarnation.channel.failed) return;
    const delivered = managed.state === 'running'
      ? managed.kernelTap.invoke('$timer', { timerId })
      : incarnation.call('$timer', { timerId });
    delivered.catch(() => undefined);
  }

  #failed(managed: ManagedDriver, incarnation: Incarnation, failure: DriverFailure): void {
    if (managed.state === 'closed' || managed.state === 'gave-up') return;
    const isCurrent = incarnation === managed.current;
    if (!isCurrent) {
      // A standby that died idle (or an instance already replaced): it ends, and a dead spare
      // is replaced under backoff (#standbyLost).
      void this.retire(managed, incarnation);
      if (managed.spare === incarnation) this.#standbyLost(managed);
      return;
    }
    const event: FailureEvent = {
      device: managed.device.name, driver: managed.spec.driver, kind: failure.kind, message: failure.message,
      call: failure.call, duringRecovery: managed.state === 'recovering',
    };
    this.publish('failure', channels.failure, event);
    if (managed.state === 'starting') { managed.failedAtStart = true; return; } // attach sees it (and may start the fallback)
    const { issued, completed } = incarnation.channel.progress;
    managed.withoutProgress = issued > 0 && completed === 0 ? (managed.withoutProgress ?? 0) + 1 : 0;
    if (managed.withoutProgress >= managed.policy.options.maxWithoutProgress && managed.spec.recovery !== 'native') {
      this.giveUp(managed, `no progress: ${managed.withoutProgress} drivers in a row failed with requests in hand and completed none`);
      return;
    }
    if (managed.state === 'recovering') return; // the running recovery sees it and starts over
    if (managed.spec.recovery === 'native') {
      this.giveUp(managed, `native configuration: ${failure.kind} is not recovered`);
      return;
    }
    managed.recovering = this.#recovery.run(managed, failure);
  }

  /**
   * A driver's log line, to the operator: the `log` event (and the `shadow-drivers:driver-log`
   * channel) with the device's name, cleaned of control characters and under the rate limit.
   */
  #driverLog(managed: ManagedDriver, level: string, message: string, source: DriverLogSource): void {
    if (managed.state === 'closed') return;
    const dropped = managed.logLimiter.admit();
    if (dropped === undefined) return;
    this.publish('log', channels.log, {
      device: managed.device.name, driver: managed.spec.driver, level: cleanLevel(level), message: cleanLine(message), source, dropped,
    } satisfies DriverLogEvent);
  }

  /**
   * The device fails every call fast from now on. `deviceGone`: not the driver's fault, the
   * device itself went away; the driver (still healthy) and the spare are retired, and calls
   * fail with SD_ERR_DEVICE_GONE instead of being restarted into a loop.
   */
  giveUp(managed: ManagedDriver, reason: string, options: { deviceGone?: boolean } = {}): void {
    if (managed.lifecycle.over) return;
    managed.lifecycle.to('gave-up', reason);
    if (options.deviceGone) managed.goneReason = reason;
    managed.device[kSetStatus]('gave-up');
    managed.kernelTap.attach(managed.routes.gaveUp);
    managed.shadow?.giveUp(options.deviceGone ? `the device is gone: ${reason}` : reason,
      options.deviceGone ? ErrorCodes.DEVICE_GONE : ErrorCodes.GAVE_UP);
    managed.standbyRetry?.cancel();
    if (options.deviceGone) {
      if (managed.current) void this.retire(managed, managed.current);
      const standby = managed.standby;
      managed.standby = undefined;
      void standby?.then((s) => this.retire(managed, s), () => undefined);
    }
    this.publish('gave-up', channels.gaveUp, {
      device: managed.device.name, driver: managed.spec.driver, reason, deviceGone: options.deviceGone === true,
    } satisfies GaveUpEvent);
  }

  /** The kernel's own check of the device's resources: why the device is gone, or undefined. */
  goneReason(managed: ManagedDriver): string | undefined {
    return deviceGone(managed.device);
  }

  recovered(event: RecoveryEvent): void {
    this.publish('recovery', channels.recovery, event);
  }

  #get(name: string): ManagedDriver {
    const managed = this.#drivers.get(name);
    if (!managed) throw new ShadowError(ErrorCodes.NOT_FOUND, `no device ${name}`);
    return managed;
  }
}
