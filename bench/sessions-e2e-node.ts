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
// The pace of the closes, on this process's own clock: the moved counter every 50 ms.
const samples: Array<[number, number]> = [];
const sampler = setInterval(() => {
  samples.push([performance.now(), node.stats().moved]);
  if (samples.length > 20_000) samples.shift();
}, 50);
sampler.unref();
/** Highest close rate over any window of at least 1 s, and the average from the first to the last close. */
function pace(): { peak: number; average: number; closes: number } {
  const start = samples.findIndex(([, moved]) => moved > 0);
  if (start < 0) return { peak: 0, average: 0, closes: 0 };
  const first = Math.max(0, start - 1);
  const total = samples[samples.length - 1]![1];
  const end = samples.findIndex(([, moved]) => moved === total);
  let peak = 0;
  for (let i = first; i < samples.length; i++) {
    let j = i + 1;
    while (j < samples.length && samples[j]![0] - samples[i]![0] < 1000) j++;
    if (j >= samples.length) break;
    peak = Math.max(peak, (samples[j]![1] - samples[i]![1]) / ((samples[j]![0] - samples[i]![0]) / 1000));
  }
  const seconds = (samples[end]![0] - samples[first]![0]) / 1000;
  return { peak: Math.round(peak), average: seconds > 0 ? Math.round((total - samples[first]![1]) / seconds) : total, closes: total - samples[first]![1] };
}
process.on('message', (message: { type: string }) => {
  if (message.type === 'pace') process.send!({ type: 'pace', pace: pace() });
  if (message.type === 'stats') process.send!({ type: 'stats', stats: node.stats(), version: router.version });
  if (message.type === 'stop') process.exit(0);
});
process.on('disconnect', () => process.exit(0));
process.send!({ type: 'ready', url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}` });
