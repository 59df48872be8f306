/**
 * The driver catalogue: manifests by class and name. The runtime fills it with the built-in
 * drivers' manifests; users add theirs (`runtime.registerDriver`). A driver named by path
 * instead of by manifest gets no resources unless the device's spec lists them.
 */
import { existsSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { classByName, classNames } from '../classes/registry.js';
import type { Sandbox } from '../isolation/domain.js';
import { ErrorCodes, ShadowError } from '../errors.js';
import type { ResourceSpec } from '../kernel/resources.js';
import { manifestProblem, type DriverManifest } from '../driver/manifest.js';

/** What the manager needs to start one driver. */
export interface ResolvedDriver {
  url: string;
  manifest: DriverManifest | undefined;
}

export class DriverCatalog {
  readonly #manifests = new Map<string, DriverManifest>();

  register(manifest: DriverManifest): void {
    const problem = manifestProblem(manifest);
    if (problem) throw new ShadowError(ErrorCodes.INVALID_ARGUMENT, problem);
    if (!classByName(manifest.class)) {
      throw new ShadowError(ErrorCodes.INVALID_ARGUMENT,
        `no driver class ${manifest.class} (known: ${classNames().join(', ')}; add one with registerClass first)`);
    }
    const key = `${manifest.class}/${manifest.name}`;
    if (this.#manifests.has(key)) throw new ShadowError(ErrorCodes.INVALID_ARGUMENT, `a ${manifest.class} driver named ${manifest.name} is already registered`);
    this.#manifests.set(key, { ...manifest, module: toUrl(manifest.module) });
  }

  manifest(className: string, name: string): DriverManifest | undefined {
    return this.#manifests.get(`${className}/${name}`);
  }

  names(className: string): string[] {
    return [...this.#manifests.values()].filter((m) => m.class === className).map((m) => m.name);
  }

  /** A driver by manifest name, or a module by path or URL. */
  resolve(className: string, driver: string): ResolvedDriver {
    const manifest = this.manifest(className, driver);
    if (manifest) return { url: manifest.module, manifest };
    if (/^(file|data):/.test(driver)) return { url: driver, manifest: undefined };
    if (driver.includes('/') || driver.endsWith('.js')) return { url: toUrl(driver), manifest: undefined };
    const known = this.names(className);
    throw new ShadowError(ErrorCodes.NOT_FOUND, `no ${className} driver named ${driver}${known.length ? ` (known: ${known.join(', ')})` : ''}`);
  }

  /** The host resources a device needs: those its spec lists, else those its manifest declares. */
  resources(resolved: ResolvedDriver, config: Record<string, unknown>, explicit: ResourceSpec[] | undefined): ResourceSpec[] {
    if (explicit) return explicit;
    if (!resolved.manifest?.resources) return [];
    try {
      return resolved.manifest.resources(config);
    } catch (err) {
      throw new ShadowError(ErrorCodes.INVALID_ARGUMENT, (err as Error).message);
    }
  }
}

function toUrl(module: string): string {
  if (/^(file|data):/.test(module)) return module;
  return pathToFileURL(isAbsolute(module) ? module : resolve(module)).href;
}

/** The runtime's compiled code: what every driver may read. */
const runtimeRoot = fileURLToPath(new URL('../../', import.meta.url));

/** Where a package the drivers use is installed (hoisted or not), to let drivers read it. */
function packageDir(name: string): string[] {
  try {
    // From the package's entry up to its own folder (its package.json may not be exported).
    let dir = dirname(createRequire(import.meta.url).resolve(name));
    while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
    return [dir];
  } catch {
    return [];
  }
}

/** A path and, when it is a symlink (a linked node_modules), its target: Node checks both. */
function withReal(path: string): string[] {
  try {
    const target = realpathSync(path);
    return target === path ? [path] : [path, target];
  } catch {
    return [path];
  }
}

/**
 * koffi and its native binary, which koffi 3 ships in a companion package
 * (`@koromix/koffi-<platform>`) installed beside it: without it a native driver cannot load.
 */
function koffiDirs(): string[] {
  return packageDir('koffi').flatMap((dir) => {
    const companions = join(dirname(dir), '@koromix');
    return existsSync(companions) ? [dir, companions] : [dir];
  });
}

export type SandboxOption = boolean | {
  allowFsRead?: string[];
  allowFsWrite?: string[];
  allowAddons?: boolean;
  /** false: Node's permission model alone, even where bubblewrap is usable (to compare them). */
  bubblewrap?: boolean;
};

/** A manifest's function of the config, whose throw is the operator's bad input. */
function fromConfig<T>(compute: ((config: Record<string, unknown>) => T) | undefined, config: Record<string, unknown>, fallback: T): T {
  if (!compute) return fallback;
  try {
    return compute(config);
  } catch (err) {
    throw new ShadowError(ErrorCodes.INVALID_ARGUMENT, (err as Error).message);
  }
}

/**
 * Least privilege for a process-domain driver: read its code, write nothing, no network and no
 * sockets but those its manifest asks for with this config.
 */
export function sandboxFor(option: SandboxOption | undefined, resolved: ResolvedDriver, config: Record<string, unknown> = {}): Sandbox | undefined {
  if (option === false) return undefined;
  const extra = typeof option === 'object' ? option : {};
  const driverDir = resolved.url.startsWith('file:') ? dirname(fileURLToPath(resolved.url)) : undefined;
  // Each path once, without a trailing slash: Node 20 aborts at start on a path given twice.
  const read = [runtimeRoot, ...koffiDirs(), ...(driverDir ? [driverDir] : []), ...(resolved.manifest?.reads?.() ?? []), ...(extra.allowFsRead ?? [])].map((p) => resolve(p)).flatMap(withReal);
  return {
    allowFsRead: [...new Set(read)],
    allowFsWrite: extra.allowFsWrite ?? [],
    allowAddons: extra.allowAddons ?? resolved.manifest?.nativeCode === true,
    network: resolved.manifest?.network === true,
    sockets: fromConfig(resolved.manifest?.sockets, config, []),
    bubblewrap: extra.bubblewrap ?? true,
  };
}
