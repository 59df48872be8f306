/** The driver classes the runtime knows, by name. A new class is one more line here. */
import { blockClass } from './block/contract.js';
import type { ClassContract } from './contract.js';
import { netClass } from './net/contract.js';
import { serialClass } from './serial/contract.js';
import { soundClass } from './sound/contract.js';

const classes = new Map<string, ClassContract>([[blockClass.name, blockClass], [netClass.name, netClass], [soundClass.name, soundClass],
  [serialClass.name, serialClass]]);

export function classByName(name: string): ClassContract | undefined {
  return classes.get(name);
}

/** Lets a program (or a test) add a class without touching the runtime. */
export function registerClass(contract: ClassContract): void {
  classes.set(contract.name, contract);
}

export function classNames(): string[] {
  return [...classes.keys()];
}
