/**
 * Admission control for work that costs a lot while it is in progress (a
 * WebSocket handshake, an upgrade proxied to a node): at most `maxActive`
 * at once, a bounded FIFO queue with a deadline behind them, and an
 * immediate refusal when the queue is full. A burst is then smoothed (it
 * waits its turn) instead of failed, and the work in progress never grows
 * with the load, so the cost of each item stays what it is on a quiet
 * server: overload costs time, not availability.
 *
 * Groups (for the gateway: the owner node of the user) bound how many
 * slots one group may hold, so one slow or frozen backend fills its share
 * of the slots and no more; items of a group at its cap wait without
 * blocking the items of other groups behind them.
 */
import { RingError, describe } from '../errors.js';

/** Why {@link Admission.enter} refused: the queue was full, or the item waited past `queueTimeoutMs`. */
export type AdmissionRefusal = 'queue-full' | 'queue-timeout';

/** Options of an {@link Admission}. */
export interface AdmissionOptions {
  /** Items in progress at once. */
  readonly maxActive: number;
  /** Items waiting behind them; one more is refused at once (`queue-full`). */
  readonly maxQueued: number;
  /** An item that waited this long is refused (`queue-timeout`). */
  readonly queueTimeoutMs: number;
  /** Items in progress one group may hold; a group at its cap waits. A function is read at each grant (e.g. a share of `maxActive` by the number of backends). @default maxActive */
  readonly maxActivePerGroup?: number | (() => number);
  /** Time source, for tests. @default Date.now */
  readonly now?: () => number;
}

/** A place in an {@link Admission}: granted now, granted later, or refused. */
export interface AdmissionTicket {
  /** True while it holds a slot. */
  readonly granted: boolean;
  /** Frees its slot, or leaves the queue (no callback follows). Idempotent. */
  release(): void;
}

/** Counters of an {@link Admission}. */
export interface AdmissionStats {
  readonly active: number;
  readonly queued: number;
  /** Items granted a slot so far (at once or after waiting). */
  readonly granted: number;
  /** Of those, granted after waiting in the queue. */
  readonly waited: number;
  readonly refused: Readonly<Record<AdmissionRefusal, number>>;
}

type Grant = (ticket: AdmissionTicket) => void;
type Refuse = (reason: AdmissionRefusal) => void;

class Entry implements AdmissionTicket {
  granted = false;
  /** Released, refused or timed out: skipped wherever it still sits in a queue. */
  done = false;
  queued = false;

  constructor(
    readonly group: string,
    readonly deadline: number,
    readonly onGrant: Grant,
    readonly onRefuse: Refuse,
    readonly free: (entry: Entry) => void,
  ) {}

  release(): void {
    this.free(this);
  }
}

/**
 * Slots, a FIFO wait queue with a deadline, and per-group caps. Callbacks
 * run at most once per item: `onGrant` (possibly synchronously inside
 * {@link Admission.enter}) or `onRefuse`. Whoever is granted must
 * `release()` its ticket when the work ends, however it ends.
 */
export class Admission {
  readonly #maxActive: number;
  readonly #maxQueued: number;
  readonly #timeoutMs: number;
  readonly #perGroup: () => number;
  readonly #now: () => number;
  #active = 0;
  readonly #groups = new Map<string, number>();
  /** Arrival order; entries of a group at its cap move to `#parked` so they are not scanned again. */
  #queue: Entry[] = [];
  #head = 0;
  readonly #parked = new Map<string, Entry[]>();
  #queued = 0;
  #timer: ReturnType<typeof setInterval> | undefined;
  #granted = 0;
  #waited = 0;
  readonly #refused: Record<AdmissionRefusal, number> = { 'queue-full': 0, 'queue-timeout': 0 };
  /** Grants in the current second and the last full one: how fast the queue drains, for Retry-After. */
  #second = 0;
  #grantsNow = 0;
  #grantsLast = 0;

