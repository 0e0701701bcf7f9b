/**
 * `npm start -- serve`: the cluster as a long-running service. Starts one
 * gateway (public and admin ports) and N app nodes, in memory or one
 * process each on Redis or NATS, prints where they are and the credentials, and
 * runs until SIGINT or SIGTERM; then shuts down cleanly: the gateway stops
 * taking requests and answers every pending send with its outcome, the
 * nodes leave membership and close their sessions with 4005 (going away).
 */
import { type ClusterHandle, type ClusterSettings, startMemoryCluster } from './cluster.js';
import { TokenSigner, randomSecret } from './auth.js';
import type { GatewayStats } from './gateway.js';
import { requestJson } from './http.js';
import { DEFAULT_GRACE_MS } from './protocol.js';
import { engineFor } from './engine.js';
import { startProcessCluster } from './process-cluster.js';

export interface ServeOptions {
  /** One URL, or a Redis Cluster's URLs separated by commas. */
  readonly redisUrl?: string;
  /** NATS with JetStream: one `nats://` URL, or several separated by commas. */
  readonly natsUrl?: string;
  /** @default 3 */
  readonly nodes?: number;
  /** Public port of the gateway. @default 8080 */
  readonly port?: number;
  /** Admin port of the gateway. @default 8081 */
  readonly adminPort?: number;
  /** HS256 secret of the user tokens; when absent a random one is made and printed. */
  readonly secret?: string;
  /** Admin token; when absent a random one is made and printed. */
  readonly adminToken?: string;
  readonly out: (line: string) => void;
  readonly log?: (line: string) => void;
}

/** Starts the cluster and resolves once it has shut down after a signal. */
export async function serve(options: ServeOptions): Promise<void> {
  const secret = options.secret ?? randomSecret();
  const adminToken = options.adminToken ?? randomSecret();
  const nodes = Array.from({ length: options.nodes ?? 3 }, (_, i) => `node-${i + 1}`);
  const settings: ClusterSettings = {
    gateways: 1, nodes, strategy: 'selective', mode: 'hash', graceMs: DEFAULT_GRACE_MS, ttlMs: 5000, heartbeatMs: 1000,
    secret, adminToken, ports: { gateway: options.port ?? 8080, admin: options.adminPort ?? 8081 }, ...(options.log ? { log: options.log } : {}),
  };
  const engine = engineFor({ redis: options.redisUrl, nats: options.natsUrl });
  const cluster: ClusterHandle = engine ? await startProcessCluster({ ...settings, engine }) : await startMemoryCluster(settings);
  const gateway = cluster.gateways[0]!;
  await waitForRing(cluster.admins[0]!, adminToken, nodes.length);
  const demo = await new TokenSigner(secret).sign('alice', 24 * 3600);
  const o = options.out;
  o(`ringroute cluster: ${nodes.length} app nodes, ${engine ? `${engine.label}, one process each` : 'in memory, one process'}`);
  o(`  gateway   ${gateway}   (GET /healthz open; GET /route, POST /send, POST /groups/:id/send, WebSocket /ws need a token)`);
  o(`  admin     ${cluster.admins[0]}   (GET /stats, POST /admin/mode with "Authorization: Bearer <admin token>")`);
  for (const [id, url] of cluster.nodes) o(`  ${id.padEnd(9)} ${url}   admin ${cluster.nodeAdmins.get(id) ?? '?'}`);
  if (options.secret === undefined) o(`  token secret (random, set --secret or RINGROUTE_SECRET to keep one): ${secret}`);
  if (options.adminToken === undefined) o(`  admin token (random, set RINGROUTE_ADMIN_TOKEN to keep one): ${adminToken}`);
  o(`  a token for user "alice", valid 24 h: ${demo}`);
  o(`  connect: ${gateway.replace(/^http/, 'ws')}/ws?user=alice&token=<that token>`);
  o('Ctrl-C (SIGINT) or SIGTERM stops it cleanly.');
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  o('shutting down: gateway first (pending sends get their outcome), then the nodes leave and close their sessions (4005)');
  await cluster.shutdown();
  o('stopped');
}

/** Waits until the gateway routes over all `count` nodes, so "ready" means a user can connect. */
async function waitForRing(admin: string, token: string, count: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const stats = await requestJson<GatewayStats>('GET', `${admin}/stats`, undefined, { token, timeoutMs: 5000 });
    if (stats.nodes.length >= count) return;
    if (Date.now() > deadline) throw new Error(`the gateway's ring has ${stats.nodes.length} of ${count} nodes after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
