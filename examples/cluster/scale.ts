/**
 * The report's figures about scale: how fast the users connected and at
 * what cost in attempts, who refused what, and what each process of the
 * run spent (CPU, memory, descriptors). Built from the parts' `/stats`
 * (each carries its process's figures) and the user processes' counters.
 */
import type { NodeStats } from './app-node.js';
import type { GatewayStats } from './gateway.js';
import { type ProcessFigures, processFigures } from './process-stats.js';
import type { RemotePool, UserProcessStats } from './remote-pool.js';

/** A gateway's or node's `/stats`. */
export type PartSample = { readonly kind: 'gateway'; readonly stats: GatewayStats } | { readonly kind: 'node'; readonly stats: NodeStats };

export interface ConnectFigures {
  readonly users: number;
  /** Users started per second (the pool's pace). */
  readonly ratePerSecond: number;
  /** Time allowed for all of them to connect. */
  readonly budgetMs: number;
  /** From the start to the last user's first welcome. */
  readonly ms: number;
  /** Users / that time. */
  readonly perSecond: number;
  /** Most first welcomes within one second (seconds counted from the start). */
  readonly peakPerSecond: number;
  /** WebSocket connections opened until every user was connected (refused and failed ones included). */
  readonly attempts: number;
  readonly attemptsPerUser: number;
}

/** Refusals by kind, over the whole run. */
export interface RefusalFigures {
  /** The gateways' handlers, by reason (summed over the gateways). */
  readonly gateways: Record<string, number>;
  /** The nodes: their handshake gates' 503s by reason, accepts that failed for lack of descriptors, and 400/401/403/500 answers. */
  readonly nodes: Record<string, number>;
  /** What the clients saw: upgrades answered with an HTTP status, by status. */
  readonly clients: Record<string, number>;
  /** Client attempts that ended with no welcome, no refusal seen and no redirect (reset, unreachable, timeout). */
  readonly clientFailures: number;
}

/** One OS process of the run. */
export interface PartFigures {
  /** The parts it holds, e.g. `gw-1`, `users-2`, or `scenario + 2 gateways, 4 nodes` in memory mode. */
  readonly part: string;
  readonly kind: 'scenario' | 'gateway' | 'node' | 'users';
  readonly pid: number;
  readonly cpuSeconds: number;
  readonly rssMiB: number;
  readonly peakRssMiB: number;
  /** Most descriptors seen open (sampled each second), or null where /proc cannot be read. */
  readonly peakDescriptors: number | null;
}

export interface ScaleFigures {
  readonly connect: ConnectFigures & {
    /** Connections opened over the whole run per user (the moves, the kill and the attack phase included). */
    readonly attemptsPerUserWholeRun: number;
  };
  readonly refusals: RefusalFigures;
  /** Every process: in memory mode the scenario's holds the gateways and nodes. */
  readonly parts: PartFigures[];
  /** Resident memory (and heap) the sessions added to the nodes' processes, per session; `where` says what it includes. */
  readonly memoryPerSession: { readonly bytes: number; readonly heapBytes: number; readonly sessions: number; readonly where: string } | null;
  /** CPU seconds the gateways spent while the users connected, per 1,000 users connected; `where` says what it includes. */
  readonly gatewayCpuPer1000Connects: { readonly seconds: number; readonly where: string } | null;
}

/** The connect phase, read from the pool once every user is connected (after a `flush`). */
export function connectFigures(pool: RemotePool, ratePerSecond: number, budgetMs: number): ConnectFigures {
  const start = pool.startedAt;
  const perSecond = new Map<number, number>();
  let last = start;
  let attempts = 0;
  for (const user of pool.users) {
    attempts += user.connects;
    last = Math.max(last, user.welcomedAt);
    const second = Math.floor((user.welcomedAt - start) / 1000);
    perSecond.set(second, (perSecond.get(second) ?? 0) + 1);
  }
  const users = pool.users.length;
  const ms = Math.round(last - start);
  return {
    users, ratePerSecond, budgetMs, ms, perSecond: ms > 0 ? Math.round(users / (ms / 1000)) : users, peakPerSecond: Math.max(0, ...perSecond.values()),
    attempts, attemptsPerUser: round(attempts / Math.max(1, users), 3),
  };
}

