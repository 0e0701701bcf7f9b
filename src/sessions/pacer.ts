/**
 * Runs queued jobs at most `ratePerSecond` a second, in small batches on a
 * timer whose period varies by +/- `jitter`, so the sessions a ring change
 * moves reconnect to their new owner as a steady trickle, not a storm.
 *
 * The budget grows with the time that really passed, so a timer that fires
 * late (a busy event loop) catches up instead of slowing the pace down, but
 * it never saves up more than 100 ms worth of jobs (or one batch, if more):
 * no burst is ever larger than that. After an idle spell the first tick runs
 * one batch.
 */
export class Pacer {
  readonly #queue = new Set<string>();
  #rate = 0;
  readonly #jitter: number;
  readonly #run: (key: string) => void;
  readonly #random: () => number;
  #tickMs = 0;
  #batch = 0;
  #cap = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #last = 0;
  #budget = 0;
  #idle = true;

  constructor(ratePerSecond: number, jitter: number, run: (key: string) => void, random: () => number = Math.random) {
    this.#jitter = jitter;
    this.#run = run;
    this.#random = random;
    this.rate = ratePerSecond;
  }

  /** Jobs a second. */
  get rate(): number {
    return this.#rate;
  }

  /** Changes the pace from the next tick on (jobs already run stay run; the budget saved up is kept within the new cap). */
  set rate(ratePerSecond: number) {
    this.#rate = ratePerSecond;
    // About 100 ticks a second at high rates, one job per tick at low ones.
    this.#tickMs = Math.min(1000, Math.max(10, 1000 / ratePerSecond));
    this.#batch = Math.max(1, (ratePerSecond * this.#tickMs) / 1000);
    this.#cap = Math.max(this.#batch, ratePerSecond / 10);
    this.#budget = Math.min(this.#budget, this.#cap);
  }

  /** Jobs waiting. */
  get size(): number {
    return this.#queue.size;
  }

  /** Queues `key` (once: a key already queued keeps its place). The first batch runs on the next tick of the event loop. */
  add(key: string): void {
    this.#queue.add(key);
    if (this.#timer === undefined) this.#schedule(0);
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#queue.clear();
    this.#idle = true;
  }

  #tick(): void {
    this.#timer = undefined;
    const now = performance.now();
    if (this.#idle) {
      this.#idle = false;
      this.#budget = this.#batch;
    } else {
      this.#budget = Math.min(this.#cap, this.#budget + ((now - this.#last) * this.#rate) / 1000);
    }
    this.#last = now;
    for (const key of this.#queue) {
      if (this.#budget < 1) break;
      this.#budget -= 1;
      this.#queue.delete(key);
      this.#run(key);
    }
    if (this.#queue.size === 0) {
      this.#idle = true;
      return;
    }
    this.#schedule(this.#tickMs * (1 + this.#jitter * (2 * this.#random() - 1)));
  }

  #schedule(delay: number): void {
    this.#timer = setTimeout(() => this.#tick(), delay);
    (this.#timer as { unref?: () => void }).unref?.();
  }
}
