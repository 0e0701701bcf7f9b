import { RingError, describe } from '../../errors.js';
import type { RedisClient } from './client.js';
import { ChannelSubscription, asError } from './channel.js';

/** What a {@link Watchers} set needs from its adapter. */
export interface WatchersOptions<T> {
  readonly redis: RedisClient;
  readonly channel: string;
  /** Validates a pushed message; a throw goes to the watchers' `onError`. */
  readonly parse: (message: string) => T;
  /** Names the pushed value in error messages, e.g. "ring state". */
  readonly what: string;
  /** Called after every (re)subscription, to catch up with what was missed. */
  readonly subscribed?: () => void;
  /** Hears every failure the watchers hear, watched or not (an adapter-wide `onError` option). */
  readonly onError?: ((error: Error) => void) | undefined;
}

interface Watcher<T> {
  readonly listener: (value: T) => void;
  readonly onError: ((error: Error) => void) | undefined;
}

/**
 * The watchers of one Redis channel: the first watch opens the subscriber
 * connection (duplicated from the user's client), stopping the last closes
 * it. Pushed messages are parsed once and fanned out; bad messages, listener
 * exceptions and connection errors go to `onError`, never to a listener.
 */
export class Watchers<T> {
  readonly #options: WatchersOptions<T>;
  readonly #set = new Set<Watcher<T>>();
  #subscription: ChannelSubscription | null = null;

  constructor(options: WatchersOptions<T>) {
    this.#options = options;
  }

  /** Number of active watches. */
  get size(): number {
    return this.#set.size;
  }

  /** Adds a watch; returns the function that stops it. */
  add(listener: (value: T) => void, onError: ((error: Error) => void) | undefined): () => void {
    if (typeof listener !== 'function') {
      throw new RingError('INVALID_OPTION', `watch(listener) needs a function, got ${describe(listener)}`);
    }
    const watcher: Watcher<T> = { listener, onError };
    this.#set.add(watcher);
    const { redis, channel, parse, what, subscribed } = this.#options;
    this.#subscription ??= new ChannelSubscription(redis, channel, {
      message: (message) => {
        let value: T;
        try {
          value = parse(message);
        } catch (error) {
          this.fail(asError(error, `bad ${what} pushed`));
          return;
        }
        this.deliver(value);
      },
      error: (error) => this.fail(error),
      subscribed: () => subscribed?.(),
    });
    return () => {
      if (this.#set.delete(watcher) && this.#set.size === 0) void this.#unsubscribe();
    };
  }

  /** Hands `value` to every listener; a listener that throws is reported to its own `onError`. */
  deliver(value: T): void {
    for (const watcher of [...this.#set]) {
      try {
        watcher.listener(value);
      } catch (error) {
        watcher.onError?.(asError(error, `${this.#options.what} listener threw`));
      }
    }
  }

  /** Reports `error` to every watcher's `onError` (and the `onError` option); one that throws does not stop the others. */
  fail(error: Error): void {
    const handlers = [this.#options.onError, ...[...this.#set].map((watcher) => watcher.onError)];
    for (const handler of handlers) {
      try {
        handler?.(error);
      } catch {
        // An error handler that throws must not stop the others.
      }
    }
  }

  /** Stops every watch and closes the subscriber connection. */
  async close(): Promise<void> {
    this.#set.clear();
    await this.#unsubscribe();
  }

  async #unsubscribe(): Promise<void> {
    const subscription = this.#subscription;
    this.#subscription = null;
    await subscription?.close();
  }
}
