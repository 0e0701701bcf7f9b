import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HashRing } from '../../src/index.js';
import {
  build,
  clusterArb,
  keysFor,
  makeNode,
  owners,
  permutationArb,
  pointsOf,
  referenceOwnerAt,
  referencePoints,
  tableHasher,
  xxh32,
} from './support.js';

const run = promisify(execFile);

describe('HashRing determinism', () => {
  it('gives the same owner for every key whatever the insertion order and construction path', async () => {
    await fc.assert(
      fc.asyncProperty(
        clusterArb(1, 8).chain((c) => fc.tuple(fc.constant(c), permutationArb(c.nodes), permutationArb(c.nodes))),
        async ([c, order1, order2]) => {
          const reference = build(c);
          const keys = keysFor(reference);
          const expected = owners(reference, keys);

          const shuffled = build(c, order1);
          const oneByOne = build(c, []);
          for (const node of order2) oneByOne.add(node);
          const viaSetNodes = build(c, []);
          viaSetNodes.setNodes(order1);
          const created = await HashRing.create(order2, { vnodes: c.vnodes, hasher: c.hasher });
          const restored = await HashRing.fromJSON(JSON.parse(JSON.stringify(reference.toJSON())), c.hasher);

          for (const ring of [shuffled, oneByOne, viaSetNodes, created, restored]) {
            expect(ring.points).toBe(reference.points);
            expect(ring.toJSON()).toEqual(reference.toJSON());
            expect(owners(ring, keys)).toEqual(expected);
          }
        },
      ),
      { numRuns: 120 },
    );
  });

  it('ends in the same state after any history that leads to the same members', () => {
    // Extra nodes join, get reweighted and leave again in a random order: slots get
    // reused and arrays re-merged, but the final owners must match a fresh build.
    fc.assert(
      fc.property(
        clusterArb(2, 10).chain((c) =>
          fc.tuple(fc.constant(c), fc.integer({ min: 1, max: c.nodes.length - 1 }), permutationArb(c.nodes.map((_, i) => i))),
        ),
        ([c, keep, order]) => {
          const finalMembers = c.nodes.slice(0, keep);
          const fresh = build(c, finalMembers);
          const ring = build(c, []);
          for (const i of order) ring.add(c.nodes[i]!);
          for (const node of c.nodes.slice(keep)) ring.setNodes(ring.nodes().map((n) => (n.id === node.id ? makeNode(n.id, 2.5) : n)));
          for (const i of order) if (i >= keep) ring.remove(c.nodes[i]!.id);
          const keys = keysFor(fresh, ring);
          expect(ring.toJSON()).toEqual(fresh.toJSON());
          expect(owners(ring, keys)).toEqual(owners(fresh, keys));
        },
      ),
      { numRuns: 120 },
    );
  });

  it('matches an independent model: owner = first point clockwise, points sorted by (hash, id)', () => {
    fc.assert(
      fc.property(clusterArb(1, 8), (c) => {
        const ring = build(c);
        const points = referencePoints(c.hasher, c.vnodes, c.nodes);
        expect(ring.points).toBe(points.length);
        for (const key of keysFor(ring)) {
          expect(ring.lookup(key).id).toBe(referenceOwnerAt(points, c.hasher.hash(key)));
        }
      }),
      { numRuns: 150 },
    );
  });

  it('gives the same owners in another Node process', async () => {
    const nodes = [
      { id: 'gw-a', weight: 1 },
      { id: 'gw-b', weight: 2 },
      { id: 'gw-c', weight: 0.5 },
      { id: 'gw:d' },
      { id: 'gw-é' },
    ];
    const keys = Array.from({ length: 2000 }, (_, i) => `user:${i}`);
    const here = await HashRing.create(nodes);
    const expected = keys.map((k) => here.lookup(k).id);

    // The child builds the ring in reverse order, in a different locale and time zone.
    const script = fileURLToPath(new URL('./fixtures/owners.ts', import.meta.url));
    const { stdout } = await run(process.execPath, ['--import', 'tsx', script], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      env: { ...process.env, LANG: 'tr_TR.UTF-8', LC_ALL: 'tr_TR.UTF-8', TZ: 'Pacific/Chatham' },
      maxBuffer: 1 << 24,
    });
    const fromChild = JSON.parse(stdout) as { pid: number; owners: string[] };
    expect(fromChild.pid).not.toBe(process.pid);
    expect(fromChild.owners).toEqual(expected);
  });

  it('keeps the owners of a fixed cluster stable across versions', async () => {
    // Changing these breaks every deployed ring that mixes versions: do it only on purpose.
    const ring = await HashRing.create([{ id: 'a' }, { id: 'b' }, { id: 'c', weight: 2 }]);
    const got = Object.fromEntries(['user:1', 'user:2', 'user:3', 'user:4', 'user:5', 'session-42', ''].map((k) => [k, ring.lookup(k).id]));
    expect(got).toEqual({ 'user:1': 'c', 'user:2': 'c', 'user:3': 'c', 'user:4': 'c', 'user:5': 'b', 'session-42': 'a', '': 'c' });
    // XXH32("", seed 0) = 0x02CC5D05 is the reference value of the xxHash spec.
    expect(xxh32.hash('')).toBe(0x02cc5d05);
    expect(xxh32.hash('0:a')).toBe(1913553887);
  });
});

