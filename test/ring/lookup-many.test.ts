import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HashRing } from '../../src/index.js';
import type { Hasher } from '../../src/index.js';
import { build, clusterArb, coarse, keysFor, xxh32 } from './support.js';

describe('HashRing.lookupMany', () => {
  it('returns lookup(key) for every key, in order, with the default and with other hashers', () => {
    fc.assert(
      fc.property(clusterArb(1, 8), fc.array(fc.string(), { maxLength: 40 }), (c, extra) => {
        const ring = build(c);
        const keys = [...keysFor(ring), ...extra];
        const many = ring.lookupMany(keys);
        expect(many).toHaveLength(keys.length);
        keys.forEach((key, i) => expect(many[i]).toBe(ring.lookup(key)));
      }),
      { numRuns: 60 },
    );
  });

  it('handles more keys than one chunk, and repeated keys', () => {
    for (const hasher of [xxh32, coarse]) {
      const ring = new HashRing({ hasher, vnodes: 40 }, [{ id: 'a' }, { id: 'b', weight: 2 }, { id: 'c' }]);
      const keys = Array.from({ length: 5000 }, (_, i) => `user:${i % 3001}:é${i % 7 === 0 ? '🙂' : ''}`);
      const many = ring.lookupMany(keys);
      keys.forEach((key, i) => expect(many[i]!.id).toBe(ring.lookup(key).id));
    }
  });

  it('writes into a given out array (longer, shorter or empty before), returns it, and leaves it as it was on bad input', async () => {
    fc.assert(
      fc.property(clusterArb(1, 8), fc.array(fc.string(), { maxLength: 3000 }), fc.nat(3000), (c, keys, before) => {
        const ring = build(c);
        const sentinel = { id: 'not-a-node' };
        const out = Array.from({ length: before }, () => sentinel);
        const result = ring.lookupMany(keys, out);
        expect(result).toBe(out);
        expect(out).toHaveLength(keys.length);
        keys.forEach((key, i) => expect(out[i]).toBe(ring.lookup(key)));
      }),
      { numRuns: 40 },
    );
    const ring = await HashRing.create([{ id: 'a' }, { id: 'b' }]);
    const keys = Array.from({ length: 2500 }, (_, i) => `k${i}`);
    const out = ring.lookupMany(keys);
    const copy = [...out];
    // A bad key past the first chunk: nothing is written.
    expect(() => ring.lookupMany([...keys.slice(0, 2000), 7 as unknown as string], out)).toThrow(expect.objectContaining({ code: 'INVALID_OPTION', message: 'keys must be strings, got 7' }));
    expect(out).toEqual(copy);
    for (const bad of [{}, 'x', new Uint32Array(2), null]) {
      expect(() => ring.lookupMany(['x'], bad as unknown as never[])).toThrow(expect.objectContaining({ code: 'INVALID_OPTION', message: expect.stringMatching(/^lookupMany\(\)'s out must be an array/) }));
    }
    const empty = await HashRing.create();
    expect(() => empty.lookupMany(['x'], out)).toThrow(expect.objectContaining({ code: 'EMPTY_RING' }));
    expect(out).toEqual(copy);
    expect(empty.lookupMany([], out)).toEqual([]);
  });

  it('throws EMPTY_RING on an empty ring with keys, returns [] for no keys, and rejects bad input', async () => {
    const empty = await HashRing.create();
    expect(empty.lookupMany([])).toEqual([]);
    expect(() => empty.lookupMany(['x'])).toThrow(expect.objectContaining({ code: 'EMPTY_RING' }));
    const ring = await HashRing.create([{ id: 'a' }]);
    expect(() => ring.lookupMany(['x', 7 as unknown as string])).toThrow(expect.objectContaining({ code: 'INVALID_OPTION', message: 'keys must be strings, got 7' }));
    expect(() => ring.lookupMany(undefined as unknown as string[])).toThrow(expect.objectContaining({ code: 'INVALID_OPTION' }));
    // The ring is still usable after an error in the middle of a batch.
    expect(ring.lookupMany(['x', 'y']).map((n) => n.id)).toEqual(['a', 'a']);
  });

  it('stays correct when a custom hasher calls lookupMany on the same ring', () => {
    let inner: HashRing | undefined;
    let depth = 0;
    const reentrant: Hasher = {
      name: 'reentrant',
      hash(key) {
        if (inner !== undefined && depth === 0 && key === 'k3') {
          depth++;
          inner.lookupMany(['z1', 'z2', 'z3']);
          depth--;
        }
        return coarse.hash(key);
      },
    };
    const ring = new HashRing({ hasher: reentrant, vnodes: 8 }, [{ id: 'a' }, { id: 'b' }, { id: 'c' }]);
    inner = ring;
    const keys = Array.from({ length: 10 }, (_, i) => `k${i}`);
    const many = ring.lookupMany(keys).map((n) => n.id);
    inner = undefined;
    expect(many).toEqual(keys.map((k) => ring.lookup(k).id));
  });
});
