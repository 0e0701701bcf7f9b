/** Full jitter: a uniform delay in [0, min(maxMs, baseMs x 2^attempt)). */
export function fullJitter(attempt: number, baseMs: number, maxMs: number, random: () => number): number {
  return random() * Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
}
