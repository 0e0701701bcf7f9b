/**
 * The run: start a cluster, connect the users, then send one-to-one and
 * group traffic in `broadcast` and then `hash` mode while a 4th node joins
 * under each strategy and one node is killed; check that both gateways agree
 * after every change, and build the report.
 *
 *   broadcast  steady window (visits per message) | node-4 joins (reconnect-all) | node-4 leaves
 *   hash       steady window (visits per message) | node-4 joins (selective) | node-2 killed
 */
import { Agent } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { NodeStats } from './app-node.js';
import { planProcesses } from './capacity.js';
import type { Via } from './client.js';
import { type ClusterHandle, type ClusterSettings, startMemoryCluster } from './cluster.js';
import type { GatewayStats } from './gateway.js';
import { requestJson } from './http.js';
import { PaceController } from './pace.js';
import { DEFAULT_GRACE_MS, type Mode, type Strategy } from './protocol.js';
import { engineFor } from './engine.js';
import { redactNatsUrl } from './nats-engine.js';
import { startProcessCluster } from './process-cluster.js';
import { type GatewayAgreement, type Report, type StrategyFigures, type WindowFigures, countOutcomes, failureReasons, summarize } from './report.js';
import { RemotePool } from './remote-pool.js';
import { type PartSample, connectFigures, refusalFigures, scaleFigures } from './scale.js';
import { startProcessSampler } from './process-stats.js';
import { Traffic } from './traffic.js';
import { TokenSigner, randomSecret } from './auth.js';
import { type AttackReport, runAttacks } from './attacks.js';

export interface ScenarioOptions {
  /** @default 2000 */
  readonly users?: number;
  /** App nodes at the start (one more joins). @default 3 */
  readonly nodes?: number;
  /** At least this many gateways; as processes (Redis, NATS) as many more as the proxied users' descriptors need (capacity.ts). @default 2 */
  readonly gateways?: number;
  /**
   * Users started per second, over all user processes: the pace of the
   * first connects, and (divided among the nodes) of the closes a ring
   * change causes. @default 1000
   */
  readonly connectRate?: number;
  /**
   * Run on Redis (one process per gateway and node) instead of in memory:
   * one URL, or a Redis Cluster's URLs separated by commas.
   */
  readonly redisUrl?: string;
  /** Run on NATS with JetStream (one process per gateway and node): one `nats://` URL, or several separated by commas. */
  readonly natsUrl?: string;
  /** @default 250 */
  readonly oneToOneRate?: number;
  /** @default 25 */
  readonly groupRate?: number;
  /** @default users / 20 */
  readonly groups?: number;
  /** @default 8 */
  readonly groupSize?: number;
  /** Length of each mode's steady window. @default 2000 */
  readonly steadyMs?: number;
  /** @default 10000 */
  readonly graceMs?: number;
  /** Membership ttl: how soon a dead node expires. @default {@link defaultTtlMs}: 2000, longer past 20,000 users */
  readonly ttlMs?: number;
  /** @default min(500, ttlMs / 4) */
  readonly heartbeatMs?: number;
  /** How users connect. @default 'mixed' (half through the gateway proxy, half with GET /route) */
  readonly via?: Via | 'mixed';
  /** HS256 secret of the user tokens. @default a random one */
  readonly secret?: string;
  /** Run the attack phase (in hash mode, with traffic running). @default true */
  readonly attacks?: boolean;
  /**
   * Stages an outage of the shared backend in hash mode, with traffic
   * running: `begin()`, `ms` later `end()` (the Redis tests stop and resume
   * their redis-server). The report then shows what the senders were told
   * about the messages sent meanwhile, and whether any session moved.
   */
  readonly outage?: OutagePlan;
  /** Progress lines (the CLI shows them on a terminal only). */
  readonly progress?: (line: string) => void;
  /** Diagnostics from the parts. */
  readonly log?: (line: string) => void;
}

/** See {@link ScenarioOptions.outage}. */
export interface OutagePlan {
  /** What `begin` does, for the report, e.g. `Redis SIGSTOP`. */
  readonly label: string;
  readonly ms: number;
  begin(): void | Promise<void>;
  end(): void | Promise<void>;
}

