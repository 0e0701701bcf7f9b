/**
 * The cluster example's engines besides a single Redis: NATS with JetStream
 * (`--nats URL`) and a Redis Cluster (`--redis URL,URL,URL`), each run small
 * with one OS process per gateway and node on a private server of the
 * test's own; and what `--redis` and `--nats` accept, and say when the
 * server does not answer.
 */
import { fileURLToPath } from 'node:url';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { natsConnectOptions, natsEngine, redactNatsUrl } from '../../examples/cluster/nats-engine.js';
import { redisEngine } from '../../examples/cluster/redis-engine.js';
import { redisClusterTarget } from '../../examples/cluster/redis-url.js';
import { formatVerdict } from '../../examples/cluster/report.js';
import { type ScenarioOptions, runScenario } from '../../examples/cluster/scenario.js';
import { NatsServer, freePort, skipWithoutNats, useNatsServer } from '../support/nats-server.js';
import { skipWithoutRedis, useRedisCluster } from '../support/redis-server.js';

/** A whole scenario in about 10 s: few users and messages, short windows, a short ttl, no attack phase. */
const SHORT: ScenarioOptions = { users: 24, nodes: 2, steadyMs: 400, oneToOneRate: 60, groupRate: 6, groupSize: 4, ttlMs: 1000, graceMs: 3000, attacks: false };

const previousTsconfig = process.env.TSX_TSCONFIG_PATH;
beforeAll(() => {
  // The node and gateway processes run the library's source, like this test does.
  process.env.TSX_TSCONFIG_PATH = fileURLToPath(new URL('./tsconfig.source.json', import.meta.url));
});
afterAll(() => {
  if (previousTsconfig === undefined) delete process.env.TSX_TSCONFIG_PATH;
  else process.env.TSX_TSCONFIG_PATH = previousTsconfig;
});

