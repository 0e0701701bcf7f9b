import type { KvWatchEntry } from '@nats-io/kv';
import { RingError } from '../../errors.js';
import type { KvBucket } from './bucket.js';

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
 * A KV watch that keeps itself alive: the client's ordered consumer already
 * survives reconnects; when the watch fails or ends anyway (its stream was
 * deleted or recreated empty, a consumer lost on a server restart), the loop
 * reports it and watches again, recreating the bucket if it is missing.
 * Stops for good only on `stop()` or when the connection is closed.
 */
export class KvWatchLoop {
  readonly #o: KvWatchLoopOptions;
  #stopped = false;
  #iterator: { stop(): void } | null = null;
  #wake: (() => void) | null = null;
  readonly #done: Promise<void>;

  constructor(options: KvWatchLoopOptions) {
    this.#o = options;
    this.#done = this.#run();
  }

  /** Stops watching; resolves once the loop has ended. */
  async stop(): Promise<void> {
    this.#stopped = true;
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
