/**
 * The redis transport: each node is its own worker process with its own
 * Redis connection, and the gateway (this process) publishes through real
 * Redis pub/sub: on one shared channel that every node subscribes to for
 * broadcast, on the owner's own channel for hash. Broadcast's fan-out is
 * paid for in full: by Redis, which copies each message to every
 * subscriber, and by every node, which receives and parses it.
 *
 * CPU is the gateway's own, plus what each worker reports for itself, plus
 * the Redis server's (from `INFO cpu`). The gateway routes and encodes each
 * due batch of messages in two timed steps before publishing it; each worker
 * times its header decoding and its deliveries (see `SessionNode.receive`).
 * Latency is send-to-delivery time, stamped by the gateway and read by the
 * node on the same machine's clock.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { HashRing } from '../ring/hash-ring.js';
import { encodeEnd, epochMs, formatTime } from './envelope.js';
import { ALL_NODES, EnvelopeBatch, Gateway, type Mode } from './gateway.js';
import { type BenchRedis, connectRedis, redisCpuSeconds } from './redis-client.js';
import { sumCounters } from './session-node.js';
import type { Cluster, RunResult, Transport } from './transport.js';
import { type FromWorker, type ToWorker, WORKER_ARG, broadcastChannel, nodeChannel } from './worker.js';
import type { Message } from './workload.js';

/** How to start a worker: a script that runs `runWorker` when given {@link WORKER_ARG}. */
export interface WorkerCommand {
  readonly script: string;
  readonly execArgv: readonly string[];
}

/** Options of {@link redisTransport}. */
export interface RedisTransportOptions {
  readonly url: string;
  /** Messages per second offered by the gateway; 0 = as fast as Redis takes them. */
  readonly rate: number;
  /** @default the CLI entry next to this module (through tsx when running from source) */
  readonly worker?: WorkerCommand;
}

const READY_TIMEOUT_MS = 30_000;
/** How long nodes may take to drain after the last publish, on top of the run's own length. */
const DRAIN_TIMEOUT_MS = 60_000;
/** Messages published between two waits when unpaced (`rate` 0). */
const UNPACED_BATCH = 256;

/**
 * The worker command when none is given: `main.ts` through tsx from source,
 * or this very file once bundled into `dist/cli.js`, which is the entry.
 */
export function defaultWorkerCommand(): WorkerCommand {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.ts')) {
    const tsx = createRequire(import.meta.url).resolve('tsx');
    return { script: join(dirname(here), 'main.ts'), execArgv: ['--import', pathToFileURL(tsx).href] };
  }
  return { script: here, execArgv: [] };
}

/**
 * Connects the gateway's publisher to `url`. Worker processes are started
 * as clusters need them and reused by the next, larger, cluster.
 * @throws UsageError when ioredis is missing; Error when Redis cannot be reached.
 */
export async function redisTransport(options: RedisTransportOptions): Promise<Transport> {
  const pub = await connectRedis(options.url);
  // Unique per run, so a shared Redis server is safe.
  const base = `ringroute-bench:${process.pid}-${randomBytes(4).toString('hex')}:`;
  const command = options.worker ?? defaultWorkerCommand();
  const pool: WorkerHandle[] = [];
  let generation = 0;
  return {
    name: 'redis',
    async start(ring, sessions) {
      const nodes = ring.nodes();
      while (pool.length < nodes.length) pool.push(new WorkerHandle(pool.length + 1, command));
      const workers = pool.slice(0, nodes.length);
      const prefix = `${base}${++generation}:`;
      await Promise.all(
        workers.map((w, i) => {
          const nodeId = nodes[i]!.id;
          w.nodeId = nodeId;
          const ready = w.next('ready', READY_TIMEOUT_MS);
          w.send({ type: 'init', nodeId, url: options.url, prefix, users: sessions.get(nodeId) ?? [] });
          return ready;
        }),
      );
      return new RedisCluster(pub, prefix, options.rate, ring, workers);
    },
    async close() {
      await Promise.all(pool.map((w) => w.stop()));
      await pub.quit().catch(() => pub.disconnect());
    },
  };
}

class RedisCluster implements Cluster {
  readonly #pub: BenchRedis;
  readonly #prefix: string;
  readonly #rate: number;
  readonly #gateway: Gateway;
  /** In `ring.nodes()` order, as the gateway's targets index them. */
  readonly #workers: readonly WorkerHandle[];
  readonly #batch = new EnvelopeBatch();

