/**
 * Full jitter ("Exponential Backoff And Jitter", AWS Architecture Blog): a
 * uniform delay in [0, min(maxMs, baseMs x 2^attempt)). N clients that fail
 * together at attempt k arrive at about N / min(maxMs, baseMs x 2^k) per ms,
 * spread evenly instead of in waves.
 */
export function fullJitter(attempt: number, baseMs: number, maxMs: number, random: () => number): number {
  return random() * Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
}

/**
 * The wait after a refusal that carried `Retry-After`: at least
 * `retryAfterMs`, plus a uniform extra in [0, retryAfterMs / 2]. Every client
 * a server refused in the same second reads the same header; without the
 * extra they would all come back in the same instant, and the server would
 * refuse most of them again. Half the wait spreads them over a window as
 * long as half the wait, and keeps the earliest return where the server
 * asked (the same shape as Socket.IO's `randomizationFactor` 0.5, but only
 * upwards).
 */
export function retryAfterDelay(retryAfterMs: number, random: () => number): number {
  return retryAfterMs + random() * (retryAfterMs / 2);
}
