import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { RedisTransport } from '../../src/adapters/redis/index.js';
import { createAdapter } from '../../src/socketio/index.js';
import { RedisServer, randomPrefix, skipWithoutRedis } from '../support/redis-server.js';
import { type UserCluster, TestRouter, sleep, startUserCluster } from './support.js';

const NODES = ['node-1', 'node-2', 'node-3'];
const skip = skipWithoutRedis('ringroute/socket.io under Redis faults', 'binary');

describe.skipIf(skip)('ringroute/socket.io over a real Redis: order and outages', () => {
  let server: RedisServer;
  let cluster: UserCluster | undefined;
  beforeAll(async () => {
    server = await RedisServer.start();
  });
  afterAll(async () => server?.destroy());
  afterEach(async () => {
    server.resume();
    await cluster?.close();
    cluster = undefined;
  });

  async function start(router: TestRouter): Promise<UserCluster> {
    const prefix = randomPrefix('sio');
    return startUserCluster(NODES.length, async (i) => {
      const client = new Redis(server.url, { maxRetriesPerRequest: null });
      client.on('error', () => undefined);
      const transport = new RedisTransport({ redis: client, prefix });
      const adapter = createAdapter({ router, transport, nodeId: NODES[i]! });
      return {
        adapter,
        cleanup: async () => {
          await transport.close();
          client.disconnect();
        },
      };
    });
  }

  const owned = (router: TestRouter, node: string): string => {
    for (let i = 0; ; i++) if (router.ring.lookup(`u${i}`).id === node) return `u${i}`;
  };

  it('keeps the order of one server’s emits to a user, mixing every-node and owner-only emits', async () => {
    const router = new TestRouter(NODES);
    cluster = await start(router);
    const id = owned(router, 'node-2');
    const client = await cluster.user(1, id);
    const got: number[] = [];
    client.on('m', (i: number) => got.push(i));
    const io = cluster.servers[0]!;
    for (let i = 0; i < 500; i++) (i % 4 === 0 ? io.emit('m', i) : io.to(`user:${id}`).emit('m', i));
    const end = Date.now() + 5000;
    while (got.length < 500 && Date.now() < end) await sleep(20);
    expect(got).toEqual([...Array(500).keys()]);
  });

  it('turns a Redis outage into Socket.IO timeout errors, and delivers again once Redis is back', async () => {
    const router = new TestRouter(NODES);
    cluster = await start(router);
    const id = owned(router, 'node-3');
    const client = await cluster.user(2, id);
    client.on('q', (cb: (v: string) => void) => cb('ok'));
    const io = cluster.servers[0]!;
    expect(await io.to(`user:${id}`).timeout(1000).emitWithAck('q')).toEqual(['ok']);
    server.pause();
    const during = await io
      .to(`user:${id}`)
      .timeout(500)
      .emitWithAck('q')
      .then(
        () => null,
        (error: Error) => error,
      );
    expect(during?.message).toBe('operation has timed out');
    server.resume();
    // The packet published during the pause may arrive late; delivery goes on either way.
    const end = Date.now() + 5000;
    let after: unknown = null;
    while (Date.now() < end) {
      after = await io.to(`user:${id}`).timeout(500).emitWithAck('q').catch(() => null);
      if (after !== null) break;
    }
    expect(after).toEqual(['ok']);
  });
});