describe('--redis and --nats values', () => {
  it('takes one Redis URL as a single server, and two or more as a Redis Cluster sharing scheme and credentials', () => {
    expect(redisClusterTarget('redis://127.0.0.1:6379')).toBeNull();
    expect(redisClusterTarget('redis://u:p%40ss@10.0.0.1:7000, redis://10.0.0.2,redis://[::1]:7002')).toEqual({
      nodes: [{ host: '10.0.0.1', port: 7000 }, { host: '10.0.0.2', port: 6379 }, { host: '::1', port: 7002 }],
      redisOptions: { maxRetriesPerRequest: 2, username: 'u', password: 'p@ss' },
    });
    expect(redisClusterTarget('redis://a:1,rediss://b:2')).toMatch(/mixes redis:\/\/ and rediss:\/\//);
    expect(redisClusterTarget('redis://a:1,b:2')).toMatch(/"b:2" is not a redis:\/\/ or rediss:\/\/ URL/);
    expect(redisClusterTarget('redis://a:1,,redis://b:2')).toMatch(/empty entry \(number 2\)/);
    expect(redisClusterTarget('redis://a:1/2,redis://b:2')).toMatch(/names database 2: a Redis Cluster has only database 0/);
    expect(redisClusterTarget('redis://u:p@a:1,redis://u:q@b:2')).toMatch(/different users or passwords/);
  });

  it('takes nats:// URLs, credentials moved to the options and hidden when printed', () => {
    expect(natsConnectOptions('nats://127.0.0.1:4222')).toEqual({ servers: ['127.0.0.1:4222'] });
    expect(natsConnectOptions('nats://user:pw@a:1,nats://b')).toEqual({ servers: ['a:1', 'b:4222'], user: 'user', pass: 'pw' });
    expect(natsConnectOptions('nats://s3cret@a:1')).toEqual({ servers: ['a:1'], token: 's3cret' });
    expect(redactNatsUrl('nats://user:pw@a:1,nats://s3cret@b:2')).toBe('nats://user:***@a:1,nats://***@b:2');
    expect(natsConnectOptions('redis://a:1')).toMatch(/--nats must be a nats:\/\/ URL.*redis:\/\/ is not one/);
    expect(natsConnectOptions('nats://a:1,')).toMatch(/empty entry \(number 2\)/);
    expect(natsConnectOptions('nats://a:1/x')).toMatch(/has a path/);
    expect(natsConnectOptions('nats://u:p@a:1,nats://v:p@b:1')).toMatch(/different credentials/);
  });

  it('says which server did not answer and why, within the wait', async () => {
    const port = await freePort(); // nothing listens there
    await expect(natsEngine(`nats://127.0.0.1:${port}`).connect({ name: 'probe', prefix: 'p', waitMs: 1000 })).rejects.toThrow(
      new RegExp(`^NATS nats://127.0.0.1:${port} did not answer within 1 s \\(`),
    );
    await expect(redisEngine(`redis://127.0.0.1:${port}`).connect({ name: 'probe', prefix: 'p', waitMs: 1000 })).rejects.toThrow(
      new RegExp(`^Redis redis://127.0.0.1:${port} did not answer within 1 s \\(connect ECONNREFUSED`),
    );
  });
});

describe.skipIf(skipWithoutNats('the cluster example on NATS'))('the cluster example on NATS (--nats)', () => {
  const server = useNatsServer();

  it('says so when the server has no JetStream', async () => {
    const plain = await NatsServer.start({ extraArgs: ['-js=false'] });
    try {
      await expect(natsEngine(plain.url).connect({ name: 'probe', prefix: 'p', waitMs: 1000 })).rejects.toThrow(/answers, but not its JetStream API .*needs nats-server with JetStream \(-js\)/);
    } finally {
      await plain.destroy();
    }
  });

  it('loses nothing with a node process killed, and deletes its buckets at the end', { timeout: 60_000 }, async () => {
    const report = await runScenario({ ...SHORT, natsUrl: server().url });
    expect(formatVerdict(report)).toMatch(/^verdict: ok: .*; lost 0$/);
    expect(report.adapters).toBe('nats');
    expect(report.totals.lost).toBe(0);
    expect(report.totals.delivered).toBeGreaterThan(0);
    const nc = await connect({ servers: server().url });
    try {
      const streams = await (await jetstreamManager(nc)).streams.names().next();
      expect(streams.filter((name) => name.startsWith(`KV_${String(report.config.natsPrefix)}`))).toEqual([]);
    } finally {
      await nc.close();
    }
  });
});

describe.skipIf(skipWithoutRedis('the cluster example on a Redis Cluster', 'cluster'))('the cluster example on a Redis Cluster (--redis URL,URL,URL)', () => {
  const nodes = useRedisCluster();

  it('refuses one URL of a Cluster node, naming the URL list it needs', async () => {
    const { host, port } = nodes()[0]!;
    await expect(redisEngine(`redis://${host}:${port}`).connect({ name: 'probe', prefix: 'p', waitMs: 1000 })).rejects.toThrow(
      /is a node of a Redis Cluster: give --redis two or more of its nodes' URLs, separated by commas/,
    );
  });

  it('loses nothing with a node process killed, sends with SPUBLISH, and deletes its keys', { timeout: 60_000 }, async () => {
    const url = nodes().map(({ host, port }) => `redis://${host}:${port}`).join(',');
    const report = await runScenario({ ...SHORT, redisUrl: url });
    expect(formatVerdict(report)).toMatch(/^verdict: ok: .*; lost 0$/);
    expect(report.adapters).toBe('redis');
    expect(report.totals.lost).toBe(0);
    const masters = nodes().map(({ host, port }) => new Redis({ host, port }));
    try {
      const spublish = await Promise.all(masters.map(async (m) => Number(/^cmdstat_spublish:calls=(\d+)/m.exec(await m.info('commandstats'))?.[1] ?? 0)));
      // The node and sender channels hash over the slots: more than one master carried messages.
      expect(spublish.filter((calls) => calls > 0).length, `SPUBLISH calls per master: ${spublish.join(', ')}`).toBeGreaterThan(1);
      expect(await Promise.all(masters.map((m) => m.dbsize()))).toEqual([0, 0, 0]);
    } finally {
      for (const master of masters) master.disconnect();
    }
  });
});
