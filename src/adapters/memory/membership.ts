import type { Membership, MembershipAdapter, MembershipEvent } from '../../live/contracts.js';
import { RingError, describe } from '../../errors.js';
import { compareIds, normalizeNode, sameNode } from '../../ring/node.js';
import type { RingNode } from '../../ring/types.js';

/** Options of {@link MemoryMembership}. */
export interface MemoryMembershipOptions {
  /** A member that has not heartbeated for this long is expired. @default 3000 */
  readonly ttlMs?: number;
  /** How often members heartbeat and expired members are reaped. Must be below `ttlMs`. @default 1000 */
  readonly heartbeatMs?: number;
  /** The clock, in milliseconds; tests may pass a fake one. @default Date.now */
  readonly now?: () => number;
}

/** A membership held through {@link MemoryMembership.join}. */
export interface MemoryMember extends Membership {
  /** Stops heartbeating without leaving, as a crashed process would: the member expires after `ttlMs`. */
  abandon(): void;
}

interface Entry {
  readonly node: RingNode;
  readonly token: object;
  expiresAt: number;
}

interface Shared {
  readonly members: Map<string, Entry>;
  readonly handles: Set<MemoryMembership>;
  /** Last time any heartbeat or reaper pass ran (see {@link MemoryMembership} on paused time). */
  lastSeen: number | undefined;
}

/**
 * The reference {@link MembershipAdapter}: live members in this process's
 * memory, kept alive by heartbeats and expired after `ttlMs` without one,
 * exactly like the Redis adapter. {@link MemoryMembership.connect} gives
 * further handles on the same membership, as separate processes would have.
 *
 * Only time during which heartbeats could land counts against a member: when
 * nothing at all ran for longer than `min(2 x heartbeatMs, ttlMs - heartbeatMs)`
 * (the event loop stalled, as a paused Redis would), every expiry moves
 * forward by that gap before anything is reaped, so the live members'
 * heartbeats land first; a member that really died expires `ttlMs` after
 * time runs again. A clock that steps back moves the expiries back with it.
 */
export class MemoryMembership implements MembershipAdapter {
  #shared: Shared = { members: new Map(), handles: new Set(), lastSeen: undefined };
  readonly #ttlMs: number;
  readonly #heartbeatMs: number;
  readonly #now: () => number;
  readonly #watchers = new Set<{ listener: (event: MembershipEvent) => void }>();
  /** Memberships joined through this handle, by id. */
  readonly #own = new Map<string, { token: object; stop(): void }>();
  #reaper: ReturnType<typeof setInterval> | undefined;
  #closed = false;

  constructor(options: MemoryMembershipOptions = {}) {
    const { ttlMs = 3000, heartbeatMs = 1000, now = Date.now } = options;
    if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw new RingError('INVALID_OPTION', `ttlMs must be a positive number, got ${describe(ttlMs)}`);
    if (!Number.isFinite(heartbeatMs) || heartbeatMs <= 0 || heartbeatMs >= ttlMs) {
      throw new RingError('INVALID_OPTION', `heartbeatMs must be a positive number below ttlMs (${ttlMs}), got ${describe(heartbeatMs)}`);
    }
    if (typeof now !== 'function') throw new RingError('INVALID_OPTION', 'now must be a function returning milliseconds');
    this.#ttlMs = ttlMs;
    this.#heartbeatMs = heartbeatMs;
    this.#now = now;
    this.#shared.handles.add(this);
    this.#reaper = setInterval(() => this.#reap(), heartbeatMs);
    this.#reaper.unref?.();
  }

