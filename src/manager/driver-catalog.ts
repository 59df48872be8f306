/** Built-in drivers by class and name; anything else is a path or URL to a driver module. */
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ErrorCodes, ShadowError } from '../errors.js';
import type { ResourceSpec } from '../kernel/resources.js';

const builtIn: Record<string, Record<string, string>> = {
  block: {
    ram: new URL('../drivers/block/ram.js', import.meta.url).href,
    file: new URL('../drivers/block/file.js', import.meta.url).href,
  },
};

export function resolveDriver(className: string, driver: string): string {
  const known = builtIn[className]?.[driver];
  if (known) return known;
  if (/^(file|data):/.test(driver)) return driver;
  if (driver.includes('/') || driver.endsWith('.js')) {
    return pathToFileURL(isAbsolute(driver) ? driver : resolve(driver)).href;
  }
  throw new ShadowError(ErrorCodes.NOT_FOUND, `no built-in ${className} driver named ${driver}`);
}

/** The host resources a built-in driver needs, from its config. */
export function defaultResources(className: string, driver: string, config: Record<string, unknown>): ResourceSpec[] {
  if (className !== 'block') return [];
  if (driver === 'ram') return [{ name: 'medium', memoryBytes: Number(config.sizeBytes ?? 64 * 1024 * 1024) }];
  if (driver === 'file') {
    if (typeof config.path !== 'string') throw new ShadowError(ErrorCodes.INVALID_ARGUMENT, 'the file driver needs config.path');
    return [{ name: 'disk', path: config.path, readOnly: config.readOnly === true }];
  }
  return [];
}

export function builtInDrivers(className: string): string[] {
  return Object.keys(builtIn[className] ?? {});
}
