/**
 * The service's config file, as one schema (YAML and JSON files are parsed to the same value
 * and checked here). Strict objects everywhere: an unknown field is an error, so a misspelt
 * option is never silently ignored. Checks that span fields (two frontends on one socket, a
 * port naming a switch nobody declared) are in config-load.ts.
 */
import { z } from 'zod';
import { GROUP_NAME, MAX_BUSY_POLL_US } from '../runtime.js';

const name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'a name of letters, digits, ".", "_" or "-" (at most 64)');
const positiveInt = z.number().int().positive();
/** `host:port` (IPv6 in brackets); port 0 asks the system for a free one. */
export const addressPattern = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;
const address = z.string().refine((a) => addressPattern.test(a) && Number(addressPattern.exec(a)![2]) <= 65535, 'host:port with a port from 0 to 65535');

const restart = z.strictObject({
  intensity: positiveInt.optional(),
  periodMs: positiveInt.optional(),
  baseDelayMs: z.number().int().nonnegative().optional(),
  maxDelayMs: z.number().int().nonnegative().optional(),
  jitter: z.number().min(0).max(1).optional(),
  stableAfterMs: z.number().int().nonnegative().optional(),
  maxAttempts: positiveInt.optional(),
});

const deadlines = z.strictObject({
  heartbeatMs: positiveInt.optional(),
  heartbeatTimeoutMs: positiveInt.optional(),
  /** Scales every entry point's deadline (a slow machine, a slow medium). */
  deadlineScale: z.number().positive().optional(),
});

const sandbox = z.union([z.boolean(), z.strictObject({
  allowFsRead: z.array(z.string()).optional(),
  allowFsWrite: z.array(z.string()).optional(),
  allowAddons: z.boolean().optional(),
})]);

const resource = z.strictObject({
  name,
  path: z.string().optional(),
  readOnly: z.boolean().optional(),
  create: z.boolean().optional(),
  memoryBytes: positiveInt.optional(),
  tap: z.string().optional(),
  tapOffloads: z.boolean().optional(),
  packet: z.string().optional(),
});

/** What every class's device has in common. */
const common = {
  driver: z.string().min(1),
  fallbackDriver: z.string().min(1).optional(),
  domain: z.enum(['worker', 'process', 'none']).optional(),
  recovery: z.enum(['shadow', 'restart', 'native']).optional(),
  warmStandby: z.union([z.boolean(), z.literal('shared')]).optional(),
  /** Devices naming the same group share one worker thread and its fate (isolation/domain-group.ts). */
  domainGroup: z.string().regex(GROUP_NAME, 'a name of 1 to 64 letters, digits, dots, dashes or underscores').optional(),
  restart: restart.optional(),
  deadlines: deadlines.optional(),
  memoryLimitMb: positiveInt.optional(),
  sandbox: sandbox.optional(),
  poisonThreshold: positiveInt.optional(),
  brokenAfter: positiveInt.optional(),
  config: z.record(z.string(), z.unknown()).optional(),
  resources: z.array(resource).optional(),
};

/** Block: an NBD export (export name = the device's name) on a unix socket and/or a TCP address. */
const nbdFrontend = z.strictObject({
  type: z.literal('nbd'),
  socket: z.string().min(1).optional(),
  address: address.optional(),
  readOnly: z.boolean().optional(),
  /** Also a kernel block device: nbdfuse + losetup give a /dev/loopN (needs root, FUSE, loop). */
  kernelDevice: z.boolean().optional(),
}).refine((f) => f.socket !== undefined || f.address !== undefined, { message: 'a socket or an address', path: ['socket'] });

/** Net: the device is a port of a learning switch the service runs (declared under `switches`). */
const switchFrontend = z.strictObject({ type: z.literal('switch'), switch: name });

/** Sound: clients write raw PCM to a unix socket; it plays through the device (pulse sink, wav file). */
const pcmFrontend = z.strictObject({
  type: z.literal('pcm-socket'),
  socket: z.string().min(1),
  format: z.literal('s16le').optional(),
  rate: z.number().int().min(8000).max(192000).optional(),
  channels: z.number().int().min(1).max(8).optional(),
});

export const deviceSchema = z.discriminatedUnion('class', [
  z.strictObject({ class: z.literal('block'), ...common, frontend: nbdFrontend }),
  z.strictObject({ class: z.literal('net'), ...common, frontend: switchFrontend }),
  z.strictObject({ class: z.literal('sound'), ...common, frontend: pcmFrontend }),
]);

export const switchSchema = z.strictObject({
  /** Learned addresses are forgotten after this long without a frame from them. */
  agingMs: positiveInt.optional(),
});

export const serviceSchema = z.strictObject({
  /** The control socket (`shadowd status` and the other verbs); default ./shadowd.sock. */
  control: z.string().min(1).optional(),
  /** Where Prometheus scrapes: host:port (port 0 = any free one), or false for none. */
  metrics: z.union([address, z.literal(false)]).optional(),
  /** Load the fault injector so that `shadowd inject` works (default false). */
  faultDrills: z.boolean().optional(),
  logLevel: z.enum(['debug', 'info', 'warn', 'error']).optional(),
  /** Longest SIGTERM waits for in-flight requests and flushes before it stops the drivers. */
  drainTimeoutMs: positiveInt.optional(),
  /** Started worker domains kept for devices with `warmStandby: shared` (default 2). */
  spareDomains: z.number().int().min(0).max(64).optional(),
  /** µs the kernel polls for a driver's reply instead of sleeping (isolation/busy-poll.ts); 0 = off. */
  busyPollUs: z.number().int().min(0).max(MAX_BUSY_POLL_US).optional(),
  switches: z.record(name, switchSchema).optional(),
  devices: z.record(name, deviceSchema),
});

export type ServiceConfig = z.infer<typeof serviceSchema>;
export type DeviceConfig = z.infer<typeof deviceSchema>;
export type BlockDeviceConfig = Extract<DeviceConfig, { class: 'block' }>;
export type NetDeviceConfig = Extract<DeviceConfig, { class: 'net' }>;
export type SoundDeviceConfig = Extract<DeviceConfig, { class: 'sound' }>;
