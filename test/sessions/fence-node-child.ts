/**
 * An app node for test/sessions/fence-netns.test.ts, run inside a network
 * namespace: RedisMembership and RingRouter on the Redis at argv[2]:argv[3],
 * a SessionNode that follows its lease, one attached session. Prints one
 * JSON line per event ({ event, at: Date.now() }) on stdout.
 */
import { Redis } from 'ioredis';
import { MemoryTransport } from '../../src/adapters/memory/transport.js';
import { RedisMembership, RedisRingStore } from '../../src/adapters/redis/index.js';
import { RingRouter } from '../../src/index.js';
import { SessionNode } from '../../src/sessions/index.js';

const [host, port, prefix] = process.argv.slice(2) as [string, string, string];
const say = (event: string, extra: Record<string, unknown> = {}) => process.stdout.write(`${JSON.stringify({ event, at: Date.now(), ...extra })}\n`);
const client = () => {
  const redis = new Redis({ host, port: Number(port), maxRetriesPerRequest: 1, commandTimeout: 500, connectTimeout: 500, retryStrategy: () => 100 });
  redis.on('error', () => undefined);
  return redis;
};
const membership = new RedisMembership({ redis: client(), prefix, ttlMs: 1500, heartbeatMs: 300, timeoutMs: 500, onError: () => undefined });
const router = await RingRouter.start({ store: new RedisRingStore({ redis: client(), prefix }), resyncMs: 100 });
router.on('error', () => undefined);
const node = await SessionNode.start({ id: 'a', router, transport: new MemoryTransport().connect(), pingIntervalMs: 0 });
node.on('error', () => undefined);
const member = await membership.join({ id: 'a' });
node.followLease(member, { closeAfterMs: 60_000 });
node.on('fence', () => say('fence'));
node.on('unfence', (r) => say('unfence', { fencedMs: r.fencedMs }));
const sent: string[] = [];
const socket = { bufferedAmount: 0, send: (d: string) => void sent.push(d), close: () => say('closed') };
const waitForRing = async () => {
  while (!router.ring.has('a')) await new Promise((r) => setTimeout(r, 20));
};
await waitForRing();
let key = '';
for (let i = 0; key === ''; i++) if (router.lookup(`user-${i}`).id === 'a') key = `user-${i}`;
node.attach(key, socket);
say('ready', { key });
process.on('SIGTERM', () => process.exit(0));
