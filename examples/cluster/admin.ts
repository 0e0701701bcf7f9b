/**
 * The cluster's admin port: the live status page, Prometheus metrics and a
 * health check, on their own HTTP server (never the users' port), behind an
 * admin token. It follows the ring with a router of its own and asks every
 * gateway and app node for its figures over HTTP (`GET /stats` on their own
 * admin ports, with the cluster's admin token), so it works the same whether
 * the parts are in this process or OS processes on Redis.
 *
 *   GET /status   the page (open /status?token=... once; a cookie keeps it)
 *   GET /metrics  Prometheus text (Authorization: Bearer <token>)
 *   GET /healthz  ok (no token: it says nothing else)
 */
import { randomBytes } from 'node:crypto';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type MembershipAdapter, RingRouter, type RingStore } from 'ringroute';
import { type GatewayStatus, type NodeStatus, StatusBoard, instrument, statusHandler } from 'ringroute/metrics';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { requestJson } from './http.js';

export interface AdminOptions {
  /** Handles of the admin's own on the cluster's backends (it closes neither). */
  readonly store: RingStore;
  readonly membership: MembershipAdapter;
  /** Gateways' admin base URLs (where `GET /stats` is served), read at every poll. */
  readonly gateways: () => readonly string[];
  /** App nodes: id to the node's admin base URL, read at every poll. */
  readonly nodes: () => ReadonlyMap<string, string>;
  /** The cluster's admin token, sent to the gateways' and nodes' admin ports. */
  readonly partsToken: string;
  /** The token of this status page; a random one when absent (printed by the caller, never a default). */
  readonly token?: string;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** @default 0 (any free port) */
  readonly port?: number;
  readonly log?: (line: string) => void;
}

export interface Admin {
  /** `http://host:port` */
  readonly url: string;
  readonly token: string;
  readonly board: StatusBoard;
  close(): Promise<void>;
}

/** Longest wait for one part's `/stats`: an unreachable part shows as such, it does not stall the page. */
const STATS_TIMEOUT_MS = 1000;

export async function startAdmin(options: AdminOptions): Promise<Admin> {
  const token = options.token ?? randomBytes(24).toString('base64url');
  const router = await RingRouter.start({ store: options.store, resyncMs: 500 });
  router.on('error', (error) => options.log?.(`[admin] ring error: ${error.message}`));
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const metrics = instrument({ registry, router });
  const board = new StatusBoard({
    router,
    membership: options.membership,
    title: 'ringroute cluster example',
    nodes: async () => {
      const nodes = [...options.nodes()];
      const answers = await Promise.all(nodes.map(async ([id, url]): Promise<NodeStatus | null> => {
        try {
          const s = await requestJson<{ sessions: number; held: number; acked: number; sessionsMoved: number; pendingCloses: number }>('GET', `${url}/stats`, undefined, { timeoutMs: STATS_TIMEOUT_MS, token: options.partsToken });
          return { id, sessions: s.sessions, held: s.held, delivered: s.acked, moved: s.sessionsMoved, pendingCloses: s.pendingCloses };
        } catch {
          return null; // a node that stopped answering: it is shown by the ring and the membership events
        }
      }));
      return answers.filter((a): a is NodeStatus => a !== null);
    },
    gateways: async () =>
      Promise.all(options.gateways().map(async (url, i): Promise<GatewayStatus> => {
        try {
          const s = await requestJson<{ id: string; version: number; checksum: string }>('GET', `${url}/stats`, undefined, { timeoutMs: STATS_TIMEOUT_MS, token: options.partsToken });
          return { id: s.id, version: s.version, checksum: s.checksum };
        } catch (error) {
          return { id: `gateway ${i + 1}`, version: 0, error: `unreachable (${(error as Error).message.slice(0, 80)})` };
        }
      })),
  });
  const handler = statusHandler({ board, registry, token });
  const server: Server = createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${address.address}:${address.port}`,
    token,
    board,
    async close() {
      handler.close();
      board.close();
      metrics.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections(); // browsers keep connections alive
      await closed;
      await router.close();
    },
  };
}
