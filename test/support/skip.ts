/**
 * Suites that need something outside Node (root, a binary, a kernel
 * feature): skipped with one line saying what is missing, except under
 * `CI=true`, where a failing test says it instead.
 */
import { describe, it } from 'vitest';

/** Whether `suite` must be skipped because of `problem` (null: nothing missing); registers the failing test under CI=true. */
export function skipFor(suite: string, problem: string | null): boolean {
  if (problem === null) return false;
  if (process.env.CI === 'true') {
    describe(suite, () => {
      it('has what it needs (required when CI=true)', () => {
        throw new Error(`${suite}: ${problem}`);
      });
    });
  } else console.warn(`[ringroute] ${problem}: skipping ${suite}`);
  return true;
}
