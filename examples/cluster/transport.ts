/**
 * Node-to-node delivery. In memory mode an in-process bus; in Redis mode
 * Redis pub/sub (one shared channel that every node hears for broadcast, one
 * channel per node for hash, one per gateway for outcomes). Both report how
 * many subscribers a publication reached, which is how a sender notices that
 * a node is gone without waiting for a timeout.
 */
import type { Redis } from 'ioredis';
import type { Wire } from './protocol.js';

export type WireHandler = (message: Wire) => void;

/** One process's (or one in-process component's) connection to the bus. */
export interface Transport {
  /** Publishes `message`; resolves to the number of subscribers that received it (0: nobody listens). */
  publish(channel: string, message: Wire): Promise<number>;
  /** Starts receiving `channel`; resolves once the subscription is active. One handler per channel. */
  subscribe(channel: string, handler: WireHandler): Promise<void>;
  /** Stops every subscription of this connection and releases it. */
  close(): Promise<void>;
}

/**
 * An in-process bus. Each `connect()` is one participant; messages are
 * serialized and delivered on a later tick, as over a network, so no part
 * can rely on shared objects or synchronous delivery.
 */
export class MemoryBus {
  readonly #channels = new Map<string, Set<WireHandler>>();

  connect(): Transport {
    const mine = new Map<string, WireHandler>();
    let closed = false;
    return {
      publish: async (channel, message) => {
        if (closed) throw new Error('transport closed');
        const handlers = this.#channels.get(channel);
        if (handlers === undefined || handlers.size === 0) return 0;
        const json = JSON.stringify(message);
        for (const handler of handlers) {
          setImmediate(() => {
            // A subscriber that closed since the publication no longer hears it.
            if (this.#channels.get(channel)?.has(handler)) handler(JSON.parse(json) as Wire);
          });
        }
        return handlers.size;
      },
      subscribe: async (channel, handler) => {
        if (closed) throw new Error('transport closed');
        if (mine.has(channel)) throw new Error(`already subscribed to ${channel}`);
        mine.set(channel, handler);
        let set = this.#channels.get(channel);
        if (set === undefined) this.#channels.set(channel, (set = new Set()));
        set.add(handler);
      },
      close: async () => {
        closed = true;
        for (const [channel, handler] of mine) this.#channels.get(channel)?.delete(handler);
        mine.clear();
      },
    };
  }
}

/**
 * Redis pub/sub. Publishes on `redis` (which keeps serving commands) and
 * subscribes on a duplicate connection that this transport owns. Pub/sub is
 * at-most-once: a message published while a subscriber reconnects is lost,
 * which the gateway's retries cover.
 */
export class RedisTransport implements Transport {
  readonly #pub: Redis;
  readonly #sub: Redis;
  readonly #handlers = new Map<string, WireHandler>();

  constructor(redis: Redis, onError: (error: Error) => void = () => undefined) {
    this.#pub = redis;
    this.#sub = redis.duplicate();
    this.#sub.on('error', onError);
    this.#sub.on('message', (channel: string, json: string) => {
      const handler = this.#handlers.get(channel);
      if (handler === undefined) return;
      let message: Wire;
      try {
        message = JSON.parse(json) as Wire;
      } catch (error) {
        onError(error as Error);
        return;
      }
      handler(message);
    });
  }

  async publish(channel: string, message: Wire): Promise<number> {
    return this.#pub.publish(channel, JSON.stringify(message));
  }

  async subscribe(channel: string, handler: WireHandler): Promise<void> {
    if (this.#handlers.has(channel)) throw new Error(`already subscribed to ${channel}`);
    this.#handlers.set(channel, handler);
    await this.#sub.subscribe(channel);
  }

  async close(): Promise<void> {
    this.#handlers.clear();
    await this.#sub.quit().catch(() => this.#sub.disconnect());
  }
}
