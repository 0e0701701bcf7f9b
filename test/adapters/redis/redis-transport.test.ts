import { connect, createServer, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisTransport } from '../../../src/adapters/redis/index.js';
import { RingError } from '../../../src/errors.js';
import { transportContract } from '../../contract/transport.contract.js';
import { RedisServer, randomPrefix, skipWithoutRedis, useRedisServer } from '../../support/redis-server.js';
import { sleep, waitFor } from '../../support/wait.js';
import { TestCluster } from '../../sessions/support.js';

function client(url: string): Redis {
  const redis = new Redis(url, { maxRetriesPerRequest: 1, retryStrategy: () => 50 });
  redis.on('error', () => undefined);
  return redis;
}

describe.skipIf(skipWithoutRedis('RedisTransport', 'server-or-url'))('RedisTransport', () => {
  const url = useRedisServer();

  transportContract('RedisTransport', () => {
    const prefix = randomPrefix('transport');
    const clients: Redis[] = [];
    const handles: RedisTransport[] = [];
    return {
      create: () => {
        const redis = client(url());
        clients.push(redis);
        const handle = new RedisTransport({ redis, prefix });
        handles.push(handle);
        return handle;
      },
      cleanup: async () => {
        for (const h of handles) await h.close();
        for (const c of clients) c.disconnect();
      },
    };
  });

  it('names one channel per address under the prefix hash tag', () => {
    const transport = new RedisTransport({ redis: { publish: async () => 0, duplicate: () => ({}) as never }, prefix: 'chat' });
    expect(transport.channel('node:a')).toBe('{chat}:sessions:node:a');
    expect(() => new RedisTransport({ redis: {} as never })).toThrow(RingError);
    expect(() => new RedisTransport({ redis: { publish: async () => 0, duplicate: () => ({}) as never }, prefix: 'a{b' })).toThrow(/prefix/);
    // Glob characters would let SCAN cleanup and ACL key patterns of one prefix match another's keys.
    for (const prefix of ['chat*', 'ch?t', 'c[ab]t', 'c]', 'a\\b']) {
      expect(() => new RedisTransport({ redis: { publish: async () => 0, duplicate: () => ({}) as never }, prefix })).toThrow(
        expect.objectContaining({ code: 'INVALID_OPTION', message: expect.stringContaining('glob characters') }),
      );
    }
  });

  it('carries deliveries and outcomes between nodes and a dispatcher', async () => {
    const clients: Redis[] = [];
    const prefix = randomPrefix('sessions');
    const cluster = new TestCluster(() => {
      const redis = client(url());
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
      expect(dispatcher.publications).toBe(new Set(sessions.map((s) => s.node)).size);
      await waitFor(() => got.length === 4);
    } finally {
      await cluster.close();
      for (const c of clients) c.disconnect();
    }
  });

  it('rejects ("maybe sent") instead of resolving 0 when the connection closed under a publish that ioredis then sent again', async () => {
    // A relay to Redis that, once armed, passes the next command on but swallows its reply and cuts the connection:
    // Redis ran the PUBLISH (the subscriber got it), ioredis never saw the answer and sends it again after reconnecting.
    const target = new URL(url());
    let armed = false;
    const sockets = new Set<Socket>();
    const relay = createServer((from) => {
      const to = connect(Number(target.port), target.hostname);
      sockets.add(from).add(to);
      from.pipe(to);
      to.on('data', (chunk) => {
        if (!armed) return void from.write(chunk);
        armed = false;
        from.destroy();
        to.destroy();
      });
      for (const s of [from, to]) s.on('error', () => undefined).on('close', () => sockets.delete(s));
      from.on('close', () => to.destroy());
      to.on('close', () => from.destroy());
    });
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
    const port = (relay.address() as { port: number }).port;
    const publisher = new Redis({ host: '127.0.0.1', port, retryStrategy: () => 200, maxRetriesPerRequest: 3 });
    publisher.on('error', () => undefined);
    const subscriber = client(url());
    const transport = new RedisTransport({ redis: publisher, prefix: randomPrefix('resent') });
    try {
      await publisher.ping();
      const channel = transport.channel('node:a');
      const heard: string[] = [];
      await subscriber.subscribe(channel);
      // The first copy is heard; the listener then leaves, so the copy sent again reaches nobody (as on a new server).
      subscriber.on('message', (_c: string, message: string) => {
        heard.push(message);
        void subscriber.unsubscribe(channel);
      });
      armed = true;
      const outcome = await transport.publish('node:a', 'hello').then(
        (n) => ({ n }),
        (error: unknown) => ({ error: error as Error }),
      );
      expect(heard).toEqual(['hello']);
      expect(outcome).toEqual({ error: expect.objectContaining({ message: expect.stringMatching(/closed while publishing .* may have reached listeners/) }) });
      expect((outcome as { error: Error }).error).not.toBeInstanceOf(RingError); // a RingError would mean "certainly not sent"
      // With the connection up from send to reply, 0 stays a certain 0.
      expect(await transport.publish('node:a', 'again')).toBe(0);
    } finally {
      await transport.close();
      publisher.disconnect();
      subscriber.disconnect();
      for (const s of sockets) s.destroy();
      relay.close();
    }
  });
});

describe.skipIf(skipWithoutRedis('RedisTransport outage', 'binary'))('RedisTransport outage', () => {
  let server: RedisServer | null = null;
  afterAll(async () => server?.destroy());

  it('turns sends into failed/unknown outcomes while Redis is down, and delivers again once it is back', async () => {
    server = await RedisServer.start();
    const clients: Redis[] = [];
    const prefix = randomPrefix('outage');
    const cluster = new TestCluster(() => {
      const redis = client(server!.url);
      clients.push(redis);
      return new RedisTransport({ redis, prefix });
    });
    try {
      await cluster.startNode('a');
      await cluster.startNode('b');
      await cluster.setRing(['a', 'b']);
      const user = cluster.client('user-1', 'a');
      const got: string[] = [];
      user.on('message', (d) => got.push(d));
      await waitFor(() => user.node !== null);
      const dispatcher = await cluster.dispatcher({ publishTimeoutMs: 300, retryMs: 200 });
      expect(await dispatcher.send('user-1', 'before')).toMatchObject({ status: 'delivered' });

      await server.stop();
      const started = performance.now();
      const during = await dispatcher.send('user-1', 'during', { ttlMs: 800 });
      expect(['failed', 'unknown']).toContain(during.status);
      expect(performance.now() - started).toBeLessThan(800 + 300 + 1000); // ttl + publish timeout + ticks: never hangs

      await server.restart();
      // Once the subscriptions are back, messages flow again (a send may still time out while they come back).
      await waitFor(async () => (await dispatcher.send('user-1', 'after', { ttlMs: 1000 })).status === 'delivered', { timeoutMs: 15_000, intervalMs: 100 });
      await sleep(50);
      expect(got[0]).toBe('before');
      expect(got).toContain('after');
    } finally {
      await cluster.close();
      for (const c of clients) c.disconnect();
    }
  });
});
