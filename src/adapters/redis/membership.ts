import { randomUUID } from 'node:crypto';
import type { Membership, MembershipAdapter, MembershipEvent } from '../../live/contracts.js';
import { RingError, describe } from '../../errors.js';
import { compareIds, normalizeNode } from '../../ring/node.js';
import type { RingNode } from '../../ring/types.js';
import { asError } from './channel.js';
import { Watchers } from './watchers.js';
import {
  DEFAULT_MEMBER_HEARTBEAT_MS,
  DEFAULT_MEMBER_TTL_MS,
  MAX_MEMBER_TTL_MS,
  MIN_MEMBER_HEARTBEAT_MS,
  resolveMembershipTiming,
} from '../../live/membership-timing.js';
import { SingleFlight } from '../../live/single-flight.js';
import { checkClient, type RedisClient } from './client.js';
import { DEFAULT_PREFIX, redisKeys, type RedisKeys } from './keys.js';
import { JOIN_SCRIPT, LEAVE_SCRIPT, MEMBERS_SCRIPT, TICK_SCRIPT } from './scripts.js';
import { parseJson, parseMembershipEvent, parseNode } from './state.js';

/** Default time a member stays alive without a heartbeat (the same for every adapter). */
export const DEFAULT_TTL_MS = DEFAULT_MEMBER_TTL_MS;
/** Default interval of heartbeats and reaper passes. */
export const DEFAULT_HEARTBEAT_MS = DEFAULT_MEMBER_HEARTBEAT_MS;
/** Smallest accepted `heartbeatMs`. */
export const MIN_HEARTBEAT_MS = MIN_MEMBER_HEARTBEAT_MS;
/** Largest accepted `ttlMs`: one day. */
export const MAX_TTL_MS = MAX_MEMBER_TTL_MS;

/** Options of a {@link RedisMembership}. */
export interface RedisMembershipOptions {
  /**
   * A connected client (ioredis `Redis` or `Cluster`, or anything that fits
   * {@link RedisClient}). The adapter runs commands on it, `duplicate()`s it
   * once for watching, and never closes it. Set a low
   * `maxRetriesPerRequest` (or a `commandTimeout`) on it so that failures
   * surface in seconds rather than after ioredis' 20 reconnect attempts.
   */
  readonly redis: RedisClient;
  /**
   * Namespace of the keys and channels; becomes the cluster hash tag
   * `{prefix}`. 1 to 256 characters, no braces.
   * @default "ringroute"
   */
  readonly prefix?: string;
  /**
   * How long a member stays alive after its last heartbeat, in ms. A process
   * that dies silently is reported as `expire` within about
   * `ttlMs + heartbeatMs`. An integer in [2 x heartbeatMs, 86400000]; all
   * processes of one prefix should use the same value.
   * @default 3000, or 3 x heartbeatMs when that is larger
   */
  readonly ttlMs?: number;
  /**
   * Interval of heartbeats (for the members this adapter joined) and reaper
   * passes (while it holds members or has watchers), in ms. An integer in
   * [10, ttlMs / 2], so that one late heartbeat never expires a member.
   * @default 1000, or ttlMs / 3 (rounded down) when that is smaller
   */
  readonly heartbeatMs?: number;
  /**
   * Hears about background failures: heartbeats and reaper passes that fail
   * (Redis down), a member lost and joined again, a member taken over by
   * another process. Watchers' `onError` callbacks hear the same. Without
   * either, such failures are only retried.
   */
  readonly onError?: (error: Error) => void;
  /**
   * Longest wait for one heartbeat-and-reap pass, in ms. A slower pass
   * (Redis hung or paused) is reported to `onError` and abandoned; no other
   * pass starts until it settles, and the next one runs `heartbeatMs` after.
   * @default ttlMs
   */
  readonly timeoutMs?: number;
}

/** The membership returned by {@link RedisMembership.join}. */
export interface RedisMembershipHandle extends Membership {
  /** The node as registered (normalized). */
  readonly node: RingNode;
  /**
   * Removes the member now (publishing `leave`) and stops its heartbeats.
   * Idempotent: later calls return the first call's promise. If Redis is
   * unreachable it rejects, and the member expires after `ttlMs` instead.
   * A member that another process has since re-joined is left alone.
   */
  leave(): Promise<void>;
  /**
   * Stops heartbeating WITHOUT leaving, as if the process had crashed: the
   * member expires after `ttlMs` and is reported as `expire`. The id may be
   * joined again through the same adapter afterwards. Idempotent.
   */
  abandon(): void;
}

