import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HashRing } from '../../src/index.js';
import type { RingNode } from '../../src/index.js';
import { pointLabel } from '../../src/ring/points.js';
import { idArb, nodesArb, recordingHasher, trickyIds, vnodesArb, xxh32 } from './support.js';

const replicaArb = fc.integer({ min: 0, max: 100_000 });

describe('pointLabel', () => {
  it('never gives two different (id, replica) pairs the same label', () => {
    fc.assert(
      fc.property(idArb, replicaArb, idArb, replicaArb, (a, ra, b, rb) => {
        fc.pre(a !== b || ra !== rb);
        expect(pointLabel(a, ra)).not.toBe(pointLabel(b, rb));
      }),
      { numRuns: 2000 },
    );
  });

  it('keeps ids that run into each other apart: node1/node11, 1:a/a, ids holding ":"', () => {
    const pairs: Array<[string, string]> = [
      ['node1', 'node11'],
      ['1:a', 'a'],
      ['a', ':a'],
      [':', '::'],
      ['1', '11'],
      ['0:node1', 'node1'],
    ];
    for (const [a, b] of pairs) {
      const labelsA = new Set(Array.from({ length: 200 }, (_, r) => pointLabel(a, r)));
      const labelsB = Array.from({ length: 200 }, (_, r) => pointLabel(b, r));
      expect(labelsB.filter((l) => labelsA.has(l))).toEqual([]);
    }
    // The naive "<id><replica>" scheme would collide here: node1 + 1 = node11 + "".
    expect(pointLabel('node1', 1)).not.toBe(pointLabel('node11', 0));
    expect(pointLabel('1:a', 0)).not.toBe(pointLabel('a', 1));
  });
});

describe('HashRing point labels', () => {
  it('hashes a disjoint set of labels for every node, exactly its round(vnodes x weight) replicas', () => {
    fc.assert(
      fc.property(
        fc.oneof(nodesArb(1, 8), fc.shuffledSubarray(trickyIds, { minLength: 2 }).map((ids) => ids.map((id): RingNode => ({ id })))),
        vnodesArb,
        (nodes, vnodes) => {
          const hasher = recordingHasher(xxh32);
          const ring = new HashRing({ vnodes, hasher });
          const owner = new Map<string, string>();
          for (const node of nodes) {
            hasher.inputs.length = 0;
            ring.add(node);
            const count = Math.max(1, Math.round(vnodes * (node.weight ?? 1)));
            const expected = Array.from({ length: count }, (_, r) => pointLabel(node.id, r));
            expect([...hasher.inputs].sort()).toEqual(expected.sort());
            for (const label of hasher.inputs) {
              // Two different nodes never hash the same label.
              expect(owner.get(label) ?? node.id).toBe(node.id);
              owner.set(label, node.id);
            }
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('rejects ids with lone surrogates, which UTF-8 hashing would merge with other ids', () => {
    // "\uD800" and "\uD801" both encode as U+FFFD: they would get identical points.
    const ring = new HashRing({ hasher: xxh32 }, [{ id: '\uFFFD' }]);
    for (const id of ['\uD800', 'a\uDC00', '\uDBFF\uDBFF']) {
      expect(() => ring.add({ id })).toThrow(expect.objectContaining({ code: 'INVALID_NODE', message: expect.stringMatching(/well-formed/) }));
    }
    expect(ring.add({ id: '\uD83D\uDE42' }).added).toEqual(['🙂']);
  });
});
