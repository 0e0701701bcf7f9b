import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HashRing, MAX_ID_LENGTH, MAX_POINTS, MAX_VNODES, MAX_WEIGHT, RingError, createXxHash32 } from '../../src/index.js';
import type { Hasher, RingErrorCode, RingNode } from '../../src/index.js';
import {
  catchRingError,
  catchRingErrorAsync,
  fingerprint,
  keysFor,
  makeNode,
  nodeArb,
  nodesArb,
  probeXxh,
  vnodesArb,
  xxh32,
} from './support.js';

/** Any label holding a skull hashes to -1: a hasher bug the ring must catch. */
const SKULL = '☠';
const poisoned: Hasher = { name: 'poisoned', hash: (s: string): number => (s.includes(SKULL) ? -1 : probeXxh.hash(s)) };
/** Generated ids can be any grapheme, the skull included: the valid ones must not hold it. */
const unpoisoned = (n: RingNode): boolean => !n.id.includes(SKULL);

/** Nodes that must be refused, with the message fragment that says why. */
const badNodes: Array<[label: string, node: unknown, message: RegExp]> = [
  ['null', null, /must be an object/],
  ['a string', 'node-1', /must be an object/],
  ['an array', [{ id: 'a' }], /must be an object/],
  ['no id', { weight: 1 }, /id must be a non-empty string, got undefined/],
  ['an empty id', { id: '' }, /id must be a non-empty string, got ""/],
  ['a numeric id', { id: 42 }, /id must be a non-empty string, got 42/],
  ['an object id', { id: { toString: () => 'a' } }, /id must be a non-empty string, got object/],
  ['an id over the length cap', { id: 'x'.repeat(MAX_ID_LENGTH + 1) }, new RegExp(`limit is ${MAX_ID_LENGTH}`)],
  ['a lone surrogate in the id', { id: 'a\uD800' }, /well-formed/],
  ['weight 0', { id: 'w', weight: 0 }, /weight of node "w" must be a finite number in \(0, 100\], got 0/],
  ['a negative weight', { id: 'w', weight: -1 }, /got -1/],
  ['weight NaN', { id: 'w', weight: Number.NaN }, /got NaN/],
  ['weight Infinity', { id: 'w', weight: Number.POSITIVE_INFINITY }, /got Infinity/],
  ['a weight above MAX_WEIGHT', { id: 'w', weight: MAX_WEIGHT + 0.5 }, /got 100.5/],
  ['a string weight', { id: 'w', weight: '2' }, /got "2"/],
  ['meta that is not an object', { id: 'm', meta: 'url' }, /meta of node "m" must be an object of strings/],
  ['a meta value that is not a string', { id: 'm', meta: { port: 8080 } }, /meta\["port"\] of node "m" must be a string/],
  ['a meta key "__proto__"', { id: 'm', meta: JSON.parse('{"__proto__":"x"}') as unknown }, /meta of node "m" has the key "__proto__"/],
  ['a 1 MB meta key', { id: 'm', meta: { ['k'.repeat(1 << 20)]: 1 } }, /meta\["k{10,76}\.\.\.\] of node "m" must be a string/],
  ['a getter that throws', { get id(): string { throw new Error('boom'); } }, /node(s\[1\])? could not be read: boom/],
  ['meta whose getter throws', { id: 'm', meta: { get url(): string { throw new Error('bad meta'); } } }, /meta of node "m" could not be read: bad meta/],
];

describe('bad node lists', () => {
  it('turns an iterable that throws into INVALID_NODE, leaving the ring unchanged', () => {
    const ring = new HashRing({ hasher: xxh32, vnodes: 4 }, [{ id: 'keep' }]);
    function* failing(): Generator<RingNode> {
      yield { id: 'a' };
      throw new Error('iterator broke');
    }
    const throwingIterator = { [Symbol.iterator]: () => { throw new Error('no iterator'); } } as unknown as Iterable<RingNode>;
    for (const input of [failing(), throwingIterator]) {
      let caught: unknown;
      try {
        ring.setNodes(input);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(RingError);
      expect((caught as RingError).code).toBe('INVALID_NODE');
      expect((caught as RingError).message).toMatch(/nodes could not be read: (iterator broke|no iterator)/);
    }
    expect(ring.nodes()).toEqual([{ id: 'keep' }]);
  });

  it('never echoes a huge meta key whole in a message', () => {
    let message = '';
    try {
      new HashRing({ hasher: xxh32 }, [{ id: 'm', meta: { ['k'.repeat(1 << 20)]: 'x'.repeat(5000) } }]);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/longer than 4096/);
    expect(message.length).toBeLessThan(300);
  });
});

describe('RingError', () => {
  it('is an Error with a name, a code and a message', () => {
    const error = new RingError('EMPTY_RING', 'nothing here');
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('RingError');
    expect(error.code).toBe('EMPTY_RING');
    expect(error.message).toBe('nothing here');
  });
});

describe('HashRing bad input', () => {
  it.each(badNodes)('refuses a node with %s, in add, setNodes, the constructor and create', async (_label, node, message) => {
    const ring = new HashRing({ hasher: xxh32, vnodes: 4 }, [{ id: 'keep' }]);
    const before = fingerprint(ring, ['a', 'b', 'c']);
    for (const call of [
      () => ring.add(node as RingNode),
      () => ring.setNodes([{ id: 'keep' }, node as RingNode]),
      () => new HashRing({ hasher: xxh32 }, [{ id: 'z' }, node as RingNode]),
    ]) {
      const error = catchRingError(call);
      expect(error.code).toBe('INVALID_NODE');
      expect(error.message).toMatch(message);
    }
    const error = await catchRingErrorAsync(() => HashRing.create([node as RingNode], { hasher: xxh32 }));
    expect(error.code).toBe('INVALID_NODE');
    expect(fingerprint(ring, ['a', 'b', 'c'])).toEqual(before);
  });

  const badVnodes: unknown[] = [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, MAX_VNODES + 1, '160', null];
  it.each(badVnodes.map((v) => [v]))('refuses vnodes = %s', async (vnodes) => {
    const error = catchRingError(() => new HashRing({ hasher: xxh32, vnodes: vnodes as number }));
    expect(error.code).toBe('INVALID_OPTION');
    expect(error.message).toMatch(new RegExp(`vnodes must be an integer in \\[1, ${MAX_VNODES}\\]`));
    expect((await catchRingErrorAsync(() => HashRing.create([], { vnodes: vnodes as number }))).code).toBe('INVALID_OPTION');
  });

  it('accepts vnodes at both ends of the documented range', () => {
    expect(new HashRing({ hasher: xxh32, vnodes: 1 }, [{ id: 'a' }]).points).toBe(1);
    expect(new HashRing({ hasher: xxh32, vnodes: MAX_VNODES }, [{ id: 'a' }]).points).toBe(MAX_VNODES);
  });

  it('refuses options without a proper hasher', () => {
    const cases: unknown[] = [null, undefined, 'xxh32', {}, { hasher: null }, { hasher: { name: 'x' } }, { hasher: { name: '', hash: () => 1 } }, { hasher: { hash: () => 1 } }];
    for (const options of cases) {
      const error = catchRingError(() => new HashRing(options as { hasher: Hasher }));
      expect(error.code).toBe('INVALID_OPTION');
      expect(error.message).toMatch(/hasher/);
    }
  });

  it('refuses a hasher that returns something other than an unsigned 32-bit integer', () => {
    for (const value of [-1, 1.5, 2 ** 32, Number.NaN, '5', undefined]) {
      const bad: Hasher = { name: 'bad', hash: () => value as number };
      const error = catchRingError(() => new HashRing({ hasher: bad }, [{ id: 'a' }]));
      expect(error.code).toBe('INVALID_OPTION');
      expect(error.message).toMatch(/hasher "bad" returned .*; it must return an unsigned 32-bit integer/);
    }
  });

  it('refuses repeated ids in setNodes, the constructor and create', async () => {
    const ring = new HashRing({ hasher: xxh32 }, [{ id: 'a' }]);
    const list = [{ id: 'a' }, { id: 'b' }, { id: 'a', weight: 2 }];
    for (const call of [() => ring.setNodes(list), () => new HashRing({ hasher: xxh32 }, list)]) {
      const error = catchRingError(call);
      expect(error.code).toBe('DUPLICATE_NODE');
      expect(error.message).toMatch(/node id "a" appears more than once/);
    }
    expect((await catchRingErrorAsync(() => HashRing.create(list))).code).toBe('DUPLICATE_NODE');
    expect(ring.nodes()).toEqual([{ id: 'a' }]);
  });

  it('refuses to add an id twice and to remove an unknown id', () => {
    const ring = new HashRing({ hasher: xxh32 }, [{ id: 'a' }]);
    const dup = catchRingError(() => ring.add({ id: 'a', weight: 2 }));
    expect(dup.code).toBe('DUPLICATE_NODE');
    expect(dup.message).toMatch(/node "a" is already on the ring/);
    const unknown = catchRingError(() => ring.remove('b'));
    expect(unknown.code).toBe('UNKNOWN_NODE');
    expect(unknown.message).toMatch(/node "b" is not on the ring/);
    for (const id of ['', 5, null, undefined]) expect(catchRingError(() => ring.remove(id as string)).code).toBe('INVALID_NODE');
  });

  it('refuses membership that is not a list of nodes', () => {
    const ring = new HashRing({ hasher: xxh32 });
    for (const nodes of [null, 42, 'ab', { id: 'a' }]) {
      const error = catchRingError(() => ring.setNodes(nodes as Iterable<RingNode>));
      expect(error.code).toBe('INVALID_NODE');
      expect(error.message).toMatch(/must be an iterable of nodes/);
    }
  });

  it('throws EMPTY_RING from lookup and lookupN on an empty ring', () => {
    const ring = new HashRing({ hasher: xxh32 });
    for (const call of [() => ring.lookup('k'), () => ring.lookupN('k', 2)]) {
      const error = catchRingError(call);
      expect(error.code).toBe('EMPTY_RING');
      expect(error.message).toMatch(/the ring has no nodes/);
    }
    ring.add({ id: 'a' });
    ring.remove('a');
    expect(catchRingError(() => ring.lookup('k')).code).toBe('EMPTY_RING');
  });

  it('refuses lookupN with n that is not an integer >= 1, and keys that are not strings', () => {
    const ring = new HashRing({ hasher: xxh32 }, [{ id: 'a' }]);
    for (const n of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '2', null]) {
      const error = catchRingError(() => ring.lookupN('k', n as number));
      expect(error.code).toBe('INVALID_OPTION');
      expect(error.message).toMatch(/lookupN needs an integer n >= 1, got/);
    }
    for (const key of [5, null, undefined, { toString: () => 'k' }]) {
      expect(catchRingError(() => ring.lookup(key as string)).code).toBe('INVALID_OPTION');
      expect(catchRingError(() => ring.lookupN(key as string, 2)).code).toBe('INVALID_OPTION');
    }
  });

  it('refuses a change that would put more than MAX_POINTS points on the ring, before hashing anything', () => {
    let hashed = 0;
    const counting: Hasher = { name: 'counting', hash: (s) => (hashed++, xxh32.hash(s)) };
    const ring = new HashRing({ hasher: counting, vnodes: MAX_VNODES }, [{ id: 'a' }]);
    hashed = 0;
    const heavy = Array.from({ length: Math.ceil(MAX_POINTS / (MAX_VNODES * MAX_WEIGHT)) }, (_, i) => ({ id: `n${i}`, weight: MAX_WEIGHT }));
    const error = catchRingError(() => ring.setNodes(heavy));
    expect(error.code).toBe('INVALID_NODE');
    expect(error.message).toMatch(new RegExp(`the limit is ${MAX_POINTS}`));
    expect(hashed).toBe(0);
    expect(ring.nodes()).toEqual([{ id: 'a' }]);
  });

  it('refuses bad xxHash32 seeds', async () => {
    for (const seed of [-1, 1.5, 2 ** 32, Number.NaN, '7']) {
      const error = await catchRingErrorAsync(() => createXxHash32(seed as number));
      expect(error.code).toBe('INVALID_OPTION');
      expect(error.message).toMatch(/seed must be an integer in \[0, 2\^32\)/);
    }
  });
});

describe('HashRing.fromJSON bad input', () => {
  const good = { version: 1, hasher: 'xxh32', vnodes: 8, nodes: [{ id: 'a' }, { id: 'b', weight: 2 }] };
  const invalid: Array<[label: string, snapshot: unknown, message: RegExp]> = [
    ['null', null, /a snapshot must be an object, got null/],
    ['a string', '{"version":1}', /must be an object/],
    ['an array', [good], /must be an object, got array\(1\)/],
    ['version 2', { ...good, version: 2 }, /snapshot.version must be 1, got 2/],
    ['no version', { ...good, version: undefined }, /snapshot.version must be 1/],
    ['no hasher', { ...good, hasher: undefined }, /snapshot.hasher must be a non-empty string/],
    ['an empty hasher', { ...good, hasher: '' }, /snapshot.hasher must be a non-empty string/],
    ['vnodes 0', { ...good, vnodes: 0 }, /snapshot.vnodes must be an integer in \[1, 10000\], got 0/],
    ['fractional vnodes', { ...good, vnodes: 1.5 }, /got 1.5/],
    ['vnodes above MAX_VNODES', { ...good, vnodes: MAX_VNODES + 1 }, /got 10001/],
    ['string vnodes', { ...good, vnodes: '8' }, /got "8"/],
    ['nodes that are not an array', { ...good, nodes: { a: { id: 'a' } } }, /snapshot.nodes must be an array/],
    ['a node without id', { ...good, nodes: [{ id: 'a' }, { weight: 1 }] }, /snapshot.nodes\[1\].id must be a non-empty string/],
    ['a node with weight 0', { ...good, nodes: [{ id: 'a', weight: 0 }] }, /weight of node "a"/],
    ['repeated ids', { ...good, nodes: [{ id: 'a' }, { id: 'a' }] }, /node id "a" appears more than once in snapshot.nodes/],
  ];

  it.each(invalid)('refuses a snapshot with %s (INVALID_SNAPSHOT)', async (_label, snapshot, message) => {
    const error = await catchRingErrorAsync(() => HashRing.fromJSON(snapshot));
    expect(error.code).toBe('INVALID_SNAPSHOT');
    expect(error.message).toMatch(message);
  });

  it('refuses a snapshot of another hasher (HASHER_MISMATCH)', async () => {
    const seeded = await createXxHash32(7);
    const cases: Array<[unknown, Hasher | undefined, RegExp]> = [
      [{ ...good, hasher: 'md5' }, undefined, /built with hasher "md5": pass that hasher to fromJSON/],
      [{ ...good, hasher: 'xxh32:seed=07' }, undefined, /"xxh32:seed=07"/],
      [{ ...good, hasher: 'xxh32:seed=0' }, undefined, /"xxh32:seed=0"/],
      [{ ...good, hasher: 'xxh32:seed=4294967296' }, undefined, /seed=4294967296/],
      [good, seeded, /built with hasher "xxh32" but "xxh32:seed=7" was given/],
      [{ ...good, hasher: 'xxh32:seed=7' }, xxh32, /built with hasher "xxh32:seed=7" but "xxh32" was given/],
    ];
    for (const [snapshot, hasher, message] of cases) {
      const error = await catchRingErrorAsync(() => HashRing.fromJSON(snapshot, hasher));
      expect(error.code).toBe('HASHER_MISMATCH');
      expect(error.message).toMatch(message);
    }
  });
});

type BadCall = { readonly name: string; readonly code: RingErrorCode; readonly run: (ring: HashRing) => unknown };

/** Bad calls built against the ring's current members. */
function badCallArb(members: readonly RingNode[]): fc.Arbitrary<BadCall> {
  const badNode = fc.constantFrom(...badNodes.map(([, node]) => node as RingNode));
  const fresh = nodeArb.filter((n) => unpoisoned(n) && !members.some((m) => m.id === n.id));
  const validList = fc.subarray([...members]).chain((kept) => fc.tuple(fc.constant(kept), fc.uniqueArray(fresh, { selector: (n) => n.id, maxLength: 3 })));
  const calls: Array<fc.Arbitrary<BadCall>> = [
    badNode.map((node) => ({ name: 'add(bad node)', code: 'INVALID_NODE' as const, run: (r: HashRing) => r.add(node) })),
    fresh.map((n) => ({ name: 'add(poisoned)', code: 'INVALID_OPTION' as const, run: (r: HashRing) => r.add(makeNode(`${n.id}${SKULL}`, n.weight)) })),
    nodeArb.filter((n) => !members.some((m) => m.id === `${n.id}?`)).map((n) => ({
      name: 'remove(unknown)',
      code: 'UNKNOWN_NODE' as const,
      run: (r: HashRing) => r.remove(`${n.id}?`),
    })),
    fc.constantFrom('', 1, null).map((id) => ({ name: 'remove(not a string)', code: 'INVALID_NODE' as const, run: (r: HashRing) => r.remove(id as string) })),
    fc.constantFrom(0, -2, 0.5, Number.NaN).map((n) => ({ name: 'lookupN(bad n)', code: 'INVALID_OPTION' as const, run: (r: HashRing) => r.lookupN('k', n) })),
    fc.tuple(validList, badNode, fc.nat()).map(([[kept, joining], node, at]) => {
      const list: RingNode[] = [...kept, ...joining];
      list.splice(at % (list.length + 1), 0, node);
      return { name: 'setNodes(list with a bad node)', code: 'INVALID_NODE' as const, run: (r: HashRing) => r.setNodes(list) };
    }),
    fc.tuple(validList, fc.nat()).map(([[kept, joining], at]) => {
      // The poisoned node is last, so earlier newcomers are hashed before the failure.
      const list: RingNode[] = [...joining, ...kept, { id: `zz${SKULL}${at}` }];
      return { name: 'setNodes(list with a poisoned node)', code: 'INVALID_OPTION' as const, run: (r: HashRing) => r.setNodes(list) };
    }),
  ];
  if (members.length > 0) {
    calls.push(
      fc.constantFrom(...members).map((m) => ({ name: 'add(duplicate)', code: 'DUPLICATE_NODE' as const, run: (r: HashRing) => r.add(makeNode(m.id, 2)) })),
      fc.tuple(validList, fc.constantFrom(...members), fc.nat()).map(([[kept, joining], dup, at]) => {
        const list: RingNode[] = [...kept, ...joining];
        list.splice(at % (list.length + 1), 0, makeNode(dup.id, 3));
        if (!kept.includes(dup)) list.push(dup);
        return { name: 'setNodes(repeated id)', code: 'DUPLICATE_NODE' as const, run: (r: HashRing) => r.setNodes(list) };
      }),
    );
  }
  return fc.oneof(...calls);
}

describe('HashRing after a call that threw', () => {
  it('is unchanged: same snapshot, points, owners, replicas and ownership', () => {
    fc.assert(
      fc.property(
        fc.record({ nodes: nodesArb(0, 6).filter((ns) => ns.every(unpoisoned)), vnodes: vnodesArb }).chain((c) => fc.tuple(fc.constant(c), fc.array(badCallArb(c.nodes), { minLength: 1, maxLength: 4 }))),
        ([c, calls]) => {
          const ring = new HashRing({ vnodes: c.vnodes, hasher: poisoned }, c.nodes);
          const keys = keysFor(ring);
          const before = fingerprint(ring, keys);
          const clone = ring.clone();
          for (const call of calls) {
            const error = catchRingError(() => call.run(ring));
            expect(error.code, call.name).toBe(call.code);
            expect(error.message.length).toBeGreaterThan(10);
            expect(fingerprint(ring, keys)).toEqual(before);
          }
          // And it still works: a valid change afterwards gives the same result as on an untouched clone.
          const extra = { id: 'after-the-errors' };
          expect(ring.add(extra).ranges).toEqual(clone.add(extra).ranges);
          expect(fingerprint(ring, keys)).toEqual(fingerprint(clone, keys));
        },
      ),
      { numRuns: 200 },
    );
  });
});
