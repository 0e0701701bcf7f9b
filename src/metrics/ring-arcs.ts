import type { HashRing } from '../ring/hash-ring.js';

/** Beyond this many arcs, the drawing is reduced to {@link BUCKETS} equal slices (each painted by its owner). */
const MAX_ARCS = 8192;
const BUCKETS = 4096;

/**
 * The ring as owner arcs, for drawing: a flat array of `[start, end, node]`
 * triples where `start`/`end` are fractions of the hash space in [0, 1] and
 * `node` indexes `ring.nodes()` (sorted by id). Consecutive arcs of one owner
 * are merged. The arcs are the ring's own ({@link HashRing.arcs}, for every
 * placement), so the drawing is the ring, not an estimate; past
 * {@link MAX_ARCS} arcs it is sampled.
 */
export function ringArcs(ring: HashRing): number[] {
  const out = ring.arcs();
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
