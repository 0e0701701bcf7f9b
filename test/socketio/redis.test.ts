import { describe } from 'vitest';
import { Redis } from 'ioredis';
import { RedisTransport } from '../../src/adapters/redis/index.js';
import { createAdapter } from '../../src/socketio/index.js';
import { randomPrefix, skipWithoutRedis, useRedisServer } from '../support/redis-server.js';
import { commonSuite } from './common.js';
import { TestRouter, everyRoomAKey } from './support.js';

const NODES = ['node-1', 'node-2', 'node-3'];
const skip = skipWithoutRedis('ringroute/socket.io over RedisTransport', 'server-or-url');

describe.skipIf(skip)('ringroute/socket.io over RedisTransport (a real redis-server)', () => {
  const url = useRedisServer();

  function redis(roomKey?: (room: string) => string | undefined) {
    return () => {
      const prefix = randomPrefix('sio');
      const router = new TestRouter(NODES);
      return async (i: number) => {
        const client = new Redis(url(), { lazyConnect: false });
        const transport = new RedisTransport({ redis: client, prefix });
        return {
          adapter: createAdapter({ router, transport, nodeId: NODES[i]!, requestTimeoutMs: 1000, ...(roomKey === undefined ? {} : { roomKey }) }),
          cleanup: async () => {
            await transport.close();
            client.disconnect();
          },
        };
      };
    };
  }

  commonSuite('RedisTransport, user:<id> rooms are keys', redis());
  commonSuite('RedisTransport, every room but a socket id is a key', redis(everyRoomAKey));
});
