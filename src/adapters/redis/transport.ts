import { MAX_ADDRESS_LENGTH, type Transport } from '../../live/transport.js';
import { RingError, describe } from '../../errors.js';
import { ChannelSubscription, asError } from './channel.js';
import type { RedisClient, RedisSubscriberClient } from './client.js';
import { DEFAULT_PREFIX, redisKeys } from './keys.js';
import { type RedisClusterTopology, type RedisShardSource, ShardChannelSubscription, clusterLocator } from './shard-channel.js';
import { hashSlot } from './slot.js';

/** Channels whose hash slot a sharded transport remembers. */
const MAX_CACHED_SLOTS = 10_000;

/** The Redis commands {@link RedisTransport} calls: both ioredis clients (`Redis`, `Cluster`) fit. */
export interface RedisTransportClient {
  /** Publishes on a channel; resolves to the number of subscribers that received it. */
  publish(channel: string, message: string): Promise<number>;
  /** Publishes on a shard channel (Redis 7, sharded mode only); resolves to the number of its subscribers on the master of its slot. */
  spublish?(channel: string, message: string): Promise<unknown>;
  /** A new connection with the same options, used for subscribing. The transport closes it. */
  duplicate(): RedisSubscriberClient;
  /**
   * ioredis's `close` event: a publish whose connection closed before its
   * reply is not certain to have reached nobody (see {@link RedisTransport.publish}).
   */
  on?(event: 'close', listener: () => void): unknown;
  /** `true` on an ioredis `Cluster`: turns {@link RedisTransportOptions.sharded} on by default. */
  readonly isCluster?: boolean;
  /** The client's options: a `keyPrefix` there is part of shard channel names (ioredis prepends it to `SPUBLISH`'s channel). */
  readonly options?: { readonly keyPrefix?: string | undefined };
}

interface CloseCount {
  n: number;
}

/** One counter per client, however many transports share it (one `close` listener, not one per transport). */
const closeCounts = new WeakMap<object, CloseCount>();

function closeCount(redis: RedisTransportClient): CloseCount {
  const known = closeCounts.get(redis);
  if (known !== undefined) return known;
  const counter: CloseCount = { n: 0 };
  closeCounts.set(redis, counter);
  // Stays on the client after the transports close: one counter, nothing else held.
  if (typeof redis.on === 'function') redis.on('close', () => counter.n++);
  return counter;
}

/** Options of {@link RedisTransport}. */
export interface RedisTransportOptions {
  /** Your client; the transport publishes on it and duplicates it once per listened address. */
  readonly redis: RedisTransportClient;
  /**
   * Key prefix shared by the cluster; channels are `{prefix}:sessions:<address>`,
   * or `prefix:sessions:{<address>}` when sharded. @default 'ringroute'
   */
  readonly prefix?: string;
  /**
   * Sharded pub/sub (Redis 7): publish with `SPUBLISH` and listen with
   * `SSUBSCRIBE`, each address on a channel hashed by the address itself
   * (`prefix:sessions:{<address>}`), so on a Redis Cluster each message goes
   * to the one master of its channel's slot instead of every master, and the
   * receiver count is exact. Every process of a cluster must use the same
   * setting (the channel names differ). On a single server it needs Redis 7
   * (`listen()` rejects at once on an older one).
   * @default true when `redis` is an ioredis `Cluster` (`isCluster`), else false
   */
  readonly sharded?: boolean;
  /** How long `listen()` waits for Redis to confirm the subscription before it rejects. @default 5000 */
  readonly listenTimeoutMs?: number;
}

/**
 * A {@link Transport} over Redis pub/sub: one channel per address (so one
 * per node, one per sender, and `all` for broadcast), named
 * `{prefix}:sessions:<address>`, or `prefix:sessions:{<address>}` with
 * sharded pub/sub. Publishing uses your client; each listened
 * address gets its own duplicated connection, renewed after reconnects.
 * Pub/sub is at most once: a message published while a listener reconnects
 * is lost, which the senders' retries and timeouts cover.
 *
 * On a Redis Cluster it uses sharded pub/sub by default (see
 * {@link RedisTransportOptions.sharded}): each address's channel lives on the
 * master of its slot, each listened address connects to that master only,
 * and re-subscribes on the new master after a slot migration or a failover.
 * With `sharded: false` on a Cluster, `PUBLISH` is copied to every master and
 * its receiver count covers one shard only, so "0 receivers" is not certain.
 */
