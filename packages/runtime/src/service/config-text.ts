/** How config values and field paths are written in the operator's one-line messages. */

/** A value as the operator wrote it, short: what was found. */
export function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (Array.isArray(value)) return `a list of ${value.length}`;
  if (typeof value === 'object') return `an object with ${Object.keys(value).length ? `fields ${Object.keys(value).slice(0, 6).join(', ')}` : 'no fields'}`;
  return String(value);
}

/** `devices.disk0.frontend.socket`, `devices.disk0.resources[1].name`. */
export function pathText(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) out += typeof key === 'number' ? `[${key}]` : out === '' ? String(key) : `.${String(key)}`;
  return out || '(top level)';
}
