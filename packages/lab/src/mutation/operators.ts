/**
 * The mutation operators: single, source-level changes that emulate common programming
 * errors, after the paper's fault injector ("uninitialized variables, bad parameters, inverted
 * test conditions"). Each operator lists the sites in a program where it applies; applying it
 * to one site changes the syntax tree in place. Programs are ESTree trees from acorn.
 */
import type { Node } from 'acorn';

type AnyNode = Node & Record<string, any>;

export type OperatorName =
  | 'negate-condition' | 'delete-statement' | 'off-by-one' | 'swap-arguments'
  | 'replace-variable' | 'drop-await' | 'return-early' | 'remove-initializer';

export const operatorNames: readonly OperatorName[] = [
  'negate-condition', 'delete-statement', 'off-by-one', 'swap-arguments',
  'replace-variable', 'drop-await', 'return-early', 'remove-initializer',
];

/** One place an operator can change, and how; `variant` picks among ways to change it. */
export interface Site {
  operator: OperatorName;
  node: AnyNode;
  /** Applies the change; `pick` chooses among alternatives (another variable, +1 or -1). */
  apply(pick: (n: number) => number): string;
}

/** A node and its ancestors (outermost first), for every node in the tree. */
export interface Visit { node: AnyNode; ancestors: AnyNode[] }

const FUNCTIONS = new Set(['FunctionDeclaration', 'FunctionExpression', 'ArrowFunctionExpression']);
const LOOPS_AND_IFS = new Set(['IfStatement', 'ConditionalExpression', 'WhileStatement', 'DoWhileStatement', 'ForStatement']);

const describeRange = (n: AnyNode) => `${n.type}@${n.start}`;

function negate(visit: Visit): Site[] {
  const { node } = visit;
  if (!LOOPS_AND_IFS.has(node.type) || !node.test) return [];
  return [{
    operator: 'negate-condition', node,
    apply: () => {
      node.test = { type: 'UnaryExpression', operator: '!', prefix: true, argument: node.test } as unknown as AnyNode;
      return `negated the condition of ${describeRange(node)}`;
    },
  }];
}

function deleteStatement(visit: Visit): Site[] {
  const { node } = visit;
  if (node.type !== 'BlockStatement' && node.type !== 'Program') return [];
  return (node.body as AnyNode[]).flatMap((statement, index) => {
    if (statement.type !== 'ExpressionStatement' && statement.type !== 'ReturnStatement' && statement.type !== 'ThrowStatement'
      && !(statement.type === 'IfStatement')) return [];
    return [{
      operator: 'delete-statement' as const, node: statement,
      apply: () => {
        node.body.splice(index, 1);
        return `deleted ${describeRange(statement)}`;
      },
    }];
  });
}

function offByOne(visit: Visit): Site[] {
  const { node, ancestors } = visit;
  const parent = ancestors.at(-1);
  if (node.type === 'Literal' && typeof node.value === 'number' && parent?.type !== 'Property'
    && !(parent?.type === 'MemberExpression' && parent.property === node && !parent.computed)) {
    return [{
      operator: 'off-by-one', node,
      apply: (pick) => {
        const delta = pick(2) === 0 ? 1 : -1;
        const value = (node.value as number) + delta;
        node.value = value;
        node.raw = String(value);
        return `changed the constant at ${node.start} by ${delta}`;
      },
    }];
  }
  if (node.type === 'MemberExpression' && node.computed) {
    return [{
      operator: 'off-by-one', node,
      apply: (pick) => {
        const delta = pick(2) === 0 ? 1 : -1;
        node.property = { type: 'BinaryExpression', operator: '+', left: node.property, right: { type: 'Literal', value: delta, raw: String(delta) } } as unknown as AnyNode;
        return `shifted the index at ${node.start} by ${delta}`;
      },
    }];
  }
  return [];
}

function swapArguments(visit: Visit): Site[] {
  const { node } = visit;
  if ((node.type !== 'CallExpression' && node.type !== 'NewExpression') || node.arguments.length < 2) return [];
  if (node.arguments.some((a: AnyNode) => a.type === 'SpreadElement')) return [];
  return [{
    operator: 'swap-arguments', node,
    apply: (pick) => {
      const i = pick(node.arguments.length - 1);
      [node.arguments[i], node.arguments[i + 1]] = [node.arguments[i + 1], node.arguments[i]];
      return `swapped arguments ${i} and ${i + 1} of the call at ${node.start}`;
    },
  }];
}

