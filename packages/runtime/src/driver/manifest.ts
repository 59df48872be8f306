/**
 * A driver's manifest: what the kernel must know of a driver before it loads it, as data the
 * operator trusts (the driver's code is loaded only inside its domain, never in the kernel).
 * A driver declares its class, where its code is, the host resources it needs (the kernel opens
 * and holds them for the device, and lends them to every incarnation), and whether it loads
 * native code. Adding a driver is adding a manifest: no file of the runtime's core changes.
 */
import type { ResourceSpec } from '../kernel/resources.js';

export interface DriverManifest {
  /** The driver class: `block`, `net`, `sound`, or one registered with `registerClass`. */
  class: string;
  /** The name devices use in `driver:` (unique within the class). */
  name: string;
  /** The driver module's URL (`new URL('./my-driver.js', import.meta.url).href`) or absolute path. */
  module: string;
  /**
   * The host resources the kernel opens for a device of this driver, from the device's config.
   * Throw an Error whose message names the missing or bad field: the attach fails with
   * SD_ERR_INVALID_ARGUMENT and that message.
   */
  resources?: (config: Record<string, unknown>) => ResourceSpec[];
  /**
   * The driver loads native code (an addon such as koffi): allowed in its sandbox, and its
   * devices run in a process domain unless their spec names another.
   */
  nativeCode?: boolean;
  /**
   * The driver opens network connections of its own (an NBD client reaching a TCP server): in a
   * process domain it keeps the host's network. Without it, its sandbox has loopback only.
   */
  network?: boolean;
  /**
   * The unix sockets the driver connects to, from the device's config: in a process domain their
   * folders are made visible (read-only) in its sandbox. Throw as for `resources`.
   */
  sockets?: (config: Record<string, unknown>) => string[];
  /**
   * The driver's init takes the device over (a serial driver's probe resets the line's
   * settings): no second instance of it may initialize while one serves the device. The reason,
   * in one line. A warm standby stays safe (a spare is loaded, and initialized only once the
   * failed driver's domain is gone); a live update, whose new version initializes beside the
   * serving one, is refused with SD_ERR_NOT_SUPPORTED and this reason.
   */
  exclusiveInit?: string;
  /**
   * Folders the driver must read besides its own code and the runtime's (the packages of an
   * addon it loads): its process-domain sandbox lets it read them. A copy of the manifest with
   * another `module` (a mutant, a new version) keeps them.
   */
  reads?: () => string[];
  /** One line for `shadowd` listings. */
  description?: string;
}

/** Checks a manifest's shape; the message names the field that is wrong. */
export function manifestProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return 'a driver manifest must be an object';
  const m = value as Record<string, unknown>;
  if (typeof m.class !== 'string' || m.class === '') return 'manifest.class must be a class name';
  if (typeof m.name !== 'string' || !/^[A-Za-z0-9._-]+$/.test(m.name)) return 'manifest.name must be a name of letters, digits, ".", "_" or "-"';
  if (typeof m.module !== 'string' || m.module === '') return 'manifest.module must be the URL or absolute path of the driver module';
  if (m.resources !== undefined && typeof m.resources !== 'function') return 'manifest.resources must be a function of the config';
  if (m.nativeCode !== undefined && typeof m.nativeCode !== 'boolean') return 'manifest.nativeCode must be true or false';
  if (m.network !== undefined && typeof m.network !== 'boolean') return 'manifest.network must be true or false';
  if (m.sockets !== undefined && typeof m.sockets !== 'function') return 'manifest.sockets must be a function of the config';
  if (m.reads !== undefined && typeof m.reads !== 'function') return 'manifest.reads must be a function returning folders';
  if (m.exclusiveInit !== undefined && (typeof m.exclusiveInit !== 'string' || m.exclusiveInit === '')) return 'manifest.exclusiveInit must be the reason, as a string';
  return undefined;
}

/** Reads a string field of a config, or throws the message a user needs. */
export function requireString(config: Record<string, unknown>, field: string, driver: string, what: string): string {
  const value = config[field];
  if (typeof value !== 'string' || value === '') throw new Error(`the ${driver} driver needs config.${field} (${what})`);
  return value;
}
