/**
 * A ringroute cluster over Redis or NATS pub/sub: one worker process per
 * node (the library's `SessionNode` on `RedisTransport` or `NatsTransport`,
 * see node-worker.ts) and the `Dispatcher` in this process on its own
 * connection. CPU is this process (the sender) plus every worker, plus
 * redis-server's own from `INFO` before and after each round, with its
 * network bytes. A worker that fails, or a lost connection, ends the round
 * at once with {@link RunAborted}.
 */
import { RedisTransport } from '../adapters/redis/transport.js';
import type { Transport } from '../live/transport.js';
import type { HashRing } from '../ring/hash-ring.js';
import { Dispatcher, type DispatchMode } from '../sessions/dispatcher.js';
import { CountingTransport } from './counting-transport.js';
import { measure } from './measure.js';
import { closeNats, connectNats, loadNats } from './nats-connect.js';
import { type BenchRedis, connectRedis, redisServerStats, transportClient } from './redis-connect.js';
import { sendAll } from './send-loop.js';
import { senderOptions } from './settings.js';
import { staticRouter } from './static-router.js';
import type { ModeClusters } from './memory-cluster.js';
import type { BenchCluster, BenchMessage, Progress, RunMeasure } from './types.js';
import { type PubSubName, type WorkerCommand, WorkerError, WorkerHandle } from './worker-pool.js';

/** A round ended early: a worker failed or a connection was lost. */
export class RunAborted extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RunAborted';
  }
}

const READY_TIMEOUT_MS = 60_000;
const REPLY_TIMEOUT_MS = 30_000;

/** The sender's connection, kept for every node count of a run. */
export class PubSubLink {
  readonly name: PubSubName;
  readonly url: string;
  readonly #workers: WorkerHandle[] = [];
  readonly #command: WorkerCommand;
  readonly #redis: BenchRedis | undefined;
  readonly #transport: (prefix: string) => Transport;
  readonly #close: () => Promise<void>;
  /** Set when the connection is lost; a round in progress ends. */
  lost: string | undefined;
  onLost: ((message: string) => void) | undefined;

  private constructor(name: PubSubName, url: string, command: WorkerCommand, redis: BenchRedis | undefined, transport: (prefix: string) => Transport, close: () => Promise<void>) {
    this.name = name;
    this.url = url;
    this.#command = command;
    this.#redis = redis;
    this.#transport = transport;
    this.#close = close;
  }

