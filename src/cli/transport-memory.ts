/**
 * The memory transport: every node lives in this process and an envelope
 * reaches a node as its serialized string, which the node parses as it
 * would after a network hop. It measures the routing work itself (fan-out,
 * parsing, session lookups, ring lookups) without any I/O, so it shows the
 * cost of each design with nothing else in the way; it has no latency to
 * report.
 */
import type { HashRing } from '../ring/hash-ring.js';
import { epochMs } from './envelope.js';
import { Gateway, type Mode, type Publish } from './gateway.js';
import { SessionNode, sumCounters } from './session-node.js';
import type { Cluster, RunResult, Transport } from './transport.js';
import type { Message } from './workload.js';

/** Messages between two progress reports (and clock reads). */
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

class MemoryCluster implements Cluster {
  readonly #gateway: Gateway;
  readonly #nodes: SessionNode[];
  readonly #publish: Publish;

  constructor(ring: HashRing, sessions: ReadonlyMap<string, readonly string[]>) {
    this.#gateway = new Gateway(ring);
    this.#nodes = ring.nodes().map((node) => new SessionNode(node.id, sessions.get(node.id) ?? []));
    const byId = new Map(this.#nodes.map((node) => [node.id, node]));
    const nodes = this.#nodes;
    this.#publish = (target, payload) => {
      if (target === null) {
        for (let i = 0; i < nodes.length; i++) nodes[i]!.receive(payload);
      } else {
        byId.get(target)!.receive(payload);
      }
    };
  }

  async run(mode: Mode, messages: readonly Message[], progress: (done: number) => void): Promise<RunResult> {
    const gateway = this.#gateway;
    const publish = this.#publish;
    gateway.reset();
    for (const node of this.#nodes) node.reset();
    // One clock read per batch: the stamp only feeds the envelope's size, not a latency.
    let t = epochMs();
    const cpuStart = process.cpuUsage();
    const wallStart = performance.now();
    for (let i = 0; i < messages.length; i++) {
      if (i % PROGRESS_EVERY === 0 && i > 0) {
        progress(i);
        t = epochMs();
      }
      gateway.route(messages[i]!, mode, t, publish);
    }
    const wallMs = performance.now() - wallStart;
    const cpu = process.cpuUsage(cpuStart);
    progress(messages.length);
    const totalMicros = cpu.user + cpu.system;
    return {
      gateway: gateway.counters(),
      nodes: sumCounters(this.#nodes.map((node) => node.counters())),
      cpu: { totalMicros, gatewayMicros: null, nodesMicros: null, redisMicros: null },
      wallMs,
      latenciesMs: null,
    };
  }

  async close(): Promise<void> {}
}
