/** Polls `check` until it returns a truthy value or `timeoutMs` passes; returns the value and the time it took. */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  options: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<{ value: NonNullable<T>; ms: number }> {
  const { timeoutMs = 5000, intervalMs = 5, what = 'condition' } = options;
  const started = performance.now();
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return { value: value as NonNullable<T>, ms: performance.now() - started };
    } catch (error) {
      lastError = error;
    }
    if (performance.now() - started > timeoutMs) {
      const detail = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail}`);
    }
    await sleep(intervalMs);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
