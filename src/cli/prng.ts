/** A seeded pseudo-random generator: the same seed gives the same workload on every machine. */
export interface Random {
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [0, n). */
  int(n: number): number;
}

/**
 * mulberry32: 32 bits of state, fast, and good enough to pick users and
 * groups (not for cryptography).
 */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (n) => Math.floor(next() * n) };
}

/**
 * `k` distinct integers from [0, n), by Floyd's algorithm: k draws, whatever
 * the ratio of k to n. Returned in draw order.
 */
export function sampleDistinct(random: Random, n: number, k: number): number[] {
  const picked = new Set<number>();
  const out: number[] = [];
  for (let j = n - k; j < n; j++) {
    const t = random.int(j + 1);
    const value = picked.has(t) ? j : t;
    picked.add(value);
    out.push(value);
  }
  return out;
}
