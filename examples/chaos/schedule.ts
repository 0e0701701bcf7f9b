/**
 * The chaos run's schedule: which fault hits which part when, for how long.
 * Pure: the same seed and shape give the same schedule on every machine,
 * so a failing run can be replayed (`--seed`).
 *
 * Each fault kind has its own lane of faults, spread evenly over the run
 * with seeded jitter, so the kinds overlap as they would in production. A
 * fault holds its target (a node, a gateway, the Redis primary, and for a
 * partition both ends) for its duration plus a recovery allowance, so two
 * faults never hit one part at once, and at most half the nodes and half the
 * gateways are under a fault at any time: the cluster keeps a majority that
 * serves. A fault whose target is busy waits for the first one free; one
 * that cannot start before the end is dropped (the report counts faults as
 * run, not as planned).
 */
import { type Random, seededRandom } from '../../src/cli/prng.js';

/** What a fault does. */
export type FaultKind =
  | 'node-pause' // SIGSTOP an app node, SIGCONT after `durationMs`
  | 'node-kill' // SIGKILL an app node, start it again after `durationMs`
  | 'gateway-pause'
  | 'gateway-kill'
  | 'redis-pause' // SIGSTOP the Redis primary (shorter than Sentinel's down-after: no fail-over)
  | 'redis-failover' // SIGKILL the Redis primary: Sentinel promotes the replica; the old primary comes back as a replica
  | 'partition'; // cut the links between `target` and `peer` both ways (packets dropped silently), heal after `durationMs`

export const FAULT_KINDS: readonly FaultKind[] = ['node-pause', 'node-kill', 'gateway-pause', 'gateway-kill', 'redis-pause', 'redis-failover', 'partition'];

/** Which link a partition cuts. */
export type PartitionKind = 'node-store' | 'gateway-node' | 'node-node' | 'gateway-store';

export interface Fault {
  /** Position in the schedule (0, 1, ...), in start order. */
  readonly seq: number;
  readonly kind: FaultKind;
  /** Start, in ms from the start of the chaos phase. */
  readonly at: number;
  /** The part hit: a node or gateway id, or `redis`. */
  readonly target: string;
  /** Partitions: the other end (a node or gateway id, or `store`) and which link that is. */
  readonly peer?: string;
  readonly link?: PartitionKind;
  /** How long the fault lasts (pause, partition) or the part stays dead (kill); 0 for a fail-over, which ends when Sentinel has promoted. */
  readonly durationMs: number;
}

/** Durations and recovery allowances, in ms, per kind. */
export interface KindTiming {
  readonly minMs: number;
  readonly maxMs: number;
  /** The target is held this long after the fault ends, for the cluster to converge before it is hit again. */
  readonly recoverMs: number;
}

/**
 * Timings for a cluster whose membership ttl is 3 s and whose Sentinels
 * declare a primary down after 1 s: pauses and partitions range from well
 * under the ttl (nothing should move) to well over it (the node fences, the
 * ring drops it, it comes back); a Redis pause stays under Sentinel's
 * down-after.
 */
export const DEFAULT_TIMINGS: Readonly<Record<FaultKind, KindTiming>> = {
  'node-pause': { minMs: 300, maxMs: 5000, recoverMs: 3000 },
  'node-kill': { minMs: 200, maxMs: 2000, recoverMs: 5000 },
  'gateway-pause': { minMs: 300, maxMs: 4000, recoverMs: 2000 },
  'gateway-kill': { minMs: 200, maxMs: 2000, recoverMs: 4000 },
  'redis-pause': { minMs: 200, maxMs: 700, recoverMs: 800 },
  'redis-failover': { minMs: 0, maxMs: 0, recoverMs: 3000 },
  partition: { minMs: 500, maxMs: 5000, recoverMs: 3000 },
};

export interface ScheduleOptions {
  readonly seed: number;
  /** Length of the chaos phase. */
  readonly durationMs: number;
  readonly nodes: readonly string[];
  readonly gateways: readonly string[];
  /** Faults of each kind per minute. @default 12 */
  readonly perMinute?: number;
  /** The kinds to schedule. @default all of {@link FAULT_KINDS} */
  readonly kinds?: readonly FaultKind[];
  readonly timings?: Readonly<Record<FaultKind, KindTiming>>;
}

const PARTITIONS: readonly PartitionKind[] = ['node-store', 'gateway-node', 'node-node', 'gateway-store'];

