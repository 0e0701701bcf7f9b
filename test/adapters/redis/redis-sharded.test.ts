/**
 * RedisTransport with sharded pub/sub (SPUBLISH/SSUBSCRIBE): the transport
 * contract on a 3-master Redis Cluster and on a single Redis 7, channels
 * spread over the masters, and delivery resuming after a slot migrates.
 */
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisTransport } from '../../../src/adapters/redis/index.js';
import { hashSlot } from '../../../src/adapters/redis/slot.js';
import { RingError } from '../../../src/errors.js';
import { transportContract } from '../../contract/transport.contract.js';
import { RedisClusterServers, RedisServer, randomPrefix, skipWithoutRedis, useRedisCluster, useRedisServer } from '../../support/redis-server.js';
import { waitFor } from '../../support/wait.js';
import { TestCluster } from '../../sessions/support.js';

type Nodes = () => Array<{ host: string; port: number }>;

function clusterClient(nodes: Nodes): Cluster {
  const cluster = new Cluster(nodes(), { redisOptions: { maxRetriesPerRequest: 1 }, clusterRetryStrategy: () => 50 });
  cluster.on('error', () => undefined);
  return cluster;
}

function serverClient(url: string): Redis {
  const redis = new Redis(url, { maxRetriesPerRequest: 1, retryStrategy: () => 50 });
  redis.on('error', () => undefined);
  return redis;
}

const fake = { publish: async () => 0, spublish: async () => 0, duplicate: () => ({}) as never };

describe('RedisTransport sharded channel names', () => {
  it('hashes each address by itself when sharded, and keeps the prefix tag otherwise', () => {
    expect(new RedisTransport({ redis: fake, prefix: 'chat' }).channel('node:a')).toBe('{chat}:sessions:node:a');
    const sharded = new RedisTransport({ redis: { ...fake, isCluster: true }, prefix: 'chat' });
    expect(sharded.sharded).toBe(true);
    expect(sharded.channel('node:a')).toBe('chat:sessions:{node:a}');
    expect(new RedisTransport({ redis: { ...fake, isCluster: true }, prefix: 'chat', sharded: false }).channel('node:a')).toBe('{chat}:sessions:node:a');
    expect(new RedisTransport({ redis: fake, sharded: true }).channel('all')).toBe('ringroute:sessions:{all}');
    expect(() => new RedisTransport({ redis: { publish: fake.publish, duplicate: fake.duplicate }, sharded: true })).toThrow(RingError);
    expect(() => new RedisTransport({ redis: fake, sharded: 'yes' as never })).toThrow(/sharded must be a boolean/);
  });

  it('rejects listen() at once when the server does not know SSUBSCRIBE (Redis before 7)', async () => {
    const old = {
      ...fake,
      duplicate: () => ({
        ssubscribe: async () => Promise.reject(new Error("ERR unknown command 'ssubscribe', with args beginning with: 'x'")),
        on: () => undefined,
        quit: async () => 'OK',
        disconnect: () => undefined,
      }),
    };
    const transport = new RedisTransport({ redis: old as never, sharded: true, listenTimeoutMs: 60_000 });
    const errors: Error[] = [];
    const started = performance.now();
    await expect(transport.listen('node:a', () => undefined, (e) => errors.push(e))).rejects.toThrow(/unknown command/);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(errors).toHaveLength(1);
    await transport.close();
  });
});

