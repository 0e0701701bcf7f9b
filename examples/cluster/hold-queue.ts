/**
 * Messages an app node keeps for users who are not connected to it yet (they
 * are moving or reconnecting), each until its deadline. Memory is bounded:
 * at most `maxPerUser` messages per user and `maxTotal` overall; what does
 * not fit is refused, and the caller reports it failed rather than drop it.
 */
import type { Delivery } from './protocol.js';

/** A delivery for one user with the local time by which it must reach them. */
export interface HeldMessage {
  readonly user: string;
  readonly delivery: Delivery;
  readonly deadline: number;
}

export interface HoldQueueOptions {
  /** @default 64 */
  readonly maxPerUser?: number;
  /** @default 100000 */
  readonly maxTotal?: number;
}

export class HoldQueue {
  // Per user, by message id, in arrival order: a retried message is held once.
  readonly #byUser = new Map<string, Map<string, HeldMessage>>();
  readonly #maxPerUser: number;
  readonly #maxTotal: number;
  #size = 0;

  constructor(options: HoldQueueOptions = {}) {
    this.#maxPerUser = options.maxPerUser ?? 64;
    this.#maxTotal = options.maxTotal ?? 100_000;
  }

  get size(): number {
    return this.#size;
  }

  /** `held` (new), `duplicate` (already held: same outcome) or `full` (refused). */
  add(message: HeldMessage): 'held' | 'duplicate' | 'full' {
    let queue = this.#byUser.get(message.user);
    if (queue?.has(message.delivery.id)) return 'duplicate';
    if (this.#size >= this.#maxTotal || (queue !== undefined && queue.size >= this.#maxPerUser)) return 'full';
    if (queue === undefined) this.#byUser.set(message.user, (queue = new Map()));
    queue.set(message.delivery.id, message);
    this.#size++;
    return 'held';
  }

  /** Removes and returns everything held for `user`, oldest first. */
  take(user: string): HeldMessage[] {
    const queue = this.#byUser.get(user);
    if (queue === undefined) return [];
    this.#byUser.delete(user);
    this.#size -= queue.size;
    return [...queue.values()];
  }

  /** Users with held messages. */
  users(): string[] {
    return [...this.#byUser.keys()];
  }

  /** Removes and returns the messages whose deadline is at or before `now`. */
  expire(now: number): HeldMessage[] {
    const out: HeldMessage[] = [];
    for (const [user, queue] of this.#byUser) {
      for (const [id, message] of queue) {
        if (message.deadline > now) continue;
        queue.delete(id);
        out.push(message);
      }
      if (queue.size === 0) this.#byUser.delete(user);
    }
    this.#size -= out.length;
    return out;
  }

  /** Drops everything (a node that dies loses what it held; the gateway's retries recover it). */
  clear(): void {
    this.#byUser.clear();
    this.#size = 0;
  }
}
