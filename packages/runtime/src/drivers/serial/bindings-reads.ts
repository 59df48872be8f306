/**
 * What the `serialport` driver's sandbox must let it read: the binding's packages
 * (bindings-cpp, its prebuilt addon, and what it requires). Its manifest's `reads`.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { existsSync } from 'node:fs';

/** The folder of an installed package, resolved from `from` (undefined when it is not installed). */
function packageDir(name: string, from: string): string | undefined {
  try {
    let dir = dirname(createRequire(from).resolve(name));
    while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
    return dir;
  } catch {
    return undefined;
  }
}

/** The packages @serialport/bindings-cpp loads, as folders its driver may read. */
export function serialportReads(): string[] {
  const root = packageDir('@serialport/bindings-cpp', import.meta.url);
  if (!root) return [];
  const from = join(root, 'package.json');
  const deps = ['node-gyp-build', 'debug', '@serialport/bindings-interface', '@serialport/parser-readline', '@serialport/parser-delimiter'];
  const ms = packageDir('debug', from);
  // node-gyp-build asks whether the host is Alpine (existsSync throws under the permission model).
  return [root, ...deps.map((d) => packageDir(d, from)), ms && packageDir('ms', join(ms, 'package.json')), '/etc/alpine-release']
    .filter((d): d is string => d !== undefined);
}
