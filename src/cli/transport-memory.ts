/**
 * The memory transport: every node lives in this process and an envelope
 * reaches a node as its serialized string, whose header the node reads as
 * it would after a network hop. It measures the routing work itself
 * (routing, encoding and decoding envelopes, session lookups) without any
 * I/O, so it shows the cost of each design with nothing else in the way; it
 * has no latency to report.
 *
 * Messages go through in batches of {@link BATCH}, one kind of work at a
 * time (route the batch, encode it, decode every node's headers, deliver),
 * with the CPU clock read between the steps: that gives the routing / codec
 * / delivery split at four clock reads per batch, instead of per message.
 */
import type { HashRing } from '../ring/hash-ring.js';
import { decodeHeader, epochMs, formatTime, newHeader } from './envelope.js';
import { ALL_NODES, EnvelopeBatch, Gateway, type Mode } from './gateway.js';
import { SessionNode, sumCounters } from './session-node.js';
import type { Cluster, RunResult, Transport } from './transport.js';
import type { Message } from './workload.js';

/** Messages per batch: large enough that clock reads cost nothing, small enough that decoded headers stay in cache. */
const BATCH = 128;
/** Messages between two progress reports (and send-time stamps). */
const PROGRESS_EVERY = 1024;

export function memoryTransport(): Transport {
  return {
    name: 'memory',
    async start(ring, sessions) {
      return new MemoryCluster(ring, sessions);
    },
    async close() {},
  };
}

/** The node visits of one batch, decoded: flat arrays reused from batch to batch. */
class Visits {
  count = 0;
  node = new Int32Array(1024);
  envelope = new Int32Array(1024);
  id = new Float64Array(1024);
  t = new Float64Array(1024);
  from = new Int32Array(1024);
  to = new Int32Array(1024);
  bodyStart = new Int32Array(1024);
  /** Recipients of every visit, `[from[v], to[v])`. */
  readonly recipients: string[] = [];

  /** Makes room for `more` visits. */
  reserve(more: number): void {
    const need = this.count + more;
    if (need <= this.node.length) return;
    let size = this.node.length;
    while (size < need) size *= 2;
    const grow = <T extends Int32Array | Float64Array>(a: T, make: (n: number) => T): T => {
      const b = make(size);
      b.set(a);
      return b;
    };
    this.node = grow(this.node, (n) => new Int32Array(n));
    this.envelope = grow(this.envelope, (n) => new Int32Array(n));
    this.id = grow(this.id, (n) => new Float64Array(n));
    this.t = grow(this.t, (n) => new Float64Array(n));
    this.from = grow(this.from, (n) => new Int32Array(n));
    this.to = grow(this.to, (n) => new Int32Array(n));
    this.bodyStart = grow(this.bodyStart, (n) => new Int32Array(n));
  }
}

function cpuMicros(): number {
  const c = process.cpuUsage();
  return c.user + c.system;
}

class MemoryCluster implements Cluster {
  readonly #gateway: Gateway;
  /** In `ring.nodes()` order, as the gateway's targets index them. */
  readonly #nodes: SessionNode[];
  readonly #batch = new EnvelopeBatch();
  readonly #visits = new Visits();

  constructor(ring: HashRing, sessions: ReadonlyMap<string, readonly string[]>) {
    this.#gateway = new Gateway(ring);
    this.#nodes = ring.nodes().map((node) => new SessionNode(node.id, sessions.get(node.id) ?? []));
  }

  async run(mode: Mode, messages: readonly Message[], progress: (done: number) => void): Promise<RunResult> {
    const gateway = this.#gateway;
    const nodes = this.#nodes;
    const batch = this.#batch;
    const visits = this.#visits;
    const header = newHeader();
    gateway.reset();
    for (const node of nodes) node.reset();
    let routing = 0;
    let codec = 0;
    let delivery = 0;
    // One clock read per progress step: the stamp only feeds the envelope's size, not a latency.
    let time = formatTime(epochMs());
    const cpuStart = cpuMicros();
    const wallStart = performance.now();
    for (let start = 0; start < messages.length; start += BATCH) {
      const end = Math.min(messages.length, start + BATCH);
      if (start % PROGRESS_EVERY === 0 && start > 0) {
        progress(start);
        time = formatTime(epochMs());
      }
      const c0 = cpuMicros();
      batch.clear();
      for (let i = start; i < end; i++) gateway.route(messages[i]!, mode, batch);
      const c1 = cpuMicros();
      gateway.encode(batch, time);
      // Every node that receives an envelope reads its header.
      visits.count = 0;
      let at = 0;
      const recipients = visits.recipients;
      for (let e = 0; e < batch.count; e++) {
        const target = batch.targets[e]!;
        const payload = batch.payloads[e]!;
        const first = target === ALL_NODES ? 0 : target;
        const last = target === ALL_NODES ? nodes.length - 1 : target;
        visits.reserve(last - first + 1);
        for (let k = first; k <= last; k++) {
          decodeHeader(payload, recipients, at, header);
          const v = visits.count++;
          visits.node[v] = k;
          visits.envelope[v] = e;
          visits.id[v] = header.id;
          visits.t[v] = header.t;
          visits.from[v] = header.from;
          visits.to[v] = header.to;
          visits.bodyStart[v] = header.bodyStart;
          at = header.to;
        }
      }
      const c2 = cpuMicros();
      for (let v = 0; v < visits.count; v++) {
        nodes[visits.node[v]!]!.deliver(visits.id[v]!, visits.t[v]!, recipients, visits.from[v]!, visits.to[v]!, batch.payloads[visits.envelope[v]!]!, visits.bodyStart[v]!);
      }
      const c3 = cpuMicros();
      routing += c1 - c0;
      codec += c2 - c1;
      delivery += c3 - c2;
    }
    const wallMs = performance.now() - wallStart;
    const totalMicros = cpuMicros() - cpuStart;
    progress(messages.length);
    return {
      gateway: gateway.counters(),
      nodes: sumCounters(nodes.map((node) => node.counters())),
      cpu: { totalMicros, gatewayMicros: null, nodesMicros: null, redisMicros: null },
      split: { routingMicros: routing, codecMicros: codec, deliveryMicros: delivery },
      wallMs,
      latenciesMs: null,
    };
  }

  async close(): Promise<void> {}
}
