/**
 * The proxy-gateway scenario: a real nginx or HAProxy routes every user's
 * WebSocket to an app node by consistent hashing on `?user=`; the app nodes'
 * rings use the same placement, so when a node joins or dies, the sessions
 * the nodes close (handoff) must be exactly the users the proxy moved, which
 * the scenario observes by probing the proxy before and after each change.
 * Messages sent with a `Dispatcher` meanwhile must all be delivered. On
 * the memory adapters the scenario writes the membership into the store
 * itself; with `redisUrl` the nodes join a `RedisMembership`, a coordinator
 * writes the store, and a killed node leaves when its ttl runs out.
 *
 * INSECURE LOCAL DEMO: everything listens on 127.0.0.1 and trusts `?user=`.
 */
import { Agent, request } from 'node:http';
import { type Placement, RingRouter, type RingNode } from 'ringroute';
import { type WebSocketConstructor, SessionClient } from 'ringroute/client';
import { haproxyPlacement } from 'ringroute/haproxy';
import { nginxPlacement } from 'ringroute/nginx';
import { Dispatcher } from 'ringroute/sessions';
import { WebSocket } from 'ws';
import { type Adapters, memoryAdapters, redisAdapters } from './adapters.js';
import { AppNode } from './app-node.js';
import { type GatewayKind, type ProxyGateway, startProxy } from './proxy.js';

export interface ProxyScenarioOptions {
  readonly gateway: GatewayKind;
  /** Simulated users. @default 2000 */
  readonly users?: number;
  /** App nodes at the start. @default 3 */
  readonly nodes?: number;
  /** Messages per second sent with the Dispatcher during the run. @default 200 */
  readonly rate?: number;
  /** Run on this Redis (`redis://` or `rediss://`) instead of the memory adapters. @default memory */
  readonly redisUrl?: string;
  /** Redis mode: membership ttl, how long a killed node stays in the ring. @default 2000 */
  readonly ttlMs?: number;
  readonly progress?: (line: string) => void;
}

/** One node's part in one change. */
export interface NodeChange {
  readonly node: string;
  /** Sessions this node closed as moved (4001): its handoff. */
  readonly closed: number;
  /** Sessions dropped because this node died. */
  readonly dropped: number;
  /** Users the proxy was observed to send elsewhere that it used to send here. */
  readonly movedAway: number;
  /** Users the proxy was observed to send here that it used to send elsewhere. */
  readonly movedIn: number;
}

export interface ChangeReport {
  readonly change: string;
  readonly nodes: NodeChange[];
  /** Users whose backend changed in the probes before and after the change. */
  readonly moved: number;
  /** Users closed (handoff) or dropped (the dead node). */
  readonly closed: number;
  /** The two sets are equal, user by user, and each was closed by the node the proxy moved it from. */
  readonly equal: boolean;
  /** Probed users whose backend after the change differs from the app nodes' ring. */
  readonly mispredicted: number;
  /** The proxy's sync: ms, and whether it reloaded. */
  readonly syncMs: number;
  /** Why the proxy reloaded (nginx always does; HAProxy when the runtime API could not do it), or false. */
  readonly reloaded: string | false;
}

export interface ProxyScenarioReport {
  readonly gateway: GatewayKind;
  /** `memory`, or `Redis <url without password>`. */
  readonly adapters: string;
  readonly users: number;
  readonly changes: ChangeReport[];
  readonly messages: { sent: number; delivered: number; failed: number; unknown: number; lost: number };
  readonly errors: string[];
  readonly ms: number;
}

/** Sends `GET /?user=<key>` for every key through the proxy (fresh keep-alive connections); returns who answered. */
export async function probe(port: number, keys: readonly string[], concurrency = 32): Promise<string[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const out = new Array<string>(keys.length);
  let next = 0;
  const one = (key: string, fresh: boolean): Promise<string> =>
    new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: `/?user=${key}`, agent: fresh ? false : agent, timeout: 10_000 }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`probe: HTTP ${res.statusCode} for user ${key}`))));
      });
      req.on('timeout', () => req.destroy(new Error(`probe: no answer for user ${key} in 10 s`)));
      req.on('error', (error) => reject(new Error(`probe: user ${key}: ${error.message}`)));
      req.end();
    });
  try {
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < keys.length) {
          const i = next++;
          // A keep-alive connection the proxy closed as it was reused (a reload ends old workers'
          // idle connections) fails with "socket hang up": the GET is idempotent, ask again on a new
          // connection (another pooled one may belong to the same old worker).
          for (let attempt = 1; ; attempt++) {
            try {
              out[i] = await one(keys[i]!, attempt > 1);
              break;
            } catch (error) {
              if (attempt >= 3 || /HTTP \d/.test((error as Error).message)) throw error;
            }
          }
        }
      }),
    );
  } finally {
    agent.destroy();
  }
  return out;
}

