import xxhash from 'xxhash-wasm';
import { RingError, describe } from '../errors.js';
import type { Hasher } from './types.js';

type XXHashAPI = Awaited<ReturnType<typeof xxhash>>;
let api: Promise<XXHashAPI> | undefined;

/**
 * The default hasher: xxHash32 (xxhash-wasm), fast and well distributed.
 *
 * The WebAssembly module is compiled once per process, on first use.
 * Strings are hashed as UTF-8 straight into WebAssembly memory, with no
 * allocation per key.
 *
 * @param seed - xxHash seed, an integer in [0, 2^32). Rings only agree when
 *   they use the same seed; it is part of the hasher's `name`.
 * @default seed 0, named `"xxh32"` (other seeds are named `"xxh32:seed=N"`)
 */
export async function createXxHash32(seed = 0): Promise<Hasher> {
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new RingError('INVALID_OPTION', `xxHash32 seed must be an integer in [0, 2^32), got ${describe(seed)}`);
  }
  api ??= xxhash();
  const { h32 } = await api;
  const name = seed === 0 ? 'xxh32' : `xxh32:seed=${seed}`;
  const hash = seed === 0 ? (key: string): number => h32(key) : (key: string): number => h32(key, seed);
  return Object.freeze({ name, hash });
}

/** Rebuilds the default hasher from its `name`, or `undefined` for another family. */
export async function hasherFromName(name: string): Promise<Hasher | undefined> {
  if (name === 'xxh32') return createXxHash32(0);
  const match = /^xxh32:seed=(\d{1,10})$/.exec(name);
  if (match) {
    const seed = Number(match[1]);
    // Only the canonical spelling: "xxh32:seed=0" or "xxh32:seed=07" would give a ring whose name differs from its snapshot's.
    if (seed > 0 && seed <= 0xffffffff && String(seed) === match[1]) return createXxHash32(seed);
  }
  return undefined;
}

/** Checks that a user-supplied hasher has the documented shape. */
export function checkHasher(hasher: unknown): Hasher {
  const h = hasher as Partial<Hasher> | null | undefined;
  if (typeof h !== 'object' || h === null || typeof h.hash !== 'function' || typeof h.name !== 'string' || h.name === '') {
    throw new RingError('INVALID_OPTION', `hasher must be { name: string; hash(key: string): number }, got ${describe(hasher)}`);
  }
  return h as Hasher;
}
