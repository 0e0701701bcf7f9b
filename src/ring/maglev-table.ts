/**
 * The Maglev lookup table (Eisenbud et al., "Maglev: A Fast and Reliable
 * Software Network Load Balancer", NSDI 2016, pseudocode listing 1), with
 * weighted turns as Envoy's `maglev` load balancer takes them. Pure.
 */

/** One node's inputs to the table: where its permutation starts, its step, and its weight. */
export interface MaglevEntry {
  /** First table slot the node tries, in `[0, size)`. */
  readonly offset: number;
  /** Step between the slots it tries, in `[1, size)`. */
  readonly skip: number;
  /** Weight, as any positive scale: a node of weight `max / k` takes a turn every `k` rounds. */
  readonly weight: number;
}

/**
 * Fills a table of `size` slots (a prime, so every skip visits every slot):
 * round after round, each entry in order takes its turn, claiming the next
 * free slot of its permutation `(offset + skip x j) mod size`, until every
 * slot is taken. An entry of weight `w` takes a turn in round `r` when
 * `r x w >= target`, its target growing by `maxWeight` per turn (Envoy's
 * rule, compared in doubles as Envoy does). Returns each slot's entry index.
 */
export function fillMaglev(size: number, entries: readonly MaglevEntry[], maxWeight: number): Uint32Array {
  const n = entries.length;
  const table = new Uint32Array(size);
  const taken = new Uint8Array(size);
  // Each entry's current permutation slot: (offset + skip x next) mod size, stepped by skip.
  const pos = Float64Array.from(entries, (e) => e.offset);
  const target = new Float64Array(n);
  let filled = 0;
  for (let round = 1; filled < size; round++) {
    for (let i = 0; i < n && filled < size; i++) {
      const e = entries[i]!;
      if (round * e.weight < target[i]!) continue;
      target[i]! += maxWeight;
      let c = pos[i]!;
      while (taken[c] === 1) {
        c += e.skip;
        if (c >= size) c -= size;
      }
      table[c] = i;
      taken[c] = 1;
      c += e.skip;
      pos[i] = c >= size ? c - size : c;
      filled++;
    }
  }
  return table;
}

/** Whether `n` is prime (trial division: fast enough for table sizes up to 2^24). */
export function isPrime(n: number): boolean {
  if (!Number.isInteger(n) || n < 2) return false;
  if (n % 2 === 0) return n === 2;
  for (let d = 3; d * d <= n; d += 2) if (n % d === 0) return false;
  return true;
}

/**
 * `x mod m` for integers `0 <= x < 2^53` and `0 < m < 2^31`, by a floored
 * division: V8 computes `%` on a double above the int32 range (half of all
 * 32-bit hashes) with `fmod`, several times slower. The quotient, rounded,
 * can be off by one, hence the correction.
 */
export function modulo(x: number, m: number): number {
  const r = x - Math.floor(x / m) * m;
  return r < 0 ? r + m : r >= m ? r - m : r;
}
