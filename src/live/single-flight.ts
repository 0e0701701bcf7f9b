/**
 * One call to a backend at a time, with a deadline.
 *
 * A call that misses its deadline is reported and abandoned: the caller stops
 * waiting for it, but it still counts as in flight until it settles, so a
 * hung backend never collects a pile of overlapping calls (a paused Redis
 * answers every queued command at once when it comes back). While an
 * abandoned call is pending, {@link SingleFlight.run} refuses to start
 * another one and the owner retries later.
 */
export class SingleFlight {
  #pending: Promise<unknown> | undefined;
  #startedAt = 0;

  /** True while a call (possibly abandoned) has not settled. */
  get busy(): boolean {
    return this.#pending !== undefined;
  }

  /** How long the pending call has been running, in ms (0 when none). */
  get pendingMs(): number {
    return this.#pending === undefined ? 0 : Date.now() - this.#startedAt;
  }

  /**
   * Runs `call` unless another call is still pending, waiting at most
   * `timeoutMs`. Rejects with a `TimeoutError` naming `what` when the
   * deadline passes (the call is abandoned, its result ignored), and with a
   * `BusyError` when an earlier abandoned call has not settled yet.
   * `onSettled` runs when an abandoned call finally settles, so the owner can
   * try again at once.
   */
  async run<T>(call: () => Promise<T>, timeoutMs: number, what: string, onSettled?: () => void): Promise<T> {
    if (this.#pending !== undefined) {
      throw busyError(`${what}: the previous call is still pending after ${this.pendingMs} ms; not starting another`);
    }
    let promise: Promise<T>;
    try {
      promise = call();
    } catch (error) {
      return Promise.reject(error);
    }
    this.#pending = promise;
    this.#startedAt = Date.now();
    let abandoned = false;
    const settle = (): void => {
      if (this.#pending === promise) this.#pending = undefined;
      if (abandoned) onSettled?.();
    };
    promise.then(settle, settle);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        abandoned = true;
        reject(timeoutError(`${what} took longer than ${timeoutMs} ms; abandoned`));
      }, timeoutMs);
      timer.unref?.();
    });
    try {
      return await Promise.race([promise, deadline]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** An Error named `TimeoutError`: a backend call missed its deadline. */
export function timeoutError(message: string): Error {
  const error = new Error(message);
  error.name = 'TimeoutError';
  return error;
}

function busyError(message: string): Error {
  const error = new Error(message);
  error.name = 'BusyError';
  return error;
}
