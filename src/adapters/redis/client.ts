import { RingError, describe } from '../../errors.js';

/**
 * The few methods of a Redis client that the adapters call. Both ioredis
 * clients (`Redis` and `Cluster`) satisfy it structurally, so ringroute never
 * imports a Redis package; any other client can be wrapped to fit.
 */
export interface RedisClient {
  /** Runs a cached Lua script by SHA1; rejects with a `NOSCRIPT` error when the server does not know it. */
  evalsha(sha1: string, numkeys: number, ...keysAndArgs: Array<string | number>): Promise<unknown>;
  /** Runs (and caches) a Lua script. */
  eval(script: string, numkeys: number, ...keysAndArgs: Array<string | number>): Promise<unknown>;
  /** Reads a string key; `null` when it does not exist. */
  get(key: string): Promise<string | null>;
  /** A new connection with the same options, used for subscribing. The adapter closes it. */
  duplicate(): RedisSubscriberClient;
}

/** A connection in subscriber mode, as made by {@link RedisClient.duplicate}. */
export interface RedisSubscriberClient {
  /** Subscribes to channels; resolves once the server confirmed. */
  subscribe(...channels: string[]): Promise<unknown>;
  /** A published message on a subscribed channel. */
  on(event: 'message', listener: (channel: string, message: string) => void): unknown;
  /** A connection error; the client reconnects by itself. */
  on(event: 'error', listener: (error: Error) => void): unknown;
  /** The connection is (again) ready for commands. */
  on(event: 'ready', listener: () => void): unknown;
  /** The connection was lost (the client reconnects by itself). */
  on(event: 'close', listener: () => void): unknown;
  /** Closes the connection gracefully. */
  quit(): Promise<unknown>;
  /** Closes the connection at once. */
  disconnect(): void;
}

/** Throws `INVALID_OPTION` unless `redis` looks like a client with the methods the adapters call. */
export function checkClient(redis: unknown, owner: string): asserts redis is RedisClient {
  const client = redis as Partial<Record<keyof RedisClient, unknown>> | null | undefined;
  const missing = (['evalsha', 'eval', 'get', 'duplicate'] as const).filter((name) => typeof client?.[name] !== 'function');
  if (typeof redis !== 'object' || redis === null || missing.length > 0) {
    throw new RingError(
      'INVALID_OPTION',
      `${owner} needs options.redis to be a Redis client (e.g. new Redis() from ioredis)` +
        (typeof redis === 'object' && redis !== null ? `; it lacks ${missing.join(', ')}` : `, got ${describe(redis)}`),
    );
  }
}
