/**
 * The pub/sub transports (redis, nats): each node is its own worker process
 * with its own connection, and the gateway (this process) publishes through
 * the real server: to one address that every node listens at for broadcast,
 * to the owner's own address for hash. Broadcast's fan-out is paid for in
 * full: by the server, which copies each message to every subscriber, and by
 * every node, which receives and parses it. What differs between Redis and
 * NATS is behind {@link PubSubBackend} (the gateway's side) and
 * {@link NodeBus} (a worker's side).
 *
 * CPU is the gateway's own, plus what each worker reports for itself, plus
 * the server's where the backend can read it. The gateway routes and encodes
 * each due batch of messages in two timed steps before publishing it; each
 * worker times its header decoding and its deliveries (see
 * `SessionNode.receive`). Latency is send-to-delivery time, stamped by the
 * gateway and read by the node on the same machine's clock.
 */
import { randomBytes } from 'node:crypto';
import type { HashRing } from '../ring/hash-ring.js';
import { encodeEnd, epochMs, formatTime } from './envelope.js';
import { ALL_NODES, EnvelopeBatch, Gateway, type Mode } from './gateway.js';
import { sumCounters } from './session-node.js';
import type { Cluster, RunResult, Transport } from './transport.js';
import { type PubSubName, type WorkerCommand, WorkerHandle, defaultWorkerCommand } from './worker-pool.js';
import type { Message } from './workload.js';

/** The publishing side of one cluster (one set of channel names). */
export interface Publisher {
  /**
   * Publishes `payload` to every node of the cluster (`nodeId` null) or to
   * one node. Resolves to the listeners reached: their exact number where
   * the backend counts them ({@link PubSubBackend.countsListeners}), else
   * 0 (nobody) or 1 (somebody).
   */
  publish(nodeId: string | null, payload: string): Promise<number>;
  /** Releases what this publisher opened (never the backend's connection). */
  close(): Promise<void>;
}

/** What the gateway needs of a pub/sub system. */
export interface PubSubBackend {
  readonly name: PubSubName;
  /** The server's name in messages ("Redis", "NATS"). */
  readonly label: string;
  /** Sent to every worker, which connects to it itself. */
  readonly url: string;
  /** Whether {@link Publisher.publish} counts listeners (Redis) or only tells none from some (NATS). */
  readonly countsListeners: boolean;
  /** A publisher for the cluster whose channel names start with `prefix` (letters, digits and `-`). */
  publisher(prefix: string): Promise<Publisher>;
  /** CPU seconds the server has used so far (user + system); null when it cannot be read. */
  serverCpuSeconds(): Promise<number | null>;
  /** Closes the gateway's connection. */
  close(): Promise<void>;
}

/** What a worker needs of a pub/sub system: listening, as one node, on its own connection. */
export interface NodeBus {
  /**
   * Listens at the broadcast address and at node `nodeId`'s own address of
   * the cluster named by `prefix`; resolves once the server has both
   * subscriptions. Later failures (a lost connection) go to `onError`.
   */
  join(prefix: string, nodeId: string, onMessage: (payload: string) => void, onError: (error: Error) => void): Promise<void>;
  /** Stops listening at the cluster's addresses. */
  leave(): Promise<void>;
  /** Closes the connection. */
  close(): Promise<void>;
}

/** Options of {@link pubsubTransport}. */
export interface PubSubTransportOptions {
  /** Messages per second offered by the gateway; 0 = as fast as the server takes them. */
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
 * A transport on `backend` (whose connection it closes with itself). Worker
 * processes are started as clusters need them and reused by the next,
 * larger, cluster.
 */
export function pubsubTransport(backend: PubSubBackend, options: PubSubTransportOptions): Transport {
  // Unique per run, so a shared server is safe; one generation per cluster.
  const base = `ringroute-bench-${process.pid}-${randomBytes(4).toString('hex')}`;
  const command = options.worker ?? defaultWorkerCommand();
  const pool: WorkerHandle[] = [];
  let generation = 0;
  return {
    name: backend.name,
    async start(ring, sessions) {
      const nodes = ring.nodes();
      while (pool.length < nodes.length) pool.push(new WorkerHandle(pool.length + 1, command));
      const workers = pool.slice(0, nodes.length);
      const prefix = `${base}-${++generation}`;
      await Promise.all(
        workers.map((w, i) => {
          const nodeId = nodes[i]!.id;
          w.nodeId = nodeId;
          const ready = w.next('ready', READY_TIMEOUT_MS);
          w.send({ type: 'init', transport: backend.name, nodeId, url: backend.url, prefix, users: sessions.get(nodeId) ?? [] });
          return ready;
        }),
      );
      return new PubSubCluster(backend, await backend.publisher(prefix), options.rate, ring, workers);
    },
    async close() {
      await Promise.all(pool.map((w) => w.stop()));
      await backend.close();
    },
  };
}

class PubSubCluster implements Cluster {
  readonly #backend: PubSubBackend;
  readonly #pub: Publisher;
  readonly #rate: number;
  readonly #gateway: Gateway;
  /** In `ring.nodes()` order, as the gateway's targets index them. */
  readonly #workers: readonly WorkerHandle[];
  readonly #batch = new EnvelopeBatch();

