/**
 * Mutates a JavaScript module once: parse (acorn), list every site of the chosen operators,
 * pick one with a seeded generator, change it, print (astring). The same source, operator set
 * and seed always give the same mutant; the result is re-parsed, so it is always valid syntax.
 */
import { parse, type Node } from 'acorn';
import { generate } from 'astring';
import { mulberry32 } from '../faults/schedule.js';
import { operatorNames, operators, type OperatorName, type Site, type Visit } from './operators.js';

export interface Mutation {
  operator: OperatorName;
  /** 1-based line and column of the changed node in the original source. */
  line: number;
  column: number;
  description: string;
  seed: number;
}

export interface Mutant {
  code: string;
  mutation: Mutation;
}

export class NoMutationSite extends Error {}

/** Every node with its ancestors, in source order. */
function visits(program: Node): Visit[] {
  const out: Visit[] = [];
  const walk = (node: any, ancestors: any[]): void => {
    out.push({ node, ancestors });
    const next = [...ancestors, node];
    for (const [key, value] of Object.entries(node)) {
      if (key === 'loc') continue;
      if (Array.isArray(value)) for (const v of value) { if (v && typeof v.type === 'string') walk(v, next); }
      else if (value && typeof (value as any).type === 'string') walk(value, next);
    }
  };
  walk(program, []);
  return out;
}

const parseModule = (source: string) => parse(source, { ecmaVersion: 'latest', sourceType: 'module', locations: true });

/** The sites of each operator in `source` (for choosing where to mutate, and for tests). */
export function sitesOf(source: string, allowed: readonly OperatorName[] = operatorNames): Site[] {
  const all = visits(parseModule(source));
  return allowed.flatMap((name) => all.flatMap((visit) => operators[name](visit)));
}

/** Rewrites every static and dynamic import or re-export specifier of a module's tree. */
function rewriteImports(program: any, rewrite: (specifier: string) => string): void {
  for (const { node } of visits(program)) {
    const types = ['ImportDeclaration', 'ExportNamedDeclaration', 'ExportAllDeclaration', 'ImportExpression'];
    if (types.includes(node.type) && node.source?.type === 'Literal' && typeof node.source.value === 'string') {
      const value = rewrite(node.source.value);
      node.source = { ...node.source, value, raw: JSON.stringify(value) };
    }
  }
}

/** The module with its import specifiers rewritten, unchanged otherwise. */
export function relink(source: string, rewrite: (specifier: string) => string): string {
  const program = parseModule(source);
  rewriteImports(program, rewrite);
  return generate(program as any);
}

/** The relative import specifiers of a module. */
export function importsOf(source: string): string[] {
  const out: string[] = [];
  rewriteImports(parseModule(source), (specifier) => { out.push(specifier); return specifier; });
  return out;
}

/** One mutant of `source`. Throws NoMutationSite when no allowed operator applies. */
export function mutateSource(source: string, seed: number, allowed: readonly OperatorName[] = operatorNames,
  rewrite?: (specifier: string) => string): Mutant {
  const random = mulberry32(seed);
  const pick = (n: number) => Math.floor(random() * n);
  // Choose the operator first, among those that apply, so rare ones are not drowned by common ones.
  const program = parseModule(source);
  const all = visits(program);
  const byOperator = allowed.map((name) => ({ name, sites: all.flatMap((visit) => operators[name](visit)) })).filter((o) => o.sites.length);
  if (byOperator.length === 0) throw new NoMutationSite(`no site for ${allowed.join(', ')}`);
  const chosen = byOperator[pick(byOperator.length)]!;
  const site = chosen.sites[pick(chosen.sites.length)]!;
  const start = (site.node as any).loc?.start ?? { line: 0, column: 0 };
  const description = site.apply(pick);
  if (rewrite) rewriteImports(program, rewrite);
  const code = generate(program as any);
  parseModule(code); // never a syntax error
  return { code, mutation: { operator: chosen.name, line: start.line, column: start.column + 1, description, seed } };
}
