/**
 * 64-bit MurmurHash2 as libstdc++'s `std::_Hash_bytes` computes it on a
 * 64-bit `size_t` (libstdc++-v3/libsupc++/hash_bytes.cc), which is Envoy's
 * `MurmurHash::murmurHash2(key, seed = STD_HASH_SEED)` (source/common/common/
 * hash.cc, "only works with 64-bit platforms"), over the key's UTF-8 bytes.
 * Envoy's `ring_hash` with `hash_function: MURMUR_HASH_2` places each ring
 * entry `"<host hash key>_<i>"` with it, seed `STD_HASH_SEED = 0xc70f6907`
 * (the seed `std::hash<std::string>` uses). The algorithm is Austin
 * Appleby's MurmurHash64A:
 *
 * ```text
 * mul = 0xc6a4a7935bd1e995; shift_mix(v) = v ^ (v >> 47)
 * hash = seed ^ (len * mul)
 * for each whole 8-byte word w (little-endian):  hash = (hash ^ shift_mix(w * mul) * mul) * mul
 * if len % 8 != 0: hash = (hash ^ t) * mul       // t: the last len % 8 bytes, little-endian (load_bytes)
 * hash = shift_mix(shift_mix(hash) * mul)
 * ```
 *
 * Everything mod 2^64. The tail `t` is xor-ed in as it is, not multiplied
 * first (unlike the whole words), and an empty tail skips that step's
 * multiplication too.
 *
 * As in `xxh64.ts` (see there): a 64-bit value is a pair of 32-bit words,
 * high `h` and low `l`, held as signed int32; products by `mul` are built
 * from `Math.imul` and 16 x 16-bit partial products (one function here: a
 * ring build is not a hot path); no BigInt except in
 * {@link murmurHash2BigInt}. The public function returns the high word
 * unsigned and leaves the low word (unsigned) in {@link murmur2Result}.
 *
 * Keys are encoded by {@link keyBytes} (the proxies' shared UTF-8 scratch;
 * lone surrogates as U+FFFD) and read a byte at a time. There is no ASCII
 * `charCodeAt` path: this hash runs when a ring is built (once per entry),
 * never per lookup.
 */

import { keyBytes } from '../key-bytes.js';

/** `mul` = 0xc6a4a7935bd1e995 as signed high and low words, and the low word's 16-bit halves (ML1 high, ML0 low). */
const MH = 0xc6a4a793 | 0;
const ML = 0x5bd1e995;
const ML1 = 0x5bd1;
const ML0 = 0xe995;

/** Envoy's `MurmurHash::STD_HASH_SEED` (0xc70f6907UL, a 64-bit `uint64_t` whose high word is 0): the default seed. */
export const STD_HASH_SEED = 0xc70f6907;

/**
 * The low 32 bits of the last hash, unsigned: set by every call of
 * {@link murmurHash2} (a module-level scratch, so a hash allocates nothing).
 * Read it right after the call.
 */
export const murmur2Result: { lo: number } = { lo: 0 };

/**
 * 64-bit MurmurHash2 (libstdc++'s `_Hash_bytes`, Envoy's
 * `MurmurHash::murmurHash2`) of the UTF-8 bytes of `key` (lone surrogates as
 * U+FFFD) with the 64-bit seed `seed` (default {@link STD_HASH_SEED},
 * 0xc70f6907, Envoy's). Returns the hash's high 32 bits, unsigned; its low
 * 32 bits are left in {@link murmur2Result}`.lo`, unsigned.
 *
 * `seed` is a safe integer (|seed| < 2^53), taken mod 2^64 (so -1 is
 * 2^64 - 1); seeds of 2^53 and more need {@link murmurHash2BigInt}.
 *
 * ```ts
 * const hi = murmurHash2('127.0.0.1:80_0'); // MurmurHash::murmurHash2(key, STD_HASH_SEED)
 * const lo = murmur2Result.lo;
 * ```
 */
export function murmurHash2(key: string, seed: number = STD_HASH_SEED): number {
  if (seed === STD_HASH_SEED) return stringSigned(key, 0, STD_HASH_SEED | 0) >>> 0;
  if (!Number.isSafeInteger(seed)) {
    throw new RangeError(`murmurHash2 seed must be a safe integer (use murmurHash2BigInt for larger seeds), got ${String(seed)}`);
  }
  // For a negative seed, floor division and `| 0` give the two's-complement words.
  return stringSigned(key, Math.floor(seed / 4294967296) | 0, seed | 0) >>> 0;
}

