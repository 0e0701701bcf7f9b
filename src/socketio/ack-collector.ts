/**
 * The remote half of one `emitWithAck` to a cluster. Socket.IO's broadcast
 * operator completes when it has had one client count per server of
 * `serverCount()` and as many acks as the counts add up to. Only some servers
 * are asked here (a keyed room's owner and the nodes it forwards to), so the
 * collector answers for the whole cluster at once: when every asked server
 * has given its count and all its acks (or left), it reports the total once
 * and a zero for each remaining server slot. A server that leaves with acks
 * outstanding is counted for the acks that arrived, so the emit resolves with
 * what arrived instead of waiting out its timeout.
 */
export class AckCollector {
  readonly #slots: number;
  readonly #count: (clientCount: number) => void;
  readonly #ack: (...args: unknown[]) => void;
  readonly #nodes = new Map<string, { count: number | undefined; acks: number; gone: boolean }>();
  #done = false;

  /**
   * @param slots remote servers the operator waits for (`serverCount() - 1`)
   * @param asked the nodes the request went to and that will answer
   */
  constructor(slots: number, asked: Iterable<string>, count: (clientCount: number) => void, ack: (...args: unknown[]) => void) {
    this.#slots = slots;
    this.#count = count;
    this.#ack = ack;
    for (const node of asked) this.#entry(node);
    this.#check();
  }

  get done(): boolean {
    return this.#done;
  }

  /** A server's client count, with the nodes it forwarded the request to. */
  counted(node: string, clientCount: number, forwardedTo: readonly string[]): void {
    if (this.#done) return;
    const entry = this.#entry(node);
    if (entry.count === undefined) entry.count = clientCount;
    for (const next of forwardedTo) this.#entry(next);
    this.#check();
  }

  /** One client's ack, relayed by `node`. */
  acked(node: string, response: unknown): void {
    if (this.#done || this.#slots === 0) return;
    this.#entry(node).acks++;
    this.#ack(response);
    this.#check();
  }

  /** `node` left the cluster (or nobody listens at its address). */
  gone(node: string): void {
    const entry = this.#nodes.get(node);
    if (this.#done || entry === undefined) return;
    entry.gone = true;
    this.#check();
  }

  #entry(node: string): { count: number | undefined; acks: number; gone: boolean } {
    let entry = this.#nodes.get(node);
    if (entry === undefined) this.#nodes.set(node, (entry = { count: undefined, acks: 0, gone: false }));
    return entry;
  }

  #check(): void {
    if (this.#done) return;
    let total = 0;
    for (const entry of this.#nodes.values()) {
      if (entry.gone) {
        total += entry.acks;
        continue;
      }
      if (entry.count === undefined || entry.acks < entry.count) return;
      total += entry.count;
    }
    this.#done = true;
    if (this.#slots === 0) return;
    this.#count(total);
    for (let slot = 1; slot < this.#slots; slot++) this.#count(0);
  }
}

/**
 * The remote half of a `fetchSockets` or `serverSideEmit` with ack: waits for
 * one answer from each asked peer (and from the nodes they forwarded to),
 * stops waiting for a peer that leaves, and fails after `timeoutMs` with the
 * answers that arrived.
 */
export class PeerRequest {
  readonly #waiting = new Set<string>();
  readonly #answered = new Set<string>();
  readonly responses: unknown[];
  readonly #expected: number;
  readonly #finish: (error: Error | null, responses: unknown[]) => void;
  readonly #timer: ReturnType<typeof setTimeout>;
  #done = false;

  constructor(asked: Iterable<string>, initial: unknown[], timeoutMs: number, finish: (error: Error | null, responses: unknown[]) => void) {
    for (const peer of asked) this.#waiting.add(peer);
    this.#expected = this.#waiting.size;
    this.responses = initial;
    this.#finish = finish;
    this.#timer = setTimeout(() => {
      const got = this.#answered.size;
      this.#end(new Error(`timeout reached: only ${got} responses received out of ${Math.max(this.#expected, got + this.#waiting.size)}`));
    }, timeoutMs);
    this.#timer.unref?.();
    if (this.#waiting.size === 0) this.#end(null);
  }

  get done(): boolean {
    return this.#done;
  }

  answered(peer: string, items: readonly unknown[], forwardedTo: readonly string[] = []): void {
    if (this.#done || this.#answered.has(peer)) return;
    this.#answered.add(peer);
    this.#waiting.delete(peer);
    for (const item of items) this.responses.push(item);
    for (const next of forwardedTo) if (!this.#answered.has(next)) this.#waiting.add(next);
    if (this.#waiting.size === 0) this.#end(null);
  }

  gone(peer: string): void {
    if (this.#done || !this.#waiting.delete(peer)) return;
    if (this.#waiting.size === 0) this.#end(null);
  }

  cancel(error: Error): void {
    this.#end(error);
  }

  #end(error: Error | null): void {
    if (this.#done) return;
    this.#done = true;
    clearTimeout(this.#timer);
    this.#finish(error, this.responses);
  }
}
