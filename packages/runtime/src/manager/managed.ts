/**
 * The manager's record of one shadowed driver, and the spec it is made from. Its own file so
 * that recovery and routes, which work on the record, depend on it and not on the manager.
 */
import type { DomainKind } from '../isolation/domain.js';
import type { SharedPool } from '../isolation/shared-pool.js';
import type { Device } from '../kernel/device.js';
import type { ResourceSpec } from '../kernel/resources.js';
import type { InputHold } from '../kernel/input-hold.js';
import type { LogLimiter } from '../observe/driver-log.js';
import type { Shadow } from '../shadows/shadow.js';
import type { Tap, TapRoute } from '../taps/tap.js';
import type { ResolvedDriver, SandboxOption } from './driver-catalog.js';
import type { Incarnation } from './incarnation.js';
import type { UpdateFailedIn, UpdatePhase } from '../observe/channels.js';
import type { RestartPolicy, RestartPolicyOptions } from './restart-policy.js';

export type RecoveryMode = 'native' | 'restart' | 'shadow';

export interface DriverSpec {
  /** The device's name in the kernel's registry. */
  name: string;
  className: string;
  /** A built-in driver name (`ram`, `file`) or the path or URL of a driver module. */
  driver: string;
  /**
   * The driver every later incarnation (standby, recovery) loads instead of `driver`: a
   * known-good version to fall back to when an updated driver fails. Same class and resources.
   * The campaign uses it for a fault in the loaded image only (the paper's injector changed the
   * driver in memory; the driver reloaded by recovery came from its file, without the fault).
   */
  fallbackDriver?: string;
  /**
   * Default `worker`, or `process` for a driver whose manifest says `nativeCode: true`;
   * `native` recovery always runs in domain `none`.
   */
  domain?: DomainKind;
  /** Default `shadow`. */
  recovery?: RecoveryMode;
  /** Passed to the driver's init entry point. */
  config?: Record<string, unknown>;
  /** Host resources the kernel opens and holds for the device. */
  resources?: ResourceSpec[];
  restart?: Partial<RestartPolicyOptions>;
  /**
   * `true`: keep a spare domain of the device's own, its driver loaded, so recovery does not
   * pay a cold start. `'shared'`: recovery, and attach, take a started domain from the
   * runtime's shared spares (`spareDomains`) and load the driver into it: a few milliseconds
   * more than `true`, for a fraction of the memory on a host with many devices. In a process
   * domain only for a device without host resources (a started process cannot be handed a
   * descriptor): the `nbd` driver's, not a `ram` or `file` disk's.
   */
  warmStandby?: boolean | 'shared';
  /**
   * Worker domains: the devices naming the same group share one worker thread, one driver
   * instance each (isolation/domain-group.ts), and their fate: a failure of any driver in it
   * recovers every device of the group, into the group's spare thread. For hosts with many
   * devices: a few MiB and milliseconds per device instead of a thread each. Not with
   * `warmStandby` (the group's spare thread is the standby); one heap limit per group.
   */
  domainGroup?: string;
  /**
   * The domain's JavaScript heap limit (MiB, default 64). The driver's Buffers and ArrayBuffers
   * outside the heap may take 192 MiB more; a driver that keeps more fails with `memory`
   * (isolation/off-heap.ts).
   */
  memoryLimitMb?: number;
  /**
   * Process domains only: run the driver in a sandbox (default true): bubblewrap where it is
   * usable, and Node's permission model inside. It may read its own code and nothing else,
   * write nothing; extra paths can be allowed here. `false`: no sandbox at all.
   */
  sandbox?: SandboxOption;
  heartbeatMs?: number;
  heartbeatTimeoutMs?: number;
  deadlineScale?: number;
  poisonThreshold?: number;
  /** Requests quarantined in a row (none completing between) after which the driver is given up. */
  brokenAfter?: number;
  bufferLimitBytes?: number;
}

/** A driver domain's heap limit when its spec names none (MiB). */
export const DEFAULT_MEMORY_LIMIT_MB = 64;

