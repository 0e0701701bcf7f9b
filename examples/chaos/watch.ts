/**
 * What the chaos runner knows about the cluster at each moment: the ring
 * as the store holds it (a RingRouter of its own), and every part's last
 * `/stats` answer, polled every {@link POLL_MS}. Convergence checks read
 * from here, never block on a part (a stopped part's poll times out and its
 * figures go stale, which counts as "not converged").
 */
import type { Agent } from 'node:http';
import type { RingRouter } from 'ringroute';
import type { GatewayStats } from '../cluster/gateway.js';
import type { NodeStats } from '../cluster/app-node.js';
import { requestJson } from '../cluster/http.js';
import type { Part } from './parts.js';

export const POLL_MS = 100;
/** A part's figures older than this are stale: it did not answer recently. */
const FRESH_MS = 600;

interface Seen<T> {
  readonly at: number;
  readonly stats: T;
}

export class Watch {
  readonly #parts: readonly Part[];
  readonly #router: RingRouter;
  readonly #agent: Agent;
  readonly #token: string;
  readonly #gateways = new Map<string, Seen<GatewayStats>>();
  readonly #nodes = new Map<string, Seen<NodeStats>>();
  readonly #inFlight = new Set<string>();
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(parts: readonly Part[], router: RingRouter, agent: Agent, adminToken: string) {
    this.#parts = parts;
    this.#router = router;
    this.#agent = agent;
    this.#token = adminToken;
  }

  start(): void {
    this.#timer = setInterval(() => this.#poll(), POLL_MS);
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** The store's ring version, as the runner's own router follows it. */
  get version(): number {
    return this.#router.version;
  }

  /** Whether gateway `id` answered recently and routes by the store's ring. */
  gatewayAgrees(id: string): boolean {
    const seen = this.#gateways.get(id);
    return seen !== undefined && performance.now() - seen.at < FRESH_MS && seen.stats.version === this.#router.version;
  }

  /** Every gateway not in `excluded` routes by the store's ring. */
  gatewaysAgree(excluded: ReadonlySet<string>): boolean {
    return this.#parts.every((p) => p.role !== 'gateway' || excluded.has(p.id) || this.gatewayAgrees(p.id));
  }

  /** Node `id` is on the store's ring, answered recently, and is not fenced. */
  nodeServes(id: string): boolean {
    const seen = this.#nodes.get(id);
    return this.#router.ring.has(id) && seen !== undefined && performance.now() - seen.at < FRESH_MS && !seen.stats.fenced && seen.stats.version === this.#router.version;
  }

  /** The store's ring version and each part's, fence and freshness: what a convergence that did not come was waiting for. */
  describe(): string {
    const now = performance.now();
    const parts = this.#parts.map((p) => {
      const seen = p.role === 'gateway' ? this.#gateways.get(p.id) : this.#nodes.get(p.id);
      if (seen === undefined) return `${p.id} never answered`;
      const node = p.role === 'node' ? `${(seen.stats as NodeStats).fenced ? ' fenced' : ''}${this.#router.ring.has(p.id) ? '' : ' off the ring'}` : '';
      const age = now - seen.at;
      return `${p.id} v${seen.stats.version}${node}${age >= FRESH_MS ? ` (answered ${Math.round(age)} ms ago)` : ''}`;
    });
    return `store ring v${this.#router.version}; ${parts.join(', ')}`;
  }

  /** The last figures of every node that answered (for the end report). */
  nodeStats(): NodeStats[] {
    return [...this.#nodes.values()].map((s) => s.stats);
  }

  #poll(): void {
    for (const part of this.#parts) {
      if (!part.running || this.#inFlight.has(part.id)) continue;
      this.#inFlight.add(part.id);
      requestJson<GatewayStats & NodeStats>('GET', `${part.adminUrl}/stats`, undefined, { agent: this.#agent, token: this.#token, timeoutMs: 400 })
        .then((stats) => {
          const seen = { at: performance.now(), stats };
          if (part.role === 'gateway') this.#gateways.set(part.id, seen);
          else this.#nodes.set(part.id, seen);
        })
        .catch(() => undefined) // stopped, killed or cut off: its figures go stale
        .finally(() => this.#inFlight.delete(part.id));
    }
  }
}