export class RedisTransport implements Transport {
  readonly #redis: RedisTransportClient;
  readonly #prefix: string;
  readonly #listenTimeoutMs: number;
  readonly #sharded: boolean;
  readonly #subscriptions = new Map<string, ChannelSubscription | ShardChannelSubscription>();
  readonly #slots = new Map<string, number>();
  #closed = false;
  /** How many connections of the user's client closed so far: a publish that saw one close under it may have run twice. */
  readonly #closes: CloseCount;

  constructor(options: RedisTransportOptions) {
    if (typeof options !== 'object' || options === null) throw new RingError('INVALID_OPTION', `RedisTransport needs { redis }, got ${describe(options)}`);
    const redis = options.redis as Partial<RedisTransportClient> | null | undefined;
    if (typeof redis !== 'object' || redis === null || typeof redis.publish !== 'function' || typeof redis.duplicate !== 'function') {
      throw new RingError('INVALID_OPTION', 'RedisTransport needs options.redis to be a Redis client with publish() and duplicate() (e.g. new Redis() from ioredis)');
    }
    const timeout = options.listenTimeoutMs ?? 5000;
    if (!Number.isFinite(timeout) || timeout <= 0) throw new RingError('INVALID_OPTION', `listenTimeoutMs must be a positive number, got ${describe(timeout)}`);
    this.#listenTimeoutMs = timeout;
    const sharded = options.sharded ?? options.redis.isCluster === true;
    if (typeof sharded !== 'boolean') throw new RingError('INVALID_OPTION', `sharded must be a boolean, got ${describe(sharded)}`);
    if (sharded && typeof redis.spublish !== 'function') {
      throw new RingError('INVALID_OPTION', 'RedisTransport with sharded pub/sub needs options.redis to have spublish() (ioredis 5.3 or later, Redis 7 or later)');
    }
    this.#sharded = sharded;
    this.#redis = options.redis;
    this.#prefix = redisKeys(options.prefix ?? DEFAULT_PREFIX).ring.slice(0, -':ring'.length); // validates the prefix
    this.#closes = closeCount(options.redis);
  }

  /** Whether this transport uses sharded pub/sub (`SPUBLISH`/`SSUBSCRIBE`). */
  get sharded(): boolean {
    return this.#sharded;
  }