async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Runs the scenario; everything it started is stopped before it returns or throws. */
export async function runProxyScenario(options: ProxyScenarioOptions, cleanup: { proxy?: ProxyGateway }): Promise<ProxyScenarioReport> {
  const started = Date.now();
  const userCount = options.users ?? 2000;
  const say = options.progress ?? (() => undefined);
  const placement: Placement = options.gateway === 'nginx' ? nginxPlacement() : haproxyPlacement();
  const errors: string[] = [];
  const onError = (error: Error): void => void (errors.length < 20 && errors.push(error.message));
  const nodes = new Map<string, AppNode>();
  const clients: SessionClient[] = [];
  let gw: RingRouter | undefined;
  let dispatcher: Dispatcher | undefined;
  let traffic: NodeJS.Timeout | undefined;
  const users = Array.from({ length: userCount }, (_, i) => `u${i + 1}`);
  let adapters: Adapters | undefined;
  const members = (): RingNode[] => [...nodes.values()].filter((n) => !n.dead).map((n) => ({ id: n.id, meta: { server: n.server } }));
  /** Puts the live nodes in the store: the scenario does it on memory; with Redis the coordinator does, from membership. */
  const write = async (): Promise<void> => {
    const store = adapters!.store;
    if (adapters!.coordinated) {
      const want = members().map((n) => n.id).sort().join(',');
      const ids = async (): Promise<string> => ((await store.read())?.nodes ?? []).map((n) => n.id).sort().join(',');
      await until(async () => (await ids()) === want, adapters!.ttlMs + 10_000, `the membership in Redis to become ${want}`);
      return;
    }
    const state = await store.read();
    const ok = await store.compareAndSet(state?.version ?? 0, members(), state?.epoch);
    if (ok === null) throw new Error('the membership changed under the scenario');
  };
  let nextId = 1;
  const addNode = async (): Promise<AppNode> => {
    const id = `app-${nextId++}`;
    const node = await AppNode.start(id, adapters!.forNode(id), placement, onError);
    nodes.set(node.id, node);
    return node;
  };
  /** Distinct users with a session on a live node. */
  const connected = (): number => new Set([...nodes.values()].flatMap((n) => (n.dead ? [] : n.keys()))).size;

  try {
    adapters = options.redisUrl === undefined ? memoryAdapters() : await redisAdapters({ url: options.redisUrl, ...(options.ttlMs !== undefined ? { ttlMs: options.ttlMs } : {}), onError });
    if (adapters.kind === 'redis') say(`on ${adapters.label}, membership ttl ${adapters.ttlMs} ms`);
    for (let i = 0; i < (options.nodes ?? 3); i++) await addNode();
    await write();
    gw = await RingRouter.start({ store: adapters.store, placement });
    gw.on('error', onError);
    const router = gw;
    say(`starting ${options.gateway} in front of ${nodes.size} nodes`);
    const proxy = await startProxy(options.gateway, router, onError);
    cleanup.proxy = proxy;
    const sample = users.slice(0, 200);
    const inStep = async (): Promise<boolean> => {
      const seen = await probe(proxy.port, sample).catch(() => null);
      const want = router.ring.lookupMany(sample).map((n) => n.id);
      return seen !== null && seen.every((id, i) => id === want[i]);
    };
    await until(inStep, 15_000, `${options.gateway} to route as the ring`);

    say(`connecting ${userCount} users through ${options.gateway} on 127.0.0.1:${proxy.port}`);
    const received = new Map<string, Set<string>>();
    for (const user of users) {
      const client = new SessionClient({
        url: `ws://127.0.0.1:${proxy.port}/ws?user=${user}`,
        // Always back through the proxy: it is the one gateway.
        ownerUrl: (_target, base) => base,
        WebSocket: WebSocket as unknown as WebSocketConstructor,
        backoffMs: 100,
        maxBackoffMs: 1000,
      });
      client.on('error', () => undefined);
      client.on('message', (_data, id) => {
        let set = received.get(user);
        if (set === undefined) received.set(user, (set = new Set()));
        set.add(id);
      });
      clients.push(client);
      client.start();
      if (clients.length % 200 === 0) await new Promise((r) => setTimeout(r, 20));
    }
    await until(() => connected() === userCount, 60_000, `all ${userCount} users to connect`);

    dispatcher = await Dispatcher.start({ id: 'sender', router, transport: adapters.transport });
    dispatcher.on('error', onError);
    const sender = dispatcher;
    const sent: Array<{ user: string; id: string; outcome: Promise<string> }> = [];
    const rate = options.rate ?? 200;
    let msg = 0;
    if (rate > 0) {
      traffic = setInterval(() => {
        for (let k = 0; k < Math.max(1, Math.round(rate / 20)); k++) {
          const user = users[Math.floor(Math.random() * users.length)]!;
          const id = `m${++msg}`;
          const outcome = sender.send(user, JSON.stringify({ n: msg }), { id }).then(
            (o) => o.status,
            () => 'failed',
          );
          sent.push({ user, id, outcome });
        }
      }, 50);
    }
    await new Promise((r) => setTimeout(r, 500));

    const changes: ChangeReport[] = [];
    const change = async (label: string, act: () => Promise<{ id: string; keys: string[] } | null>): Promise<void> => {
      say(`${label}: probing ${userCount} users`);
      const before = await probe(proxy.port, users).catch((e: Error) => Promise.reject(new Error(`before ${label}: ${e.message}`)));
      for (const n of nodes.values()) n.takeClosed();
      const synced = proxy.synced();
      const dropped = await act();
      const sync = await synced;
      await until(inStep, 15_000, `${options.gateway} to route as the new ring`);
      const live = [...nodes.values()].filter((n) => !n.dead);
      await until(() => live.every((n) => n.router.version === router.version && n.session.stats().pendingCloses === 0), 15_000, 'the handoff to finish');
      const after = await probe(proxy.port, users).catch((e: Error) => Promise.reject(new Error(`after ${label}: ${e.message}`)));
      const closedBy = new Map<string, string>();
      const perNode = new Map<string, { closed: number; dropped: number; movedAway: number; movedIn: number }>();
      const row = (id: string) => perNode.get(id) ?? perNode.set(id, { closed: 0, dropped: 0, movedAway: 0, movedIn: 0 }).get(id)!;
      for (const n of nodes.values()) {
        const closed = n.takeClosed();
        if (!n.dead || n.id === dropped?.id) row(n.id).closed += closed.length;
        for (const key of closed) closedBy.set(key, n.id);
      }
      for (const key of dropped?.keys ?? []) {
        closedBy.set(key, dropped!.id);
        row(dropped!.id).dropped++;
      }
      let moved = 0;
      let equal = true;
      for (let i = 0; i < users.length; i++) {
        if (before[i] === after[i]) {
          if (closedBy.has(users[i]!)) equal = false;
          continue;
        }
        moved++;
        row(before[i]!).movedAway++;
        row(after[i]!).movedIn++;
        if (closedBy.get(users[i]!) !== before[i]) equal = false;
      }
      if (closedBy.size !== moved) equal = false;
      const want = router.ring.lookupMany(users).map((n) => n.id);
      const mispredicted = after.filter((id, i) => id !== want[i]).length;
      const rows = [...perNode.entries()].sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true })).map(([node, r]) => ({ node, ...r }));
      changes.push({ change: label, nodes: rows, moved, closed: closedBy.size, equal, mispredicted, syncMs: Math.round(sync.ms), reloaded: sync.reloaded });
      say(`${label}: closed ${closedBy.size}, proxy moved ${moved} (sync ${Math.round(sync.ms)} ms, reloaded: ${sync.reloaded}); waiting for every user to reconnect`);
      await until(() => connected() === userCount, 30_000, `all ${userCount} users to reconnect`).catch((error: Error) => {
        const here = new Set([...nodes.values()].flatMap((n) => (n.dead ? [] : n.keys())));
        const missing = users.flatMap((u, i) => (here.has(u) ? [] : [`${u} (client on ${clients[i]!.node ?? 'none'}, ${clients[i]!.connects} connects)`]));
        throw new Error(`${error.message}: ${missing.length} missing, e.g. ${missing.slice(0, 3).join(', ')}`);
      });
    };

    await change('app-4 joins', async () => {
      await addNode();
      await write();
      return null;
    });
    const victim = nodes.get('app-2')!;
    await change('app-2 dies', async () => {
      const keys = victim.keys();
      const killed = Date.now();
      await victim.kill();
      // Memory: what a coordinator does when the node's membership expires. Redis: wait for that expiry.
      await write();
      if (adapters!.coordinated) say(`app-2 left the ring ${Date.now() - killed} ms after it died (ttl ${adapters!.ttlMs} ms)`);
      return { id: victim.id, keys };
    });

    if (traffic !== undefined) clearInterval(traffic);
    traffic = undefined;
    say(`waiting for the outcomes of ${sent.length} messages`);
    const outcomes = await Promise.all(sent.map((m) => m.outcome));
    let delivered = 0;
    let failed = 0;
    let unknown = 0;
    let lost = 0;
    sent.forEach((m, i) => {
      const status = outcomes[i];
      if (status === 'delivered') delivered++;
      else if (status === 'failed') failed++;
      else unknown++;
      if (!received.get(m.user)?.has(m.id)) lost++;
    });
    return { gateway: options.gateway, adapters: adapters.label, users: userCount, changes, messages: { sent: sent.length, delivered, failed, unknown, lost }, errors, ms: Date.now() - started };
  } finally {
    if (traffic !== undefined) clearInterval(traffic);
    for (const client of clients) client.close();
    await dispatcher?.close().catch(() => undefined);
    await cleanup.proxy?.stop();
    for (const node of nodes.values()) await node.close();
    await gw?.close().catch(() => undefined);
    await adapters?.close();
  }
}
