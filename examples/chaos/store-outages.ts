/**
 * When the store was out of service during the chaos phase: a Redis pause,
 * or a fail-over from the primary's kill until Sentinel names the new one.
 * Nothing in the cluster can converge while the store is out (no ring
 * write, no heartbeat lands), so that time is the store fault's, measured
 * there, and is not counted against another fault converging meanwhile.
 */
export class StoreOutages {
  readonly #spans: Array<[from: number, to: number]> = [];
  #openSince: number | null = null;

  /** The store went out at `at` (ms from the start of the chaos phase). */
  begin(at: number): void {
    this.#openSince ??= at;
  }

  /** The store is back at `at`. */
  end(at: number): void {
    if (this.#openSince === null) return;
    this.#spans.push([this.#openSince, Math.max(at, this.#openSince)]);
    this.#openSince = null;
  }

  /** How many ms of [from, to] the store was out (an outage still going counts up to `to`). */
  overlap(from: number, to: number): number {
    let total = 0;
    const spans = this.#openSince === null ? this.#spans : [...this.#spans, [this.#openSince, to] as [number, number]];
    for (const [a, b] of spans) total += Math.max(0, Math.min(b, to) - Math.max(a, from));
    return total;
  }
}
