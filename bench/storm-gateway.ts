/**
 * ringroute's gateway in the connection-storm benchmark (bench/storm.ts), in
 * its own process: `GatewayHandler` (from src/gateway) on `node:http` with
 * `gatewayServerOptions(limits)`, `watch(server)`, the upgrade handler, and
 * the run's static ring (bench/storm-ring.ts, default placement).
 * Authentication: `insecure: true` (the `user` parameter is trusted, as the
 * proxies trust it), or with `auth: 'jwt'` `createJwtAuthenticator` on an
 * HS256 secret, the users sending `?token=`. The dispatcher is a stub: the
 * storm sends no messages.
 *
 * With `procs` > 1 it is a `node:cluster` primary that forks that many
 * workers sharing one port, so the tunnels spread over `procs` descriptor
 * tables of `ulimit -n` each. `scheduling: 'none'` lets every worker
 * accept from the shared socket; `'rr'` is Node's default, where the
 * primary accepts every connection and hands it to the next worker over
 * IPC (it collapsed at 50,000 users here: see docs/benchmarks.md).
 *
 * Reports `{ type: 'ready', port, pids }` (every process of the gateway);
 * answers `{ type: 'stats' }` with the workers' `GatewayHandler.stats()`
 * added up and the errors it reported, by message.
 */
import cluster, { type Worker } from 'node:cluster';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
// The built package, as users run it (`npm run bench:storm` builds first): run from src under tsx, every
// per-instance arrow function paid for esbuild's keepNames wrapper, some 5% of the gateway's CPU.
import { type GatewayLimits, GatewayHandler, createJwtAuthenticator, gatewayServerOptions } from '../dist/gateway.js';
import { MemoryRingStore, type RingNode, RingRouter } from '../dist/index.js';
import { startBareProxy, startHttpBareProxy } from './storm-bare.js';

/** The run's static ring on the built package (RingRouter's default placement, as bench/storm-ring.ts's `staticRouter`). */
async function staticRouter(members: readonly RingNode[]): Promise<RingRouter> {
  const store = new MemoryRingStore();
  await store.compareAndSet(0, members);
  return RingRouter.start({ store, resyncMs: 3_600_000 });
}

/** What the storm passes to its gateway process. */
export interface GatewayProcessConfig {
  readonly members: readonly RingNode[];
  readonly procs: number;
  readonly limits: GatewayLimits;
  readonly auth: 'insecure' | 'jwt';
  /** HS256 secret when `auth` is 'jwt'. */
  readonly secret: string;
  /** node:cluster scheduling: 'rr' (the primary accepts and hands connections round robin) or 'none' (the workers accept from the shared socket). */
  readonly scheduling: 'rr' | 'none';
  /** Run a bare proxy (bench/storm-bare.ts) instead of ringroute's gateway: `net` the floor under it, `http` the same behind Node's HTTP parser. */
  readonly bare?: 'net' | 'http';
}

type Stats = Record<string, unknown>;

const config = JSON.parse(process.argv[2]!) as GatewayProcessConfig;

if (config.procs > 1 && cluster.isPrimary) {
  if (config.scheduling === 'none') cluster.schedulingPolicy = cluster.SCHED_NONE;
  const workers: Worker[] = [];
  let port = 0;
  for (let i = 0; i < config.procs; i++) {
    const worker = cluster.fork();
    worker.on('exit', (code, signal) => process.stderr.write(`[storm gateway] worker ${worker.process.pid} exited (${code ?? signal})\n`));
    // listen(0) in cluster workers: every worker gets the same port.
    port = await new Promise<number>((resolve) => worker.once('listening', (address) => resolve(address.port)));
    workers.push(worker);
  }
  const ask = (worker: Worker): Promise<Stats> =>
    new Promise((resolve) => {
      const timer = setTimeout(() => resolve({}), 5000);
      worker.once('message', (m: { type: string; stats: Stats }) => {
        clearTimeout(timer);
        resolve(m.stats);
      });
      worker.send({ type: 'stats' });
    });
  process.on('message', (message: { type: string }) => {
    if (message.type === 'stats') void Promise.all(workers.map(ask)).then((all) => process.send!({ type: 'stats', stats: sum(all) }));
    if (message.type === 'stop') process.exit(0); // the workers exit when their channel to the primary closes
  });
  process.on('disconnect', () => process.exit(0));
  process.send!({ type: 'ready', port, pids: [process.pid, ...workers.map((w) => w.process.pid!)] });
} else if (config.bare !== undefined) {
  const router = await staticRouter(config.members);
  const { port } = config.bare === 'http' ? await startHttpBareProxy(router) : await startBareProxy(router);
  process.on('message', (message: { type: string }) => {
    if (message.type === 'stats') process.send!({ type: 'stats', stats: {} });
    if (message.type === 'stop') process.exit(0);
  });
  process.on('disconnect', () => process.exit(0));
  process.send!({ type: 'ready', port, pids: [process.pid] });
} else {
  const router = await staticRouter(config.members);
  const auth = config.auth === 'jwt' ? { authenticate: await createJwtAuthenticator({ secret: config.secret }) } : { insecure: true };
  const gateway = new GatewayHandler({ router, dispatcher: { sendGroup: async () => [] }, limits: config.limits, ...auth });
  const errors: Record<string, number> = {};
  gateway.on('error', (error) => {
    const key = error.message.slice(0, 120);
    errors[key] = (errors[key] ?? 0) + 1;
  });
  const server = createServer(gatewayServerOptions(config.limits), (req, res) => {
    if (!gateway.handleRequest(req, res)) res.writeHead(404).end();
  });
  gateway.watch(server);
  server.on('upgrade', gateway.handleUpgrade);
  await new Promise<void>((resolve) => server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, resolve));
  const stats = (): Stats => ({ ...(gateway.stats() as unknown as Stats), errors });
  const reply = (m: { type: string; stats: Stats }): void => void (cluster.isWorker ? cluster.worker!.send(m) : process.send!(m));
  process.on('message', (message: { type: string }) => {
    if (message.type === 'stats') reply({ type: 'stats', stats: stats() });
    if (message.type === 'stop') process.exit(0);
  });
  process.on('disconnect', () => process.exit(0));
  if (cluster.isPrimary) {
    process.send!({ type: 'ready', port: (server.address() as AddressInfo).port, pids: [process.pid] });
  }
}

/** Adds up the workers' stats: numbers summed, objects of numbers summed key by key. */
function sum(all: readonly Stats[]): Stats {
  const out: Stats = {};
  for (const stats of all) {
    for (const [key, value] of Object.entries(stats)) {
      if (typeof value === 'number') out[key] = ((out[key] as number | undefined) ?? 0) + value;
      else if (typeof value === 'object' && value !== null) out[key] = sum([(out[key] as Stats | undefined) ?? {}, value as Stats]);
    }
  }
  return out;
}
