import { RingError, describe } from '../errors.js';
import { MAX_ID_LENGTH, MAX_META_ENTRIES, MAX_META_LENGTH, MAX_WEIGHT } from './limits.js';
import type { RingNode } from './types.js';

/** `String.prototype.isWellFormed` (Node 20+; typed in lib ES2024). */
type WellFormed = string & { isWellFormed(): boolean };

/**
 * Checks a node supplied by a user (or read from a store) and returns a
 * frozen copy holding only the documented fields. Throws `INVALID_NODE`.
 */
export function normalizeNode(input: unknown, where = 'node'): RingNode {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new RingError('INVALID_NODE', `${where} must be an object like { id: "node-1" }, got ${describe(input)}`);
  }
  let id: unknown;
  let weight: unknown;
  let meta: unknown;
  try {
    ({ id, weight, meta } = input as { id?: unknown; weight?: unknown; meta?: unknown });
  } catch (error) {
    throw unreadable(where, error);
  }
  if (typeof id !== 'string' || id.length === 0) {
    throw new RingError('INVALID_NODE', `${where}.id must be a non-empty string, got ${describe(id)}`);
  }
  if (id.length > MAX_ID_LENGTH) {
    throw new RingError('INVALID_NODE', `${where}.id is ${id.length} characters long; the limit is ${MAX_ID_LENGTH}`);
  }
  // Hashers see UTF-8, where every lone surrogate becomes U+FFFD: "\uD800" and
  // "\uD801" would get the very same points, and one node would own nothing.
  if (!(id as WellFormed).isWellFormed()) {
    throw new RingError('INVALID_NODE', `${where}.id must be well-formed UTF-16 (it holds a lone surrogate), got ${describe(id)}`);
  }
  const out: { id: string; weight?: number; meta?: Readonly<Record<string, string>> } = { id };
  if (weight !== undefined) {
    if (typeof weight !== 'number' || !Number.isFinite(weight) || weight <= 0 || weight > MAX_WEIGHT) {
      throw new RingError(
        'INVALID_NODE',
        `weight of node ${describe(id)} must be a finite number in (0, ${MAX_WEIGHT}], got ${describe(weight)}`,
      );
    }
    out.weight = weight;
  }
  if (meta !== undefined) out.meta = normalizeMeta(meta, id);
  return Object.freeze(out);
}

function normalizeMeta(meta: unknown, id: string): Readonly<Record<string, string>> {
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) {
    throw new RingError('INVALID_NODE', `meta of node ${describe(id)} must be an object of strings, got ${describe(meta)}`);
  }
  let entries: Array<[string, unknown]>;
  try {
    entries = Object.entries(meta);
  } catch (error) {
    throw unreadable(`meta of node ${describe(id)}`, error);
  }
  if (entries.length > MAX_META_ENTRIES) {
    throw new RingError('INVALID_NODE', `meta of node ${describe(id)} has ${entries.length} entries; the limit is ${MAX_META_ENTRIES}`);
  }
  const copy: Record<string, string> = {};
  for (const [key, value] of entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (key === '__proto__') {
      // Assigning it would replace the copy's prototype instead of adding a key: refuse it rather than drop it.
      throw new RingError('INVALID_NODE', `meta of node ${describe(id)} has the key "__proto__", which is not allowed`);
    }
    if (typeof value !== 'string') {
      throw new RingError('INVALID_NODE', `meta[${describe(key)}] of node ${describe(id)} must be a string, got ${describe(value)}`);
    }
    if (key.length > MAX_META_LENGTH || value.length > MAX_META_LENGTH) {
      throw new RingError('INVALID_NODE', `meta[${describe(key)}] of node ${describe(id)} is longer than ${MAX_META_LENGTH} characters`);
    }
    copy[key] = value;
  }
  return Object.freeze(copy);
}

/**
 * Normalizes a whole membership list: every node valid, no id twice.
 * Returns the nodes sorted by id. Throws `INVALID_NODE` or `DUPLICATE_NODE`.
 */
export function normalizeNodes(input: Iterable<unknown>, where = 'nodes'): RingNode[] {
  if (input == null || typeof (input as Iterable<unknown>)[Symbol.iterator] !== 'function' || typeof input === 'string') {
    throw new RingError('INVALID_NODE', `${where} must be an iterable of nodes, got ${describe(input)}`);
  }
  const seen = new Set<string>();
  const nodes: RingNode[] = [];
  let iterator: Iterator<unknown>;
  try {
    iterator = (input as Iterable<unknown>)[Symbol.iterator]();
  } catch (error) {
    throw unreadable(where, error);
  }
  for (let i = 0; ; i++) {
    let step: IteratorResult<unknown>;
    try {
      step = iterator.next();
    } catch (error) {
      throw unreadable(where, error);
    }
    if (step.done) break;
    const node = normalizeNode(step.value, `${where}[${i}]`);
    if (seen.has(node.id)) {
      throw new RingError('DUPLICATE_NODE', `node id ${describe(node.id)} appears more than once in ${where}`);
    }
    seen.add(node.id);
    nodes.push(node);
  }
  return nodes.sort(compareNodes);
}

/** An `INVALID_NODE` for input whose getter or iterator threw, with the original as `cause`. */
function unreadable(where: string, error: unknown): RingError {
  const reason = error instanceof Error ? error.message : String(error);
  return new RingError('INVALID_NODE', `${where} could not be read: ${reason.length > 200 ? `${reason.slice(0, 197)}...` : reason}`, { cause: error });
}

/** Orders by id in UTF-16 code-unit order: the same in every process and locale. */
export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareNodes(a: RingNode, b: RingNode): number {
  return compareIds(a.id, b.id);
}

/** Effective weight of a node (1 when unset). */
export function weightOf(node: RingNode): number {
  return node.weight ?? 1;
}

/** True when two nodes carry the same meta (both normalized, so keys are sorted). */
export function sameMeta(a: RingNode, b: RingNode): boolean {
  const x = a.meta;
  const y = b.meta;
  if (x === y) return true;
  if (x === undefined || y === undefined) return false;
  const kx = Object.keys(x);
  const ky = Object.keys(y);
  if (kx.length !== ky.length) return false;
  for (let i = 0; i < kx.length; i++) {
    const k = kx[i]!;
    if (k !== ky[i] || x[k] !== y[k]) return false;
  }
  return true;
}

/** True when two normalized nodes are equal in every field. */
export function sameNode(a: RingNode, b: RingNode): boolean {
  return a.id === b.id && a.weight === b.weight && sameMeta(a, b);
}
