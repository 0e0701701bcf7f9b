/**
 * Runs a proxy's sync task one at a time: a request during a run schedules
 * exactly one more run (the latest ring is read when it starts), so at most
 * one run waits, whatever the rate of changes. Failures go to `onError`,
 * never to an unhandled rejection.
 */
export class SyncLoop {
  readonly #task: () => Promise<void>;
  readonly #onError: (error: Error) => void;
  #running: Promise<void> | undefined;
  #again = false;
  #closed = false;

  constructor(task: () => Promise<void>, onError: (error: Error) => void) {
    this.#task = task;
    this.#onError = onError;
  }

  /** Asks for a run; returns a promise that settles when the proxy is in step with the ring as it was at the call (or failed, reported). */
  request(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    if (this.#running !== undefined) {
      // The running loop goes round once more before it settles.
      this.#again = true;
      return this.#running;
    }
    this.#running = this.#loop();
    return this.#running;
  }

  async #loop(): Promise<void> {
    try {
      do {
        this.#again = false;
        try {
          await this.#task();
        } catch (error) {
          if (!this.#closed) this.#onError(error instanceof Error ? error : new Error(String(error)));
        }
      } while (this.#again && !this.#closed);
    } finally {
      this.#running = undefined;
    }
  }

  /** Stops further runs and waits for the one in progress. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#running;
  }
}