/** Names bound in a function: its parameters and the variables declared in its body. */
function boundNames(fn: AnyNode): string[] {
  const names = new Set<string>();
  const add = (pattern: AnyNode | null | undefined): void => {
    if (!pattern) return;
    if (pattern.type === 'Identifier') names.add(pattern.name);
    else if (pattern.type === 'AssignmentPattern') add(pattern.left);
    else if (pattern.type === 'RestElement') add(pattern.argument);
  };
  for (const p of fn.params ?? []) add(p);
  const walk = (n: AnyNode): void => {
    if (!n || typeof n !== 'object') return;
    if (n !== fn && FUNCTIONS.has(n.type)) return;
    if (n.type === 'VariableDeclarator') add(n.id);
    for (const value of Object.values(n)) {
      if (Array.isArray(value)) value.forEach((v) => v && typeof v.type === 'string' && walk(v));
      else if (value && typeof (value as AnyNode).type === 'string') walk(value as AnyNode);
    }
  };
  if (fn.body) walk(fn.body);
  return [...names];
}

/** An identifier read as a value (not a declaration, a property name or an assignment target). */
function isReference(node: AnyNode, parent: AnyNode | undefined): boolean {
  if (node.type !== 'Identifier' || !parent) return false;
  if (parent.type === 'MemberExpression' && parent.property === node && !parent.computed) return false;
  if (parent.type === 'Property' && parent.key === node) return false;
  if (parent.type === 'VariableDeclarator' && parent.id === node) return false;
  if (FUNCTIONS.has(parent.type)) return false;
  if (parent.type === 'AssignmentExpression' && parent.left === node) return false;
  if (parent.type === 'UpdateExpression') return false;
  if (parent.type.startsWith('Import') || parent.type.startsWith('Export') || parent.type === 'LabeledStatement') return false;
  if (parent.type === 'MethodDefinition' || parent.type === 'PropertyDefinition') return false;
  return !['CatchClause', 'RestElement', 'AssignmentPattern', 'ArrayPattern', 'ObjectPattern'].includes(parent.type);
}

function replaceVariable(visit: Visit): Site[] {
  const { node, ancestors } = visit;
  const parent = ancestors.at(-1);
  if (!isReference(node, parent)) return [];
  const fn = [...ancestors].reverse().find((a) => FUNCTIONS.has(a.type));
  if (!fn) return [];
  const others = boundNames(fn).filter((n) => n !== node.name);
  if (others.length === 0 || !boundNames(fn).includes(node.name)) return [];
  return [{
    operator: 'replace-variable', node,
    apply: (pick) => {
      const before = node.name;
      node.name = others[pick(others.length)]!;
      return `replaced ${before} with ${node.name} at ${node.start}`;
    },
  }];
}

function dropAwait(visit: Visit): Site[] {
  const { node } = visit;
  if (node.type !== 'AwaitExpression') return [];
  return [{
    operator: 'drop-await', node,
    apply: () => {
      const at = node.start;
      const argument = node.argument as AnyNode;
      for (const key of Object.keys(node)) if (key !== 'loc') delete node[key];
      Object.assign(node, argument);
      return `dropped the await at ${at}`;
    },
  }];
}

function returnEarly(visit: Visit): Site[] {
  const { node } = visit;
  if (!FUNCTIONS.has(node.type) || node.body?.type !== 'BlockStatement' || node.body.body.length === 0) return [];
  return [{
    operator: 'return-early', node,
    apply: () => {
      node.body.body.unshift({ type: 'ReturnStatement', argument: null } as unknown as AnyNode);
      return `returned at the start of the function at ${node.start}`;
    },
  }];
}

function removeInitializer(visit: Visit): Site[] {
  const { node, ancestors } = visit;
  const declaration = ancestors.at(-1);
  if (node.type !== 'VariableDeclarator' || !node.init || node.id.type !== 'Identifier' || declaration?.type !== 'VariableDeclaration') return [];
  if (ancestors.at(-2)?.type === 'ForOfStatement' || ancestors.at(-2)?.type === 'ForInStatement') return [];
  return [{
    operator: 'remove-initializer', node,
    apply: () => {
      node.init = null;
      if (declaration.kind === 'const') declaration.kind = 'let'; // a const without a value does not parse
      return `left ${node.id.name} uninitialized at ${node.start}`;
    },
  }];
}

export const operators: Record<OperatorName, (visit: Visit) => Site[]> = {
  'negate-condition': negate,
  'delete-statement': deleteStatement,
  'off-by-one': offByOne,
  'swap-arguments': swapArguments,
  'replace-variable': replaceVariable,
  'drop-await': dropAwait,
  'return-early': returnEarly,
  'remove-initializer': removeInitializer,
};