  /** @throws RingError `INVALID_OPTION` */
  constructor(options: AdmissionOptions) {
    const { maxActive, maxQueued, queueTimeoutMs, maxActivePerGroup, now } = options ?? ({} as AdmissionOptions);
    const int = (value: unknown, name: string, min: number) => {
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) throw new RingError('INVALID_OPTION', `${name} must be an integer >= ${min}, got ${describe(value)}`);
      return value;
    };
    this.#maxActive = int(maxActive, 'maxActive', 1);
    this.#maxQueued = int(maxQueued, 'maxQueued', 0);
    this.#timeoutMs = int(queueTimeoutMs, 'queueTimeoutMs', 1);
    if (maxActivePerGroup === undefined) this.#perGroup = () => this.#maxActive;
    else if (typeof maxActivePerGroup === 'function') this.#perGroup = maxActivePerGroup;
    else {
      const cap = int(maxActivePerGroup, 'maxActivePerGroup', 1);
      this.#perGroup = () => cap;
    }
    if (now !== undefined && typeof now !== 'function') throw new RingError('INVALID_OPTION', `now must be a function, got ${describe(now)}`);
    this.#now = now ?? Date.now;
  }

  /**
   * Asks for a slot for `group`. When one is free (and the group is below
   * its cap) `onGrant` runs before this returns; otherwise the item waits,
   * or is refused at once with `queue-full`. The ticket's `release()` frees
   * the slot or leaves the queue.
   */
  enter(group: string, onGrant: Grant, onRefuse: Refuse): AdmissionTicket {
    const entry = new Entry(group, this.#now() + this.#timeoutMs, onGrant, onRefuse, (e) => this.#free(e));
    // Invariant after every pump: a free slot means nothing in the main queue could take it.
    if (this.#active < this.#maxActive && this.#below(group)) {
      this.#grant(entry);
      return entry;
    }
    if (this.#queued >= this.#maxQueued) {
      entry.done = true;
      this.#refused['queue-full']++;
      onRefuse('queue-full');
      return entry;
    }
    entry.queued = true;
    this.#queued++;
    if (this.#active < this.#maxActive) this.#park(entry); // free slots, but its group is at its cap
    else this.#queue.push(entry);
    this.#timer ??= setInterval(() => this.#sweep(), Math.max(10, Math.min(250, Math.floor(this.#timeoutMs / 8))));
    this.#timer.unref?.();
    return entry;
  }

  /** Items in progress. */
  get active(): number {
    return this.#active;
  }

  /** Items waiting. */
  get queued(): number {
    return this.#queued;
  }

  /**
   * Seconds a refused client should wait before it tries again: the time
   * the queue takes to drain at the rate it drained in the last second,
   * between 1 and 30.
   */
  retryAfterSeconds(): number {
    this.#tick();
    const rate = Math.max(this.#grantsLast, this.#grantsNow, 1);
    return Math.max(1, Math.min(30, Math.ceil((this.#queued + this.#active) / rate)));
  }

  stats(): AdmissionStats {
    return { active: this.#active, queued: this.#queued, granted: this.#granted, waited: this.#waited, refused: { ...this.#refused } };
  }

  /** Refuses everything waiting (`queue-timeout`) and stops the timer; slots held stay held until released. */
  close(): void {
    for (const entry of this.#waiting()) this.#expire(entry);
    this.#queue = [];
    this.#head = 0;
    this.#parked.clear();
    this.#stopTimer();
  }

  #below(group: string): boolean {
    return (this.#groups.get(group) ?? 0) < this.#perGroup();
  }

  #grant(entry: Entry): void {
    if (entry.queued) {
      entry.queued = false;
      this.#queued--;
      this.#waited++;
    }
    entry.granted = true;
    this.#active++;
    this.#groups.set(entry.group, (this.#groups.get(entry.group) ?? 0) + 1);
    this.#granted++;
    this.#tick();
    this.#grantsNow++;
    entry.onGrant(entry);
  }

  #free(entry: Entry): void {
    if (entry.done) return;
    entry.done = true;
    if (entry.queued) {
      entry.queued = false;
      this.#queued--; // its array slot is skipped later
      if (this.#queued === 0) this.#stopTimer();
      return;
    }
    if (!entry.granted) return;
    entry.granted = false;
    this.#active--;
    const left = (this.#groups.get(entry.group) ?? 1) - 1;
    if (left === 0) this.#groups.delete(entry.group);
    else this.#groups.set(entry.group, left);
    this.#pump(entry.group);
  }

  /** Fills free slots: first the freed group's parked items (they are older than the queue's head), then the queue in order. */
  #pump(freed?: string): void {
    if (freed !== undefined) this.#pumpParked(freed);
    while (this.#active < this.#maxActive && this.#head < this.#queue.length) {
      const entry = this.#queue[this.#head++]!;
      if (entry.done) continue;
      if (this.#below(entry.group)) this.#grant(entry);
      else this.#park(entry);
    }
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    if (this.#queued === 0) this.#stopTimer();
  }

  #pumpParked(group: string): void {
    const parked = this.#parked.get(group);
    if (parked === undefined) return;
    while (parked.length > 0 && this.#active < this.#maxActive && this.#below(group)) {
      const entry = parked.shift()!;
      if (!entry.done) this.#grant(entry);
    }
    if (parked.length === 0) this.#parked.delete(group);
  }

  #park(entry: Entry): void {
    const list = this.#parked.get(entry.group);
    if (list === undefined) this.#parked.set(entry.group, [entry]);
    else list.push(entry);
  }

  /** Expires items past their deadline; also retries parked groups (a group's cap may have grown). */
  #sweep(): void {
    const now = this.#now();
    // Deadlines follow arrival order, in the main queue and in each parked list.
    for (let i = this.#head; i < this.#queue.length; i++) {
      const entry = this.#queue[i]!;
      if (entry.done) continue;
      if (entry.deadline > now) break;
      this.#expire(entry);
    }
    for (const [group, list] of this.#parked) {
      while (list.length > 0 && (list[0]!.done || list[0]!.deadline <= now)) {
        const entry = list.shift()!;
        if (!entry.done) this.#expire(entry);
      }
      if (list.length === 0) this.#parked.delete(group);
      else this.#pumpParked(group);
    }
    this.#pump();
  }

  #expire(entry: Entry): void {
    if (entry.done) return;
    entry.done = true;
    entry.queued = false;
    this.#queued--;
    this.#refused['queue-timeout']++;
    entry.onRefuse('queue-timeout');
  }

  *#waiting(): Iterable<Entry> {
    for (let i = this.#head; i < this.#queue.length; i++) if (!this.#queue[i]!.done) yield this.#queue[i]!;
    for (const list of this.#parked.values()) for (const entry of list) if (!entry.done) yield entry;
  }

  #stopTimer(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #tick(): void {
    const second = Math.floor(this.#now() / 1000);
    if (second === this.#second) return;
    this.#grantsLast = second === this.#second + 1 ? this.#grantsNow : 0;
    this.#grantsNow = 0;
    this.#second = second;
  }
}
