import type { RedisClient, RedisSubscriberClient } from './client.js';

/** What a {@link ChannelSubscription} reports. */
export interface ChannelHandlers {
  /** A message published on the channel. */
  message(message: string): void;
  /** A connection or subscription failure; the client keeps reconnecting. */
  error(error: Error): void;
  /** The subscription is confirmed: after the first subscribe and after every reconnect. */
  subscribed(): void;
}

/** How long `close()` waits for a graceful QUIT before dropping the connection. */
const QUIT_TIMEOUT_MS = 1000;

/**
 * One channel on a connection of its own, duplicated from the user's client
 * (a connection in subscriber mode cannot run other commands). The
 * subscription is renewed after every reconnect, and `subscribed` fires each
 * time so the owner can catch up with what it missed while cut off.
 */
export class ChannelSubscription {
  readonly #channel: string;
  readonly #handlers: ChannelHandlers;
  readonly #client: RedisSubscriberClient;
  /** The SUBSCRIBE in flight, if any. */
  #subscribing: Promise<void> | null = null;
  #lost = false;
  #closed = false;

  constructor(redis: RedisClient, channel: string, handlers: ChannelHandlers) {
    this.#channel = channel;
    this.#handlers = handlers;
    this.#client = duplicateForSubscribing(redis);
    this.#client.on('message', (from, message) => {
      if (!this.#closed && from === this.#channel) this.#handlers.message(message);
    });
    // Always listen for errors, even after close: an 'error' event with no
    // listener is logged as unhandled by ioredis.
    this.#client.on('error', (error) => {
      if (!this.#closed) this.#handlers.error(error);
    });
    this.#client.on('close', () => {
      this.#lost = true;
    });
    this.#client.on('ready', () => {
      // Back after a lost connection. ioredis resubscribes by itself;
      // subscribing again is harmless and tells us when the server confirmed.
      if (!this.#lost || this.#pending) return;
      this.#lost = false;
      this.#subscribe();
    });
    this.#subscribe();
  }

  #subscribe(): void {
    if (this.#closed) return;
    const subscribing = this.#client.subscribe(this.#channel).then(
      () => {
        if (this.#subscribing === subscribing) this.#subscribing = null;
        if (!this.#closed) this.#handlers.subscribed();
      },
      (error: unknown) => {
        if (this.#subscribing === subscribing) this.#subscribing = null;
        if (!this.#closed) this.#handlers.error(asError(error, `subscribing to ${this.#channel} failed`));
      },
    );
    this.#subscribing = subscribing;
  }

  get #pending(): boolean {
    return this.#subscribing !== null;
  }

  /** Unsubscribes and closes the duplicated connection. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), QUIT_TIMEOUT_MS);
      timer.unref();
    });
    // Let a SUBSCRIBE in flight (after a reconnect) be answered first: closing
    // under it would reject the client's own re-subscription, which nothing handles.
    if (this.#subscribing !== null) await Promise.race([this.#subscribing, timeout]);
    const quit = this.#client.quit().then(
      () => true,
      () => false,
    );
    const graceful = await Promise.race([quit, timeout]);
    clearTimeout(timer);
    if (!graceful) this.#client.disconnect();
  }
}

/**
 * A duplicate of `redis` for subscribing. On a single-server ioredis client it
 * turns ioredis' own re-subscription off (this class subscribes again after
 * every reconnect and wants to know when that is confirmed; ioredis' would be
 * a second SUBSCRIBE whose failure nothing can handle).
 */
function duplicateForSubscribing(redis: RedisClient): RedisSubscriberClient {
  const isCluster = (redis as { isCluster?: unknown }).isCluster === true;
  if (isCluster) return redis.duplicate();
  return (redis.duplicate as (override?: { autoResubscribe: boolean }) => RedisSubscriberClient).call(redis, { autoResubscribe: false });
}

/** `error` itself when it is an Error, else an Error describing it. */
export function asError(error: unknown, context: string): Error {
  if (error instanceof Error) return error;
  return new Error(`${context}: ${String(error)}`, { cause: error });
}