  /** Connects (one line of error when the server does not answer). */
  static async open(name: PubSubName, url: string, command: WorkerCommand): Promise<PubSubLink> {
    let link: PubSubLink;
    if (name === 'redis') {
      const redis = await connectRedis(url);
      link = new PubSubLink(name, url, command, redis, (prefix) => new RedisTransport({ redis: transportClient(redis) as never, prefix }), async () => void (await redis.quit().catch(() => redis.disconnect())));
      (redis as unknown as { on(e: 'end', l: () => void): void }).on('end', () => link.#lose(`lost the connection to Redis at ${url}`));
    } else {
      const [{ NatsTransport }, nc] = await Promise.all([loadNats(), connectNats(url)]);
      link = new PubSubLink(name, url, command, undefined, (prefix) => new NatsTransport({ nats: nc, prefix }), () => closeNats(nc));
      void nc.closed().then(() => link.#lose(`lost the connection to NATS at ${url}`));
    }
    return link;
  }

  /** The first `n` workers, started as needed. */
  workers(n: number): WorkerHandle[] {
    while (this.#workers.length < n) this.#workers.push(new WorkerHandle(this.#workers.length + 1, this.#command));
    return this.#workers.slice(0, n);
  }

  transport(prefix: string): Transport {
    return this.#transport(prefix);
  }

  /** redis-server's CPU (µs) and network bytes so far; null on NATS or when INFO is not allowed. */
  serverStats(): Promise<{ cpuMicros: number; netBytes: number } | null> {
    return this.#redis === undefined ? Promise.resolve(null) : redisServerStats(this.#redis);
  }

  async close(): Promise<void> {
    this.lost ??= 'closed';
    for (const w of this.#workers) w.onFailure = undefined;
    await Promise.all(this.#workers.map((w) => w.stop()));
    await this.#close().catch(() => undefined);
  }

  #lose(message: string): void {
    if (this.lost !== undefined) return;
    this.lost = message;
    this.onLost?.(message);
  }
}

export interface PubSubClusterOptions {
  readonly link: PubSubLink;
  readonly ring: HashRing;
  readonly sessions: ReadonlyMap<string, readonly string[]>;
  /** In-process sockets, or real WebSockets over loopback in each node's process. */
  readonly sockets: 'memory' | 'ws';
  /** Messages per second the sender offers; 0 = as fast as the window allows. */
  readonly rate: number;
  readonly onProblem: (message: string) => void;
}

export async function startPubSubCluster(options: PubSubClusterOptions): Promise<ModeClusters> {
  const { link } = options;
  const ids = [...options.sessions.keys()];
  const members = options.ring.nodes().map((node) => node.id);
  // Channels of their own for every cluster, so nothing of an earlier one is ever heard.
  // Letters, digits and "-" only: a NATS prefix allows no ":" or ".".
  const prefix = `ringroute-bench-${process.pid}-${Date.now().toString(36)}-${ids.length}`;
  const workers = link.workers(ids.length);
  await aborting(link, () =>
    Promise.all(
      workers.map(async (worker, i) => {
        worker.nodeId = ids[i]!;
        const ready = worker.next('ready', READY_TIMEOUT_MS);
        worker.send({ type: 'init', transport: link.name, url: link.url, prefix, nodeId: ids[i]!, members, users: options.sessions.get(ids[i]!)!, sockets: options.sockets });
        await ready;
      }),
    ),
  );
  let round = 0;
  const ask = async <T extends 'started' | 'counts'>(type: T, message: { type: 'start' | 'collect' }) =>
    Promise.all(
      workers.map((w) => {
        const reply = w.next(type, REPLY_TIMEOUT_MS);
        w.send(message);
        return reply;
      }),
    );

  const senders: Array<{ dispatcher: Dispatcher; transport: CountingTransport }> = [];
  const cluster = async (mode: DispatchMode): Promise<BenchCluster> => {
    const senderTransport = new CountingTransport(link.transport(prefix));
    const dispatcher = await Dispatcher.start({ ...senderOptions(), id: `bench-${mode}`, router: staticRouter(options.ring), transport: senderTransport, mode });
    dispatcher.on('error', (error) => options.onProblem(`sender (${mode}): ${error.message}`));
    senders.push({ dispatcher, transport: senderTransport });
    return {
    async run(messages: readonly BenchMessage[], progress: Progress): Promise<RunMeasure> {
      round++;
      const abort = new AbortController();
      let reason: string | undefined;
      const stop = (message: string): void => {
        reason ??= message;
        abort.abort();
      };
      if (link.lost !== undefined) throw new RunAborted(link.lost);
      link.onLost = stop;
      for (const w of workers) w.onFailure = (error) => stop(error.message);
      try {
        await ask('started', { type: 'start' });
        senderTransport.reset();
        const serverBefore = await link.serverStats();
        const startCpu = process.cpuUsage();
        const startWall = performance.now();
        const sent = await sendAll(dispatcher, senderTransport, messages, round, progress, null, {
          rate: options.rate,
          signal: abort.signal,
          onRefused: (error) => options.onProblem(`send refused: ${String(error)}`),
        });
        const wallMs = performance.now() - startWall;
        const senderCpu = process.cpuUsage(startCpu);
        if (reason !== undefined) throw new RunAborted(reason);
        const counts = await ask('counts', { type: 'collect' });
        const serverAfter = await link.serverStats();
        if (reason !== undefined) throw new RunAborted(reason);
        const senderMicros = senderCpu.user + senderCpu.system;
        const nodesMicros = counts.reduce((sum, c) => sum + c.cpuMicros, 0);
        const server = serverBefore === null || serverAfter === null ? null : { cpuMicros: serverAfter.cpuMicros - serverBefore.cpuMicros, netBytes: serverAfter.netBytes - serverBefore.netBytes };
        return measure({
          messages,
          sent,
          visitsPerPublication: mode === 'broadcast' ? ids.length : 1,
          wallMs,
          nodes: counts.map((c) => ({ transport: c.transport, clients: c.clients })),
          sender: senderTransport.counts,
          cpu: { totalMicros: senderMicros + nodesMicros + (server?.cpuMicros ?? 0), senderMicros, nodesMicros, serverMicros: server?.cpuMicros ?? null },
          split: null,
          server,
        });
      } catch (error) {
        if (error instanceof RunAborted) throw error;
        const why = reason ?? link.lost ?? (error instanceof WorkerError ? error.message : undefined);
        throw why !== undefined ? new RunAborted(why) : error;
      } finally {
        link.onLost = undefined;
        for (const w of workers) w.onFailure = undefined;
      }
    },
    close: () => dispatcher.close().catch(() => undefined),
    };
  };
  const closeSenders = async (): Promise<void> => {
    for (const { dispatcher, transport } of senders) {
      await dispatcher.close().catch(() => undefined);
      await transport.close().catch(() => undefined);
    }
  };
  let broadcast: BenchCluster;
  let hash: BenchCluster;
  try {
    broadcast = await aborting(link, () => cluster('broadcast'));
    hash = await aborting(link, () => cluster('hash'));
  } catch (error) {
    await closeSenders();
    throw error;
  }
  return {
    broadcast,
    hash,
    async close(): Promise<void> {
      for (const { dispatcher, transport } of senders) {
        await dispatcher.close().catch(() => undefined);
        await transport.close().catch(() => undefined);
      }
      await Promise.all(
        workers.map(async (w) => {
          const idle = w.next('idle', REPLY_TIMEOUT_MS).catch(() => undefined);
          w.send({ type: 'idle' });
          await idle;
        }),
      );
    },
  };
}

/**
 * Runs a step of starting a cluster; a worker that fails or a connection
 * lost meanwhile ends the run as {@link RunAborted} (the report then says
 * incomplete), like a failure during a round.
 */
async function aborting<T>(link: PubSubLink, step: () => Promise<T>): Promise<T> {
  if (link.lost !== undefined) throw new RunAborted(link.lost);
  try {
    return await step();
  } catch (error) {
    const why = link.lost ?? (error instanceof WorkerError ? error.message : undefined);
    throw why !== undefined ? new RunAborted(why) : error;
  }
}
