/**
 * Exclusive time by kind of work in one process: a region entered inside
 * another is taken out of the outer one, so nested parts (a publish made
 * while a node handles a message, a socket write inside a delivery) add up
 * to the wall time spent in all of them, never more. Used only in the
 * timed round of an in-process run: two clock reads per region cost about
 * as much as a ring lookup, so the rounds whose CPU is compared are untimed.
 */
export type Category = 'routing' | 'codec' | 'sender' | 'delivery' | 'transport' | 'clients' | 'rest';

export class CategoryClock {
  readonly micros: Record<Category, number> = { routing: 0, codec: 0, sender: 0, delivery: 0, transport: 0, clients: 0, rest: 0 };
  /** Off: enter and exit do nothing (the untimed rounds). */
  on = false;
  #current: Category = 'rest';
  #since = 0;

  /** Starts attributing time to `category`; returns what to pass to {@link exit}. */
  enter(category: Category): Category {
    if (!this.on) return category;
    const now = performance.now();
    this.micros[this.#current] += (now - this.#since) * 1000;
    this.#since = now;
    const previous = this.#current;
    this.#current = category;
    return previous;
  }

  /** Goes back to the category {@link enter} returned. */
  exit(previous: Category): void {
    if (!this.on) return;
    const now = performance.now();
    this.micros[this.#current] += (now - this.#since) * 1000;
    this.#since = now;
    this.#current = previous;
  }

  /**
   * The split of a round whose process CPU was `totalMicros`: what no region
   * took is the rest. Regions are timed by the wall clock, so on a busy
   * machine (the process waiting for a core inside a region) they can add up
   * to more than the CPU; they are then scaled down to it, in proportion.
   */
  split(totalMicros: number): Record<Category, number> {
    const m = this.micros;
    const timed = m.routing + m.codec + m.sender + m.delivery + m.transport + m.clients;
    const scale = timed > totalMicros && timed > 0 ? totalMicros / timed : 1;
    const part = (x: number): number => Math.max(0, Math.round(x * scale));
    return { routing: part(m.routing), codec: part(m.codec), sender: part(m.sender), delivery: part(m.delivery), transport: part(m.transport), clients: part(m.clients), rest: Math.max(0, Math.round(totalMicros - timed * scale)) };
  }

  /** Zeroes the counts and starts timing (on) or stops (off). */
  reset(on: boolean): void {
    for (const key of Object.keys(this.micros) as Category[]) this.micros[key] = 0;
    this.on = on;
    this.#current = 'rest';
    this.#since = performance.now();
  }
}

/**
 * Times every `JSON.parse` and `JSON.stringify` of this process as `codec`
 * while `clock` is on: every message on the transport, every frame to and
 * from a client is JSON, so this is the codec's whole cost, measured where
 * it runs without touching the library. Returns the function that puts the
 * originals back; only the timed round installs it.
 */
export function timeJson(clock: CategoryClock): () => void {
  const { parse, stringify } = JSON;
  JSON.parse = function timedParse(this: unknown, text: string, reviver?: Parameters<typeof parse>[1]) {
    const previous = clock.enter('codec');
    try {
      return parse.call(JSON, text, reviver);
    } finally {
      clock.exit(previous);
    }
  } as typeof parse;
  JSON.stringify = function timedStringify(this: unknown, ...args: Parameters<typeof stringify>) {
    const previous = clock.enter('codec');
    try {
      return stringify.apply(JSON, args);
    } finally {
      clock.exit(previous);
    }
  } as typeof stringify;
  return () => {
    JSON.parse = parse;
    JSON.stringify = stringify;
  };
}
