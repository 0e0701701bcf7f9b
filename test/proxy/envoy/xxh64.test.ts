/**
 * The JavaScript xxHash64 (`src/proxy/envoy/xxh64.ts`) against published
 * XXH64 values (Envoy's own `HashUtil::xxHash64` test among them) and,
 * over random keys, byte arrays and 64-bit seeds, against xxhash-wasm's
 * `h64` / `h64Raw` (the reference C compiled to WebAssembly).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import xxhash from 'xxhash-wasm';
import { xxh64, xxh64BigInt, xxh64Bytes, xxh64Result, xxh64Signed } from '../../../src/proxy/envoy/xxh64.js';

const { h64, h64Raw } = await xxhash();
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const MAX_SEED = 0xffffffffffffffffn;

/** The seed's two words, as the word API takes them. */
function words(seed: bigint): [number, number] {
  return [Number(seed >> 32n), Number(seed & 0xffffffffn)];
}

/** Hashes `s` through each entry point and checks that all of them give `expected`. */
function expectEveryWay(s: string, seed: bigint, expected: bigint): void {
  const [hi, lo] = words(seed);
  const h = xxh64(s, hi, lo);
  expect(h).toBeGreaterThanOrEqual(0);
  expect(xxh64Result.lo).toBeGreaterThanOrEqual(0);
  expect((BigInt(h) << 32n) | BigInt(xxh64Result.lo)).toBe(expected);
  expect(xxh64Signed(s, hi, lo)).toBe(Number(expected >> 32n) | 0);
  expect(xxh64Result.lo).toBe(Number(expected & 0xffffffffn));
  expect(xxh64BigInt(s, seed)).toBe(expected);
  expect(xxh64BigInt(utf8(s), seed)).toBe(expected);
  const b = xxh64Bytes(utf8(s), hi, lo);
  expect((BigInt(b) << 32n) | BigInt(xxh64Result.lo)).toBe(expected);
}

/** Strings of `min` to `max` code units drawn from `unit`. */
const stringOf = (unit: fc.Arbitrary<number>, min: number, max: number): fc.Arbitrary<string> =>
  fc.array(unit, { minLength: min, maxLength: max }).map((units) => String.fromCharCode(...units));
const ASCII = fc.integer({ min: 0, max: 0x7f });
// Every code unit: lone high and low surrogates, and pairs by chance.
const BMP = fc.integer({ min: 0, max: 0xffff });
const MOSTLY_ASCII = fc.oneof({ arbitrary: ASCII, weight: 20 }, { arbitrary: BMP, weight: 1 });
const astral = fc
  .array(fc.oneof(fc.integer({ min: 0x10000, max: 0x10ffff }), fc.integer({ min: 0, max: 0x7f })), { maxLength: 100 })
  .map((points) => String.fromCodePoint(...points));
// Lone surrogates at the edges and inside, next to pairs: what TextEncoder turns into U+FFFD.
const surrogates = fc
  .array(fc.constantFrom('\uD800', '\uDBFF', '\uDC00', '\uDFFF', '\uD83D\uDE42', 'a', 'é', '中', ':'), { maxLength: 100 })
  .map((parts) => parts.join(''));
const anyString = fc.oneof(
  { arbitrary: stringOf(ASCII, 0, 200), weight: 4 },
  { arbitrary: stringOf(MOSTLY_ASCII, 0, 200), weight: 2 },
  { arbitrary: stringOf(BMP, 0, 200), weight: 2 },
  { arbitrary: astral, weight: 1 },
  { arbitrary: surrogates, weight: 1 },
  { arbitrary: stringOf(ASCII, 1000, 3000), weight: 1 },
  { arbitrary: stringOf(MOSTLY_ASCII, 1000, 3000), weight: 1 },
);
const seed64 = fc.oneof(
  fc.constantFrom(0n, 1n, 0xffffffffn, 0x100000000n, 0x80000000n, 0x8000000000000000n, MAX_SEED),
  fc.bigInt({ min: 0n, max: MAX_SEED }),
);