describe('HashRing collision rule', () => {
  // Groupcache style: labels hash by hand. Keys are numbers and hash to themselves.
  //
  //   hash:   10      20    30      40
  //   point:  a=b     b     a=c     c        (x=y: both nodes have a point there)
  //   owner:  a       b     a       c        smaller id wins an equal hash
  //
  // Without a:   10 -> b, 20 -> b, 30 -> c, 40 -> c
  const table = tableHasher({ '0:a': 10, '1:a': 30, '0:b': 10, '1:b': 20, '0:c': 30, '1:c': 40 });
  const nodes = [{ id: 'a' }, { id: 'b' }, { id: 'c' }];
  const keys = ['5', '10', '15', '20', '25', '30', '35', '40', '45', '4294967295'];
  const withA = ['a', 'a', 'b', 'b', 'a', 'a', 'c', 'c', 'a', 'a'];
  const withoutA = ['b', 'b', 'b', 'b', 'c', 'c', 'c', 'c', 'b', 'b'];

  it('gives an equal point hash to the smaller id, whatever the insertion order', () => {
    const orders = [
      [0, 1, 2],
      [0, 2, 1],
      [1, 0, 2],
      [1, 2, 0],
      [2, 0, 1],
      [2, 1, 0],
    ];
    for (const order of orders) {
      const list = order.map((i) => nodes[i]!);
      const built = new HashRing({ vnodes: 2, hasher: table }, list);
      const added = new HashRing({ vnodes: 2, hasher: table });
      for (const node of list) added.add(node);
      expect(owners(built, keys)).toEqual(withA);
      expect(owners(added, keys)).toEqual(withA);
    }
  });

  it('hands a tied point to the other node when the winner leaves, and back when it returns', () => {
    const ring = new HashRing({ vnodes: 2, hasher: table }, nodes);
    const left = ring.remove('a');
    expect(owners(ring, keys)).toEqual(withoutA);
    expect(left.movedKeys(keys)).toEqual([
      { key: '5', from: 'a', to: 'b' },
      { key: '10', from: 'a', to: 'b' },
      { key: '25', from: 'a', to: 'c' },
      { key: '30', from: 'a', to: 'c' },
      { key: '45', from: 'a', to: 'b' },
      { key: '4294967295', from: 'a', to: 'b' },
    ]);
    // (40, 10] wraps: one range from a to b; (20, 30] from a to c.
    expect(left.ranges).toEqual([
      { start: 20, end: 30, from: 'a', to: 'c' },
      { start: 40, end: 10, from: 'a', to: 'b' },
    ]);
    const back = ring.add({ id: 'a' });
    expect(owners(ring, keys)).toEqual(withA);
    expect(back.ranges).toEqual([
      { start: 20, end: 30, from: 'c', to: 'a' },
      { start: 40, end: 10, from: 'b', to: 'a' },
    ]);
  });

  it('lets the smaller id win ties on a hasher where points collide all the time', () => {
    // Every node gets the same points: replica r hashes to r * 1000, whatever the id.
    const sameForAll = { name: 'ignores-id', hash: (s: string): number => (s.includes(':') ? Number(s.split(':')[0]) * 1000 : Number(s)) };
    fc.assert(
      fc.property(fc.uniqueArray(fc.string({ minLength: 1, maxLength: 4 }), { minLength: 2, maxLength: 6 }), (ids) => {
        const ring = new HashRing({ vnodes: 3, hasher: sameForAll }, ids.map((id) => ({ id })));
        const smallest = [...ids].sort()[0]!;
        for (const key of ['0', '1', '999', '1000', '2500', '4000']) expect(ring.lookup(key).id).toBe(smallest);
        expect(ring.ownership().get(smallest)).toBe(1);
        const diff = ring.remove(smallest);
        const next = [...ids].sort()[1]!;
        expect(diff.ranges).toEqual([{ start: 2000, end: 2000, from: smallest, to: next }]);
        expect(ring.lookup('1').id).toBe(next);
      }),
      { numRuns: 100 },
    );
  });

  it('orders equal hashes by id in the point arrays as in the model', () => {
    fc.assert(
      fc.property(clusterArb(2, 8), (c) => {
        // With the coarse hasher about half the points share a hash with another.
        const ring = build(c);
        const model = pointsOf(ring);
        for (const p of model) expect(ring.lookup(`@${p.hash}`).id).toBe(referenceOwnerAt(model, p.hash));
      }),
      { numRuns: 100 },
    );
  });
});
