/**
 * One app node of the end-to-end run (bench/sessions-e2e.ts), in its own
 * process: a `ws` server whose connections attach to a SessionNode, a
 * RingRouter on Redis and a RedisTransport. Reports `{ type: 'ready', url }`,
 * then answers `{ type: 'stats' }` with its SessionNode stats.
 */
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { RingRouter } from '../src/index.js';
import { RedisRingStore, RedisTransport } from '../src/adapters/redis/index.js';
import { SessionNode } from '../src/sessions/index.js';
import { WebSocketServer } from 'ws';

const config = JSON.parse(process.argv[2]!) as { id: string; redisUrl: string; prefix: string; maxClosesPerSecond: number };
const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 2 });
redis.on('error', () => undefined);
const router = await RingRouter.start({ store: new RedisRingStore({ redis, prefix: config.prefix }), resyncMs: 500 });
const node = await SessionNode.start({ id: config.id, router, transport: new RedisTransport({ redis, prefix: config.prefix }), maxClosesPerSecond: config.maxClosesPerSecond });
node.on('error', (error) => process.stderr.write(`[${config.id}] ${error.message}\n`));
const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false, backlog: 4096 });
await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
wss.on('connection', (ws, req) => {
  ws.on('error', () => undefined);
  const key = new URL(req.url ?? '/', 'http://x').searchParams.get('key') ?? '';
  const session = node.attach(key, ws);
  if (session === null) return;
  ws.on('message', (data) => session.receive(data));
  ws.on('close', () => session.detach());
});
process.on('message', (message: { type: string }) => {
  if (message.type === 'stats') process.send!({ type: 'stats', stats: node.stats(), version: router.version });
  if (message.type === 'stop') process.exit(0);
});
process.on('disconnect', () => process.exit(0));
process.send!({ type: 'ready', url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}` });