/**
 * Time allowed for every user to connect, or reconnect after a change: 30 s,
 * plus a second per 250 users (100,000 connect at about 300 a second on 2
 * cores), plus the time the paced start itself takes
 * (`users / connectRate`), which a slow `--connect-rate` makes long.
 */
export function settleTimeoutMs(users: number, connectRate: number): number {
  return Math.round(30_000 + users * 4 + (users / connectRate) * 1000);
}

export async function runScenario(options: ScenarioOptions = {}): Promise<Report> {
  const ttlMs = options.ttlMs ?? defaultTtlMs(options.users ?? 2000);
  const o = {
    users: 2000, nodes: 3, gateways: 2, connectRate: 1000, oneToOneRate: 250, groupRate: 25, groupSize: 8, steadyMs: 2000,
    graceMs: DEFAULT_GRACE_MS, ttlMs, heartbeatMs: Math.max(10, Math.min(500, Math.floor(ttlMs / 4))), via: 'mixed' as const, ...options,
  };
  // Refused before anything starts: a run the machine's descriptor limit cannot hold.
  const engine = engineFor({ redis: o.redisUrl, nats: o.natsUrl });
  const plan = planProcesses({ users: o.users, nodes: o.nodes, via: o.via, processes: engine !== null, gateways: o.gateways });
  if (typeof plan === 'string') throw new Error(plan);
  const SETTLE_TIMEOUT_MS = settleTimeoutMs(o.users, o.connectRate);
  startProcessSampler(); // this process's peak descriptors (in memory mode the whole cluster's) from the start
  const groups = o.groups ?? Math.max(1, Math.floor(o.users / 20));
  const progress = o.progress ?? (() => undefined);
  const started = performance.now();
  const initial = Array.from({ length: o.nodes }, (_, i) => `node-${i + 1}`);
  const extra = `node-${o.nodes + 1}`;
  const victim = initial[1] ?? initial[0]!;
  const secret = o.secret ?? randomSecret();
  const settings: ClusterSettings = {
    gateways: plan.gateways, nodes: initial, strategy: 'reconnect-all', mode: 'broadcast',
    // A ring change makes every node close its moved sessions at this pace: together no faster than users first connect.
    closesPerSecond: closesPerSecond(o.connectRate, o.nodes),
    graceMs: o.graceMs, ttlMs: o.ttlMs, heartbeatMs: o.heartbeatMs, secret, adminToken: randomSecret(), ...(o.log ? { log: o.log } : {}),
    // Tighter than the library's defaults (10 s, 5 s) so the slowloris and frozen-node attacks end quickly.
    limits: { headersTimeoutMs: 3000, connectTimeoutMs: 2000 },
  };
  const signer = new TokenSigner(secret);
  const tokens = new Map<string, Promise<string>>();
  const token = (user: string): Promise<string> => {
    let t = tokens.get(user);
    if (t === undefined) tokens.set(user, (t = signer.sign(user)));
    return t;
  };
  progress(`starting ${o.nodes} nodes and ${plan.gateways} gateways (${engine ? `${engine.label}, one process each` : 'in memory'}), ${plan.userProcesses} user processes`);
  const cluster = engine ? await startProcessCluster({ ...settings, engine }) : await startMemoryCluster(settings);
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const admin = new Admin(cluster, agent, settings.adminToken, SETTLE_TIMEOUT_MS);
  // During a staged outage sends pile up unanswered: room for all of them, so none is skipped.
  const outageRoom = o.outage === undefined ? 0 : Math.ceil(((o.oneToOneRate + o.groupRate) * (o.outage.ms + o.graceMs)) / 1000);
  const traffic = new Traffic({
    users: o.users, gateways: cluster.gateways, oneToOneRate: o.oneToOneRate, groupRate: o.groupRate, groups, groupSize: o.groupSize, agent, token,
    maxOutstanding: 2000 + outageRoom,
  });
  // Refused clients wait out Retry-After up to maxBackoffMs: longer for a bigger crowd, so retries do not come back as a storm.
  const maxBackoffMs = Math.round(Math.min(30_000, Math.max(2000, ((o.users / o.connectRate) * 1000) / 4)));
  const pool = new RemotePool(o.users, {
    gateways: cluster.gateways, via: o.via, onMessage: traffic.onMessage, usersPerProcess: plan.usersPerProcess, ratePerSecond: o.connectRate,
    backoffMs: 200, maxBackoffMs, secret, ...(o.log ? { log: o.log } : {}),
  });
  let attacks: AttackReport | undefined;
  let outage: { sessionsMoved: number; fences: number; fencedCloses: number; recoveredMs: number } | undefined;
  const agreements: GatewayAgreement[] = [];
  try {
    agreements.push(await admin.waitRing(initial, 'start'));
    const idle = await admin.sample();
    progress(`connecting ${o.users} users from ${pool.processes} processes, ${o.connectRate} a second`);
    await pool.start();
    const ticker = setInterval(() => progress(`  ${pool.settled()} of ${o.users} connected`), 5000);
    try {
      await pool.waitSettled(SETTLE_TIMEOUT_MS);
    } finally {
      clearInterval(ticker);
    }
    await pool.flush();
    const connected = await admin.sample();
    const connect = connectFigures(pool, o.connectRate, SETTLE_TIMEOUT_MS);
    progress(`${o.users} users connected in ${(connect.ms / 1000).toFixed(1)} s (${connect.perSecond}/s, peak ${connect.peakPerSecond}/s), ${connect.attemptsPerUser} attempts per user`);
    // Moved users come back through the same gateways and nodes that just connected everyone: a handoff
    // faster than that rate only queues them as refusals and retries. The nodes close at 80% of it.
    const pace = handoffPace(settings.closesPerSecond ?? 1000, connect.perSecond, o.nodes);
    if (pace < (settings.closesPerSecond ?? 1000)) {
      progress(`the nodes close moved sessions at ${pace}/s each (80% of the ${connect.perSecond}/s the cluster connected)`);
      await admin.setPace(pace);
    }

    const steady = async (mode: Mode): Promise<WindowFigures> => {
      progress(`${mode}: steady traffic for ${o.steadyMs} ms`);
      const [nodesBefore, gwBefore, sentBefore] = [await admin.nodeStats(), await admin.gatewayStats(), traffic.sent];
      traffic.start(mode, true);
      await sleep(o.steadyMs);
      traffic.stop();
      await traffic.drain();
      const [nodesAfter, gwAfter, sentAfter] = [await admin.nodeStats(), await admin.gatewayStats(), traffic.sent];
      const visits = (kind: 'oneToOne' | 'group') => sum(nodesAfter, (s) => s.visits[kind]) - sum(nodesBefore, (s) => s.visits[kind]);
      return {
        visits: { oneToOne: visits('oneToOne'), group: visits('group') },
        messages: { oneToOne: sentAfter.oneToOne - sentBefore.oneToOne, group: sentAfter.group - sentBefore.group },
        groupOwners: sum(gwAfter, (g) => g.groupOwners[mode]) - sum(gwBefore, (g) => g.groupOwners[mode]),
      };
    };

    const join = async (strategy: Strategy): Promise<StrategyFigures> => {
      progress(`${extra} joins, strategy ${strategy}`);
      const before = await admin.nodeStats();
      await cluster.startNode(extra, strategy);
      await admin.setPace(pace); // the new node's own closes (when it leaves) at the same pace
      const joined = performance.now();
      agreements.push(await admin.waitRing([...initial, extra], `${extra} joined (${strategy})`));
      // The nodes close the moved sessions paced, after the ring change; on a timeout, say what the users saw.
      // reconnect-all closes every session; selective about 1 / (nodes + 1) of them: the pace sets the time it takes.
      // The closes slow down while users are slow to come back (down to a tenth of the pace: the time allowed assumes that).
      const closing = strategy === 'reconnect-all' ? o.users : Math.ceil((o.users * 2) / (initial.length + 1));
      const controller = new PaceController(pace, Math.max(200, 2 * connect.perSecond), { waiting: () => o.users - pool.settled(), setPace: (p) => admin.setPace(p) });
      controller.start();
      const closed = await admin.waitHandedOver(o.users, SETTLE_TIMEOUT_MS + Math.ceil((closing / (Math.max(1, pace / 10) * initial.length)) * 1000)).catch(async (error: Error) => {
        throw new Error(`${error.message}; users: ${await pool.describe()}`);
      }).finally(() => controller.stop());
      const handoverMs = Math.round(performance.now() - joined);
      const closesMs = Math.round(closed - joined);
      await pool.waitSettled(SETTLE_TIMEOUT_MS);
      const after = await admin.nodeStats();
      const sessionsTotal = sum(before, (s) => s.sessions);
      const sessionsMoved = sum(after.filter((s) => s.id !== extra), (s) => s.sessionsMoved) - sum(before, (s) => s.sessionsMoved);
      return {
        fromNodes: initial.length, toNodes: initial.length + 1, sessionsMoved, sessionsTotal,
        share: sessionsTotal > 0 ? Math.round((sessionsMoved / sessionsTotal) * 1000) / 1000 : 0,
        expectedShare: Math.round((1 / (initial.length + 1)) * 1000) / 1000,
        sessionsOnNewNode: after.find((s) => s.id === extra)?.sessions ?? 0,
        handoverMs, closesMs, closesPerSecond: pace, slowestClosesPerSecond: controller.slowest,
      };
    };

    // broadcast: every message to every node
    await admin.setMode('broadcast');
    await admin.setStrategy('reconnect-all');
    const broadcastWindow = await steady('broadcast');
    traffic.start('broadcast');
    const reconnectAll = await join('reconnect-all');
    await admin.setStrategy('selective');
    progress(`${extra} leaves gracefully`);
    await cluster.stopNode(extra);
    agreements.push(await admin.waitRing(initial, `${extra} left`));
    await pool.waitSettled(SETTLE_TIMEOUT_MS);
    traffic.stop();
    await traffic.drain();

    // hash: every message to its owner(s) only
    await admin.setMode('hash');
    const hashWindow = await steady('hash');
    traffic.start('hash');
    if (o.attacks !== false) {
      progress('attack phase: every attack against the live cluster, legitimate traffic running');
      attacks = await runAttacks({ cluster, signer, adminToken: settings.adminToken, progress });
      // The attack's members have left: wait until the rings agree on the nodes again and the few
      // users they owned meanwhile are back, so the join below moves sessions from a settled cluster.
      await admin.waitRing(initial, 'attack phase');
      await pool.waitSettled(SETTLE_TIMEOUT_MS);
    }
    if (o.outage !== undefined) {
      const plan = o.outage;
      progress(`outage: ${plan.label} for ${plan.ms} ms, traffic running`);
      const before = await admin.nodeStats();
      traffic.setPhase('outage');
      await plan.begin();
      await sleep(plan.ms);
      await plan.end();
      const back = performance.now();
      agreements.push(await admin.waitRing(initial, `outage (${plan.label})`));
      const recoveredMs = Math.round(performance.now() - back);
      await pool.waitSettled(SETTLE_TIMEOUT_MS);
      await sleep(1000); // a second of normal traffic after the return still counts as the outage's
      traffic.setPhase(undefined);
      const after = await admin.nodeStats();
      const change = (field: 'sessionsMoved' | 'fences' | 'fencedCloses') => sum(after, (s) => s[field]) - sum(before, (s) => s[field]);
      outage = { sessionsMoved: change('sessionsMoved'), fences: change('fences'), fencedCloses: change('fencedCloses'), recoveredMs };
      progress(`outage over: rings agreed ${recoveredMs} ms after it ended, ${outage.sessionsMoved} sessions moved, nodes fenced ${outage.fences} times (${outage.fencedCloses} sessions closed)`);
    }
    const selective = await join('selective');
    const survivors = [...initial, extra].filter((id) => id !== victim);
    const victims = pool.users.filter((user) => user.node === victim);
    progress(`killing ${victim} (${victims.length} users)${cluster.kind !== 'memory' ? ' with SIGKILL' : ''}`);
    const killedAt = performance.now();
    await cluster.killNode(victim);
    const ring = admin.waitRing(survivors, `${victim} killed`).then((a) => ({ a, ms: performance.now() - killedAt }));
    await pool.waitSettled(SETTLE_TIMEOUT_MS, victims, victim);
    const failoverMs = performance.now() - killedAt;
    const { a: afterKill, ms: ringUpdatedMs } = await ring;
    agreements.push(afterKill);
    await sleep(500);
    traffic.stop();
    progress('draining: waiting for every send to have its outcome');
    await traffic.drain();
    await pool.flush(); // every receipt the users saw is recorded before the ground truth is read
    const end = await admin.sample();
    const users = await pool.stats();

    const records = [...traffic.records.values()];
    const modes = {
      broadcast: { oneToOne: summarize(records, 'broadcast', 'oneToOne', broadcastWindow), group: summarize(records, 'broadcast', 'group', broadcastWindow) },
      hash: { oneToOne: summarize(records, 'hash', 'oneToOne', hashWindow), group: summarize(records, 'hash', 'group', hashWindow) },
    };
    const all = [modes.broadcast.oneToOne, modes.broadcast.group, modes.hash.oneToOne, modes.hash.group];
    return {
      adapters: cluster.kind,
      config: { users: o.users, nodes: o.nodes, gateways: o.gateways, oneToOneRate: o.oneToOneRate, groupRate: o.groupRate, groups, groupSize: o.groupSize,
        steadyMs: o.steadyMs, graceMs: o.graceMs, ttlMs: o.ttlMs, heartbeatMs: o.heartbeatMs, via: o.via,
        ...('prefix' in cluster && o.redisUrl !== undefined ? { redisUrl: o.redisUrl, redisPrefix: cluster.prefix } : {}),
        ...('prefix' in cluster && o.natsUrl !== undefined ? { natsUrl: redactNatsUrl(o.natsUrl), natsPrefix: cluster.prefix } : {}) },
      durationMs: Math.round(performance.now() - started),
      modes,
      strategies: { 'reconnect-all': reconnectAll, selective },
      failover: { node: victim, usersAffected: victims.length, ringUpdatedMs: Math.round(ringUpdatedMs), failoverMs: Math.round(failoverMs) },
      gateways: agreements,
      totals: {
        sent: sum(all, (f) => f.sent), delivered: sum(all, (f) => f.delivered), failed: sum(all, (f) => f.failed), unknown: sum(all, (f) => f.unknown),
        lost: sum(all, (f) => f.lost), failedButReceived: sum(all, (f) => f.failedButReceived), duplicates: sum(all, (f) => f.duplicates),
        misrouted: traffic.misrouted, skipped: traffic.skipped,
      },
      failureReasons: failureReasons(records),
      scale: scaleFigures({
        connect, users, idle, connected, end, killed: admin.lastSeen, memory: cluster.kind === 'memory',
        refusals: refusalFigures(admin.lastSeen.values(), users),
      }),
      ...(attacks !== undefined ? { attacks } : {}),
      ...(outage !== undefined && o.outage !== undefined
        ? { outage: { label: o.outage.label, ms: o.outage.ms, outcomes: countOutcomes(records.filter((r) => r.phase === 'outage')), ...outage } }
        : {}),
    };
  } finally {
    traffic.stop();
    await pool.stop();
    agent.destroy();
    progress('stopping the cluster');
    await cluster.close();
  }
}

