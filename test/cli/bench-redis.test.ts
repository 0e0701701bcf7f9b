import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runRoutingBench, type ModeFigures } from '../../src/cli/bench-routing.js';
import { memoryTransport } from '../../src/cli/transport-memory.js';
import { redisTransport } from '../../src/cli/transport-redis.js';
import { RedisServer, redisEnv, skipWithoutRedis } from '../support/redis-server.js';
import { bundleCli, linkNodeModules, runCli } from './cli-process.js';
import { reportErrors, smallOptions } from './support.js';

const SUITE = 'ringroute bench --transport redis';
const skip = skipWithoutRedis(SUITE, 'server-or-url');

/** The figures that count work, which must not depend on the transport. */
function work(f: ModeFigures) {
  return [f.nodeVisits, f.wastedVisits, f.sessionLookups, f.ringLookups, f.bytesBetweenNodes, f.delivered, f.checksum];
}

describe.skipIf(skip)(SUITE, () => {
  let server: RedisServer | undefined;
  let url: string;
  beforeAll(async () => {
    if (redisEnv.url) url = redisEnv.url;
    else {
      server = await RedisServer.start();
      url = server.url;
    }
  });
  afterAll(async () => {
    await server?.destroy();
  });

  it('routes through worker processes and Redis pub/sub with the same counts as in memory, and measures latency', async () => {
    const options = smallOptions({ nodes: [1, 3], users: 120, messages: 150, groupSize: 4, transport: 'redis', redisUrl: url, rate: 0 });
    const transport = await redisTransport({ url, rate: options.rate });
    let report;
    try {
      report = await runRoutingBench(options, transport);
    } finally {
      await transport.close();
    }
    expect(report.problems).toEqual([]);
    expect(report.correct).toBe(true);
    expect(reportErrors(report)).toEqual([]);
    const inMemory = await runRoutingBench({ ...options, transport: 'memory' }, memoryTransport());
    for (const [i, r] of report.results.entries()) {
      const m = inMemory.results[i]!;
      expect(work(r.broadcast)).toEqual(work(m.broadcast));
      expect(work(r.hash)).toEqual(work(m.hash));
      expect(r.broadcast.nodeVisitsPerDirectMessage).toBe(r.nodes);
      expect(r.hash.nodeVisitsPerDirectMessage).toBe(1);
      for (const f of [r.broadcast, r.hash]) {
        expect(f.latencyP50Ms).not.toBeNull();
        expect(f.latencyP50Ms!).toBeLessThanOrEqual(f.latencyP99Ms!);
        expect(f.cpuBreakdownMicros.gateway).toBeGreaterThan(0);
        expect(f.cpuBreakdownMicros.nodes).toBeGreaterThan(0);
        expect(f.cpuMicros).toBeGreaterThan(0);
        // The workers time their header reading and deliveries; the rest (pub/sub, the event loop) is what is left of
        // the total. (Which part is biggest is a measurement, not a property: under load the codec's wall-clock time can
        // outgrow the rest, so it is not asserted.)
        expect(f.cpuSplitMicros.codec).toBeGreaterThan(0);
        expect(f.cpuSplitMicros.delivery).toBeGreaterThan(0);
        const { routing, codec, delivery, rest } = f.cpuSplitMicros;
        expect(rest).toBeGreaterThanOrEqual(0);
        if (rest > 0) expect(routing + codec + delivery + rest).toBeCloseTo(f.cpuMicros, 0);
      }
    }
  });

  it('runs paced from the bundled CLI, whose workers are the bundle itself', async () => {
    const bundle = await bundleCli();
    linkNodeModules(bundle);
    const dir = mkdtempSync(join(tmpdir(), 'ringroute-cli-redis-'));
    try {
      const json = join(dir, 'report.json');
      const args = ['bench', '--redis', url, '--nodes', '2,3', '--users', '100', '--messages', '60', '--group-size', '3', '--rate', '400', '--json', json];
      const result = await runCli({ kind: 'built', file: bundle }, args, { cwd: dir });
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/redis transport \(400 msg\/s offered\)/);
      expect(result.stdout).toMatch(/p99 ms/);
      expect(result.stdout.replace(/\s+/g, ' ')).toMatch(/CPU µs\/delivered at 3 nodes, routing \/ codec \/ delivery \/ rest: broadcast [\d.]+ \/ [\d.]+ \/ [\d.]+ \/ [\d.]+, hash /);
      const report = JSON.parse(readFileSync(json, 'utf8')) as { args: { transport: string }; results: Array<{ hash: ModeFigures }> };
      expect(reportErrors(report)).toEqual([]);
      expect(report.args.transport).toBe('redis');
      expect(report.results[0]!.hash.latencyP99Ms).not.toBeNull();
    } finally {
      rmSync(dir, { recursive: true, force: true });
      rmSync(join(bundle, '..'), { recursive: true, force: true });
    }
  }, 90_000);
});
