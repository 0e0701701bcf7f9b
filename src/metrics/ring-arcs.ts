import { nodePoints, pointCount } from '../ring/points.js';
import type { HashRing } from '../ring/hash-ring.js';

/** Beyond this many arcs, the drawing is reduced to {@link BUCKETS} equal slices (each painted by its owner). */
const MAX_ARCS = 8192;
const BUCKETS = 4096;
const SPACE = 2 ** 32;

/**
 * The ring as owner arcs, for drawing: a flat array of `[start, end, node]`
 * triples where `start`/`end` are fractions of the hash space in [0, 1] and
 * `node` indexes `ring.nodes()` (sorted by id). Consecutive arcs of one owner
 * are merged. The points are recomputed from the nodes exactly as the ring
 * places them (same hasher, labels and tie-break), so the drawing is the
 * ring, not an estimate; past {@link MAX_ARCS} arcs it is sampled.
 */
export function ringArcs(ring: HashRing): number[] {
  const nodes = ring.nodes();
  if (nodes.length === 0) return [];
  const total = ring.points;
  const hashes = new Float64Array(total);
  const owners = new Uint32Array(total);
  let n = 0;
  nodes.forEach((node, index) => {
    for (const h of nodePoints(ring.hasher, node.id, 0, pointCount(node.weight ?? 1, ring.vnodes))) {
      if (n >= total) return;
      hashes[n] = h;
      owners[n++] = index;
    }
  });
  // By hash; on equal hashes the smaller id (= smaller index, nodes are sorted) wins, as in the ring.
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => hashes[a]! - hashes[b]! || owners[a]! - owners[b]!);
  const out: number[] = [];
  const push = (start: number, end: number, owner: number): void => {
    if (end <= start) return;
    const last = out.length - 3;
    if (last >= 0 && out[last + 2] === owner && out[last + 1] === start) out[last + 1] = end;
    else out.push(start, end, owner);
  };
  const first = order[0]!;
  // The wrap-around arc (last point, 2^32) and [0, first point] belong to the first point.
  for (let k = 0; k < order.length; k++) {
    const i = order[k]!;
    const prev = k === 0 ? 0 : hashes[order[k - 1]!]! / SPACE;
    push(k === 0 ? 0 : prev, hashes[i]! / SPACE, owners[i]!);
  }
  push(hashes[order[order.length - 1]!]! / SPACE, 1, owners[first]!);
  if (out.length / 3 <= MAX_ARCS) return out;
  const sampled: number[] = [];
  let k = 0;
  for (let b = 0; b < BUCKETS; b++) {
    const end = (b + 1) / BUCKETS;
    while (k < out.length && out[k + 1]! < end) k += 3;
    const owner = k < out.length ? out[k + 2]! : out[2]!;
    const last = sampled.length - 3;
    if (last >= 0 && sampled[last + 2] === owner) sampled[last + 1] = end;
    else sampled.push(b / BUCKETS, end, owner);
  }
  return sampled;
}