describe.skipIf(skipWithoutRedis('RedisTransport sharded on a Redis Cluster', 'cluster'))('RedisTransport sharded on a 3-master Redis Cluster', () => {
  const nodes = useRedisCluster();
  const masters: Redis[] = [];
  beforeAll(() => {
    for (const node of nodes()) masters.push(serverClient(`redis://${node.host}:${node.port}`));
  });
  afterAll(() => {
    for (const m of masters) m.disconnect();
  });

  transportContract('RedisTransport (cluster, sharded)', () => {
    const prefix = randomPrefix('sharded');
    const clients: Cluster[] = [];
    const handles: RedisTransport[] = [];
    return {
      create: () => {
        const redis = clusterClient(nodes);
        clients.push(redis);
        const handle = new RedisTransport({ redis, prefix });
        expect(handle.sharded).toBe(true);
        handles.push(handle);
        return handle;
      },
      cleanup: async () => {
        for (const h of handles) await h.close();
        for (const c of clients) c.disconnect();
      },
    };
  });

  it('resolves 0 for a first publish on a client still loading its slot map', async () => {
    for (let i = 0; i < 5; i++) {
      const redis = clusterClient(nodes);
      try {
        expect(await new RedisTransport({ redis, prefix: randomPrefix('first') }).publish('node:nobody', 'x')).toBe(0);
      } finally {
        redis.disconnect();
      }
    }
  });

  it('computes the slot of a channel as CLUSTER KEYSLOT does', async () => {
    const names = ['a', 'chat:sessions:{node:a}', '{}x', 'x{}y{z}', '{{a}}', 'é:{ü}', 'rr:sessions:{sender:7}', '🙂{🙃}'];
    for (const name of names) expect(hashSlot(name), name).toBe(await masters[0]!.cluster('KEYSLOT', name));
  });

  it('spreads node channels over the masters, each subscribed and published on its own master only', async () => {
    const prefix = randomPrefix('spread');
    const publisher = clusterClient(nodes);
    const listeners = Array.from({ length: 8 }, () => new RedisTransport({ redis: clusterClient(nodes), prefix }));
    const sender = new RedisTransport({ redis: publisher, prefix });
    try {
      const heard = new Map<string, string[]>();
      await Promise.all(
        listeners.map((t, i) => {
          heard.set(`node:${i}`, []);
          return t.listen(`node:${i}`, (m) => heard.get(`node:${i}`)!.push(m));
        }),
      );
      const perMaster = await Promise.all(masters.map(async (m) => ((await m.call('PUBSUB', 'SHARDCHANNELS', `${prefix}:*`)) as string[]).sort()));
      expect(perMaster.flat().sort()).toEqual(listeners.map((_, i) => sender.channel(`node:${i}`)).sort());
      // 8 addresses over 3 masters: each master serves some, none serves all.
      for (const channels of perMaster) expect(channels.length).toBeGreaterThan(0);
      // Plain pub/sub is not used at all.
      for (const m of masters) expect(await m.call('PUBSUB', 'CHANNELS', `*${prefix}*`)).toEqual([]);
      for (let i = 0; i < 8; i++) expect(await sender.publish(`node:${i}`, `m${i}`)).toBe(1);
      expect(await sender.publish('node:nobody', 'x')).toBe(0);
      await waitFor(() => [...heard.values()].every((h) => h.length === 1));
      for (let i = 0; i < 8; i++) expect(heard.get(`node:${i}`)).toEqual([`m${i}`]);
    } finally {
      await Promise.all([...listeners, sender].map((t) => t.close()));
      publisher.disconnect();
    }
  });

  it('carries deliveries and outcomes between session nodes and a dispatcher', async () => {
    const clients: Cluster[] = [];
    const prefix = randomPrefix('sessions');
    const cluster = new TestCluster(() => {
      const redis = clusterClient(nodes);
      clients.push(redis);
      return new RedisTransport({ redis, prefix });
    });
    try {
      await cluster.startNode('a');
      await cluster.startNode('b');
      await cluster.setRing(['a', 'b']);
      const got: string[] = [];
      const users = ['user-1', 'user-2', 'user-3', 'user-4'];
      const sessions = users.map((u) => cluster.client(u, 'a'));
      for (const s of sessions) s.on('message', (d) => got.push(d));
      await waitFor(() => sessions.every((s) => s.node !== null));
      const dispatcher = await cluster.dispatcher();
      const outcomes = await dispatcher.sendGroup(users, 'hi group');
      expect(outcomes.map((o) => o.status)).toEqual(['delivered', 'delivered', 'delivered', 'delivered']);
      await waitFor(() => got.length === 4);
    } finally {
      await cluster.close();
      for (const c of clients) c.disconnect();
    }
  });

  it('works with a keyPrefix on the Cluster client (part of the channel name, as ioredis sends SPUBLISH)', async () => {
    const prefix = randomPrefix('keyprefix');
    const make = (): Cluster => {
      const c = new Cluster(nodes(), { keyPrefix: 'kp:', redisOptions: { maxRetriesPerRequest: 1 }, clusterRetryStrategy: () => 50 });
      c.on('error', () => undefined);
      return c;
    };
    const clients = [make(), make()];
    const [listener, sender] = clients.map((redis) => new RedisTransport({ redis, prefix }));
    try {
      const heard: string[] = [];
      await listener!.listen('node:p', (m) => heard.push(m));
      expect(await sender!.publish('node:p', 'hi')).toBe(1);
      await waitFor(() => heard.length === 1);
      const subscribed = (await Promise.all(masters.map((m) => m.call('PUBSUB', 'SHARDCHANNELS', `kp:${prefix}:*`)))).flat();
      expect(subscribed).toEqual([`kp:${listener!.channel('node:p')}`]);
    } finally {
      await listener!.close();
      await sender!.close();
      for (const c of clients) c.disconnect();
    }
  });

  it('subscribes again on the new master after the slot of a channel migrates, and delivery resumes', async () => {
    const prefix = randomPrefix('migrate');
    const listenerClient = clusterClient(nodes);
    const publisher = clusterClient(nodes);
    const listener = new RedisTransport({ redis: listenerClient, prefix });
    const sender = new RedisTransport({ redis: publisher, prefix });
    try {
      const heard: string[] = [];
      const errors: Error[] = [];
      await listener.listen('node:m', (m) => heard.push(m), (e) => errors.push(e));
      expect(await sender.publish('node:m', 'before')).toBe(1);
      const channel = listener.channel('node:m');
      const slot = hashSlot(channel);
      const ids = await Promise.all(masters.map(async (m) => String(await m.cluster('MYID'))));
      const owners = await Promise.all(masters.map(async (m) => ((await m.call('PUBSUB', 'SHARDCHANNELS', channel)) as string[]).length));
      const from = owners.indexOf(1);
      expect(from).toBeGreaterThanOrEqual(0);
      const to = (from + 1) % masters.length;
      await masters[to]!.cluster('SETSLOT', slot, 'IMPORTING', ids[from]!);
      await masters[from]!.cluster('SETSLOT', slot, 'MIGRATING', ids[to]!);
      const keys = (await masters[from]!.cluster('GETKEYSINSLOT', slot, 1000)) as string[];
      const target = nodes()[to]!;
      if (keys.length > 0) await masters[from]!.call('MIGRATE', target.host, target.port, '', 0, 5000, 'KEYS', ...keys);
      for (const m of [masters[to]!, masters[from]!, ...masters.filter((_, i) => i !== to && i !== from)]) await m.cluster('SETSLOT', slot, 'NODE', ids[to]!);

      // The old master unsubscribed the channel; the transport found the new one.
      await waitFor(async () => ((await masters[to]!.call('PUBSUB', 'SHARDCHANNELS', channel)) as string[]).length === 1, { timeoutMs: 10_000, what: 'the channel on its new master' });
      expect(await masters[from]!.call('PUBSUB', 'SHARDCHANNELS', channel)).toEqual([]);
      expect(errors.some((e) => /moved/.test(e.message))).toBe(true);
      await waitFor(async () => (await sender.publish('node:m', 'after')) === 1, { timeoutMs: 10_000, intervalMs: 50 });
      await waitFor(() => heard.includes('after'));
      expect(heard[0]).toBe('before');
    } finally {
      await listener.close();
      await sender.close();
      listenerClient.disconnect();
      publisher.disconnect();
    }
  });
  it('subscribes again on the promoted replica after its master fails over, and delivery resumes', async () => {
    const prefix = randomPrefix('failover');
    const listenerClient = clusterClient(nodes);
    const publisher = clusterClient(nodes);
    const listener = new RedisTransport({ redis: listenerClient, prefix });
    const sender = new RedisTransport({ redis: publisher, prefix });
    const replica = await RedisServer.start(['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '5000']);
    const promoted = serverClient(replica.url);
    try {
      const heard: string[] = [];
      const errors: Error[] = [];
      await listener.listen('node:f', (m) => heard.push(m), (e) => errors.push(e));
      expect(await sender.publish('node:f', 'before')).toBe(1);
      const channel = listener.channel('node:f');
      const owners = await Promise.all(masters.map(async (m) => ((await m.call('PUBSUB', 'SHARDCHANNELS', channel)) as string[]).length));
      const master = masters[owners.indexOf(1)]!;
      const masterId = String(await master.cluster('MYID'));
      await master.config('SET', 'repl-diskless-sync-delay', '0'); // the replica syncs at once, not after 5 s
      await promoted.cluster('MEET', master.options.host!, master.options.port!);
      await waitFor(async () => String(await promoted.cluster('NODES')).includes(masterId), { timeoutMs: 10_000, what: 'the new node to learn the cluster' });
      await promoted.cluster('REPLICATE', masterId);
      await waitFor(async () => String(await promoted.info('replication')).includes('master_link_status:up'), { timeoutMs: 10_000, what: 'the replica to sync' });
      // Every master must know it as the replica of that master (gossip) before a failover can be agreed.
      const replicaId = String(await promoted.cluster('MYID'));
      await waitFor(async () => (await Promise.all(masters.map(async (m) => String(await m.call('CLUSTER', 'REPLICAS', masterId))))).every((r) => r.includes(replicaId)), { timeoutMs: 10_000, what: 'the masters to learn the replica' });
      await promoted.cluster('FAILOVER');
      await waitFor(async () => String(await promoted.info('replication')).includes('role:master'), { timeoutMs: 10_000, what: 'the failover' });

      // The old master, now a replica, dropped the channel; the transport subscribed on the new master.
      await waitFor(async () => ((await promoted.call('PUBSUB', 'SHARDCHANNELS', channel)) as string[]).length === 1, { timeoutMs: 10_000, what: 'the channel on the promoted replica' });
      expect(await master.call('PUBSUB', 'SHARDCHANNELS', channel)).toEqual([]);
      expect(errors.length).toBeGreaterThan(0);
      // The publisher's slot map still names the demoted master, which answers SPUBLISH counting only its own
      // subscribers (none) while the message reaches the new master's: never a false "0 receivers".
      const first = await sender.publish('node:f', 'after').catch((error: unknown) => error as Error);
      expect(first === 1 || (first instanceof Error && /may have reached/.test(first.message)), String(first)).toBe(true);
      await waitFor(async () => (await sender.publish('node:f', 'after').catch(() => -1)) === 1, { timeoutMs: 10_000, intervalMs: 50 });
      await waitFor(() => heard.includes('after'));
      expect(heard[0]).toBe('before');
    } finally {
      await listener.close();
      await sender.close();
      listenerClient.disconnect();
      publisher.disconnect();
      promoted.disconnect();
      await replica.destroy();
    }
  }, 30_000);
});

describe.skipIf(skipWithoutRedis('RedisTransport sharded, master killed', 'cluster'))('RedisTransport sharded when a master with a replica is killed', () => {
  let servers: RedisClusterServers | null = null;
  let replica: RedisServer | null = null;
  afterAll(async () => {
    await replica?.destroy();
    await servers?.destroy();
  });

  it('subscribes on the replica the cluster promotes, and delivery resumes', async () => {
    // A cluster of its own: its master is killed.
    servers = await RedisClusterServers.start(3);
    const nodes = (): Array<{ host: string; port: number }> => servers!.nodes;
    const prefix = randomPrefix('killed');
    const listenerClient = clusterClient(nodes);
    const publisher = clusterClient(nodes);
    const listener = new RedisTransport({ redis: listenerClient, prefix });
    const sender = new RedisTransport({ redis: publisher, prefix });
    const admins = servers.servers.map((server) => serverClient(server.url));
    replica = await RedisServer.start(['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '5000']);
    const promoted = serverClient(replica.url);
    try {
      // 1 s node timeout: the failover comes quickly; no diskless sync delay: the replica syncs at once (not after 5 s).
      for (const a of [...admins, promoted]) await a.config('SET', 'cluster-node-timeout', '1000', 'repl-diskless-sync-delay', '0');
      const heard: string[] = [];
      const errors: Error[] = [];
      await listener.listen('node:k', (m) => heard.push(m), (e) => errors.push(e));
      const channel = listener.channel('node:k');
      const owner = (await Promise.all(admins.map(async (m) => ((await m.call('PUBSUB', 'SHARDCHANNELS', channel)) as string[]).length))).indexOf(1);
      const masterId = String(await admins[owner]!.cluster('MYID'));
      await promoted.cluster('MEET', '127.0.0.1', servers.servers[owner]!.port);
      await waitFor(async () => String(await promoted.cluster('NODES')).includes(masterId), { timeoutMs: 10_000, what: 'the new node to learn the cluster' });
      await promoted.cluster('REPLICATE', masterId);
      await waitFor(async () => String(await promoted.info('replication')).includes('master_link_status:up'), { timeoutMs: 10_000, what: 'the replica to sync' });
      // Every master must know it as the replica of that master (gossip) before they can vote for it.
      const replicaId = String(await promoted.cluster('MYID'));
      await waitFor(async () => (await Promise.all(admins.map(async (m) => String(await m.call('CLUSTER', 'REPLICAS', masterId))))).every((r) => r.includes(replicaId)), { timeoutMs: 10_000, what: 'the masters to learn the replica' });
      expect(await sender.publish('node:k', 'before')).toBe(1);
      await waitFor(() => heard.length === 1); // counted is not yet written to the socket: let it arrive before the kill

      await servers.servers[owner]!.kill();
      await waitFor(async () => String(await promoted.info('replication')).includes('role:master'), { timeoutMs: 20_000, intervalMs: 100, what: 'the failover' });
      await waitFor(async () => ((await promoted.call('PUBSUB', 'SHARDCHANNELS', channel)) as string[]).length === 1, { timeoutMs: 10_000, what: 'the channel on the promoted replica' });
      await waitFor(async () => (await sender.publish('node:k', 'after').catch(() => -1)) === 1, { timeoutMs: 10_000, intervalMs: 50 });
      await waitFor(() => heard.includes('after'));
      expect(heard[0]).toBe('before');
      expect(errors.length).toBeGreaterThan(0);
    } finally {
      await listener.close();
      await sender.close();
      listenerClient.disconnect();
      publisher.disconnect();
      promoted.disconnect();
      for (const a of admins) a.disconnect();
    }
  }, 45_000);
});

describe.skipIf(skipWithoutRedis('RedisTransport sharded on one Redis 7', 'server-or-url'))('RedisTransport sharded on one Redis 7', () => {
  const url = useRedisServer();

  it('works with a keyPrefix on the client', async () => {
    const prefix = randomPrefix('keyprefix-one');
    const clients = [0, 1].map(() => {
      const redis = new Redis(url(), { keyPrefix: 'kp:', maxRetriesPerRequest: 1 });
      redis.on('error', () => undefined);
      return redis;
    });
    const [listener, sender] = clients.map((redis) => new RedisTransport({ redis, prefix, sharded: true }));
    try {
      const heard: string[] = [];
      await listener!.listen('node:p', (m) => heard.push(m));
      expect(await sender!.publish('node:p', 'hi')).toBe(1);
      await waitFor(() => heard.length === 1);
    } finally {
      await listener!.close();
      await sender!.close();
      for (const c of clients) c.disconnect();
    }
  });

  transportContract('RedisTransport (single server, sharded)', () => {
    const prefix = randomPrefix('sharded-one');
    const clients: Redis[] = [];
    const handles: RedisTransport[] = [];
    return {
      create: () => {
        const redis = serverClient(url());
        clients.push(redis);
        const handle = new RedisTransport({ redis, prefix, sharded: true });
        handles.push(handle);
        return handle;
      },
      cleanup: async () => {
        for (const h of handles) await h.close();
        for (const c of clients) c.disconnect();
      },
    };
  });
});

describe.skipIf(skipWithoutRedis('RedisTransport sharded restart', 'binary'))('RedisTransport sharded across a Redis restart', () => {
  let server: RedisServer | null = null;
  afterAll(async () => server?.destroy());

  it('reports the lost connection, subscribes again once the server is back, and delivery resumes', async () => {
    server = await RedisServer.start();
    const prefix = randomPrefix('sharded-restart');
    const listenerClient = serverClient(server.url);
    const publisher = serverClient(server.url);
    const listener = new RedisTransport({ redis: listenerClient, prefix, sharded: true });
    const sender = new RedisTransport({ redis: publisher, prefix, sharded: true });
    try {
      const heard: string[] = [];
      const errors: Error[] = [];
      await listener.listen('node:r', (m) => heard.push(m), (e) => errors.push(e));
      expect(await sender.publish('node:r', 'before')).toBe(1);
      await server.restart();
      await waitFor(async () => (await sender.publish('node:r', 'after').catch(() => 0)) === 1, { timeoutMs: 10_000, intervalMs: 50 });
      await waitFor(() => heard.includes('after'));
      expect(heard[0]).toBe('before');
      expect(errors.length).toBeGreaterThan(0);
    } finally {
      await listener.close();
      await sender.close();
      listenerClient.disconnect();
      publisher.disconnect();
    }
  });
});
