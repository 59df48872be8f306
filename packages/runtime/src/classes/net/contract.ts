/**
 * The network class: what a NIC driver implements, what it may call, and what the shadow does
 * with each call while the driver recovers (the paper's e1000/pcnet32 rows). Configuration is
 * replayed in order with compaction (last MAC, last MTU, current multicast set, promiscuous
 * flag, administrative state); transmit reports busy so the kernel's queue applies
 * back-pressure; received frames and link changes are upcalls; statistics never go backwards.
 */
import { ErrorCodes, ShadowError } from '../../errors.js';
import type { ClassContract, DeviceState, EntryPoint } from '../contract.js';
import type { LiveStateHooks } from '../driver-api.js';
import { checkFrames, describe, isMac, isMulticastMac, MAX_BATCH, MAX_MTU, MIN_MTU } from './frames.js';
import type { Offload } from './offload.js';
import { netStatsHooks, netStatsProblem } from './stats.js';

export { NetCounters, zeroNetStats, type NetStats } from './stats.js';
export type { Offload } from './offload.js';

/** What the driver registers: the hardware's permanent address and limits. */
export interface NetInfo {
  /** The permanent (burned-in) MAC address, `aa:bb:cc:dd:ee:ff`. */
  permanentMac: string;
  maxMtu: number;
  /**
   * The NIC takes and gives frames with their virtio-net header (checksum to complete, TCP
   * GSO up to 64 KiB): the kernel then hands it such frames as they are. Without it, the
   * kernel completes checksums and cuts GSO frames before they reach the driver.
   */
  offloads?: boolean;
}

export interface LinkState {
  /** Carrier: the cable (or the host behind the TAP) is there. */
  carrier: boolean;
  /** Administratively up (`up` called, `down` not since). */
  up: boolean;
  mac: string;
  mtu: number;
  promiscuous: boolean;
  multicast: string[];
}

/** Arguments of each entry point, as they cross the boundary. */
export interface NetCalls {
  init: { config: Record<string, unknown> };
  up: Record<string, never>;
  down: Record<string, never>;
  setMac: { mac: string };
  setMtu: { mtu: number };
  setMulticast: { groups: string[] };
  setPromiscuous: { on: boolean };
  /**
   * Whole Ethernet frames (destination MAC first, no FCS); `offloads`, only towards a driver
   * that registered offloads, one virtio-net header (or null) per frame.
   */
  transmit: { frames: Uint8Array[]; offloads?: (Offload | null)[] };
  stats: Record<string, never>;
  linkState: Record<string, never>;
}

/** Upcalls a NIC driver makes into the kernel. */
export interface NetUpcalls {
  /** Frames the NIC received and its filter accepted, in arrival order, batched. */
  receive: { frames: Uint8Array[]; offloads?: (Offload | null)[] };
  link: { carrier: boolean };
}

/** What a NIC driver implements. It never sees the shadow. */
export interface NetDriver extends LiveStateHooks {
  init(args: NetCalls['init']): Promise<void> | void;
  up(args: NetCalls['up']): Promise<void> | void;
  down(args: NetCalls['down']): Promise<void> | void;
  setMac(args: NetCalls['setMac']): Promise<void> | void;
  setMtu(args: NetCalls['setMtu']): Promise<void> | void;
  setMulticast(args: NetCalls['setMulticast']): Promise<void> | void;
  setPromiscuous(args: NetCalls['setPromiscuous']): Promise<void> | void;
  /** Puts frames on the wire; returns how many the hardware took (the rest it dropped). */
  transmit(args: NetCalls['transmit']): Promise<{ accepted: number }> | { accepted: number };
  stats(args: NetCalls['stats']): Promise<import('./stats.js').NetStats> | import('./stats.js').NetStats;
  linkState(args: NetCalls['linkState']): Promise<LinkState> | LinkState;
}

const bad = (message: string) => new ShadowError(ErrorCodes.INVALID_ARGUMENT, message);
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);
/** Multicast groups a NIC is asked to join at once. */
const MAX_GROUPS = 64;

/** The MTU in force: the last setMtu, else the class default. */
export function mtuOf(state: DeviceState): number {
  return (state.settings.get('mtu')?.args as NetCalls['setMtu'] | undefined)?.mtu ?? 1500;
}

/** Offloads go only to a driver that registered them; anything else is the caller's error. */
function offloadsRefused(offloads: unknown, state: DeviceState): ShadowError | undefined {
  return offloads === undefined || (state.info as NetInfo | undefined)?.offloads ? undefined
    : bad('transmit carries offloads, but the driver did not register offloads');
}

function mustBeUp(state: DeviceState): ShadowError | undefined {
  return state.settings.get('admin')?.entry === 'up' ? undefined : new ShadowError(ErrorCodes.NOT_OPEN, 'the interface is down');
}

/** Configuration: kept in the log as the last call per key, replayed after a restart. */
/** What is wrong with a driver's `linkState` answer, or undefined. */
function linkStateProblem(r: LinkState): string | undefined {
  if (typeof r !== 'object' || r === null) return `linkState returned ${describe(r)}`;
  for (const flag of ['carrier', 'up', 'promiscuous'] as const) {
    if (typeof r[flag] !== 'boolean') return `linkState returned ${flag} ${describe(r[flag])}, not a boolean`;
  }
  if (!isMac(r.mac)) return 'linkState returned no MAC address';
  if (!isInt(r.mtu) || r.mtu < MIN_MTU || r.mtu > MAX_MTU) return `linkState returned MTU ${String(r.mtu).slice(0, 40)}, out of range`;
  if (!Array.isArray(r.multicast) || r.multicast.length > MAX_GROUPS || !r.multicast.every((g) => isMac(g) && isMulticastMac(g))) {
    return `linkState returned multicast groups that are not a list of at most ${MAX_GROUPS} multicast MAC addresses`;
  }
  return undefined;
}