describe('xxh64: published XXH64 values', () => {
  // [input, seed, XXH64]
  const VECTORS: Array<[string, bigint, bigint]> = [
    ['', 0n, 0xef46db3751d8e999n],
    ['a', 0n, 0xd24ec4f1a98c6e5bn],
    ['abc', 0n, 0x44bc2cf5ad770999n],
    // Envoy's test/common/common/hash_test.cc (TEST(Hash, xxHash)).
    ['foo', 0n, 3728699739546630719n],
    ['bar', 0n, 5234164152756840025n],
    ['foo\nbar', 0n, 8917841378505826757n],
    ['lyft', 0n, 4400747396090729504n],
    ['', 0n, 17241709254077376921n],
    // python-xxhash's README: 39 bytes, so one 32-byte stripe and a tail; and a seed.
    ['Nobody inspects the spammish repetition', 0n, 0xfbcea83c8a378bf1n],
    ['xxhash', 0n, 0x32dd38952c4bc720n],
    ['xxhash', 20141025n, 0xb559b98d844e0635n],
    // A seed and a NUL byte ("42" with its terminator, seed 42), and incremental runs of foo, bar, baz.
    ['42\0', 42n, 7873697032674743835n],
    ['foobar', 0n, 11721187498075204345n],
    ['foobarbaz', 0n, 6505385152087097371n],
    // Non-ASCII keys: their UTF-8 bytes.
    ['the quick brown fox 🦊', 0n, 6470292882525630767n],
    ['the lazy dog 🐶', 0n, 240417765155152451n],
  ];

  it.each(VECTORS)('%j with seed %s', (s, seed, expected) => {
    expectEveryWay(s, seed, expected);
    expect(h64(s, seed)).toBe(expected);
  });
});

describe('xxh64: seed 1 (Envoy Maglev’s skip)', () => {
  it('matches xxhash-wasm for seed 1 as the word pair (0, 1), at every length to 100', () => {
    for (let len = 0; len <= 100; len++) {
      const s = Array.from({ length: len }, (_, i) => String.fromCharCode(0x20 + ((i * 37) % 95))).join('');
      expectEveryWay(s, 1n, h64(s, 1n));
      expectEveryWay(`${s}é`, 1n, h64(`${s}é`, 1n));
    }
    expect(xxh64BigInt('', 1n)).toBe(0xd5afba1336a3be4bn);
    expect(xxh64BigInt('user:123456', 1n)).toBe(0xfa8355e7ef1d96c8n);
    expect(xxh64('user:123456', 0, 1)).toBe(0xfa8355e7);
    expect(xxh64Result.lo).toBe(0xef1d96c8);
  });

  it('gives Maglev a different hash from seed 0 for host keys', () => {
    fc.assert(
      fc.property(stringOf(ASCII, 0, 64), (s) => {
        const h1 = xxh64(s, 0, 1);
        const l1 = xxh64Result.lo;
        expect((BigInt(h1) << 32n) | BigInt(l1)).toBe(h64(s, 1n));
        expect(xxh64BigInt(s, 1n)).not.toBe(xxh64BigInt(s, 0n));
      }),
      { numRuns: 500 },
    );
  });
});

