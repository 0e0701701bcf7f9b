/**
 * The cluster as OS processes sharing one Redis: each gateway and each app
 * node is a child process (process.ts run with tsx) with its own Redis
 * connections. Every run uses a fresh key prefix and deletes its keys at
 * the end.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { type RingNode, RingRouter } from 'ringroute';
import { RedisMembership, RedisRingStore } from 'ringroute/redis';
import { type ClusterHandle, type ClusterSettings, firstPorts } from './cluster.js';
import type { ProcessConfig, ProcessReport } from './process.js';
import type { Strategy } from './protocol.js';
import { redisOptions } from './redis-url.js';

const ENTRY = fileURLToPath(new URL('./process.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const START_TIMEOUT_MS = 20_000;

export interface RedisClusterSettings extends ClusterSettings {
  readonly redisUrl: string;
  /** @default a fresh `ringroute-example-<random>` */
  readonly prefix?: string;
}

export async function startRedisCluster(settings: RedisClusterSettings): Promise<ClusterHandle & { readonly prefix: string }> {
  const prefix = settings.prefix ?? `ringroute-example-${randomBytes(4).toString('hex')}`;
  const children = new Set<ChildProcess>();
  const spawnPart = (role: ProcessConfig['role'], id: string, strategy: Strategy) => {
    const ports = role === 'gateway' && id === 'gw-1' ? firstPorts(settings) : {};
    const config: ProcessConfig = {
      ...ports,
      role, id, prefix, strategy, mode: settings.mode,
      graceMs: settings.graceMs, ttlMs: settings.ttlMs, heartbeatMs: settings.heartbeatMs,
      ...(settings.insecure === true ? { insecure: true } : {}), ...(settings.limits ? { limits: settings.limits } : {}),
      ...(settings.closesPerSecond !== undefined ? { closesPerSecond: settings.closesPerSecond } : {}),
    };
    // Secrets go in the environment, never on the command line (readable by every local user in ps).
    const env = { ...process.env, RINGROUTE_SECRET: settings.secret, RINGROUTE_ADMIN_TOKEN: settings.adminToken, RINGROUTE_REDIS_URL: settings.redisUrl };
    const child = fork(ENTRY, [JSON.stringify(config)], { cwd: ROOT, env, execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'pipe', 'ipc'] });
    children.add(child);
    child.once('exit', () => children.delete(child));
    child.stderr?.on('data', (chunk: Buffer) => settings.log?.(chunk.toString().trimEnd()));
    return new Promise<{ child: ChildProcess; url: string; adminUrl: string }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${id} did not start within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
      child.once('message', (message: ProcessReport) => {
        clearTimeout(timer);
        if (message.type === 'ready') resolve({ child, url: message.url, adminUrl: message.adminUrl ?? '' });
        else reject(new Error(`${id} failed to start: ${message.error}`));
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`${id} exited during start (${signal ?? code})`));
      });
    });
  };
  const exited = (child: ChildProcess) =>
    child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stopChild = async (child: ChildProcess, type: 'stop' | 'shutdown' = 'stop'): Promise<void> => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    if (child.connected) child.send({ type });
    else child.kill('SIGTERM');
    await exited(child);
    clearTimeout(timer);
  };

  /** Asks a gateway process to drain (pending sends answered, WebSockets kept for the nodes' 4005); at most 10 s. */
  const drainChild = (child: ChildProcess): Promise<void> =>
    new Promise((resolve) => {
      if (!child.connected) return resolve();
      const timer = setTimeout(resolve, 10_000);
      child.on('message', (message: { type?: string }) => {
        if (message.type === 'drained') {
          clearTimeout(timer);
          resolve();
        }
      });
      child.send({ type: 'drain' });
    });
  const gateways: Array<{ child: ChildProcess; url: string; adminUrl: string }> = [];
  const watchers: Array<{ close(): Promise<void> }> = [];
  const redis = new Redis(settings.redisUrl, redisOptions(settings.redisUrl));
  redis.on('error', (error: Error) => settings.log?.(`[scenario] redis: ${error.message}`));
  const nodes = new Map<string, ChildProcess>();
  const urls = new Map<string, string>();
  const adminUrls = new Map<string, string>();
  const take = (id: string): ChildProcess => {
    const child = nodes.get(id);
    if (child === undefined) throw new Error(`no live node ${id}`);
    nodes.delete(id);
    urls.delete(id);
    adminUrls.delete(id);
    return child;
  };
  const handle = {
    kind: 'redis' as const,
    prefix,
    gateways: [] as string[],
    admins: [] as string[],
    nodes: urls,
    nodeAdmins: adminUrls,
    async joinMember(node: RingNode) {
      const membership = new RedisMembership({ redis, prefix, ttlMs: settings.ttlMs, heartbeatMs: settings.heartbeatMs });
      watchers.push(membership);
      const member = await membership.join(node);
      return async () => {
        await member.leave();
        await membership.close();
      };
    },
    async router() {
      return RingRouter.start({ store: new RedisRingStore({ redis, prefix }), resyncMs: 200 });
    },
    async startNode(id: string, strategy: Strategy) {
      const { child, url, adminUrl } = await spawnPart('node', id, strategy);
      nodes.set(id, child);
      urls.set(id, url);
      adminUrls.set(id, adminUrl);
    },
    async stopNode(id: string) {
      await stopChild(take(id));
    },
    async killNode(id: string) {
      const child = take(id);
      child.kill('SIGKILL');
      await exited(child);
    },
    async shutdown() {
      await Promise.all(gateways.map((g) => drainChild(g.child)));
      await Promise.all([...nodes.keys()].map((id) => stopChild(take(id), 'shutdown')));
      await handle.close();
    },
    async close() {
      await Promise.all([...nodes.keys()].map((id) => handle.stopNode(id)));
      await Promise.all(gateways.map((g) => stopChild(g.child)));
      for (const child of children) child.kill('SIGKILL');
      for (const w of watchers) await w.close().catch(() => undefined);
      redis.disconnect();
      await deletePrefix(settings.redisUrl, prefix);
    },
  };
  try {
    // Started together (tsx takes a second or two each); the array keeps gw-1, gw-2, ... in order.
    // Each gateway listens on a port of its own and the user processes spread the users over them
    // (client.ts gatewayOf): a shared port (SO_REUSEPORT, or a balancer in front) would spread
    // them too, but Node has no portable reusePort before 22, and a balancer would itself hold two
    // descriptors per proxied user, the very budget the gateways are multiplied for (capacity.ts).
    gateways.push(...(await Promise.all(Array.from({ length: settings.gateways }, (_, i) => spawnPart('gateway', `gw-${i + 1}`, settings.strategy)))));
    handle.gateways.push(...gateways.map((g) => g.url));
    handle.admins.push(...gateways.map((g) => g.adminUrl));
    await Promise.all(settings.nodes.map((id) => handle.startNode(id, settings.strategy)));
  } catch (error) {
    for (const child of children) child.kill('SIGKILL');
    redis.disconnect();
    await deletePrefix(settings.redisUrl, prefix).catch(() => undefined);
    throw error;
  }
  return handle;
}

/** Deletes every key of the run (all of them carry the hash tag `{prefix}`). */
export async function deletePrefix(redisUrl: string, prefix: string): Promise<number> {
  const redis = new Redis(redisUrl, redisOptions(redisUrl));
  try {
    return await deleteKeys(redis, prefix);
  } finally {
    redis.disconnect();
  }
}

/** {@link deletePrefix} on a client the caller holds (e.g. one through the Sentinels). */
export async function deleteKeys(redis: Redis, prefix: string): Promise<number> {
  let deleted = 0;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `{${prefix}}*`, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) deleted += await redis.del(...keys);
  } while (cursor !== '0');
  return deleted;
}
