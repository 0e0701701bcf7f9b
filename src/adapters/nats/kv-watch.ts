import type { KvWatchEntry } from '@nats-io/kv';
import { RingError } from '../../errors.js';
import { connectionClosed, isClosed, type KvBucket } from './bucket.js';

/** What a {@link KvWatchLoop} needs. */
export interface KvWatchLoopOptions {
  readonly bucket: KvBucket;
  /** The key (or `>` for all keys) to watch. */
  readonly key: string;
  /** `last`: start with the last value of each key, then updates; `updates`: updates only. */
  readonly include: 'last' | 'updates';
  readonly onEntry: (entry: KvWatchEntry) => void;
  readonly onError: (error: Error) => void;
  /** Called every time a watch is (re)established, before its first entry. */
  readonly onStarted?: () => void;
  /** First wait before watching again after a failure, in ms; doubles up to 2 s. */
  readonly retryMs: number;
}

/**
 * A KV watch that keeps itself alive. After every reconnect of the connection
 * it watches anew (the server may have restarted and lost the consumer, or
 * even the stream: the bucket is then created again), and when the watch
 * fails or ends (its stream deleted) it reports that and watches again.
 * Stops for good only on `stop()` or when the connection is closed (reported
 * once as `CLOSED`).
 */
export class KvWatchLoop {
  readonly #o: KvWatchLoopOptions;
  #stopped = false;
  #iterator: { stop(): void } | null = null;
  #wake: (() => void) | null = null;
  readonly #done: Promise<void>;

  readonly #status: AsyncIterable<{ type: string }> & { stop?: () => void };

  constructor(options: KvWatchLoopOptions) {
    this.#o = options;
    this.#status = options.bucket.connection.status() as AsyncIterable<{ type: string }> & { stop?: () => void }; // a QueuedIterator
    void this.#followReconnects();
    this.#done = this.#run();
  }

  async #followReconnects(): Promise<void> {
    try {
      for await (const status of this.#status) {
        if (this.#stopped) break;
        if (status.type === 'reconnect') {
          this.#reconnected = true;
          this.#iterator?.stop(); // ends the current watch: the loop watches again at once
          this.#wake?.();
        }
      }
    } catch {
      // the status iterator ends with the connection
    }
  }

  #reconnected = false;

  /** Stops watching; resolves once the loop has ended. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#status.stop?.();
    this.#iterator?.stop();
    this.#wake?.();
    await this.#done;
  }

  async #run(): Promise<void> {
    const { bucket, key, include, onEntry, onError, onStarted, retryMs } = this.#o;
    let failures = 0;
    while (!this.#stopped) {
      try {
        const iterator = await bucket.run((kv) => kv.watch({ key, include: include === 'updates' ? 'updates' : '' }));
        if (this.#stopped) {
          iterator.stop();
          break;
        }
        this.#iterator = iterator;
        failures = 0;
        onStarted?.();
        for await (const entry of iterator) {
          if (this.#stopped) break;
          onEntry(entry);
        }
        this.#iterator = null;
        if (this.#stopped) break;
        if (isClosed(bucket.connection)) {
          onError(connectionClosed(`the watch of bucket ${bucket.name}`));
          break;
        }
        if (this.#reconnected) {
          this.#reconnected = false;
          continue; // a reconnect ended it on purpose: watch again now
        }
        onError(new Error(`the watch of bucket ${bucket.name} ended (its consumer or stream went away); watching again`));
      } catch (error) {
        this.#iterator = null;
        if (this.#stopped) break;
        onError(error instanceof Error ? error : new Error(`watching bucket ${bucket.name} failed: ${String(error)}`));
        if (error instanceof RingError && error.code === 'CLOSED') break;
        failures++;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(2000, retryMs * 2 ** Math.min(failures, 6)));
        timer.unref();
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = null;
    }
  }
}
