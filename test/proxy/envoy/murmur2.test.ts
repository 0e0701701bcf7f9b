/**
 * The JavaScript 64-bit MurmurHash2 (`src/proxy/envoy/murmur2.ts`) against
 * Envoy's pinned `MurmurHash::murmurHash2` values, against libstdc++'s
 * `std::_Hash_bytes` run natively, over random keys and seeds against a
 * BigInt transcription of libstdc++'s hash_bytes.cc, and against the ring of
 * Envoy's `RingHashLoadBalancerTest.BasicWithMurmur2`.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { murmur2Result, murmurHash2, murmurHash2BigInt, STD_HASH_SEED } from '../../../src/proxy/envoy/murmur2.js';
import { HASH_VECTORS, RING_HASH_CASES, type EnvoyHost, type RingEntry } from './fixtures/envoy-expectations.js';

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const U64 = 0xffffffffffffffffn;

// ---------------------------------------------------------------------------
// The reference: libstdc++-v3/libsupc++/hash_bytes.cc, `_Hash_bytes` for
// __SIZEOF_SIZE_T__ == 8, line by line in BigInt (every size_t operation
// mod 2^64), on a little-endian machine (unaligned_load is a memcpy).

const MUL = (0xc6a4a793n << 32n) + 0x5bd1e995n;

/** `unaligned_load`: memcpy of 8 bytes into a size_t, little-endian. */
function unalignedLoad(buf: Uint8Array, p: number): bigint {
  let result = 0n;
  for (let i = 7; i >= 0; i--) result = (result << 8n) | BigInt(buf[p + i]!);
  return result;
}

/** `load_bytes(p, n)`, 1 <= n < 8: `do result = (result << 8) + (unsigned char)p[n]; while (--n >= 0);` from n - 1 down. */
function loadBytes(buf: Uint8Array, p: number, n: number): bigint {
  let result = 0n;
  --n;
  do result = BigInt.asUintN(64, (result << 8n) + BigInt(buf[p + n]!));
  while (--n >= 0);
  return result;
}

const shiftMix = (v: bigint): bigint => v ^ (v >> 47n);

function hashBytesReference(buf: Uint8Array, seed: bigint): bigint {
  const len = BigInt(buf.length);
  const lenAligned = buf.length & ~7;
  let hash = seed ^ BigInt.asUintN(64, len * MUL);
  for (let p = 0; p !== lenAligned; p += 8) {
    const data = BigInt.asUintN(64, shiftMix(BigInt.asUintN(64, unalignedLoad(buf, p) * MUL)) * MUL);
    hash ^= data;
    hash = BigInt.asUintN(64, hash * MUL);
  }
  if ((buf.length & 7) !== 0) {
    const data = loadBytes(buf, lenAligned, buf.length & 7);
    hash ^= data;
    hash = BigInt.asUintN(64, hash * MUL);
  }
  hash = BigInt.asUintN(64, shiftMix(hash) * MUL);
  hash = shiftMix(hash);
  return hash;
}

/** The word API's result as one bigint, checking both words are unsigned 32-bit. */
function wordsOf(hi: number): bigint {
  const lo = murmur2Result.lo;
  expect(Number.isInteger(hi) && hi >= 0 && hi <= 0xffffffff).toBe(true);
  expect(Number.isInteger(lo) && lo >= 0 && lo <= 0xffffffff).toBe(true);
  return (BigInt(hi) << 32n) | BigInt(lo);
}

/** Checks `s` with the default seed through both entry points. */
function expectHash(s: string, expected: bigint): void {
  expect(wordsOf(murmurHash2(s))).toBe(expected);
  expect(wordsOf(murmurHash2(s, STD_HASH_SEED))).toBe(expected);
  expect(murmurHash2BigInt(s)).toBe(expected);
}

// ---------------------------------------------------------------------------