  constructor(pub: BenchRedis, prefix: string, rate: number, ring: HashRing, workers: readonly WorkerHandle[]) {
    this.#pub = pub;
    this.#prefix = prefix;
    this.#rate = rate;
    this.#gateway = new Gateway(ring);
    this.#workers = workers;
  }

  async run(mode: Mode, messages: readonly Message[], progress: (done: number) => void, warmup = false): Promise<RunResult> {
    const pub = this.#pub;
    const prefix = this.#prefix;
    const rate = warmup ? 0 : this.#rate;
    const gateway = this.#gateway;
    const workers = this.#workers;
    gateway.reset();
    await Promise.all(
      workers.map((w) => {
        const started = w.next('started', READY_TIMEOUT_MS);
        w.send({ type: 'start' });
        return started;
      }),
    );
    const expectedRunMs = rate > 0 ? (messages.length / rate) * 1000 : 0;
    const done = workers.map((w) => w.next('done', expectedRunMs + DRAIN_TIMEOUT_MS));
    // Nobody waits on these until the publishing is over.
    for (const d of done) d.catch(() => {});

    const redisCpuStart = await redisCpuSeconds(pub);
    const cpuStart = process.cpuUsage();
    const wallStart = performance.now();

    let receivers = 0;
    let failure: unknown;
    let last: Promise<unknown> = Promise.resolve();
    const all = broadcastChannel(prefix);
    const publish = (target: string | null, payload: string): void => {
      last = pub.publish(target === null ? all : nodeChannel(prefix, target), payload).then(
        (n) => {
          receivers += n;
        },
        (error: unknown) => {
          failure ??= error;
        },
      );
    };

    // Open loop at `rate`: each message leaves when it is due, whether or not the nodes keep up.
    const batch = this.#batch;
    let routing = 0;
    let codec = 0;
    let sent = 0;
    while (sent < messages.length && failure === undefined) {
      const due = rate > 0 ? Math.min(messages.length, Math.floor(((performance.now() - wallStart) * rate) / 1000) + 1) : Math.min(messages.length, sent + UNPACED_BATCH);
      batch.clear();
      const c0 = cpuMicros();
      for (; sent < due; sent++) gateway.route(messages[sent]!, mode, batch);
      const c1 = cpuMicros();
      gateway.encode(batch, formatTime(epochMs()));
      const c2 = cpuMicros();
      routing += c1 - c0;
      codec += c2 - c1;
      for (let e = 0; e < batch.count; e++) {
        const target = batch.targets[e]!;
        publish(target === ALL_NODES ? null : workers[target]!.nodeId, batch.payloads[e]!);
      }
      progress(sent);
      if (sent === messages.length) break;
      if (rate > 0) await sleep(Math.max(1, Math.floor(wallStart + (sent * 1000) / rate - performance.now())));
      else await last;
    }
    // The end marker follows the messages on each channel the mode used; Redis keeps their order.
    const end = encodeEnd(formatTime(epochMs()));
    const ends = mode === 'broadcast' ? [all] : workers.map((w) => nodeChannel(prefix, w.nodeId));
    for (const channel of ends) last = pub.publish(channel, end).catch((error: unknown) => void (failure ??= error));
    await last;
    if (failure !== undefined) throw new Error(`publishing to Redis failed: ${failure instanceof Error ? failure.message : String(failure)}`);

    const reports = await Promise.all(done);
    const wallMs = performance.now() - wallStart;
    const gatewayCpu = process.cpuUsage(cpuStart);
    const redisCpuEnd = await redisCpuSeconds(pub);

    const counters = gateway.counters();
    if (receivers !== counters.nodeVisits) {
      throw new Error(`Redis handed ${receivers} messages to subscribers where ${counters.nodeVisits} node visits were sent: a node was not subscribed`);
    }
    const gatewayMicros = gatewayCpu.user + gatewayCpu.system;
    const nodesMicros = reports.reduce((sum, r) => sum + r.cpuMicros, 0);
    const redisMicros = redisCpuStart === null || redisCpuEnd === null ? null : Math.round((redisCpuEnd - redisCpuStart) * 1e6);
    const latencies = new Float64Array(reports.reduce((sum, r) => sum + r.latencies.length, 0));
    let offset = 0;
    for (const r of reports) {
      latencies.set(r.latencies, offset);
      offset += r.latencies.length;
    }
    const nodeCodecMs = reports.reduce((sum, r) => sum + r.times.codecMs, 0);
    const nodeDeliveryMs = reports.reduce((sum, r) => sum + r.times.deliveryMs, 0);
    return {
      gateway: counters,
      nodes: sumCounters(reports.map((r) => r.counters)),
      cpu: { totalMicros: gatewayMicros + nodesMicros + (redisMicros ?? 0), gatewayMicros, nodesMicros, redisMicros },
      split: { routingMicros: routing, codecMicros: codec + Math.round(nodeCodecMs * 1000), deliveryMicros: Math.round(nodeDeliveryMs * 1000) },
      wallMs,
      latenciesMs: latencies,
    };
  }