interface Held {
  readonly node: RingNode;
  readonly json: string;
  readonly token: string;
  /** The join script has not answered yet; the tick skips the member. */
  joining: boolean;
  /** No more heartbeats (left, abandoned, or taken over). */
  stopped: boolean;
  leaving: Promise<void> | null;
  /** performance.now() when the last two heartbeats (or the join) the store confirmed were sent: [previous, last]. */
  confirmed: [number, number];
  /** Set when the lease ended early (taken over), or to Infinity on leave(). */
  leaseOverride: number | null;
  /**
   * Another token holds the id (another process joined it, or a fail-over
   * brought back a previous run's registration): the lease is over, and
   * heartbeats, which never overwrite another token, go on until the id is
   * free again (that member expired or left), when they register it anew.
   */
  displaced: boolean;
}

/**
 * A {@link MembershipAdapter} in Redis, on a single server or a Redis Cluster.
 *
 * Members live in the hash `{prefix}:members` (id to node JSON) with their
 * expiry times in the sorted set `{prefix}:expiry`, scored with the Redis
 * server's clock so the processes' clocks never matter. Join, heartbeat,
 * leave and the reaper are Lua scripts, each atomic, each publishing what it
 * changed on `{prefix}:members:events`. Every adapter that holds members or
 * watchers runs a heartbeat-and-reap pass every `heartbeatMs`, and
 * `members()` reaps first, so it never returns an expired member.
 *
 * @example
 * ```ts
 * const membership = new RedisMembership({ redis, prefix: 'chat', ttlMs: 3000, heartbeatMs: 1000 });
 * const me = await membership.join({ id: 'node-7', meta: { url: 'ws://10.0.0.7:8080' } });
 * process.on('SIGTERM', () => void membership.close());
 * ```
 */
export class RedisMembership implements MembershipAdapter {
  readonly #redis: RedisClient;
  readonly #keys: RedisKeys;
  readonly #ttlMs: number;
  readonly #heartbeatMs: number;
  readonly #timeoutMs: number;
  readonly #flight = new SingleFlight();
  readonly #held = new Map<string, Held>();
  readonly #watchers: Watchers<MembershipEvent>;
  #timer: NodeJS.Timeout | null = null;
  #ticking = false;
  #closed = false;

