/**
 * A device object as applications hold it. The kernel creates it once; its identity never
 * changes. Behind it sits an endpoint (the kernel->driver tap) that the shadow manager
 * installs and may point elsewhere during recovery; the application never sees that.
 */
import { entryOf, type ClassContract, type DeviceState } from '../classes/contract.js';
import { ErrorCodes, ShadowError } from '../errors.js';
import type { HostResource } from '../isolation/domain.js';

/**
 * What only the kernel and the shadow manager may do to a device object. Symbols, not methods:
 * an application that holds the device cannot reach them by name.
 */
export const kConnect = Symbol('shadow.device.connect');
export const kDeliver = Symbol('shadow.device.deliver');
export const kSetStatus = Symbol('shadow.device.setStatus');
export const kForget = Symbol('shadow.device.forget');
export const kSystemCall = Symbol('shadow.device.systemCall');

export interface Endpoint {
  invoke(entry: string, args: unknown): Promise<unknown>;
}

export type DeviceStatus = 'starting' | 'ready' | 'gave-up' | 'closed';

export class Device {
  readonly name: string;
  readonly contract: ClassContract;
  readonly resources: readonly HostResource[];
  readonly state: DeviceState = { info: undefined, open: new Map(), settings: new Map() };
  #endpoint: Endpoint | undefined;
  #status: DeviceStatus = 'starting';
  readonly #listeners = new Map<string, Set<(args: unknown) => void>>();

  constructor(name: string, contract: ClassContract, resources: HostResource[]) {
    this.name = name;
    this.contract = contract;
    this.resources = resources;
  }

  get status(): DeviceStatus {
    return this.#status;
  }

  /** Calls an entry point for the application; bad input is refused here, typed, unchanged. */
  async call(entry: string, args: unknown = {}): Promise<unknown> {
    return this.#call(entry, args, false);
  }

  /**
   * A call the system itself makes as configuration (the kernel's switch making its ports
   * promiscuous, as a bridge does for the ports the system's scripts give it). Restart-only
   * recovery's agent re-applies such a setting whatever its entry point, as Nooks's agent re-ran
   * those scripts; without the mark a switch port restarted under restart-only came back deaf to
   * every frame not addressed to itself, and switched nothing.
   */
  [kSystemCall](entry: string, args: unknown = {}): Promise<unknown> {
    return this.#call(entry, args, true);
  }

  async #call(entry: string, args: unknown, system: boolean): Promise<unknown> {
    if (this.#status === 'closed') throw new ShadowError(ErrorCodes.CLOSED, `${this.name} is closed`);
    const decl = entryOf(this.contract, entry);
    if (!decl || decl.kind === 'init') {
      throw new ShadowError(ErrorCodes.NOT_FOUND, `class ${this.contract.name} has no entry point ${entry}`);
    }
    if (typeof args !== 'object' || args === null || Array.isArray(args)) {
      throw new ShadowError(ErrorCodes.INVALID_ARGUMENT, `${entry} takes an object of arguments`);
    }
    const endpoint = this.#endpoint;
    if (!endpoint) throw new ShadowError(ErrorCodes.NOT_OPEN, `${this.name} has no driver yet`);
    const invalid = decl.validate?.(args, this.state);
    if (invalid) throw invalid;
    const result = await endpoint.invoke(entry, args);
    this.#remember(entry, args, system);
    return result;
  }

  /** Class upcalls from the driver (received frames, period elapsed) reach listeners here. */
  on(upcall: string, listener: (args: unknown) => void): () => void {
    let set = this.#listeners.get(upcall);
    if (!set) this.#listeners.set(upcall, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  // --- for the kernel and the shadow manager, not for applications ---

  [kConnect](endpoint: Endpoint): void {
    this.#endpoint = endpoint;
    if (this.#status === 'starting') this.#status = 'ready';
  }

  [kDeliver](upcall: string, args: unknown): void {
    for (const listener of this.#listeners.get(upcall) ?? []) listener(args);
  }

  [kSetStatus](status: DeviceStatus): void {
    if (this.#status !== 'closed') this.#status = status;
  }

  /**
   * Restart-only recovery: the driver lost every open object and setting, except the system's
   * own configuration (the class's `agent` entries and what the system set itself), which the
   * recovery agent re-applied.
   */
  [kForget](): void {
    this.state.open.clear();
    for (const [key, setting] of this.state.settings) if (!isSystemConfiguration(this.contract, setting)) this.state.settings.delete(key);
  }

  #remember(entry: string, args: unknown, system = false): void {
    const rule = this.contract.entries[entry]!.log;
    if (rule.kind === 'open') this.state.open.set(rule.object(args), args);
    else if (rule.kind === 'close') this.state.open.delete(rule.object(args));
    else if (rule.kind === 'setting') this.state.settings.set(rule.key(args), { entry, args, ...(system ? { system } : {}) });
    else if (rule.kind === 'reset') this.state.settings.clear();
  }
}

/** A setting Nooks's recovery agent re-applies: one of the class's `agent` entries, or one the system made. */
export function isSystemConfiguration(contract: ClassContract, setting: { entry: string; system?: boolean }): boolean {
  return setting.system === true || (contract.agent ?? []).includes(setting.entry);
}
