/**
 * A mutated copy of a driver, ready to load into a domain: the driver's module and the
 * modules it imports from its own tree (src/drivers for built-in drivers, its own directory
 * otherwise) are copied into a fresh directory under the package, one of them mutated once;
 * imports that leave the tree point back at the originals. The original files are never
 * touched. Which file and which site are chosen from the seed, in proportion to the sites
 * each file offers, so a campaign of seeds spreads over the whole driver.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { builtInDrivers, type DriverManifest } from 'shadow-drivers';
import { mulberry32 } from '../faults/schedule.js';
import { importsOf, mutateSource, relink, sitesOf, type Mutation } from './mutate.js';
import { operatorNames, type OperatorName } from './operators.js';

const packageRoot = fileURLToPath(new URL('../../../../', import.meta.url));

export interface MutantDriver {
  /** URL of the mutated driver's entry module. */
  url: string;
  /** Where the copy lives (for a sandbox's read list). */
  dir: string;
  mutation: Mutation & { file: string };
  remove(): void;
}

/** The tree a driver's own code lives in. */
function treeOf(entry: string): string {
  const parts = dirname(entry).split(sep);
  const at = parts.lastIndexOf('drivers');
  return at >= 0 ? parts.slice(0, at + 1).join(sep) : dirname(entry);
}

/** The driver's modules inside its tree, entry first. */
function graphOf(entry: string, tree: string): string[] {
  const seen = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const specifier of importsOf(readFileSync(file, 'utf8'))) {
      if (!specifier.startsWith('.')) continue;
      const target = resolve(dirname(file), specifier);
      if (!relative(tree, target).startsWith('..')) visit(target);
    }
  };
  visit(entry);
  return [...seen];
}

export function createMutantDriver(driverUrl: string, seed: number, allowed: readonly OperatorName[] = operatorNames): MutantDriver {
  const entry = fileURLToPath(driverUrl);
  const tree = treeOf(entry);
  const files = graphOf(entry, tree);
  const sources = new Map(files.map((f) => [f, readFileSync(f, 'utf8')]));
  const weights = files.map((f) => sitesOf(sources.get(f)!, allowed).length);
  const total = weights.reduce((a, b) => a + b, 0);
  if (total === 0) throw new Error(`no mutation site in ${driverUrl}`);
  let ticket = Math.floor(mulberry32(seed ^ 0x5eed)() * total);
  const target = files.find((_, i) => (ticket -= weights[i]!) < 0)!;

  mkdirSync(join(packageRoot, '.mutants'), { recursive: true });
  const dir = mkdtempSync(join(packageRoot, '.mutants', 'mutant-'));
  const copyOf = (file: string) => join(dir, relative(tree, file));
  let mutation: MutantDriver['mutation'] | undefined;
  try {
    for (const file of files) {
      // Inside the copied tree, imports stay relative; outside it, they name the original.
      const rewrite = (specifier: string): string => {
        if (!specifier.startsWith('.')) return specifier;
        const resolved = resolve(dirname(file), specifier);
        return files.includes(resolved) ? specifier : pathToFileURL(resolved).href;
      };
      let code: string;
      if (file === target) {
        const mutant = mutateSource(sources.get(file)!, seed, allowed, rewrite);
        code = mutant.code;
        mutation = { ...mutant.mutation, file: relative(tree, file) };
      } else code = relink(sources.get(file)!, rewrite);
      mkdirSync(dirname(copyOf(file)), { recursive: true });
      writeFileSync(copyOf(file), code);
    }
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    url: pathToFileURL(copyOf(entry)).href, dir, mutation: mutation!,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A built-in driver's manifest: the module a mutant is made from, and the resources it needs. */
export function builtInDriver(className: string, name: string): DriverManifest {
  const manifest = builtInDrivers.find((m) => m.class === className && m.name === name);
  if (!manifest) throw new Error(`no built-in ${className} driver named ${name}`);
  return manifest;
}
