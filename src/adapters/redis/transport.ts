import { MAX_ADDRESS_LENGTH, type Transport } from '../../live/transport.js';
import { RingError, describe } from '../../errors.js';
import { ChannelSubscription, asError } from './channel.js';
import type { RedisClient, RedisSubscriberClient } from './client.js';
import { DEFAULT_PREFIX, redisKeys } from './keys.js';

/** The Redis commands {@link RedisTransport} calls: both ioredis clients (`Redis`, `Cluster`) fit. */
export interface RedisTransportClient {
  /** Publishes on a channel; resolves to the number of subscribers that received it. */
  publish(channel: string, message: string): Promise<number>;
  /** A new connection with the same options, used for subscribing. The transport closes it. */
  duplicate(): RedisSubscriberClient;
}

/** Options of {@link RedisTransport}. */
export interface RedisTransportOptions {
  /** Your client; the transport publishes on it and duplicates it once per listened address. */
  readonly redis: RedisTransportClient;
  /** Key prefix shared by the cluster; channels are `{prefix}:sessions:<address>`. @default 'ringroute' */
  readonly prefix?: string;
  /** How long `listen()` waits for Redis to confirm the subscription before it rejects. @default 5000 */
  readonly listenTimeoutMs?: number;
}

/**
 * A {@link Transport} over Redis pub/sub: one channel per address (so one
 * per node, one per sender, and `all` for broadcast), each named
 * `{prefix}:sessions:<address>`, so on a Redis Cluster all of a prefix's
 * channels share the hash tag. Publishing uses your client; each listened
 * address gets its own duplicated connection, renewed after reconnects.
 * Pub/sub is at most once: a message published while a listener reconnects
 * is lost, which the senders' retries and timeouts cover. Use a single Redis
 * server (with replicas or Sentinel): on a Redis Cluster the receiver count
 * of `PUBLISH` covers one shard only, so "0 receivers" would not be certain.
 */
export class RedisTransport implements Transport {
  readonly #redis: RedisTransportClient;
  readonly #prefix: string;
  readonly #listenTimeoutMs: number;
  readonly #subscriptions = new Map<string, ChannelSubscription>();
  #closed = false;

  constructor(options: RedisTransportOptions) {
    if (typeof options !== 'object' || options === null) throw new RingError('INVALID_OPTION', `RedisTransport needs { redis }, got ${describe(options)}`);
    const redis = options.redis as Partial<RedisTransportClient> | null | undefined;
    if (typeof redis !== 'object' || redis === null || typeof redis.publish !== 'function' || typeof redis.duplicate !== 'function') {
      throw new RingError('INVALID_OPTION', 'RedisTransport needs options.redis to be a Redis client with publish() and duplicate() (e.g. new Redis() from ioredis)');
    }
    const timeout = options.listenTimeoutMs ?? 5000;
    if (!Number.isFinite(timeout) || timeout <= 0) throw new RingError('INVALID_OPTION', `listenTimeoutMs must be a positive number, got ${describe(timeout)}`);
    this.#listenTimeoutMs = timeout;
    this.#redis = options.redis;
    this.#prefix = redisKeys(options.prefix ?? DEFAULT_PREFIX).ring.slice(0, -':ring'.length); // validates the prefix
  }

  /** The Redis channel of `address`. */
  channel(address: string): string {
    checkAddress(address);
    return `${this.#prefix}:sessions:${address}`;
  }

  async publish(address: string, message: string): Promise<number> {
    this.#check();
    if (typeof message !== 'string') throw new RingError('INVALID_OPTION', `publish() needs a string message, got ${describe(message)}`);
    return this.#redis.publish(this.channel(address), message);
  }

  async listen(address: string, listener: (message: string) => void, onError?: (error: Error) => void): Promise<() => Promise<void>> {
    this.#check();
    const channel = this.channel(address);
    if (typeof listener !== 'function') throw new RingError('INVALID_OPTION', `listen() needs a listener function, got ${describe(listener)}`);
    if (this.#subscriptions.has(address)) throw new RingError('INVALID_OPTION', `this transport already listens at ${describe(address)}`);
    const report = (error: Error): void => onError?.(error);
    let confirm!: () => void;
    const confirmed = new Promise<void>((resolve) => (confirm = resolve));
    // ChannelSubscription only calls duplicate() on the client it is given.
    const subscription = new ChannelSubscription(this.#redis as unknown as RedisClient, channel, {
      message: (message) => {
        try {
          listener(message);
        } catch (error) {
          report(asError(error, `listener of ${channel} threw`));
        }
      },
      error: report,
      subscribed: () => confirm(),
    });
    this.#subscriptions.set(address, subscription);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), this.#listenTimeoutMs)));
    const late = await Promise.race([confirmed.then(() => false), timedOut]);
    clearTimeout(timer);
    if (late) {
      this.#subscriptions.delete(address);
      await subscription.close();
      throw new Error(`Redis did not confirm the subscription to ${channel} within ${this.#listenTimeoutMs} ms`);
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

  #check(): void {
    if (this.#closed) throw new RingError('CLOSED', 'this RedisTransport is closed');
  }
}

function checkAddress(address: unknown): asserts address is string {
  if (typeof address !== 'string' || address.length === 0 || address.length > MAX_ADDRESS_LENGTH) {
    throw new RingError('INVALID_OPTION', `a transport address must be a string of 1 to ${MAX_ADDRESS_LENGTH} characters, got ${describe(address)}`);
  }
}