export const memoryLimitOf = (spec: { memoryLimitMb?: number }): number => spec.memoryLimitMb ?? DEFAULT_MEMORY_LIMIT_MB;

/** A domain group's name (`domainGroup`): letters, digits, dots, dashes, underscores; the service's config checks the same. */
export const GROUP_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

export type { DriverState } from './lifecycle.js';
import type { DriverState } from './lifecycle.js';
import type { Lifecycle } from './lifecycle.js';

/** Where the kernel->driver tap points, per state (routes.ts computes them per recovery mode). */
export interface Routes {
  /** The driver is serving. */
  passive: TapRoute;
  /** The driver is being recovered. */
  active: TapRoute;
  /** The restart budget is spent. */
  gaveUp: TapRoute;
}

/** Everything the manager keeps for one shadowed driver. */
export interface ManagedDriver {
  spec: Required<Pick<DriverSpec, 'name' | 'driver' | 'domain' | 'recovery'>> & DriverSpec;
  driver: ResolvedDriver;
  /** What standby and recovery incarnations load: `fallbackDriver` resolved, or `driver`. */
  fallback: ResolvedDriver;
  device: Device;
  /** Kernel -> driver: the one tap the device calls through, for the device's whole life. */
  kernelTap: Tap;
  shadow: Shadow | undefined;
  routes: Routes;
  policy: RestartPolicy;
  current: Incarnation;
  standby: Promise<Incarnation> | undefined;
  /** The standby promise once it has resolved (the spare is loaded and waiting). */
  standbyReady: Promise<Incarnation> | undefined;
  /** The loaded spare itself (its pid, for operators), while it waits. */
  spare: Incarnation | undefined;
  /** When the spare finished loading (a spare that lived `stableAfterMs` is forgiven its predecessors' deaths). */
  spareSince: number | undefined;
  /** Spares that died in a row before one was put to use; past `maxAttempts` none is started again. */
  standbyDeaths: number;
  /** The backoff timer before a dead spare's replacement starts. */
  standbyRetry: { cancel(): void } | undefined;
  /** Why no spare is kept any more (spares kept dying), for status(). */
  standbyGaveUp: string | undefined;
  /** The kernel's hold on the device's input while the driver recovers (class `heldInput`; shadow recovery only). */
  inputHold?: InputHold;
  /** The device's state, owned by `lifecycle` (read here, changed only through `lifecycle.to`). */
  readonly state: DriverState;
  lifecycle: Lifecycle;
  /** Why the device was given up as gone (the kernel's check of its resources), when it was. */
  goneReason?: string;
  /** A failure was published while the device was starting (attach handles it, not recovery). */
  failedAtStart?: boolean;
  recoveries: number;
  /** Driver incarnations in a row that failed with requests in hand and completed none. */
  withoutProgress?: number;
  initArgs: unknown;
  /** The recovery running since the last failure (a live update waits for its rollback's). */
  recovering?: Promise<void>;
  /** A live update is under way (one at a time). */
  updating?: boolean;
  /** What the device's last live update did (status()). */
  lastUpdate?: UpdateReport;
  /** Versions (module URLs) that rolled back, and why: not tried again unless forced. */
  refusedVersions?: Map<string, string>;
  /** Domains being taken down; awaited on close so nothing leaks. */
  dying: Set<Promise<void>>;
  /** Shared memory for bulk data, reused across the device's incarnations. */
  pool: SharedPool;
  /** The device's log lines per second, across its incarnations. */
  logLimiter: LogLimiter;
}

/** What a live update did (manager/update.ts): returned by update() and kept for status(). */
export interface UpdateReport {
  device: string;
  from: string;
  to: string;
  outcome: 'switched' | 'rolled-back';
  phases: Partial<Record<UpdatePhase, number>>;
  /** Application-visible pause (the tap's hold), when the switch happened. */
  pauseMs: number | undefined;
  failedIn?: UpdateFailedIn;
  cause?: string;
  /** When it ended (the clock's milliseconds). */
  at: number;
}
