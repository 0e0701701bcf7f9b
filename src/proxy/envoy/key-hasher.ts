/**
 * The hashers of the Envoy placements: a ring key's 64-bit Envoy hash, as
 * the ring's coordinate (`hash`) and low bits (`low`). Pure apart from a
 * one-key memo.
 */
import { modulo } from '../../ring/maglev-table.js';
import type { Hasher } from '../../ring/types.js';
import { envoyKeyHash } from './hash-policy.js';
import { xxh64Result } from './xxh64.js';

/** A hasher with the low 32 bits of a 64-bit hash. */
export type Hasher64 = Hasher & { low(key: string): number };

/**
 * For `ring_hash`: `hash` is the top 32 bits of the key's 64-bit hash and
 * `low` the bottom 32, which the ring reads only for the rare keys whose
 * top bits equal a position's; the last key's low bits are kept so that
 * read does not hash again.
 */
export function ringKeyHasher(name: string): Hasher64 {
  let lastKey: string | undefined;
  let lastLow = 0;
  return Object.freeze({
    name,
    hash(key: string): number {
      const hi = envoyKeyHash(key);
      lastKey = key;
      lastLow = xxh64Result.lo;
      return hi;
    },
    low(key: string): number {
      if (key !== lastKey) {
        envoyKeyHash(key);
        lastKey = key;
        lastLow = xxh64Result.lo;
      }
      return lastLow;
    },
  });
}

/** For `maglev`: the key's 64-bit hash mod the table size, exactly (`table_[hash % table_size_]`). */
export function maglevKeyHasher(name: string, size: number): Hasher {
  // 2^32 mod size: (hi x 2^32 + lo) mod size = ((hi mod size) x (2^32 mod size) + lo) mod size, all below 2^53.
  const wrap = 2 ** 32 % size;
  return Object.freeze({
    name,
    hash: (key: string): number => modulo(modulo(envoyKeyHash(key), size) * wrap + xxh64Result.lo, size),
  });
}

/** `xxHash64(key, seed) % size`, exactly, for Maglev's offsets and skips. */
export function mod64(hi: number, lo: number, size: number): number {
  return modulo(modulo(hi, size) * (2 ** 32 % size) + lo, size);
}