describe('murmurHash2: pinned values', () => {
  const envoy = HASH_VECTORS.filter((v) => v.fn === 'murmurHash2');

  it("has Envoy's five Hash.murmurHash2 vectors", () => {
    expect(envoy.map((v) => v.input)).toEqual(['foo', 'bar', 'foo\nbar', 'lyft', '']);
  });

  it.each(envoy.map((v) => [v.name, v] as const))('Envoy %s', (_name, v) => {
    expect(typeof v.input).toBe('string');
    expectHash(v.input as string, v.expected);
    expect(hashBytesReference(utf8(v.input as string), 0xc70f6907n)).toBe(v.expected);
  });

  // std::_Hash_bytes(s.data(), s.size(), seed), printed by a C++ program built with g++ 12.2.0 (Debian,
  // x86_64); for the default seed also std::hash<std::string>()(s), the same value. The strings are
  // written here as their UTF-8 bytes are; longer than Envoy's (all under 8 bytes) to reach the word loop.
  const NATIVE: Array<[string, bigint, bigint]> = [
    ['', 0xc70f6907n, 6142509188972423790n],
    ['a', 0xc70f6907n, 4993892634952068459n],
    ['12345678', 0xc70f6907n, 10113836418918046885n],
    ['123456789', 0xc70f6907n, 12315982496267331008n],
    ['127.0.0.1:80_0', 0xc70f6907n, 17613279263364193813n],
    ['abcdefghijklmnopqrstuvwxyz0123456789', 0xc70f6907n, 6486013628279629180n],
    ['h\u00e9llo w\u00f6rld \u4e2d\u6587 \u{1f642}!', 0xc70f6907n, 8331345737687128583n],
    ['foo', 0n, 14834356025302342401n],
    ['abcdefghijk', U64, 11844735055033352663n],
    ['1234567812345678x', 0x123456789abcdef0n, 13864048959452582077n],
  ];

  it.each(NATIVE)('libstdc++ _Hash_bytes(%j, seed %s)', (s, seed, expected) => {
    expect(murmurHash2BigInt(s, seed)).toBe(expected);
    expect(hashBytesReference(utf8(s), seed)).toBe(expected);
    if (seed < 2n ** 53n) expect(wordsOf(murmurHash2(s, Number(seed)))).toBe(expected);
  });

  it('takes a negative number seed mod 2^64', () => {
    expect(wordsOf(murmurHash2('abcdefghijk', -1))).toBe(11844735055033352663n);
    expect(wordsOf(murmurHash2('abc', -(2 ** 40) - 5))).toBe(murmurHash2BigInt('abc', BigInt.asUintN(64, -(2n ** 40n) - 5n)));
  });

  it('rejects seeds it cannot represent', () => {
    expect(() => murmurHash2('x', 1.5)).toThrow(RangeError);
    expect(() => murmurHash2('x', 2 ** 53)).toThrow(RangeError);
    expect(() => murmurHash2('x', Number.NaN)).toThrow(RangeError);
    expect(() => murmurHash2BigInt('x', -1n)).toThrow(RangeError);
    expect(() => murmurHash2BigInt('x', 2n ** 64n)).toThrow(RangeError);
  });
});

// ---------------------------------------------------------------------------

const stringOf = (unit: fc.Arbitrary<number>, min: number, max: number): fc.Arbitrary<string> =>
  fc.array(unit, { minLength: min, maxLength: max }).map((units) => String.fromCharCode(...units));
const ASCII = fc.integer({ min: 0, max: 0x7f });
// Every code unit: lone surrogates (U+FFFD in UTF-8) and pairs by chance.
const BMP = fc.integer({ min: 0, max: 0xffff });
const LATIN = fc.integer({ min: 0x80, max: 0x7ff });
const astral = fc
  .array(fc.oneof(fc.integer({ min: 0x10000, max: 0x10ffff }), ASCII), { maxLength: 50 })
  .map((points) => String.fromCodePoint(...points));
const surrogates = fc
  .array(fc.constantFrom('\uD800', '\uDBFF', '\uDC00', '\uDFFF', '\uD83D\uDE42', 'a', 'é', '中', ':', '_'), { maxLength: 100 })
  .map((parts) => parts.join(''));
