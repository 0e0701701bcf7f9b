/**
 * Vitest's file order, longest files first. With several workers the run
 * ends when the last file does: a 100 s file picked up last would run alone
 * at the end. Vitest orders by the durations of the previous run when it has
 * them (node_modules/.vite), which a fresh clone or a CI machine has not;
 * it then orders by file size, which says little here (a short file can
 * start a whole cluster). So the files known to take longest (measured on a
 * 2-core machine) go first, longest first; every other file follows in
 * Vitest's own order. A file missing from the list only risks a longer tail.
 */
import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/** The slowest files, longest first (seconds on a 2-core machine, alone). */
export const SLOWEST_FILES: readonly string[] = [
  'test/chaos/chaos-run.test.ts', // 80
  'test/cluster/scenario.test.ts', // 70
  'test/chaos/chaos-external-sentinel.test.ts', // 60
  'test/proxy/haproxy-removal.test.ts', // 45
  'test/cluster/proxy-gateway.test.ts', // 40
  'test/chaos/chaos-external-redis.test.ts', // 36
  'test/adapters/nats/nats-cluster.test.ts', // 33
  'test/cluster/engines.test.ts', // 30
  'test/cli/bench-redis.test.ts', // 19
  'test/adapters/redis/redis-adapters.test.ts', // 17
  'test/adapters/redis/redis-sentinel.test.ts', // 16
  'test/cluster/parts.test.ts', // 15
  'test/adapters/redis/redis-faults.test.ts', // 15
  'test/proxy/haproxy-binary.test.ts', // 14
  'test/dist/package.test.ts', // 14
  'test/socketio/memory.test.ts', // 13
  'test/proxy/sync.test.ts', // 12
  'test/gateway/limits.test.ts', // 12
  'test/adapters/nats/nats-live.test.ts', // 11
  'test/adapters/redis/redis-sharded.test.ts', // 11
  'test/adapters/redis/redis-live.test.ts', // 11
  'test/proxy/nginx-binary.test.ts', // 10
];

export default class SlowestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (spec: TestSpecification): number => {
      const index = SLOWEST_FILES.indexOf(relative(spec.project.config.root, spec.moduleId).replaceAll('\\', '/'));
      return index < 0 ? SLOWEST_FILES.length : index;
    };
    // Stable: projects and groups keep Vitest's order, and so do the files not listed.
    return sorted
      .map((spec, i) => ({ spec, i }))
      .sort((a, b) => {
        const group = a.spec.project.config.sequence.groupOrder - b.spec.project.config.sequence.groupOrder;
        if (group !== 0) return group;
        if (a.spec.project.name !== b.spec.project.name) return a.i - b.i;
        return rank(a.spec) - rank(b.spec) || a.i - b.i;
      })
      .map(({ spec }) => spec);
  }
}