  /** Another handle on the same membership (same options), with its own joins and watches. */
  connect(): MemoryMembership {
    this.#check();
    const handle = new MemoryMembership({ ttlMs: this.#ttlMs, heartbeatMs: this.#heartbeatMs, now: this.#now });
    handle.#shared = this.#shared;
    this.#shared.handles.add(handle);
    return handle;
  }

  /** How long a member stays alive without a heartbeat, in ms. */
  get ttlMs(): number {
    return this.#ttlMs;
  }

  async join(input: RingNode): Promise<MemoryMember> {
    this.#check();
    const node = normalizeNode(input);
    if (this.#own.has(node.id)) {
      throw new RingError('DUPLICATE_NODE', `node ${describe(node.id)} already joined through this adapter; leave() it first`);
    }
    this.#reap();
    const token = {};
    const previous = this.#shared.members.get(node.id);
    this.#shared.members.set(node.id, { node, token, expiresAt: this.#now() + this.#ttlMs });
    if (previous === undefined) this.#emit({ type: 'join', node });
    else if (!sameNode(previous.node, node)) this.#emit({ type: 'update', node });

    // In this process the store cannot be cut off, and a stalled loop moves every expiry forward (#advance): the
    // lease only ends once heartbeats stop (abandon(), or another join took the id), ttlMs after the last one.
    let leaseUntil = Number.POSITIVE_INFINITY;
    let lastBeat = performance.now();
    const beat = setInterval(() => {
      this.#advance();
      lastBeat = performance.now();
      const entry = this.#shared.members.get(node.id);
      if (entry?.token === token) {
        entry.expiresAt = this.#now() + this.#ttlMs;
      } else if (entry === undefined) {
        // Reaped while alive (a stalled event loop missed heartbeats): join again, as RedisMembership does.
        this.#shared.members.set(node.id, { node, token, expiresAt: this.#now() + this.#ttlMs });
        this.#emit({ type: 'join', node });
      } else {
        // Another join of this id (a restarted process) holds it now: stop competing for it; our lease is over.
        stop();
        leaseUntil = performance.now();
      }
    }, this.#heartbeatMs);
    beat.unref?.();
    const stop = (): void => {
      clearInterval(beat);
      if (leaseUntil === Number.POSITIVE_INFINITY) leaseUntil = lastBeat + this.#ttlMs;
      if (this.#own.get(node.id)?.token === token) this.#own.delete(node.id);
    };
    const left = (): void => {
      stop();
      leaseUntil = Number.POSITIVE_INFINITY;
    };
    this.#own.set(node.id, { token, stop: left });
    const ttlMs = this.#ttlMs;
    return {
      get lease() {
        return { until: leaseUntil, ttlMs };
      },
      leave: async () => {
        left();
        const entry = this.#shared.members.get(node.id);
        // A later join of the same id (a restarted process) owns the entry now: leave it alone.
        if (entry?.token !== token) return;
        this.#shared.members.delete(node.id);
        this.#emit({ type: 'leave', node: entry.node });
      },
      abandon: stop,
    };
  }

  async members(): Promise<RingNode[]> {
    this.#check();
    this.#reap();
    return [...this.#shared.members.values()].map((e) => e.node).sort((a, b) => compareIds(a.id, b.id));
  }

  watch(listener: (event: MembershipEvent) => void): () => void {
    this.#check();
    const entry = { listener };
    this.#watchers.add(entry);
    return () => void this.#watchers.delete(entry);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    for (const [id, own] of [...this.#own]) {
      own.stop();
      const entry = this.#shared.members.get(id);
      if (entry?.token === own.token) {
        this.#shared.members.delete(id);
        this.#emit({ type: 'leave', node: entry.node });
      }
    }
    this.#closed = true;
    clearInterval(this.#reaper);
    this.#watchers.clear();
    this.#shared.handles.delete(this);
  }

  /**
   * Moves every expiry forward by a gap during which nothing ran (a stalled
   * process: no heartbeat could land), or back when the clock stepped back.
   * Returns the current time.
   */
  #advance(): number {
    const now = this.#now();
    const last = this.#shared.lastSeen;
    this.#shared.lastSeen = now;
    if (last === undefined) return now;
    const gap = now - last;
    if (gap < 0 || gap > Math.min(2 * this.#heartbeatMs, this.#ttlMs - this.#heartbeatMs)) {
      for (const entry of this.#shared.members.values()) entry.expiresAt += gap;
    }
    return now;
  }

  #reap(): void {
    const now = this.#advance();
    for (const [id, entry] of this.#shared.members) {
      if (entry.expiresAt <= now) {
        this.#shared.members.delete(id);
        this.#emit({ type: 'expire', node: entry.node });
      }
    }
  }

  #emit(event: MembershipEvent): void {
    const frozen = Object.freeze(event);
    for (const handle of this.#shared.handles) {
      for (const entry of handle.#watchers) {
        queueMicrotask(() => {
          if (handle.#watchers.has(entry)) entry.listener(frozen);
        });
      }
    }
  }

  #check(): void {
    if (this.#closed) throw new RingError('CLOSED', 'this MemoryMembership is closed');
  }
}
