/**
 * Keeps a handoff's closes no faster than the cluster takes the users back.
 * A node's paced closes only say how fast sessions leave; how fast they come
 * back depends on the gateways and nodes taking them (the one new node, for a
 * selective join), on the traffic running and on the machine. Closing faster
 * than that turns the handoff into the storm it exists to avoid: users wait
 * in queues, time out and retry.
 *
 * Every second the controller compares the users not connected with what
 * the cluster reconnects in two seconds (at the rate it connected at): while
 * more wait, every node's pace is cut to 70%; while fewer do, it grows by a
 * quarter, up to the base pace; never below a tenth of it.
 */
export interface PaceSample {
  /** Users not connected now. */
  readonly waiting: () => number;
  /** Sets every node's pace (closes a second, each). */
  readonly setPace: (perSecond: number) => Promise<void>;
}

const PERIOD_MS = 1000;
const CUT = 0.7;
const GROW = 1.25;

export class PaceController {
  readonly #base: number;
  readonly #limit: number;
  readonly #s: PaceSample;
  #pace: number;
  #slowest: number;
  #timer: ReturnType<typeof setInterval> | undefined;
  #busy = false;

  /** `base`: each node's pace at best; `backlog`: users waiting above which the closes slow down. */
  constructor(base: number, backlog: number, sample: PaceSample) {
    this.#base = base;
    this.#limit = backlog;
    this.#s = sample;
    this.#pace = base;
    this.#slowest = base;
  }

  get pace(): number {
    return this.#pace;
  }

  /** The lowest pace set since the start. */
  get slowest(): number {
    return this.#slowest;
  }

  start(): void {
    this.#timer = setInterval(() => void this.#adjust(), PERIOD_MS);
    this.#timer.unref();
  }

  /** Stops adjusting and sets the base pace again. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    if (this.#pace !== this.#base) await this.#s.setPace((this.#pace = this.#base));
  }

  async #adjust(): Promise<void> {
    if (this.#busy) return;
    const waiting = this.#s.waiting();
    const floor = Math.max(1, Math.floor(this.#base / 10));
    const next = waiting > this.#limit ? Math.max(floor, Math.floor(this.#pace * CUT)) : Math.min(this.#base, Math.ceil(this.#pace * GROW));
    if (next === this.#pace) return;
    this.#pace = next;
    this.#slowest = Math.min(this.#slowest, next);
    this.#busy = true;
    try {
      await this.#s.setPace(next);
    } catch {
      // a node that is leaving or gone: the next period tries again
    } finally {
      this.#busy = false;
    }
  }
}
