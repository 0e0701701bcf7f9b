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
  /** Removes a listener added with `on`. */
  removeListener(event: string, listener: (...args: never[]) => void): unknown;
  /** Closes the connection gracefully. */
  quit(): Promise<unknown>;
  /** Closes the connection at once. */
  disconnect(): void;
}
