import { RingError, describe } from '../../errors.js';

interface Watcher<T> {
  readonly listener: (value: T) => void;
  readonly onError: ((error: Error) => void) | undefined;
}

/**
 * The watchers of one adapter: values fanned out to every listener, failures
 * to every `onError` (and the adapter's own `onError` option). A listener
 * that throws is reported to its own `onError`; an `onError` that throws
 * does not stop the others.
 */
export class Fanout<T> {
  readonly #set = new Set<Watcher<T>>();
  readonly #what: string;
  readonly #onError: ((error: Error) => void) | undefined;

  constructor(what: string, onError?: (error: Error) => void) {
    this.#what = what;
    this.#onError = onError;
  }

  get size(): number {
    return this.#set.size;
  }

  /** Adds a watcher; returns the (idempotent) function that removes it, and whether that left none. */
  add(listener: (value: T) => void, onError: ((error: Error) => void) | undefined, emptied: () => void): () => void {
    if (typeof listener !== 'function') {
      throw new RingError('INVALID_OPTION', `watch(listener) needs a function, got ${describe(listener)}`);
    }
    const watcher: Watcher<T> = { listener, onError };
    this.#set.add(watcher);
    return () => {
      if (this.#set.delete(watcher) && this.#set.size === 0) emptied();
    };
  }

  deliver(value: T): void {
    for (const watcher of [...this.#set]) {
      try {
        watcher.listener(value);
      } catch (error) {
        watcher.onError?.(error instanceof Error ? error : new Error(`${this.#what} listener threw: ${String(error)}`));
      }
    }
  }

  fail(error: Error): void {
    for (const handler of [this.#onError, ...[...this.#set].map((watcher) => watcher.onError)]) {
      try {
        handler?.(error);
      } catch {
        // An error handler that throws must not stop the others.
      }
    }
  }

  clear(): void {
    this.#set.clear();
  }
}
