/** Shared parts of the proxy integration tests: the keys, and waiting for a reload to take over. */
import { readFileSync, readdirSync } from 'node:fs';
import { until } from '../support/proxies.js';

/**
 * `count` distinct keys as they appear in a URL: plain ids, reserved
 * characters percent-encoded (`user%3A42`), percent-encoded UTF-8 names, and
 * long values (about 1,000 bytes).
 */
export function urlKeys(count: number): string[] {
  const names = ['user:', 'josé-', 'Ωμέγα ', '用户', 'emoji😀', 'a/b?c&d=', ''];
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const kind = i % 10;
    if (kind < 4) out.push(`u${i}`);
    else if (kind === 9) out.push(encodeURIComponent(`long:${i}:`) + 'x'.repeat(900 + (i % 97)) + encodeURIComponent(`é${i}`));
    else out.push(encodeURIComponent(`${names[i % names.length]!}${i}`));
  }
  return out;
}

/** Child pids of `pid` (Linux /proc). */
export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      const text = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
      if (text !== '') out.push(...text.split(/\s+/).map(Number));
    } catch {
      // the thread ended
    }
  }
  return out;
}

/**
 * Waits until none of `old` is still a child of `master` and a new child
 * runs: the reload's new workers alone serve. Returns the ms it took.
 */
export async function workersReplaced(master: number, old: readonly number[], timeoutMs = 10_000): Promise<number> {
  const started = performance.now();
  await until(
    () => {
      const now = childrenOf(master);
      return now.length > 0 && !now.some((pid) => old.includes(pid));
    },
    timeoutMs,
    'the old workers to exit after a reload',
  );
  return performance.now() - started;
}
