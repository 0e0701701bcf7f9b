/**
 * The gateway's side of "no silent loss": it tracks every recipient of every
 * message until a node reports the outcome, and never gives up silently.
 *
 * - `ack`: the user's client acknowledged it: delivered.
 * - `held`: the user's owner keeps it until the user connects; checked again
 *   every `heldRecheckMs` and at once if that node leaves the ring.
 * - no answer within `ackTimeoutMs` (or nobody subscribed at all): sent again
 *   through the current ring (node and client dedupe by message id).
 * - `fail` from a node, or no outcome by the end of the grace period plus
 *   `slackMs`: failed, with the reason, so the sender learns it.
 */
import type { Mode, Outcome, TrafficKind } from './protocol.js';

export interface Message {
  readonly id: string;
  readonly kind: TrafficKind;
  readonly mode: Mode;
  readonly from: string;
  /** Recipients, each once. */
  readonly to: readonly string[];
  readonly group?: string;
  readonly text: string;
}

export interface Result {
  readonly id: string;
  readonly delivered: string[];
  readonly failed: Array<{ user: string; reason: string }>;
}

/** What one publication reached: `node` null for broadcast. */
export interface Sent {
  readonly users: readonly string[];
  readonly node: string | null;
  readonly receivers: number;
}

export interface TrackerOptions {
  /** Publishes `message` for `users` with `ttlMs` left to deliver. */
  readonly send: (message: Message, users: readonly string[], ttlMs: number) => Promise<Sent[]>;
  /** @default 10000 */
  readonly graceMs?: number;
  /** No answer at all for this long: send again. Long enough that a busy node is not mistaken for a lost message. @default 2000 */
  readonly ackTimeoutMs?: number;
  /** @default 2000 */
  readonly heldRecheckMs?: number;
  /** Extra wait after the grace period for outcomes still on their way. @default 1000 */
  readonly slackMs?: number;
}

interface Recipient {
  state: 'sent' | 'held' | 'done';
  node: string | null;
  retryAt: number;
}

interface Pending {
  readonly message: Message;
  readonly recipients: Map<string, Recipient>;
  readonly graceEnds: number;
  readonly deadline: number;
  readonly result: Result;
  open: number;
  readonly done: Promise<Result>;
  resolve(result: Result): void;
}

const NOBODY_RETRY_MS = 200;
const TICK_MS = 50;

export class Tracker {
  readonly #o: Required<TrackerOptions>;
  readonly #pending = new Map<string, Pending>();
  readonly #timer: ReturnType<typeof setInterval>;

  constructor(options: TrackerOptions) {
    this.#o = { graceMs: 10_000, ackTimeoutMs: 2000, heldRecheckMs: 2000, slackMs: 1000, ...options };
    this.#timer = setInterval(() => this.#tick(), TICK_MS);
  }

  /** Messages still waiting for an outcome. */
  get pending(): number {
    return this.#pending.size;
  }

  /** Sends `message` and resolves once every recipient is delivered or failed. A repeated id joins the first. */
  track(message: Message): Promise<Result> {
    const existing = this.#pending.get(message.id);
    if (existing !== undefined) return existing.done;
    const now = Date.now();
    let resolve!: (result: Result) => void;
    const done = new Promise<Result>((r) => (resolve = r));
    const pending: Pending = {
      message,
      recipients: new Map(message.to.map((user) => [user, { state: 'sent', node: null, retryAt: now }])),
      graceEnds: now + this.#o.graceMs,
      deadline: now + this.#o.graceMs + this.#o.slackMs,
      result: { id: message.id, delivered: [], failed: [] },
      open: message.to.length,
      done,
      resolve,
    };
    this.#pending.set(message.id, pending);
    if (pending.open === 0) this.#finish(pending);
    else void this.#dispatch(pending, [...message.to]);
    return done;
  }

  onOutcome(outcome: Outcome): void {
    const pending = this.#pending.get(outcome.id);
    const recipient = pending?.recipients.get(outcome.user);
    if (pending === undefined || recipient === undefined || recipient.state === 'done') return;
    if (outcome.type === 'held') {
      recipient.state = 'held';
      recipient.node = outcome.node;
      recipient.retryAt = Date.now() + this.#o.heldRecheckMs;
      return;
    }
    recipient.state = 'done';
    if (outcome.type === 'ack') pending.result.delivered.push(outcome.user);
    else pending.result.failed.push({ user: outcome.user, reason: outcome.reason ?? 'failed' });
    if (--pending.open === 0) this.#finish(pending);
  }

  /** Nodes left the ring: what they held or were sent is sent again now, through the new ring. */
  nodesRemoved(ids: readonly string[]): void {
    if (ids.length === 0) return;
    const gone = new Set(ids);
    for (const pending of this.#pending.values()) {
      for (const recipient of pending.recipients.values()) {
        if (recipient.state !== 'done' && recipient.node !== null && gone.has(recipient.node)) {
          recipient.state = 'sent';
          recipient.retryAt = 0;
        }
      }
    }
  }

  /** Fails everything still pending (the gateway is shutting down) and stops. */
  close(): void {
    clearInterval(this.#timer);
    for (const pending of [...this.#pending.values()]) this.#failOpen(pending, 'gateway-closed');
  }

  #tick(): void {
    const now = Date.now();
    for (const pending of [...this.#pending.values()]) {
      if (now >= pending.deadline) {
        this.#failOpen(pending, 'no-outcome');
        continue;
      }
      if (now >= pending.graceEnds) continue; // only late outcomes now
      const due: string[] = [];
      for (const [user, recipient] of pending.recipients) {
        if (recipient.state !== 'done' && recipient.retryAt <= now) due.push(user);
      }
      if (due.length > 0) void this.#dispatch(pending, due);
    }
  }

  async #dispatch(pending: Pending, users: string[]): Promise<void> {
    const now = Date.now();
    for (const user of users) {
      const recipient = pending.recipients.get(user)!;
      recipient.retryAt = now + (recipient.state === 'held' ? this.#o.heldRecheckMs : this.#o.ackTimeoutMs);
    }
    let sent: Sent[];
    try {
      sent = await this.#o.send(pending.message, users, pending.graceEnds - now);
    } catch {
      sent = [{ users, node: null, receivers: 0 }]; // empty ring, transport down: try again soon
    }
    for (const { users: group, node, receivers } of sent) {
      for (const user of group) {
        const recipient = pending.recipients.get(user);
        if (recipient === undefined || recipient.state !== 'sent') continue;
        recipient.node = node;
        if (receivers === 0) recipient.retryAt = Date.now() + NOBODY_RETRY_MS;
      }
    }
  }

  #failOpen(pending: Pending, reason: string): void {
    for (const [user, recipient] of pending.recipients) {
      if (recipient.state === 'done') continue;
      recipient.state = 'done';
      pending.result.failed.push({ user, reason });
    }
    pending.open = 0;
    this.#finish(pending);
  }

  #finish(pending: Pending): void {
    this.#pending.delete(pending.message.id);
    pending.resolve(pending.result);
  }
}