/**
 * The whole 64-bit hash as a bigint, with a seed in [0, 2^64) (default
 * 0xc70f6907n, Envoy's `STD_HASH_SEED`): for tests and cold paths (it
 * allocates). `murmurHash2BigInt('foo')` is Envoy's
 * `MurmurHash::murmurHash2("foo")`, 9631199822919835226n.
 */
export function murmurHash2BigInt(key: string, seed = 0xc70f6907n): bigint {
  if (typeof seed !== 'bigint' || seed < 0n || seed > 0xffffffffffffffffn) {
    throw new RangeError(`murmurHash2 seed must be a bigint in [0, 2^64), got ${String(seed)}`);
  }
  const hi = stringSigned(key, Number(seed >> 32n) | 0, Number(seed & 0xffffffffn) | 0) >>> 0;
  return (BigInt(hi) << 32n) | BigInt(murmur2Result.lo);
}

/** The hash of `s`'s UTF-8 bytes (TextEncoder's) with the seed `(sh:sl)`: the high word, signed (the low word in {@link murmur2Result}). */
function stringSigned(s: string, sh: number, sl: number): number {
  const bytes = keyBytes(s);
  return bytesSigned(bytes, bytes.length, sh, sl);
}

// ---------------------------------------------------------------------------
// The hash. It runs once per ring entry when a ring is built, never per
// lookup, so the 64-bit product is a function (xxh64.ts writes it out inline
// at every step, for speed). shift_mix(v) = v ^ (v >> 47) leaves the high word
// alone and xors the high word's top 17 bits into the low word: `l ^ (h >>> 15)`.

/** The product of the last {@link mulM}: high and low words, signed. */
let ph = 0;
let pl = 0;

/**
 * (h:l) x mul mod 2^64 into (ph:pl): the low words' 16-bit halves times the
 * low word of `mul`, plus the cross products into the high word, each a
 * Math.imul (mod 2^32), with the middle's carry.
 */
function mulM(h: number, l: number): void {
  const a0 = l & 0xffff;
  const a1 = l >>> 16;
  const u = (Math.imul(a1, ML0) + (Math.imul(a0, ML0) >>> 16)) | 0;
  ph = (Math.imul(a1, ML1) + (u >>> 16) + Math.imul(h, ML) + Math.imul(l, MH) + ((Math.imul(a0, ML1) + (u & 0xffff)) >>> 16)) | 0;
  pl = Math.imul(l, ML);
}

/** MurmurHash64A of `x[0, len)` with the seed `(sh:sl)`: the high word, signed (the low word, unsigned, in {@link murmur2Result}). */
function bytesSigned(x: Uint8Array, len: number, sh: number, sl: number): number {
  // hash = seed ^ (len * mul), len a 64-bit word (an array may pass 2^32 bytes)
  mulM(Math.floor(len / 4294967296) | 0, len | 0);
  let h = sh ^ ph;
  let l = sl ^ pl;
  const tail = len & 7;
  const end = len - tail;
  let p = 0;
  for (; p < end; p += 8) {
    // k = shift_mix(w * mul) * mul; hash = (hash ^ k) * mul
    mulM(x[p + 4]! | (x[p + 5]! << 8) | (x[p + 6]! << 16) | (x[p + 7]! << 24), x[p]! | (x[p + 1]! << 8) | (x[p + 2]! << 16) | (x[p + 3]! << 24));
    mulM(ph, pl ^ (ph >>> 15));
    mulM(h ^ ph, l ^ pl);
    h = ph;
    l = pl;
  }
  if (tail !== 0) {
    // load_bytes(end, len & 7): the last 1 to 7 bytes as a little-endian word (p[n-1] most significant), not multiplied.
    let kh = 0;
    let kl = 0;
    for (let i = tail - 1; i >= 4; i--) kh = (kh << 8) | x[p + i]!;
    for (let i = Math.min(tail, 4) - 1; i >= 0; i--) kl = (kl << 8) | x[p + i]!;
    mulM(h ^ kh, l ^ kl);
    h = ph;
    l = pl;
  }
  // hash = shift_mix(shift_mix(hash) * mul)
  mulM(h, l ^ (h >>> 15));
  murmur2Result.lo = (pl ^ (ph >>> 15)) >>> 0;
  return ph;
}
