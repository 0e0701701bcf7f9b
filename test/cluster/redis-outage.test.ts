/**
 * `npm start -- --redis URL --outage-ms N` pauses the user's Redis with
 * `CLIENT PAUSE N ALL`: checked against a redis-server of the test's own
 * that every client really waits out the pause, that `end()` resolves only
 * once Redis answers again, and that a Redis user not allowed to pause
 * clients gets one clear message.
 */
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientPauseOutage } from '../../examples/cluster/redis-outage.js';
import { RedisServer, skipWithoutRedis } from '../support/redis-server.js';

const skip = skipWithoutRedis('the example\'s --outage-ms (CLIENT PAUSE)', 'binary');

describe.skipIf(skip)('clientPauseOutage', () => {
  let server: RedisServer;

  beforeAll(async () => {
    server = await RedisServer.start();
  });

  afterAll(async () => {
    await server?.destroy();
  });

  it('makes every client wait out the pause, and ends once Redis answers again', async () => {
    const plan = clientPauseOutage(server.url, 1500);
    expect(plan.label).toBe('Redis CLIENT PAUSE ALL');
    const client = new Redis(server.url);
    try {
      await client.ping();
      await plan.begin();
      const t0 = performance.now();
      await client.set('k', 'v'); // a write, held until the pause ends
      const waited = performance.now() - t0;
      expect(waited).toBeGreaterThan(1000);
      await plan.end();
      expect(await client.get('k')).toBe('v');
    } finally {
      client.disconnect();
    }
  });

  it('says which permission it needs when the Redis user may not pause clients, and pauses nothing', async () => {
    const admin = new Redis(server.url);
    try {
      await admin.call('ACL', 'SETUSER', 'limited', 'on', '>limited-password', '~*', '+@all', '-client');
      const plan = clientPauseOutage(`redis://limited:limited-password@127.0.0.1:${new URL(server.url).port}`, 5000);
      await expect(plan.begin()).rejects.toThrow(/--outage-ms needs a Redis user allowed to run CLIENT PAUSE: NOPERM/);
      const t0 = performance.now();
      await admin.set('k2', 'v');
      expect(performance.now() - t0).toBeLessThan(4000); // the 5 s pause did not happen
    } finally {
      admin.disconnect();
    }
  });
});
