/**
 * `npm start -- --redis URL --outage-ms N`: an outage of the shared Redis
 * staged from the outside, with `CLIENT PAUSE N ALL`. For N ms Redis answers
 * no client (the gateways' publishes, the nodes' heartbeats, the routers'
 * reads all wait), as a frozen server would, and then it answers everything
 * queued meanwhile. It works on any Redis the user points at, without
 * control of its process; the tests freeze and kill a redis-server of
 * their own instead (SIGSTOP; stop and restart empty).
 */
import { Redis } from 'ioredis';
import { redisOptions } from './redis-url.js';
import type { OutagePlan } from './scenario.js';

/** How long `end()` waits for Redis to answer again. */
const BACK_TIMEOUT_MS = 10_000;

export function clientPauseOutage(url: string, ms: number): OutagePlan {
  const connect = () => {
    const redis = new Redis(url, { ...redisOptions(url), lazyConnect: true, connectTimeout: 5000, commandTimeout: BACK_TIMEOUT_MS, maxRetriesPerRequest: 0 });
    redis.on('error', () => undefined); // each command's own rejection says what failed
    return redis;
  };
  return {
    label: 'Redis CLIENT PAUSE ALL',
    ms,
    async begin() {
      const redis = connect();
      try {
        await redis.connect();
        await redis.call('CLIENT', 'PAUSE', String(ms), 'ALL');
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        throw new Error(`--outage-ms needs a Redis user allowed to run CLIENT PAUSE: ${message}`);
      } finally {
        redis.disconnect();
      }
    },
    async end() {
      // The pause ends by itself; "ended" means Redis answers again.
      const redis = connect();
      try {
        await redis.connect();
        await redis.ping();
      } finally {
        redis.disconnect();
      }
    },
  };
}
