/**
 * A node of a pub/sub run (redis, nats) in its own process: the library's
 * `SessionNode` on the library's `RedisTransport` or `NatsTransport`, its
 * users' sessions on in-process clients that acknowledge. It reports its
 * counters and CPU to the parent over IPC when asked. Workers are reused
 * from one node count to the next, so each process starts once.
 */
import type { Transport } from '../live/transport.js';
import { HashRing } from '../ring/hash-ring.js';
import { SessionNode } from '../sessions/session-node.js';
import { Clients, attachMemoryUsers } from './clients.js';
import { CountingTransport } from './counting-transport.js';
import { closeNats, connectNats, loadNats } from './nats-connect.js';
import { connectRedis, transportClient } from './redis-connect.js';
import { NODE_OPTIONS } from './settings.js';
import { staticRouter } from './static-router.js';
import { type WsSessions, attachWsUsers } from './ws-sockets.js';
import type { FromWorker, ToWorker } from './worker-pool.js';
import { RedisTransport } from '../adapters/redis/transport.js';

/** One connection per process, and the way to make a transport on it for a cluster's prefix. */
interface Connection {
  transport(prefix: string): Transport;
  close(): Promise<void>;
}

async function connect(kind: 'redis' | 'nats', url: string): Promise<Connection> {
  if (kind === 'redis') {
    const redis = await connectRedis(url);
    // Fail the worker (and so the run) when Redis goes away, rather than wait for outcomes that cannot come.
    redis.on('error', (error) => fail(new Error(`Redis at ${url}: ${error.message}`)));
    (redis as unknown as { on(e: 'end', l: () => void): void }).on('end', () => fail(new Error(`lost the connection to Redis at ${url}`)));
    return {
      transport: (prefix) => new RedisTransport({ redis: transportClient(redis) as never, prefix }),
      close: async () => void (await redis.quit().catch(() => redis.disconnect())),
    };
  }
  const [{ NatsTransport }, nc] = await Promise.all([loadNats(), connectNats(url)]);
  void nc.closed().then((error: void | Error) => fail(new Error(`lost the connection to NATS at ${url}${error ? `: ${error.message}` : ''}`)));
  return { transport: (prefix) => new NatsTransport({ nats: nc, prefix }), close: () => closeNats(nc) };
}

let closing = false;
function send(message: FromWorker): void {
  process.send?.(message);
}
function fail(error: unknown): void {
  if (closing) return;
  closing = true;
  send({ type: 'error', message: error instanceof Error ? error.message : String(error) });
  setTimeout(() => process.exit(1), 100);
}

/** Runs this process as a worker until the parent says stop or goes away. */
export function runNodeWorker(): void {
  process.on('disconnect', () => process.exit(0)); // never outlive the benchmark
  let connection: Connection | undefined;
  let part: { node: SessionNode; transport: CountingTransport; clients: Clients; ws: WsSessions | null } | undefined;
  let cpuStart = process.cpuUsage();

  const handle = async (message: ToWorker): Promise<void> => {
    switch (message.type) {
      case 'init': {
        connection ??= await connect(message.transport, message.url);
        await part?.node.close();
        await part?.ws?.close();
        const ring = await HashRing.create(message.members.map((id) => ({ id })));
        const transport = new CountingTransport(connection.transport(message.prefix));
        const node = await SessionNode.start({ ...NODE_OPTIONS, id: message.nodeId, router: staticRouter(ring), transport });
        node.on('error', (error) => send({ type: 'error', message: `${message.nodeId}: ${error.message}` }));
        const clients = new Clients();
        part = { node, transport, clients, ws: null };
        if (message.sockets === 'ws') part.ws = await attachWsUsers(node, message.users, clients);
        else attachMemoryUsers(node, message.users, clients);
        send({ type: 'ready' });
        return;
      }
      case 'start':
        part?.transport.reset();
        part?.clients.reset();
        cpuStart = process.cpuUsage();
        send({ type: 'started' });
        return;
      case 'collect': {
        const cpu = process.cpuUsage(cpuStart);
        if (part === undefined) throw new Error('collect before init');
        send({ type: 'counts', transport: part.transport.counts, clients: part.clients.counts(), cpuMicros: cpu.user + cpu.system });
        return;
      }
      case 'idle':
        await part?.node.close();
        await part?.ws?.close();
        await part?.transport.close();
        part = undefined;
        send({ type: 'idle' });
        return;
      case 'stop':
        closing = true;
        await part?.node.close().catch(() => undefined);
        await connection?.close().catch(() => undefined);
        process.exit(0);
    }
  };
  // One at a time, in order: an init must finish before the next message.
  let queue = Promise.resolve();
  process.on('message', (raw) => {
    queue = queue.then(() => handle(raw as ToWorker)).catch(fail);
  });
}