const setting = (key: string, validate?: EntryPoint['validate'], check?: EntryPoint['check']): EntryPoint => ({
  kind: 'configure', idempotent: true, sideEffects: true, log: { kind: 'setting', key: () => key },
  recovery: 'suspend', deadlineMs: 2000, validate,
  check: check ?? ((_a, r) => (r === undefined ? undefined : `configuration call returned ${describe(r)}`)),
});

const query = (check: EntryPoint['check']): EntryPoint => ({
  kind: 'query', idempotent: true, sideEffects: false, log: { kind: 'answer' }, recovery: 'log', deadlineMs: 1000, check,
});

export const netClass: ClassContract = {
  name: 'net',
  entries: {
    init: { kind: 'init', idempotent: true, sideEffects: false, log: { kind: 'none' }, recovery: 'suspend', deadlineMs: 5000 },
    // up and down share one key: only the administrative state last asked for is replayed.
    up: setting('admin'),
    down: setting('admin'),
    setMac: setting('mac', (a: NetCalls['setMac']) =>
      isMac(a?.mac) && !isMulticastMac(a.mac) ? undefined : bad('setMac takes { mac: "aa:bb:cc:dd:ee:ff" }, a unicast address')),
    setMtu: setting('mtu', (a: NetCalls['setMtu'], s) => {
      const max = Math.min(MAX_MTU, Number((s.info as NetInfo | undefined)?.maxMtu ?? MAX_MTU));
      return isInt(a?.mtu) && a.mtu >= MIN_MTU && a.mtu <= max ? undefined
        : new ShadowError(ErrorCodes.OUT_OF_RANGE, `setMtu takes { mtu } from ${MIN_MTU} to ${max}`);
    }),
    setMulticast: setting('multicast', (a: NetCalls['setMulticast']) =>
      Array.isArray(a?.groups) && a.groups.length <= MAX_GROUPS && a.groups.every((g) => isMac(g) && isMulticastMac(g))
        ? undefined : bad(`setMulticast takes { groups: [...] } of at most ${MAX_GROUPS} multicast MAC addresses`)),
    setPromiscuous: setting('promiscuous', (a: NetCalls['setPromiscuous']) =>
      typeof a?.on === 'boolean' ? undefined : bad('setPromiscuous takes { on: boolean }')),
    transmit: {
      kind: 'request', idempotent: false, sideEffects: true, log: { kind: 'request' }, recovery: 'busy', deadlineMs: 2000,
      validate: (a: NetCalls['transmit'], s) => mustBeUp(s) ?? (Array.isArray(a?.frames)
        ? offloadsRefused(a.offloads, s) ?? checkFrames(a.frames, mtuOf(s), (m) => bad(m), a.offloads)
        : bad('transmit takes { frames: Uint8Array[] }')),
      check: (a: NetCalls['transmit'], r) => {
        const accepted = (r as { accepted?: unknown } | undefined)?.accepted;
        return isInt(accepted) && accepted >= 0 && accepted <= a.frames.length
          ? undefined : `transmit of ${a.frames.length} frames returned ${describe(r)}`;
      },
    },
    stats: query((_a, r) => netStatsProblem(r)),
    linkState: query((_a, r) => linkStateProblem(r as LinkState)),
  },
  // The system's own configuration: the interface brought up with its address and MTU (ifup).
  agent: ['up', 'down', 'setMac', 'setMtu'],
  upcalls: {
    // Frames that arrive while the driver is down are lost, as on a NIC with no receive ring.
    receive: { recovery: 'drop', validate: (a: NetUpcalls['receive']) =>
      Array.isArray(a?.frames) && a.frames.length <= MAX_BATCH
        ? checkFrames(a.frames, MAX_MTU, (m) => m, a.offloads) : `receive takes { frames } of at most ${MAX_BATCH} frames` },
    link: { recovery: 'queue', validate: (a: NetUpcalls['link']) =>
      typeof a?.carrier === 'boolean' ? undefined : 'link takes { carrier: boolean }' },
  },
  registration: {
    validate(i: NetInfo) {
      if (typeof i !== 'object' || i === null) return 'registration must be an object';
      if (!isMac(i.permanentMac) || isMulticastMac(i.permanentMac)) return `permanent MAC ${String(i.permanentMac)} is not a unicast address`;
      if (!isInt(i.maxMtu) || i.maxMtu < MIN_MTU || i.maxMtu > MAX_MTU) return `maxMtu ${String(i.maxMtu)} is out of range`;
      if (i.offloads !== undefined && typeof i.offloads !== 'boolean') return 'offloads, when given, is a boolean';
      return undefined;
    },
    compatible(previous: NetInfo, next: NetInfo) {
      // The kernel's queue already holds frames shaped for the first driver's offloads.
      const same = previous.permanentMac === next.permanentMac && previous.maxMtu === next.maxMtu && !previous.offloads === !next.offloads;
      return same ? undefined : `restarted driver registered ${next.permanentMac}/${next.maxMtu}/offloads ${!!next.offloads}, ` +
        `expected ${previous.permanentMac}/${previous.maxMtu}/offloads ${!!previous.offloads}`;
    },
  },
  hooks: netStatsHooks,
};

export { DeviceError } from '../driver-api.js';
export type { KernelServices, ResourceGrant } from '../driver-api.js';
import type { DriverFactory } from '../driver-api.js';

/** Declares a NIC driver; the identity function, there for the types. */
export function defineNetDriver(factory: DriverFactory<NetDriver>): DriverFactory<NetDriver> {
  return factory;
}