  constructor(options: RedisMembershipOptions) {
    if (typeof options !== 'object' || options === null) {
      throw new RingError('INVALID_OPTION', `RedisMembership options must be an object like { redis, prefix }, got ${describe(options)}`);
    }
    checkClient(options.redis, 'RedisMembership');
    const { ttlMs, heartbeatMs, timeoutMs } = resolveMembershipTiming(options);
    this.#timeoutMs = timeoutMs;
    this.#redis = options.redis;
    this.#keys = redisKeys(options.prefix ?? DEFAULT_PREFIX);
    this.#ttlMs = ttlMs;
    this.#heartbeatMs = heartbeatMs;
    const channel = this.#keys.memberEvents;
    this.#watchers = new Watchers({
      redis: this.#redis,
      channel,
      parse: (message) => parseMembershipEvent(message, channel),
      what: 'membership event',
      onError: options.onError,
    });
  }

  /** How long a member stays alive without a heartbeat, in ms. */
  get ttlMs(): number {
    return this.#ttlMs;
  }

  /** The Redis key and channel names of this adapter's prefix. */
  get keys(): RedisKeys {
    return this.#keys;
  }

  /**
   * Registers `node` as alive (publishing `join`, or `update` when a live
   * member of that id had another weight or meta, or nothing when identical)
   * and heartbeats it until `leave()`, `abandon()` or `close()`. Rejects with
   * `INVALID_NODE` for a bad node, `DUPLICATE_NODE` when this adapter already
   * holds the id, and the client's error when Redis is unreachable (nothing
   * is then held).
   */
  async join(node: RingNode): Promise<RedisMembershipHandle> {
    this.#assertOpen('join');
    const valid = normalizeNode(node);
    if (this.#held.has(valid.id)) {
      throw new RingError('DUPLICATE_NODE', `node ${describe(valid.id)} already joined through this adapter; leave() it first`);
    }
    const sent = performance.now();
    const held: Held = {
      node: valid, json: JSON.stringify(valid), token: randomUUID(), joining: true, stopped: false, leaving: null,
      // The join counts as both: a lost write on fail-over can only take it back to no membership at all, which the
      // lease below (join + ttl - heartbeat) covers as long as one more heartbeat lands before it runs out.
      confirmed: [sent - this.#heartbeatMs, sent], leaseOverride: null, displaced: false,
    };
    this.#held.set(valid.id, held);
    try {
      await this.#register(held);
    } catch (error) {
      if (this.#held.get(valid.id) === held) this.#held.delete(valid.id);
      throw error;
    }
    held.joining = false;
    this.#schedule();
    const ttlMs = this.#ttlMs;
    return Object.freeze({
      node: valid,
      get lease() {
        return { until: held.leaseOverride ?? held.confirmed[0] + ttlMs, ttlMs };
      },
      leave: () => this.#leave(held),
      abandon: () => this.#stop(held),
    });
  }

  /**
   * The live members, sorted by id; runs a reaper pass first, so members
   * whose ttl ran out are never returned. A record that is not valid (bad
   * JSON, an id that does not match, no owner, an expiry beyond now + ttl)
   * is skipped and reported to `onError` and the watchers with the member
   * id; its owner's next heartbeat rewrites it in full. Rejects with
   * `INVALID_SNAPSHOT` when a key held a Redis value of the wrong type (it is
   * deleted, and the live members re-register on their next heartbeat).
   */
  async members(): Promise<RingNode[]> {
    this.#assertOpen('members');
    const reply = await MEMBERS_SCRIPT.run(this.#redis, this.#memberKeys(), [this.#keys.memberEvents, this.#ttlMs, this.#heartbeatMs]);
    if (!Array.isArray(reply) || reply.length !== 4 || !reply.every(Array.isArray)) {
      throw new Error(`unexpected reply from the members script: ${describe(reply)}`);
    }
    const [flat, skipped, repaired, ghosts] = reply as [unknown[], unknown[], unknown[], unknown[]];
    this.#reportDamage(repaired, ghosts);
    if (repaired.length > 0) {
      throw new RingError('INVALID_SNAPSHOT', `${repaired.map(String).join(', ')} held a Redis value of the wrong type; deleted, the live members re-register on their next heartbeat`);
    }
    const bounded = new Set(ghosts.map(String));
    for (const id of skipped) {
      if (!bounded.has(String(id))) this.#report(new RingError('INVALID_SNAPSHOT', `member ${describe(String(id))} has an incomplete record in ${this.#keys.members} (no node JSON or no owner); skipped until its next heartbeat`));
    }
    const nodes: RingNode[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const id = String(flat[i]);
      const where = `${this.#keys.members}[${describe(id)}]`;
      try {
        const node = parseNode(parseJson(String(flat[i + 1]), where), where);
        if (node.id !== id) throw new RingError('INVALID_SNAPSHOT', `${where} holds node ${describe(node.id)}; ids must match`);
        nodes.push(node);
      } catch (error) {
        this.#report(new RingError('INVALID_SNAPSHOT', `member ${describe(id)} skipped: ${(error as Error).message}`, { cause: error }));
      }
    }
    return nodes.sort((a, b) => compareIds(a.id, b.id));
  }

  /**
   * Calls `listener` with every event published on
   * `{prefix}:members:events`. Events that fail validation, connection and
   * background failures, and exceptions thrown by `listener` go to
   * `onError`. Events published before the subscription is confirmed (a few
   * ms after the first watch) or while disconnected are missed: re-read
   * `members()` now and then. Stopping the last watch closes the subscriber
   * connection.
   */
  watch(listener: (event: MembershipEvent) => void, onError?: (error: Error) => void): () => void {
    this.#assertOpen('watch');
    const stop = this.#watchers.add(listener, onError);
    this.#schedule();
    return stop;
  }

  /**
   * Leaves every member this adapter joined (best effort: a member that
   * cannot be removed expires after `ttlMs`), stops heartbeats and watches
   * and closes the subscriber connection. The caller's client stays open.
   * Idempotent.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    const leaving = [...this.#held.values()].map((held) => this.#leave(held));
    this.#closed = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    await Promise.allSettled(leaving);
    await this.#watchers.close();
  }

  #memberKeys(): string[] {
    return [this.#keys.members, this.#keys.expiry, this.#keys.owners, this.#keys.clock];
  }

  async #register(held: Held): Promise<void> {
    await JOIN_SCRIPT.run(this.#redis, this.#memberKeys(), [held.node.id, held.json, held.token, this.#ttlMs, this.#keys.memberEvents, this.#heartbeatMs]);
  }

  /** Reports keys that had the wrong Redis type (deleted) and members whose expiry lay beyond now + ttl (bounded). */
  #reportDamage(repaired: unknown[], ghosts: unknown[]): void {
    for (const key of repaired) {
      this.#report(new RingError('INVALID_SNAPSHOT', `${describe(String(key))} held a Redis value of the wrong type; deleted it (live members re-register on their next heartbeat)`));
    }
    for (const id of ghosts) {
      this.#report(
        new RingError(
          'INVALID_SNAPSHOT',
          `member ${describe(String(id))} had an expiry later than now + ttlMs (${this.#ttlMs} ms): a bad record, or a process with a longer ttlMs; skipped until its owner's next heartbeat, expires after ttlMs without one`,
        ),
      );
    }
  }

  #leave(held: Held): Promise<void> {
    if (held.leaving === null) {
      this.#stop(held);
      held.leaseOverride = Number.POSITIVE_INFINITY;
      held.leaving = LEAVE_SCRIPT.run(this.#redis, this.#memberKeys(), [held.node.id, held.token, this.#keys.memberEvents]).then(
        () => undefined,
      );
    }
    return held.leaving;
  }

  #stop(held: Held): void {
    held.stopped = true;
    if (this.#held.get(held.node.id) === held) this.#held.delete(held.node.id);
  }

  /** Arms the next heartbeat-and-reap pass, unless one is armed or running or there is nothing to do. */
  #schedule(): void {
    if (this.#closed || this.#timer !== null || this.#ticking || this.#flight.busy) return;
    if (this.#held.size === 0 && this.#watchers.size === 0) return;
    this.#timer = setTimeout(() => void this.#tick(), this.#heartbeatMs);
    this.#timer.unref();
  }

  async #tick(): Promise<void> {
    this.#timer = null;
    this.#ticking = true;
    try {
      const batch = [...this.#held.values()].filter((held) => !held.joining && !held.stopped);
      const args: Array<string | number> = [this.#ttlMs, this.#keys.memberEvents, this.#heartbeatMs];
      for (const held of batch) args.push(held.node.id, held.token, held.json);
      const sent = performance.now();
      const reply = await this.#flight.run(
        () => TICK_SCRIPT.run(this.#redis, this.#memberKeys(), args),
        this.#timeoutMs,
        'membership heartbeat',
        () => this.#schedule(),
      );
      if (!Array.isArray(reply) || reply.length !== 3 || !reply.every(Array.isArray)) {
        throw new Error(`unexpected reply from the heartbeat script: ${describe(reply)}`);
      }
      const [results, repaired, ghosts] = reply as [unknown[], unknown[], unknown[]];
      this.#reportDamage(repaired, ghosts);
      for (const [i, held] of batch.entries()) {
        if (held.stopped || this.#closed) continue;
        if ((results[i] === 1 || results[i] === 0) && held.displaced) {
          // The id was free again and this heartbeat registered it: a lease as from a join.
          held.displaced = false;
          held.leaseOverride = null;
          held.confirmed = [sent - this.#heartbeatMs, sent];
          this.#report(new Error(`member ${describe(held.node.id)} was free again (the other holder expired or left); it joined again`));
        } else if (results[i] === 1 || results[i] === 0) held.confirmed = [held.confirmed[1], sent];
        if (results[i] === 0) {
          // Reaped (we were cut off longer than ttlMs), lost (Redis
          // restarted empty) or damaged: the script registered it again.
          this.#report(new Error(`member ${describe(held.node.id)} had expired or vanished from Redis; it joined again`));
        } else if (results[i] === -1 && !held.displaced) {
          // Another token holds the id: another process's join, or, after a fail-over that lost our join, the
          // registration of this node's previous run, which expires within ttlMs. Our lease is over now; the
          // heartbeats go on without overwriting it and register the id again once it is free.
          held.displaced = true;
          held.leaseOverride = performance.now();
          this.#report(
            new RingError(
              'DUPLICATE_NODE',
              `member ${describe(held.node.id)} is held by another join of the same id (another process, or a registration a fail-over brought back); this adapter's lease is over and it joins again once that one expires or leaves`,
            ),
          );
        }
      }
    } catch (error) {
      this.#report(asError(error, 'membership heartbeat failed'));
    } finally {
      this.#ticking = false;
      this.#schedule();
    }
  }

  /** Reports a background failure to the `onError` option and to every watcher. */
  #report(error: Error): void {
    if (!this.#closed) this.#watchers.fail(error);
  }

  #assertOpen(method: string): void {
    if (this.#closed) throw new RingError('CLOSED', `RedisMembership.${method}() called after close()`);
  }
}