  constructor(backend: PubSubBackend, pub: Publisher, rate: number, ring: HashRing, workers: readonly WorkerHandle[]) {
    this.#backend = backend;
    this.#pub = pub;
    this.#rate = rate;
    this.#gateway = new Gateway(ring);
    this.#workers = workers;
  }

  async run(mode: Mode, messages: readonly Message[], progress: (done: number) => void, warmup = false): Promise<RunResult> {
    const backend = this.#backend;
    const pub = this.#pub;
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

    const serverCpuStart = await backend.serverCpuSeconds();
    const cpuStart = process.cpuUsage();
    const wallStart = performance.now();

    let receivers = 0;
    let publishes = 0;
    let unheard = 0;
    let failure: unknown;
    let last: Promise<unknown> = Promise.resolve();
    const publish = (nodeId: string | null, payload: string): void => {
      publishes++;
      last = pub.publish(nodeId, payload).then(
        (n) => {
          receivers += n;
          if (n === 0) unheard++;
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
    // The end marker follows the messages to each address the mode used; Redis and NATS keep one publisher's order.
    const end = encodeEnd(formatTime(epochMs()));
    const ends = mode === 'broadcast' ? [null] : workers.map((w) => w.nodeId);
    for (const nodeId of ends) publish(nodeId, end);
    await last;
    if (failure !== undefined) throw new Error(`publishing to ${backend.label} failed: ${failure instanceof Error ? failure.message : String(failure)}`);

    const reports = await Promise.all(done);
    const wallMs = performance.now() - wallStart;
    const gatewayCpu = process.cpuUsage(cpuStart);
    const serverCpuEnd = await backend.serverCpuSeconds();

    const counters = gateway.counters();
    // The end markers reached every node once, in both modes.
    const endVisits = workers.length;
    if (backend.countsListeners && receivers !== counters.nodeVisits + endVisits) {
      throw new Error(`${backend.label} handed ${receivers - endVisits} messages to subscribers where ${counters.nodeVisits} node visits were sent: a node was not subscribed`);
    }
    if (unheard > 0) throw new Error(`${backend.label} found no subscriber for ${unheard} of ${publishes} publishes: a node was not subscribed`);
    const gatewayMicros = gatewayCpu.user + gatewayCpu.system;
    const nodesMicros = reports.reduce((sum, r) => sum + r.cpuMicros, 0);
    const serverMicros = serverCpuStart === null || serverCpuEnd === null ? null : Math.round((serverCpuEnd - serverCpuStart) * 1e6);
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
      // The report keeps the server's CPU under `redis`, the name it had when Redis was the only server.
      cpu: { totalMicros: gatewayMicros + nodesMicros + (serverMicros ?? 0), gatewayMicros, nodesMicros, redisMicros: serverMicros },
      split: { routingMicros: routing, codecMicros: codec + Math.round(nodeCodecMs * 1000), deliveryMicros: Math.round(nodeDeliveryMs * 1000) },
      wallMs,
      latenciesMs: latencies,
    };
  }

  /** Takes the workers out of this cluster; the next cluster reuses them. */
  async close(): Promise<void> {
    await this.#pub.close().catch(() => {});
    await Promise.all(
      this.#workers.map((w) => {
        const idle = w.next('idle', READY_TIMEOUT_MS);
        w.send({ type: 'idle' });
        return idle.catch(() => {});
      }),
    );
  }
}

function cpuMicros(): number {
  const c = process.cpuUsage();
  return c.user + c.system;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
