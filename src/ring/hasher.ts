import xxhash from 'xxhash-wasm';
import { RingError, describe } from '../errors.js';
import type { Hasher } from './types.js';
import { NOT_ASCII, xxh32Ascii } from './xxh32.js';

type XXHashAPI = Awaited<ReturnType<typeof xxhash>>;
let api: Promise<XXHashAPI> | undefined;
/** xxhash-wasm's `h32`, set once the module is ready (before any default hasher exists). */
let wasmH32: XXHashAPI['h32'] | undefined;

/**
 * Longest ASCII key, in characters, hashed in JavaScript rather than by
 * xxhash-wasm: below it, copying the key into WebAssembly memory costs more
 * than the whole JavaScript hash (the two cost the same at about 40
 * characters on the benchmark machine: `npm run bench:hash-length`, table
 * in `docs/benchmarks.md`).
 */
export const JS_HASH_MAX_LENGTH = 40;

/** The seed of each default hasher object, so a ring can call {@link xxh32Signed} directly. */
const seeds = new WeakMap<Hasher, number>();

/**
 * xxHash32 of `key`'s UTF-8 bytes with `seed`: bit-identical to
 * xxhash-wasm's `h32(key, seed)` for every string (lone surrogates count as
 * U+FFFD, as `TextEncoder` writes them). ASCII keys up to
 * {@link JS_HASH_MAX_LENGTH} characters are hashed in JavaScript, others by
 * xxhash-wasm.
 *
 * Only valid once a default hasher was created (the WebAssembly module is
 * then compiled): rings reach it through {@link defaultSeedOf}.
 */
export function xxh32(key: string, seed: number): number {
  return xxh32Signed(key, seed) >>> 0;
}

/**
 * {@link xxh32} as a signed 32-bit integer (`>>> 0` gives the hash), so
 * that returning it never allocates: rings call this and convert inline.
 */
export function xxh32Signed(key: string, seed: number): number {
  if (key.length <= JS_HASH_MAX_LENGTH) {
    const h = xxh32Ascii(key, seed);
    if (h !== NOT_ASCII) return h;
  }
  return wasmH32!(key, seed) | 0;
}

/**
 * The seed of `hasher` when it is a default hasher made by
 * {@link createXxHash32} (so {@link xxh32Signed} computes the same hash
 * without an indirect call), or -1 for any other hasher.
 */
export function defaultSeedOf(hasher: Hasher): number {
  return seeds.get(hasher) ?? -1;
}

/**
 * The default hasher: xxHash32 of the key's UTF-8 bytes, fast and well
 * distributed, the same hash as xxhash-wasm's `h32`.
 *
 * Short ASCII keys (the usual user and session ids) are hashed in
 * JavaScript, straight from the string's characters; other keys by
 * xxhash-wasm, whose WebAssembly module is compiled once per process, on
 * first use. A ring built with this hasher calls the hash function directly
 * rather than through `hash`.
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
  wasmH32 ??= (await api).h32;
  const name = seed === 0 ? 'xxh32' : `xxh32:seed=${seed}`;
  const hasher: Hasher = Object.freeze({ name, hash: (key: string): number => xxh32(key, seed) });
  seeds.set(hasher, seed);
  return hasher;
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
