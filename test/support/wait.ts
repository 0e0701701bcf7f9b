/** Polling helpers shared by the test suites. */

/**
 * Polls `check` until it returns a truthy value without throwing, and
 * returns that value. Fails after `timeoutMs` with the last error seen.
 */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  options: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<NonNullable<T>> {
  return (await waitForTimed(check, options)).value;
}

/** {@link waitFor}, also returning how long the wait took, in milliseconds. */
export async function waitForTimed<T>(
  check: () => T | Promise<T>,
  { timeoutMs = 5000, intervalMs = 5, what = 'condition' }: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<{ value: NonNullable<T>; ms: number }> {
  const started = performance.now();
  let last: unknown = null;
  for (;;) {
    try {
      const value = await check();
      if (value) return { value: value as NonNullable<T>, ms: performance.now() - started };
      last = null;
    } catch (error) {
      last = error;
    }
    if (performance.now() - started > timeoutMs) {
      const detail = last instanceof Error ? `: ${last.message}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail}`, { cause: last });
    }
    await sleep(intervalMs);
  }
}

export async function sleep(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves to the error a promise rejects with; fails when it resolves. */
export async function rejectionOf(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof Error) return error as Error & { code?: string };
    throw new Error(`rejected with a non-Error: ${String(error)}`);
  }
  throw new Error('expected a rejection, but the promise resolved');
}
