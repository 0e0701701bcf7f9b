/**
 * What an app node does with a message for one of its recipients: hand it to
 * the user's session here, hold it (this node owns the user, who is moving
 * or reconnecting), or forward it to the owner, and tell the waiting gateway
 * how it went. Held messages whose user is now owned elsewhere are sent on,
 * and those past their deadline are reported failed, every 250 ms.
 */
import { type HeldMessage, HoldQueue, type HoldQueueOptions } from './hold-queue.js';
import { type Channels, type Delivery, MAX_HOPS, type Outcome, type TrafficKind, type Wire } from './protocol.js';
import type { Transport } from './transport.js';

/** The node as the courier sees it. */
export interface CourierHost {
  readonly id: string;
  /** Sends `message` to the user's session on this node, if there is one. */
  deliverLocal(message: HeldMessage): boolean;
  /** The user's owner on this node's ring, or null while the ring is empty. */
  owner(user: string): string | null;
}

const SWEEP_MS = 250;

export class Courier {
  readonly counts = { visits: { oneToOne: 0, group: 0 } as Record<TrafficKind, number>, acked: 0, forwarded: 0, failed: 0 };
  readonly #host: CourierHost;
  readonly #transport: Transport;
  readonly #channels: Channels;
  readonly #held: HoldQueue;
  readonly #timer: ReturnType<typeof setInterval>;
  #stopped = false;

  constructor(host: CourierHost, transport: Transport, channels: Channels, hold?: HoldQueueOptions) {
    this.#host = host;
    this.#transport = transport;
    this.#channels = channels;
    this.#held = new HoldQueue(hold);
    this.#timer = setInterval(() => this.sweep(), SWEEP_MS);
  }

  /** Messages held for users not connected here. */
  get held(): number {
    return this.#held.size;
  }

  /** A delivery from the transport: on the shared channel (`broadcast`) or on this node's own. */
  receive(wire: Wire, broadcast: boolean): void {
    if (wire.type !== 'deliver' || this.#stopped) return;
    this.counts.visits[wire.kind]++;
    const deadline = Date.now() + wire.ttlMs;
    for (const user of wire.to) {
      const message: HeldMessage = { user, delivery: wire, deadline };
      if (!broadcast) this.route(message);
      // Broadcast: every node hears it; the one with the session delivers, the owner holds, the rest ignore it.
      else if (!this.#host.deliverLocal(message) && this.#host.owner(user) === this.#host.id) this.#hold(message);
    }
  }

  /** Delivers here, holds (as the owner, or after too many hops), or forwards to the owner. */
  route(message: HeldMessage): void {
    if (this.#stopped) return;
    if (message.deadline <= Date.now()) return this.#fail(message, 'grace-expired');
    if (this.#host.deliverLocal(message)) return;
    const owner = this.#host.owner(message.user);
    if (owner === null || owner === this.#host.id || message.delivery.hops >= MAX_HOPS) return this.#hold(message);
    void this.#forward(message, owner);
  }

  /** The user's client acknowledged `message`. */
  acked(message: HeldMessage): void {
    this.counts.acked++;
    this.#reply(message, 'ack');
  }

  /** Removes and returns what is held for `user` (who just connected here), oldest first. */
  takeHeld(user: string): HeldMessage[] {
    return this.#held.take(user);
  }

  /** Fails held messages past their deadline; sends on those whose user is now owned elsewhere. */
  sweep(): void {
    if (this.#stopped) return;
    for (const message of this.#held.expire(Date.now())) this.#fail(message, 'grace-expired');
    for (const user of this.#held.users()) {
      const owner = this.#host.owner(user);
      if (owner === null || owner === this.#host.id) continue;
      // Time has passed since any earlier hops, so the hop count starts again.
      for (const m of this.#held.take(user)) void this.#forward({ ...m, delivery: { ...m.delivery, hops: 0 } }, owner);
    }
  }

  /** Stops; `drop` discards what is held, as a crash would (the gateway's retries recover it). */
  stop(drop = false): void {
    this.#stopped = true;
    clearInterval(this.#timer);
    if (drop) this.#held.clear();
  }

  #hold(message: HeldMessage): void {
    if (this.#held.add(message) === 'full') return this.#fail(message, 'hold-queue-full');
    this.#reply(message, 'held'); // also for a duplicate: the gateway stops resending
  }

  async #forward(message: HeldMessage, owner: string): Promise<void> {
    this.counts.forwarded++;
    const delivery: Delivery = { ...message.delivery, to: [message.user], hops: message.delivery.hops + 1, ttlMs: Math.max(0, message.deadline - Date.now()) };
    const receivers = await this.#transport.publish(this.#channels.node(owner), delivery).catch(() => 0);
    // Nobody listens there (the owner just died, or is not subscribed yet): keep it; the sweep tries again.
    if (receivers === 0 && !this.#stopped) this.#hold(message);
  }

  #fail(message: HeldMessage, reason: string): void {
    this.counts.failed++;
    this.#reply(message, 'fail', reason);
  }

  #reply(message: HeldMessage, type: Outcome['type'], reason?: string): void {
    const d = message.delivery;
    const outcome: Outcome = { type, id: d.id, user: message.user, node: this.#host.id, ...(reason ? { reason } : {}) };
    this.#transport.publish(this.#channels.gateway(d.replyTo), outcome).catch(() => undefined);
  }
}
