import { buildIndex, newPairs, type Layout } from './points.js';

const SPACE = 2 ** 32;

/**
 * The successor layout equivalent to a nearest-point ring over `points`.
 *
 * With points p0 < p1 < ... (owners o0, o1, ...), a key hash h in (pk, pk+1]
 * goes to pk when h - pk <= pk+1 - h, that is when h <= floor((pk + pk+1) / 2),
 * else to pk+1. So a boundary at mk = floor((pk + pk+1) / 2) owned by ok, for
 * every k (the last one wrapping past 2^32 to p0), gives each hash the same
 * owner under the successor rule (first boundary >= h). Lookups and exact
 * diffs then work unchanged. Equal points keep only the first (the ring
 * orders them by owner id), so boundaries are strictly increasing.
 */
export function nearestLayout(points: Layout): Layout {
  const src = points.pairs;
  // Distinct points only.
  let n = 0;
  const ph = new Uint32Array(points.length);
  const po = new Uint32Array(points.length);
  for (let i = 0; i < points.length; i++) {
    const h = src[2 * i]!;
    if (n > 0 && ph[n - 1] === h) continue;
    ph[n] = h;
    po[n++] = src[2 * i + 1]!;
  }
  const pairs = newPairs(n);
  if (n === 0) return buildIndex(pairs, 0);
  // The wrapping boundary, between the last and the first point.
  const wrap = Math.floor((ph[n - 1]! + ph[0]! + SPACE) / 2);
  const wrapOwner = po[n - 1]!;
  let k = 0;
  // When the wrapping boundary passes 2^32 it lands before p0: it comes first.
  if (wrap >= SPACE) {
    pairs[2 * k] = wrap - SPACE;
    pairs[2 * k++ + 1] = wrapOwner;
  }
  for (let i = 0; i < n - 1; i++) {
    pairs[2 * k] = Math.floor((ph[i]! + ph[i + 1]!) / 2);
    pairs[2 * k++ + 1] = po[i]!;
  }
  if (wrap < SPACE) {
    pairs[2 * k] = wrap;
    pairs[2 * k++ + 1] = wrapOwner;
  }
  return buildIndex(pairs, n);
}