const anyString = fc.oneof(
  { arbitrary: stringOf(ASCII, 0, 100), weight: 4 },
  { arbitrary: stringOf(fc.oneof({ arbitrary: ASCII, weight: 10 }, { arbitrary: LATIN, weight: 1 }), 0, 100), weight: 2 },
  { arbitrary: stringOf(BMP, 0, 100), weight: 2 },
  { arbitrary: astral, weight: 1 },
  { arbitrary: surrogates, weight: 1 },
  { arbitrary: fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 65535 }), fc.nat(1 << 20)).map(([ip, port, i]) => `${ip}:${port}_${i}`), weight: 1 },
);
const seed64 = fc.oneof(
  fc.constantFrom(0n, 1n, 0xc70f6907n, 0xffffffffn, 0x100000000n, 0x80000000n, 0x8000000000000000n, U64),
  fc.bigInt({ min: 0n, max: U64 }),
);

describe('murmurHash2: against the libstdc++ transcription', () => {
  it('every key length 0 .. 64 (each tail length, several words)', () => {
    const text = 'The quick brown fox jumps over the lazy dog, 0123456789 ~!@#$%^&*()';
    for (let n = 0; n <= 64; n++) {
      const s = text.slice(0, n);
      expectHash(s, hashBytesReference(utf8(s), 0xc70f6907n));
    }
  });

  it('random strings, default seed (ASCII, unicode, lone surrogates; 0 .. 100 code units)', () => {
    fc.assert(
      fc.property(anyString, (s) => {
        expectHash(s, hashBytesReference(utf8(s), 0xc70f6907n));
      }),
      { numRuns: 3000 },
    );
  });

  it('random strings and 64-bit seeds', () => {
    fc.assert(
      fc.property(anyString, seed64, (s, seed) => {
        expect(murmurHash2BigInt(s, seed)).toBe(hashBytesReference(utf8(s), seed));
      }),
      { numRuns: 1500 },
    );
  });

  it('random strings and safe-integer number seeds (negative ones mod 2^64)', () => {
    fc.assert(
      fc.property(anyString, fc.maxSafeInteger(), (s, seed) => {
        expect(wordsOf(murmurHash2(s, seed))).toBe(hashBytesReference(utf8(s), BigInt.asUintN(64, BigInt(seed))));
      }),
      { numRuns: 1000 },
    );
  });

  it('long keys: past the reused buffer growth and past its cap', () => {
    const chunk = 'abc\u00e9\u4e2d\u{1f642}0123456789:_';
    for (const repeats of [100, 1000, 5000]) {
      const s = chunk.repeat(repeats) + 'xyz';
      expectHash(s, hashBytesReference(utf8(s), 0xc70f6907n));
    }
    // The reused buffer may have grown: a short key after a long one.
    expectHash('foo', 9631199822919835226n);
  });
});

// ---------------------------------------------------------------------------

describe("murmurHash2: Envoy's BasicWithMurmur2 ring", () => {
  const found = RING_HASH_CASES.find((c) => c.name === 'BasicWithMurmur2');

  it('places the 12 entries "<host>_0", "<host>_1" exactly where Envoy does', () => {
    expect(found).toBeDefined();
    const c = found!;
    expect(c.config.hashFunction).toBe('murmur2');
    expect(Array.isArray(c.hosts)).toBe(true);
    const hosts = c.hosts as readonly EnvoyHost[];
    expect(hosts.map((h) => h.key)).toEqual(['127.0.0.1:80', '127.0.0.1:81', '127.0.0.1:82', '127.0.0.1:83', '127.0.0.1:84', '127.0.0.1:85']);
    // min ring 12 over 6 equal hosts: 2 entries each.
    const { stats, ring } = c.expect;
    expect(stats).toEqual({ size: 12, minHashesPerHost: 2, maxHashesPerHost: 2 });
    const built: RingEntry[] = [];
    hosts.forEach((h, host) => {
      for (let i = 0; i < 2; i++) built.push({ hash: wordsOf(murmurHash2(`${h.key}_${i}`)), host });
    });
    built.sort((a, b) => (a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0));
    expect(ring).toHaveLength(12);
    expect(built).toEqual(ring);
    // Envoy's comment: "ring hash: host=127.0.0.1:85 hash=1358027074129602068", the first entry.
    expect(murmurHash2BigInt('127.0.0.1:85_0') === 1358027074129602068n || murmurHash2BigInt('127.0.0.1:85_1') === 1358027074129602068n).toBe(true);
  });
});
