/**
 * `ringroute bench --transport redis` on a private redis-server, run as
 * users run it (dist/cli.js, whose node processes are dist/cli.js too):
 * a process per node on the library's RedisTransport, Redis' own CPU and
 * network bytes, the Socket.IO baseline, and a Redis that goes away mid-run.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BenchReport } from '../../src/cli/bench.js';
import type { Figures } from '../../src/harness/figures.js';
import { RedisServer, skipWithoutRedis } from '../support/redis-server.js';
import { builtOrSource, runCli, startCli } from './cli-process.js';
import { reportErrors, runSmall } from './support.js';

const SUITE = 'ringroute bench --transport redis';
const skip = skipWithoutRedis(SUITE, 'binary');
const entry = builtOrSource();

/** The figures that count work, which must not depend on the transport. */
function work(f: Figures) {
  return [f.nodeVisits, f.wastedVisits, f.delivered, f.duplicates, f.checksum];
}

function readReport(file: string): BenchReport {
  return JSON.parse(readFileSync(file, 'utf8')) as BenchReport;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(skip)(SUITE, () => {
  let server: RedisServer;
  let dir: string;
  beforeAll(async () => {
    server = await RedisServer.start();
    dir = mkdtempSync(join(tmpdir(), 'ringroute-cli-redis-'));
  });
  afterAll(async () => {
    await server?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs a process per node on RedisTransport: every pair once, the same work as in memory, Redis CPU and bytes measured', async () => {
    const json = join(dir, 'redis.json');
    const flags = ['--nodes', '2,3', '--users', '120', '--messages', '150', '--group-size', '4', '--seed', '5'];
    const result = await runCli(entry, ['bench', '--redis', server.url, ...flags, '--rate', '0', '--json', json]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^ringroute bench: redis transport \(unpaced\), 120 users/);
    expect(result.stdout.replace(/\s+/g, ' ')).toMatch(/CPU includes the sender, every node process and the Redis server/);
    const report = readReport(json);
    expect(reportErrors(report)).toEqual([]);
    expect(report).toMatchObject({ version: 2, complete: true, incomplete: null, correct: true, problems: [] });
    expect(report.args).toMatchObject({ transport: 'redis', redisUrl: server.url, sockets: 'memory', baseline: null, rate: 0 });
    const inMemory = await runSmall({ nodes: [2, 3], users: 120, messages: 150, groupSize: 4, payloadBytes: 64, seed: 5 });
    expect(report.workload.expectedChecksum).toBe(inMemory.workload.expectedChecksum);
    expect(report.results.map((r) => r.nodes)).toEqual([2, 3]);
    for (const [i, r] of report.results.entries()) {
      const m = inMemory.results[i]!;
      expect(work(r.broadcast)).toEqual(work(m.broadcast));
      expect(work(r.hash)).toEqual(work(m.hash));
      expect(r.broadcast.nodeVisitsPerMessage).toBe(r.nodes);
      expect(r.hash.nodeVisitsPerDirectMessage).toBe(1);
      expect(r.hash.wastedVisits).toBe(0);
      for (const f of [r.broadcast, r.hash]) {
        expect(f.delivered).toBe(report.workload.expectedDelivered);
        expect(f.checksum).toBe(report.workload.expectedChecksum);
        expect(f.duplicates).toBe(0);
        expect(f.notDelivered).toBe(0);
        expect(f.busBytes).toBeGreaterThan(0);
        expect(f.latencyP50Ms).not.toBeNull();
        expect(f.latencyP99Ms).not.toBeNull();
        expect(f.latencyP50Ms!).toBeLessThanOrEqual(f.latencyP99Ms!);
        // One process per node: no in-process split, but CPU by process, the Redis server's included.
        expect(f.cpuSplitMicrosPerDelivered).toBeNull();
        expect(f.cpuBreakdownMicros.sender).toBeGreaterThan(0);
        expect(f.cpuBreakdownMicros.nodes).toBeGreaterThan(0);
        expect(f.cpuBreakdownMicros.server).toBeGreaterThan(0);
        expect(f.cpuMicros).toBe(f.cpuBreakdownMicros.sender! + f.cpuBreakdownMicros.nodes! + f.cpuBreakdownMicros.server!);
        expect(f.server).not.toBeNull();
        expect(f.server!.cpuMicrosPerMessage).toBeGreaterThan(0);
        expect(f.server!.netBytesPerMessage).toBeGreaterThan(0);
      }
    }
  });

  it('--baseline socket.io: the Redis adapter visits every node per message, and every system delivers every pair once', async () => {
    const json = join(dir, 'baseline.json');
    const started = Date.now();
    const args = ['bench', '--redis', server.url, '--baseline', 'socket.io', '--nodes', '2', '--users', '50', '--messages', '100', '--group-size', '4', '--rate', '0', '--json', json];
    const result = await runCli(entry, args);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(result.stdout).toMatch(/sio\/hash/);
    expect(result.stdout).toMatch(/every system delivered all \d+ expected \(message, user\) pairs/);
    const report = readReport(json);
    expect(reportErrors(report)).toEqual([]);
    expect(report).toMatchObject({ correct: true, complete: true, problems: [] });
    expect(report.args.baseline).toBe('socket.io');
    const r = report.results[0]!;
    expect(Object.keys(r.baselines ?? {}).sort()).toEqual(['ringroute-socket.io', 'socket.io-redis-adapter']);
    const sio = r.baselines!['socket.io-redis-adapter']!;
    const rrSio = r.baselines!['ringroute-socket.io']!;
    for (const f of [sio, rrSio]) {
      expect(f.delivered).toBe(report.workload.expectedDelivered);
      expect(f.checksum).toBe(report.workload.expectedChecksum);
      expect(f.duplicates).toBe(0);
      expect(f.notDelivered).toBe(0);
      expect(f.server!.cpuMicrosPerMessage).toBeGreaterThan(0);
      expect(f.server!.netBytesPerMessage).toBeGreaterThan(0);
    }
    expect(sio.nodeVisitsPerMessage).toBe(2);
    expect(sio.nodeVisitsPerDirectMessage).toBe(2);
    // ringroute/socket.io takes a one-to-one message to its user's owner only, as hash routing does.
    expect(rrSio.nodeVisitsPerDirectMessage).toBe(1);
    expect(rrSio.nodeVisits).toBe(r.hash.nodeVisits);
    expect(rrSio.wastedVisits).toBe(0);
  });

  // Killed as the 2-node cluster starts (its first node subscribed, the others maybe not), and in its first round.
  it.each([
    ['while the 2-node cluster starts', 0],
    ['in the 2-node round', 300],
  ])('exits 1 soon after Redis is killed mid-run (%s), saying so, with an incomplete report of the node counts finished', async (_, delayMs) => {
    // A second private server: this one is killed.
    const doomed = await RedisServer.start();
    const json = join(dir, `killed-${delayMs}.json`);
    const watcher = new Redis(doomed.url, { retryStrategy: () => null, maxRetriesPerRequest: 1 });
    watcher.on('error', () => undefined);
    try {
      // Paced, so each node count takes about 2 s.
      const args = ['bench', '--redis', doomed.url, '--nodes', '1,2', '--users', '60', '--messages', '100', '--group-size', '4', '--rate', '200', '--json', json];
      const { child, result } = startCli(entry, args, { timeoutMs: 45_000 });
      // Each cluster has channels of its own (a hash tag per cluster): a second tag is the 2-node cluster.
      const tags = new Set<string>();
      const deadline = Date.now() + 20_000;
      while (tags.size < 2) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the 2-node cluster never subscribed (tags: ${[...tags].join(', ')})`);
        for (const channel of (await watcher.pubsub('CHANNELS', '*')) as string[]) {
          const tag = /^\{([^}]+)\}/.exec(channel)?.[1];
          if (tag !== undefined) tags.add(tag);
        }
        await sleep(25);
      }
      await sleep(delayMs);
      watcher.disconnect();
      const killed = Date.now();
      await doomed.kill();
      const { code, stdout, stderr } = await result;
      expect(Date.now() - killed).toBeLessThan(20_000);
      expect(code).toBe(1);
      expect(stdout).toMatch(/INCOMPLETE: the run ended early/);
      expect(stderr).toMatch(new RegExp(`^ringroute bench: the run ended early \\(2 nodes: [^\\n]*Redis at ${doomed.url.replace(/[.]/g, '\\.')}[^\\n]*\\); the report holds the node counts finished before\\n$`));
      const report = readReport(json);
      expect(reportErrors(report)).toEqual([]);
      expect(report.complete).toBe(false);
      expect(report.incomplete).toMatch(/^2 nodes: .*Redis at redis:\/\/127\.0\.0\.1:\d+/);
      expect(report.correct).toBe(false);
      // The node count finished before the kill is there, and right.
      expect(report.results.map((r) => r.nodes)).toEqual([1]);
      expect(report.problems).toEqual([]);
      for (const f of [report.results[0]!.broadcast, report.results[0]!.hash]) {
        expect(f.delivered).toBe(report.workload.expectedDelivered);
        expect(f.checksum).toBe(report.workload.expectedChecksum);
      }
    } finally {
      watcher.disconnect();
      await doomed.destroy();
    }
  }, 60_000);
});