/** Refusals from the last stats of every part (`lastSeen`: killed nodes too) and the user processes. */
export function refusalFigures(parts: Iterable<PartSample>, users: readonly UserProcessStats[]): RefusalFigures {
  const gateways: Record<string, number> = {};
  const nodes: Record<string, number> = {};
  const clients: Record<string, number> = {};
  const add = (into: Record<string, number>, key: string, n: number): void => {
    if (n > 0) into[key] = (into[key] ?? 0) + n;
  };
  for (const part of parts) {
    if (part.kind === 'gateway') {
      for (const [reason, n] of Object.entries(part.stats.gateway.refused)) add(gateways, reason, n);
    } else {
      const h = part.stats.handshakes;
      for (const [reason, n] of Object.entries(h.refused)) add(nodes, `503 ${reason}`, n);
      add(nodes, 'accept failed (descriptors)', h.acceptFailures);
      add(nodes, 'handshake timed out', h.timedOut);
      for (const [status, n] of Object.entries(part.stats.refused)) add(nodes, status, n);
    }
  }
  let clientFailures = 0;
  for (const u of users) {
    for (const [status, n] of Object.entries(u.clients.refusals)) add(clients, status, n);
    clientFailures += u.clients.failures;
  }
  return { gateways, nodes, clients, clientFailures };
}

/** Everything but the connect phase's own figures, at the end of the run. */
export function scaleFigures(run: {
  connect: ConnectFigures;
  users: readonly UserProcessStats[];
  /** Parts' stats before the users connected, once they all were, and at the end; `killed`: the last seen of every part. */
  idle: readonly PartSample[];
  connected: readonly PartSample[];
  end: readonly PartSample[];
  killed: ReadonlyMap<string, PartSample>;
  memory: boolean;
  refusals: RefusalFigures;
}): ScaleFigures {
  const wholeRun = run.users.reduce((n, u) => n + u.clients.connects, 0);
  const parts: PartFigures[] = [];
  const byPid = new Map<number, { ids: string[]; kinds: Set<string>; figures: ProcessFigures }>();
  for (const [id, sample] of run.killed) {
    const figures = sample.stats.process;
    const entry = byPid.get(figures.pid) ?? { ids: [], kinds: new Set<string>(), figures };
    entry.ids.push(id);
    entry.kinds.add(sample.kind);
    if (figures.cpuSeconds >= entry.figures.cpuSeconds) entry.figures = figures; // the latest sample of a shared process
    byPid.set(figures.pid, entry);
  }
  const self = processFigures();
  const mine = byPid.get(self.pid);
  byPid.delete(self.pid);
  const gatewaysHere = mine?.ids.filter((id) => run.killed.get(id)?.kind === 'gateway').length ?? 0;
  const nodesHere = (mine?.ids.length ?? 0) - gatewaysHere;
  parts.push(part(mine === undefined ? 'scenario' : `scenario + ${gatewaysHere} gateways, ${nodesHere} nodes`, 'scenario', self));
  for (const { ids, kinds, figures } of byPid.values()) parts.push(part(ids.join(', '), kinds.has('gateway') ? 'gateway' : 'node', figures));
  for (const u of run.users) parts.push(part(u.part, 'users', u.process));

  // Per session: the growth of the nodes' processes (distinct pids) from idle to every user connected.
  const delta = (kind: 'gateway' | 'node', f: (p: ProcessFigures) => number): number => {
    const before = new Map(run.idle.filter((s) => s.kind === kind).map((s) => [s.stats.process.pid, f(s.stats.process)]));
    const after = new Map(run.connected.filter((s) => s.kind === kind).map((s) => [s.stats.process.pid, f(s.stats.process)]));
    let d = 0;
    for (const [pid, value] of after) d += value - (before.get(pid) ?? value);
    return d;
  };
  const sessions = run.connected.reduce((n, s) => n + (s.kind === 'node' ? s.stats.sessions : 0), 0);
  const memoryPerSession = sessions > 0
    ? { bytes: Math.round(delta('node', (p) => p.rssBytes) / sessions), heapBytes: Math.round(delta('node', (p) => p.heapUsedBytes) / sessions), sessions,
        where: run.memory ? 'the cluster process (gateways\' tunnels included)' : 'node processes' }
    : null;
  const cpu = delta('gateway', (p) => p.cpuSeconds);
  const gatewayCpuPer1000Connects = run.connect.users > 0
    ? { seconds: round(cpu / (run.connect.users / 1000), 3), where: run.memory ? 'the cluster process (nodes included)' : 'gateway processes' }
    : null;
  return {
    connect: { ...run.connect, attemptsPerUserWholeRun: round(wholeRun / Math.max(1, run.connect.users), 3) },
    refusals: run.refusals, parts, memoryPerSession, gatewayCpuPer1000Connects,
  };
}

function part(name: string, kind: PartFigures['kind'], f: ProcessFigures): PartFigures {
  const mib = (bytes: number) => Math.round(bytes / 1024 / 1024);
  return { part: name, kind, pid: f.pid, cpuSeconds: round(f.cpuSeconds, 1), rssMiB: mib(f.rssBytes), peakRssMiB: mib(f.peakRssBytes), peakDescriptors: f.peakDescriptors };
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