  /** The Redis channel of `address`: hashed by the address when sharded, by the prefix otherwise. */
  channel(address: string): string {
    checkAddress(address);
    if (this.#sharded) return `${this.#prefix.slice(1, -1)}:sessions:{${address}}`;
    return `${this.#prefix}:sessions:${address}`;
  }

  /**
   * Publishes on the address's channel; resolves to the number of
   * subscribers it reached. A 0 is certain only when the client's connection
   * stayed up from the send to the reply: when it closed in between, ioredis
   * sends the command again on the next connection
   * (`autoResendUnfulfilledCommands`), so the first copy may have reached
   * subscribers (on the old server, or copied to them by replication) while
   * the answer counts only the second. Then it rejects instead ("maybe
   * sent"), as the {@link Transport} contract asks.
   */
  async publish(address: string, message: string): Promise<number> {
    this.#check();
    if (typeof message !== 'string') throw new RingError('INVALID_OPTION', `publish() needs a string message, got ${describe(message)}`);
    const channel = this.channel(address);
    const closedBefore = this.#closes.n;
    const reached = this.#sharded ? await this.#spublish(channel, message) : await this.#redis.publish(channel, message);
    if (reached === 0 && this.#closes.n !== closedBefore) {
      throw new Error(`the connection to Redis closed while publishing on ${channel} and the command was sent again: the first copy may have reached listeners`);
    }
    return reached;
  }

  async listen(address: string, listener: (message: string) => void, onError?: (error: Error) => void): Promise<() => Promise<void>> {
    this.#check();
    const channel = this.channel(address);
    if (typeof listener !== 'function') throw new RingError('INVALID_OPTION', `listen() needs a listener function, got ${describe(listener)}`);
    if (this.#subscriptions.has(address)) throw new RingError('INVALID_OPTION', `this transport already listens at ${describe(address)}`);
    const report = (error: Error): void => onError?.(error);
    let confirm!: () => void;
    const confirmed = new Promise<void>((resolve) => (confirm = resolve));
    let refuse!: (error: Error) => void;
    const refused = new Promise<Error>((resolve) => (refuse = resolve));
    const handlers = {
      message: (message: string) => {
        try {
          listener(message);
        } catch (error) {
          report(asError(error, `listener of ${channel} threw`));
        }
      },
      error: report,
      subscribed: () => confirm(),
      refused: (error: Error) => refuse(error),
    };
    const wire = this.#wireName(channel);
    const subscription = this.#sharded
      ? new ShardChannelSubscription(this.#locator(wire), wire, handlers)
      : // ChannelSubscription only calls duplicate() on the client it is given.
        new ChannelSubscription(this.#redis as unknown as RedisClient, channel, handlers);
    this.#subscriptions.set(address, subscription);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<Error>(
      (resolve) => (timer = setTimeout(() => resolve(new Error(`Redis did not confirm the subscription to ${channel} within ${this.#listenTimeoutMs} ms`)), this.#listenTimeoutMs)),
    );
    const failure = await Promise.race([confirmed.then(() => null), timedOut, refused]);
    clearTimeout(timer);
    if (failure !== null) {
      this.#subscriptions.delete(address);
      await subscription.close();
      throw failure;
    }
    return async () => {
      if (this.#subscriptions.get(address) !== subscription) return;
      this.#subscriptions.delete(address);
      await subscription.close();
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    const all = [...this.#subscriptions.values()];
    this.#subscriptions.clear();
    await Promise.all(all.map((s) => s.close()));
  }

  /**
   * SPUBLISH, whose count is exact when the master of the channel's slot
   * answered. A Cluster client's slot map goes stale when a master is demoted
   * (a manual or takeover failover, a migrated slot) and its replica answers
   * SPUBLISH itself, counting only its own subscribers, while the message
   * still reaches the master's: so a 0 is checked against a fresh slot map,
   * and when the master changed it becomes a rejection ("maybe sent").
   */
  async #spublish(channel: string, message: string): Promise<number> {
    const topology = this.#redis.isCluster === true ? (this.#redis as unknown as RedisClusterTopology) : null;
    const slot = topology === null ? 0 : this.#slot(this.#wireName(channel));
    const before = topology?.slots[slot]?.[0];
    const reached = Number(await this.#redis.spublish!(channel, message));
    // No slot map before: the client was connecting and sent the command with the map it just loaded.
    if (reached !== 0 || topology === null || before === undefined) return reached;
    await new Promise<void>((resolve) => topology.refreshSlotsCache(() => resolve()));
    if (topology.slots[slot]?.[0] !== before) {
      throw new Error(`the master of ${channel} changed while publishing on it (failover or slot migration): the message may have reached its listeners`);
    }
    return 0;
  }

  /** The name a shard channel has on the server: the client's `keyPrefix` (applied by ioredis to SPUBLISH) and the channel. */
  #wireName(channel: string): string {
    const keyPrefix = this.#redis.options?.keyPrefix;
    return this.#sharded && typeof keyPrefix === 'string' ? keyPrefix + channel : channel;
  }

  /** The hash slot of a channel, cached: a cluster has few addresses. */
  #slot(channel: string): number {
    let slot = this.#slots.get(channel);
    if (slot === undefined) {
      if (this.#slots.size >= MAX_CACHED_SLOTS) this.#slots.clear();
      slot = hashSlot(channel);
      this.#slots.set(channel, slot);
    }
    return slot;
  }

  /** Where the subscription of a shard channel connects: the master of its slot on a Cluster, else the client's own server. */
  #locator(channel: string): (moved: boolean) => Promise<RedisShardSource> {
    const redis = this.#redis as unknown as RedisShardSource & Partial<RedisClusterTopology>;
    if (this.#redis.isCluster === true) return clusterLocator(redis as RedisClusterTopology, channel);
    return async () => redis;
  }

  #check(): void {
    if (this.#closed) throw new RingError('CLOSED', 'this RedisTransport is closed');
  }
}

function checkAddress(address: unknown): asserts address is string {
  if (typeof address !== 'string' || address.length === 0 || address.length > MAX_ADDRESS_LENGTH) {
    throw new RingError('INVALID_OPTION', `a transport address must be a string of 1 to ${MAX_ADDRESS_LENGTH} characters, got ${describe(address)}`);
  }
}