  /** Takes the workers out of this cluster; the next cluster reuses them. */
  async close(): Promise<void> {
    await Promise.all(
      this.#workers.map((w) => {
        const idle = w.next('idle', READY_TIMEOUT_MS);
        w.send({ type: 'idle' });
        return idle.catch(() => {});
      }),
    );
  }
}

type Reply<T extends FromWorker['type']> = Extract<FromWorker, { type: T }>;

/** One worker process and the replies awaited from it. */
class WorkerHandle {
  /** The node it currently plays. */
  nodeId = '';
  readonly #name: string;
  readonly #child: ChildProcess;
  readonly #waiting = new Map<string, { resolve: (m: FromWorker) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  #stderr = '';
  #exited = false;

  constructor(index: number, command: WorkerCommand) {
    this.#name = `worker ${index}`;
    this.#child = fork(command.script, [WORKER_ARG], {
      execArgv: [...command.execArgv],
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    this.#child.stderr?.on('data', (chunk: Buffer) => {
      this.#stderr = (this.#stderr + chunk.toString()).slice(-2000);
    });
    this.#child.on('message', (raw) => {
      const message = raw as FromWorker;
      if (message.type === 'error') {
        this.#failAll(new Error(`${this.#label()} failed: ${message.message}`));
        return;
      }
      const waiter = this.#waiting.get(message.type);
      if (waiter === undefined) return;
      this.#waiting.delete(message.type);
      clearTimeout(waiter.timer);
      waiter.resolve(message);
    });
    this.#child.on('exit', (code, signal) => {
      this.#exited = true;
      const detail = this.#stderr.trim() === '' ? '' : `:\n${this.#stderr.trim()}`;
      this.#failAll(new Error(`${this.#label()} exited (${signal ?? `code ${code}`})${detail}`));
    });
    this.#child.on('error', (error) => this.#failAll(new Error(`${this.#label()}: ${error.message}`)));
  }

  /** Resolves with the next reply of this type. */
  next<T extends FromWorker['type']>(type: T, timeoutMs: number): Promise<Reply<T>> {
    return new Promise<Reply<T>>((resolve, reject) => {
      if (this.#exited) {
        reject(new Error(`${this.#label()} is not running`));
        return;
      }
      const timer = setTimeout(() => {
        this.#waiting.delete(type);
        reject(new Error(`${this.#label()} did not answer "${type}" within ${Math.round(timeoutMs / 1000)} s`));
      }, timeoutMs);
      this.#waiting.set(type, { resolve: resolve as (m: FromWorker) => void, reject, timer });
    });
  }

  send(message: ToWorker): void {
    if (!this.#exited) this.#child.send(message);
  }

  /** Asks the worker to quit; kills it if it has not after 5 s. */
  async stop(): Promise<void> {
    if (this.#exited) return;
    const exited = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()));
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 5000);
    try {
      this.#child.send({ type: 'stop' } satisfies ToWorker);
    } catch {
      this.#child.kill('SIGKILL');
    }
    await exited;
    clearTimeout(timer);
  }

  #label(): string {
    return this.nodeId === '' ? this.#name : `${this.#name} (${this.nodeId})`;
  }

  #failAll(error: Error): void {
    for (const [type, waiter] of this.#waiting) {
      clearTimeout(waiter.timer);
      this.#waiting.delete(type);
      waiter.reject(error);
    }
  }
}

function cpuMicros(): number {
  const c = process.cpuUsage();
  return c.user + c.system;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