describe('xxh64: bit-identical to xxhash-wasm h64', () => {
  it('over random strings (ASCII, any code unit, astral, lone surrogates, 0 to 3,000 units) and random 64-bit seeds', () => {
    fc.assert(
      fc.property(anyString, seed64, (s, seed) => {
        expectEveryWay(s, seed, h64(s, seed));
      }),
      { numRuns: 2500 },
    );
  });

  it('over random byte arrays, views at any offset and Node Buffers, with random seeds', () => {
    const bytesArb = fc.oneof(fc.uint8Array({ maxLength: 200 }), fc.uint8Array({ minLength: 1000, maxLength: 5000 }));
    fc.assert(
      fc.property(bytesArb, fc.nat(7), seed64, (bytes, offset, seed) => {
        const expected = h64Raw(bytes, seed);
        const [hi, lo] = words(seed);
        expect((BigInt(xxh64Bytes(bytes, hi, lo)) << 32n) | BigInt(xxh64Result.lo)).toBe(expected);
        expect(xxh64BigInt(bytes, seed)).toBe(expected);
        // The same bytes inside a larger buffer, at an unaligned offset.
        const host = new Uint8Array(bytes.length + 16).fill(0xa5);
        host.set(bytes, offset);
        expect(xxh64BigInt(host.subarray(offset, offset + bytes.length), seed)).toBe(expected);
        expect(xxh64BigInt(Buffer.from(bytes), seed)).toBe(expected);
      }),
      { numRuns: 2000 },
    );
  });

  it('at every length around the 8-, 4- and 1-byte tails and the 32-byte stripes', () => {
    for (let len = 0; len <= 140; len++) {
      const s = Array.from({ length: len }, (_, i) => String.fromCharCode(0x20 + ((i * 37) % 95))).join('');
      for (const seed of [0n, 1n, 0x9e3779b185ebca87n, MAX_SEED]) {
        expectEveryWay(s, seed, h64(s, seed));
        // Non-ASCII at either end: the short ASCII path must hand over to the bytes.
        expectEveryWay(`${s}é`, seed, h64(`${s}é`, seed));
        expectEveryWay(`\u0080${s}`, seed, h64(`\u0080${s}`, seed));
        expect(xxh64BigInt(`${s}\uD800`, seed)).toBe(h64(`${s}\uFFFD`, seed));
        // Every byte value, in each position.
        const bytes = Uint8Array.from({ length: len }, (_, i) => (i * 113 + len) & 0xff);
        expect(xxh64BigInt(bytes, seed)).toBe(h64Raw(bytes, seed));
      }
    }
  });

  it('on long keys: past the reused buffer (64 KiB of UTF-8), and a megabyte', () => {
    const keys = [
      'k'.repeat(21_845), // 65,535 bytes at 3 per code unit: still fits
      'k'.repeat(21_846),
      `${'user:42:'.repeat(20_000)}é`,
      'é'.repeat(40_000),
      '🙂'.repeat(30_000),
      'x'.repeat(1 << 20),
    ];
    for (const s of keys) {
      for (const seed of [0n, 1n, 0x0123456789abcdefn]) expectEveryWay(s, seed, h64(s, seed));
    }
    const big = Uint8Array.from({ length: (1 << 20) + 3 }, (_, i) => (i * 31) & 0xff);
    expect(xxh64BigInt(big, 7n)).toBe(h64Raw(big, 7n));
    expect(xxh64BigInt(big.subarray(1), 7n)).toBe(h64Raw(big.subarray(1), 7n));
    // And short keys still hash right after the buffer grew.
    expectEveryWay('user:é', 0n, h64('user:é', 0n));
  });
});

describe('xxh64: the API', () => {
  it('returns both words unsigned, and takes seed words mod 2^32', () => {
    let sawHigh = false;
    for (let i = 0; i < 200; i++) {
      const h = xxh64(`user:${i}`);
      expect(Number.isInteger(h) && h >= 0 && h <= 0xffffffff).toBe(true);
      expect(Number.isInteger(xxh64Result.lo) && xxh64Result.lo >= 0 && xxh64Result.lo <= 0xffffffff).toBe(true);
      if (h >= 0x80000000 && xxh64Result.lo >= 0x80000000) sawHigh = true;
      expect(xxh64Signed(`user:${i}`)).toBe(h | 0);
    }
    expect(sawHigh).toBe(true);
    const s = 'user:123456';
    const expected = h64(s, MAX_SEED);
    expect(xxh64(s, -1, -1)).toBe(Number(expected >> 32n));
    expect(xxh64(s, 0xffffffff, 0xffffffff)).toBe(Number(expected >> 32n));
    expect(xxh64Result.lo).toBe(Number(expected & 0xffffffffn));
    // Defaults: seed 0.
    expect(xxh64(s)).toBe(xxh64(s, 0, 0));
    expect(xxh64Bytes(utf8(s))).toBe(xxh64(s));
  });

  it('xxh64BigInt accepts seeds in [0, 2^64) only', () => {
    expect(xxh64BigInt('a')).toBe(0xd24ec4f1a98c6e5bn);
    expect(xxh64BigInt('a', MAX_SEED)).toBe(h64('a', MAX_SEED));
    expect(() => xxh64BigInt('a', -1n)).toThrow(RangeError);
    expect(() => xxh64BigInt('a', MAX_SEED + 1n)).toThrow(RangeError);
  });
});