/** The scenario's view of the cluster, all over HTTP. */
class Admin {
  /** The latest stats seen of every part, also of those gone since (a killed node's last figures). */
  readonly lastSeen = new Map<string, PartSample>();

  constructor(
    readonly cluster: ClusterHandle,
    readonly agent: Agent,
    readonly token: string,
    readonly settleMs: number,
  ) {}

  async nodeStats(): Promise<NodeStats[]> {
    const nodes = await Promise.all([...this.cluster.nodeAdmins.values()].map((url) => this.#get<NodeStats>(`${url}/stats`)));
    for (const n of nodes) this.lastSeen.set(n.id, { kind: 'node', stats: n });
    return nodes;
  }

  async gatewayStats(): Promise<GatewayStats[]> {
    const gateways = await Promise.all(this.cluster.admins.map((url) => this.#get<GatewayStats>(`${url}/stats`)));
    for (const g of gateways) this.lastSeen.set(g.id, { kind: 'gateway', stats: g });
    return gateways;
  }

  /** Every part's stats now. */
  async sample(): Promise<PartSample[]> {
    const [gateways, nodes] = await Promise.all([this.gatewayStats(), this.nodeStats()]);
    return [...gateways.map((stats) => ({ kind: 'gateway' as const, stats })), ...nodes.map((stats) => ({ kind: 'node' as const, stats }))];
  }

  async setMode(mode: Mode): Promise<void> {
    await Promise.all(this.cluster.admins.map((url) => requestJson('POST', `${url}/admin/mode`, { mode }, { agent: this.agent, token: this.token })));
  }

  /** Sets every node's pace of "moved" closes. */
  async setPace(closesPerSecond: number): Promise<void> {
    await Promise.all(
      [...this.cluster.nodeAdmins.values()].map((url) => requestJson('POST', `${url}/admin/pace`, { closesPerSecond }, { agent: this.agent, token: this.token })),
    );
  }

  async setStrategy(strategy: Strategy): Promise<void> {
    await Promise.all(
      [...this.cluster.nodeAdmins.values()].map((url) => requestJson('POST', `${url}/admin/strategy`, { strategy }, { agent: this.agent, token: this.token })),
    );
  }

  /** Waits until no node has a paced close pending and the nodes hold one session per user again; resolves to when the closes were first seen done (`performance.now()`). */
  async waitHandedOver(users: number, timeoutMs: number): Promise<number> {
    const start = Date.now();
    const deadline = start + timeoutMs;
    let closed: number | undefined;
    for (;;) {
      const nodes = await this.nodeStats();
      const none = nodes.every((n) => n.pendingCloses === 0);
      if (none) closed ??= performance.now();
      else closed = undefined; // a close was queued again (a user came back to a node that no longer owns it)
      if (none && sum(nodes, (n) => n.sessions) === users) return closed!;
      if (Date.now() > deadline) throw new Error(`sessions not handed over after ${timeoutMs} ms: ${JSON.stringify(nodes.map((n) => [n.id, n.sessions, n.pendingCloses]))}`);
      // Often at first (the figure is the handover's time), then less: a long handoff is not slowed by polling.
      await sleep(Math.min(250, 20 + (Date.now() - start) / 20));
    }
  }

  /** Waits until every gateway routes over exactly `ids` and every live node has caught up with that version. */
  async waitRing(ids: readonly string[], after: string): Promise<GatewayAgreement> {
    const want = [...ids].sort().join(',');
    const deadline = Date.now() + this.settleMs;
    for (;;) {
      const gateways = await this.gatewayStats();
      const nodes = await this.nodeStats();
      const top = Math.max(...gateways.map((g) => g.version));
      if (gateways.every((g) => g.nodes.join(',') === want && g.version === top) && nodes.every((n) => n.version >= top)) {
        const first = gateways[0]!;
        return {
          after,
          gateways: gateways.map((g) => ({ id: g.id, version: g.version, checksum: g.checksum, nodes: g.nodes })),
          agree: gateways.every((g) => g.checksum === first.checksum && g.version === first.version),
        };
      }
      if (Date.now() > deadline) throw new Error(`gateways did not converge on [${want}]: ${JSON.stringify(gateways.map((g) => g.nodes))}`);
      await sleep(20);
    }
  }

  #get<T>(url: string): Promise<T> {
    return requestJson<T>('GET', url, undefined, { agent: this.agent, timeoutMs: 10_000, token: this.token });
  }
}

/**
 * Membership ttl when none is given: 2 s, and longer for big runs (users /
 * 10 ms, at most 10 s). With 100,000 users on 2 cores the machine runs at a
 * load of 20 to 30 while they connect, and a node's heartbeat can be seconds
 * late: a 2 s ttl would expire live nodes and move their users for nothing.
 */
export function defaultTtlMs(users: number): number {
  return Math.round(Math.min(10_000, Math.max(2000, users / 10)));
}

/** Each node's pace of "moved" closes after the connect phase: at most the configured one, and together at most 80% of the rate the cluster connected at (at least 1 a second each). */
export function handoffPace(configured: number, connectedPerSecond: number, nodes: number): number {
  return Math.max(1, Math.min(configured, Math.floor((0.8 * connectedPerSecond) / Math.max(1, nodes))));
}

/** Each node's pace of "moved" closes: all of them together at `connectRate`, at least 50 a second each. */
function closesPerSecond(connectRate: number, nodes: number): number {
  return Math.max(50, Math.round(connectRate / nodes));
}

function sum<T>(items: readonly T[], f: (item: T) => number): number {
  return items.reduce((n, item) => n + f(item), 0);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