/** The whole schedule, sorted by start time. */
export function planSchedule(options: ScheduleOptions): Fault[] {
  const { durationMs, nodes, gateways } = options;
  const kinds = options.kinds ?? FAULT_KINDS;
  const timings = options.timings ?? DEFAULT_TIMINGS;
  const perKind = Math.max(1, Math.round(((options.perMinute ?? 12) * durationMs) / 60_000));
  const random = seededRandom(options.seed);
  // Every fault's nominal start, drawn up front so a kind's lane does not depend on the others' luck.
  const wanted: Array<{ kind: FaultKind; at: number }> = [];
  const slot = durationMs / perKind;
  for (const kind of kinds) {
    for (let i = 0; i < perKind; i++) wanted.push({ kind, at: Math.floor(i * slot + random.next() * slot * 0.6) });
  }
  wanted.sort((a, b) => a.at - b.at || kinds.indexOf(a.kind) - kinds.indexOf(b.kind));

  const busyUntil = new Map<string, number>();
  const held: Array<{ parts: readonly string[]; until: number }> = [];
  const free = (part: string, at: number) => (busyUntil.get(part) ?? 0) <= at;
  const faultedAt = (pool: readonly string[], at: number) => pool.filter((p) => !free(p, at)).length;
  // At most half of the nodes and half of the gateways (rounded down, at least one) under a fault at once.
  const room = (pool: readonly string[], at: number, extra: number) => faultedAt(pool, at) + extra <= Math.max(1, Math.floor(pool.length / 2));

  const faults: Fault[] = [];
  for (const { kind, at: nominal } of wanted) {
    const timing = timings[kind];
    const durationMs = timing.minMs + Math.floor(random.next() * (timing.maxMs - timing.minMs + 1));
    // The first moment at or after `nominal` when a target can be found: the nominal time, or when a held part frees up.
    const moments = [nominal, ...held.map((h) => h.until).filter((t) => t > nominal)].sort((a, b) => a - b);
    let placed: Omit<Fault, 'seq'> | null = null;
    for (const at of moments) {
      if (at >= options.durationMs) break;
      placed = pick(kind, at, durationMs, random, { nodes, gateways, free, room });
      if (placed !== null) break;
    }
    if (placed === null) continue;
    const parts = [placed.target, ...(placed.peer !== undefined && placed.peer !== 'store' ? [placed.peer] : [])];
    const until = placed.at + durationMs + timing.recoverMs;
    for (const part of parts) busyUntil.set(part, until);
    held.push({ parts, until });
    faults.push(placed as Fault);
  }
  faults.sort((a, b) => a.at - b.at);
  return faults.map((f, seq) => ({ ...f, seq }));
}

interface Pools {
  readonly nodes: readonly string[];
  readonly gateways: readonly string[];
  free(part: string, at: number): boolean;
  room(pool: readonly string[], at: number, extra: number): boolean;
}

/** A target (and peer) for a fault of `kind` at `at`, or null when every candidate is busy. */
function pick(kind: FaultKind, at: number, durationMs: number, random: Random, pools: Pools): Omit<Fault, 'seq'> | null {
  const { nodes, gateways, free, room } = pools;
  const choose = (pool: readonly string[], except?: string): string | null => {
    const candidates = pool.filter((p) => p !== except && free(p, at));
    return candidates.length === 0 || !room(pool, at, 1) ? null : candidates[random.int(candidates.length)]!;
  };
  if (kind === 'redis-pause' || kind === 'redis-failover') return free('redis', at) ? { kind, at, target: 'redis', durationMs } : null;
  if (kind === 'node-pause' || kind === 'node-kill') {
    const target = choose(nodes);
    return target === null ? null : { kind, at, target, durationMs };
  }
  if (kind === 'gateway-pause' || kind === 'gateway-kill') {
    const target = choose(gateways);
    return target === null ? null : { kind, at, target, durationMs };
  }
  const link = PARTITIONS[random.int(PARTITIONS.length)]!;
  if (link === 'gateway-store') {
    const target = choose(gateways);
    return target === null ? null : { kind, at, target, peer: 'store', link, durationMs };
  }
  const target = choose(nodes);
  if (target === null) return null;
  if (link === 'node-store') return { kind, at, target, peer: 'store', link, durationMs };
  if (link === 'gateway-node') {
    const peer = choose(gateways);
    return peer === null ? null : { kind, at, target, peer, link, durationMs };
  }
  // node-node: both ends count against the nodes' room.
  const candidates = nodes.filter((p) => p !== target && free(p, at));
  if (candidates.length === 0 || !room(nodes, at, 2)) return null;
  return { kind, at, target, peer: candidates[random.int(candidates.length)]!, link, durationMs };
}
