/**
 * Reading a config file: YAML or JSON to one value, checked against the one schema, then the
 * checks that span fields. Every problem becomes one line naming the file, the field's path,
 * what was expected and what was found; nothing starts unless there are none.
 */
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { serviceSchema, type ServiceConfig } from './config-schema.js';
import { describe, pathText } from './config-text.js';
import { crossFieldProblems, type DriverChecker } from './config-check.js';

/** One or more problems in a config (or a command line): each is one line for the operator. */
export class ConfigError extends Error {
  readonly code = 'SD_ERR_INVALID_ARGUMENT';
  readonly lines: string[];
  constructor(lines: string[]) {
    super(lines.join('\n'));
    this.name = 'ConfigError';
    this.lines = lines;
  }
}

function at(value: unknown, path: readonly PropertyKey[]): unknown {
  let here = value;
  for (const key of path) here = here !== null && typeof here === 'object' ? (here as Record<PropertyKey, unknown>)[key] : undefined;
  return here;
}

function expected(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type': return issue.expected === 'int' ? 'an integer' : `${issue.expected === 'object' || issue.expected === 'array' ? 'an' : 'a'} ${issue.expected}`;
    case 'invalid_value': return `one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'invalid_union': return 'discriminator' in issue && issue.discriminator
      ? `one of ${(issue as { options?: unknown[] }).options?.map((v) => JSON.stringify(v)).join(', ')}` : 'one of the forms in docs/operations.md';
    case 'too_small': return issue.origin === 'string' ? 'a non-empty string' : `a value ${issue.inclusive ? '>=' : '>'} ${String(issue.minimum)}`;
    case 'too_big': return `a value ${issue.inclusive ? '<=' : '<'} ${String(issue.maximum)}`;
    case 'invalid_format': return issue.message.replace(/^Invalid string: /, '');
    case 'invalid_key': return issue.issues[0]?.message.replace(/^Invalid string: /, '') ?? 'a valid name';
    default: return issue.message;
  }
}

/** The schema's issues as one line each. */
export function issueLines(source: string, value: unknown, all: readonly z.core.$ZodIssue[]): string[] {
  const lines: string[] = [];
  // A wrong `type` or `class` makes every other problem of that object noise (they are measured
  // against the wrong form): only the discriminator's line is kept.
  const wrongForm = all.filter((i) => (i.code === 'invalid_value' || i.code === 'invalid_union') && ['type', 'class'].includes(String(i.path.at(-1))))
    .map((i) => pathText(i.path.slice(0, -1)));
  const owner = (i: z.core.$ZodIssue) => pathText(i.code === 'unrecognized_keys' ? i.path : i.path.slice(0, -1));
  const issues = all.filter((i) => wrongForm.includes(owner(i)) ? i.code !== 'unrecognized_keys' && ['type', 'class'].includes(String(i.path.at(-1)))
    : !wrongForm.some((p) => pathText(i.path).startsWith(`${p}.`)));
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) lines.push(`${source}: ${pathText([...issue.path, key])}: unknown field (expected one of the fields in docs/operations.md, found ${describe(at(value, [...issue.path, key]))})`);
    } else if (issue.code === 'invalid_key') {
      lines.push(`${source}: ${pathText(issue.path)}: bad name (expected ${expected(issue)}, found ${JSON.stringify(String(issue.path.at(-1)))})`);
    } else if (issue.code === 'custom') {
      lines.push(`${source}: ${pathText(issue.path)}: expected ${issue.message}, found ${describe(at(value, issue.path))}`);
    } else {
      lines.push(`${source}: ${pathText(issue.path)}: expected ${expected(issue)}, found ${describe(at(value, issue.path))}`);
    }
  }
  return lines;
}

/** Parses YAML or JSON (by extension; JSON is also valid YAML, so other names read as YAML). */
export function parseText(source: string, text: string): unknown {
  if (extname(source).toLowerCase() === '.json') {
    try { return JSON.parse(text); } catch (err) { throw new ConfigError([`${source}: not valid JSON (${(err as Error).message})`]); }
  }
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(doc.errors.map((e) => `${source}: not valid YAML at line ${e.linePos?.[0].line ?? '?'}: ${e.message.split('\n')[0]}`));
  }
  return doc.toJS();
}

/** Checks a parsed value; resolves the config or throws a ConfigError with every problem. */
export function validate(source: string, value: unknown, drivers?: DriverChecker): ServiceConfig {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError([`${source}: (top level): expected an object with a devices field, found ${describe(value)}`]);
  }
  const result = serviceSchema.safeParse(value);
  if (!result.success) throw new ConfigError(issueLines(source, value, result.error.issues));
  const problems = crossFieldProblems(result.data, drivers).map((p) => `${source}: ${p}`);
  if (problems.length > 0) throw new ConfigError(problems);
  return result.data;
}

export function loadConfig(path: string, drivers?: DriverChecker): ServiceConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError([`${path}: cannot read the config (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`]);
  }
  return validate(path, parseText(path, text), drivers);
}
