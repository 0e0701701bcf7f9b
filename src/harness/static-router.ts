/**
 * A fixed ring as the `RouterLike` a `SessionNode` and a `Dispatcher` take:
 * the bench holds membership still, so no store is needed, and the time of
 * every lookup can be counted as routing in the timed round.
 */
import type { HashRing } from '../ring/hash-ring.js';
import type { RingNode } from '../ring/types.js';
import type { RouterLike } from '../sessions/options.js';
import type { CategoryClock } from './category-clock.js';

export type StaticRouter = RouterLike & { lookupMany(keys: ArrayLike<string>): RingNode[] };

export function staticRouter(ring: HashRing, clock: CategoryClock | null = null): StaticRouter {
  const timed = <A, R>(fn: (arg: A) => R) =>
    (arg: A): R => {
      if (clock === null || !clock.on) return fn(arg);
      const previous = clock.enter('routing');
      try {
        return fn(arg);
      } finally {
        clock.exit(previous);
      }
    };
  return {
    ring,
    lookup: timed((key: string) => ring.lookup(key)),
    lookupMany: timed((keys: ArrayLike<string>) => ring.lookupMany(keys)),
    // The ring never changes during a run.
    on: () => undefined,
    off: () => undefined,
  };
}
