/**
 * Carries out one scheduled fault against the real processes and network,
 * then measures how long the cluster took to converge after it: the fault's
 * own convergence condition, polled from the {@link Watch} until it holds or
 * twice the kind's bound has passed.
 */
import type { Redis } from 'ioredis';
import type { Network } from './network.js';
import type { Part } from './parts.js';
import type { Fault, FaultKind } from './schedule.js';
import type { FailoverOptions, FailoverReport } from './store.js';
import type { StoreOutages } from './store-outages.js';
import type { Watch } from './watch.js';

/**
 * How soon after a fault ends the cluster must have converged, in ms: the
 * documented bounds the verdict checks. A fault "ends" when the part is
 * resumed, started again (kills: the restart includes the process's boot)
 * or the link healed; a fail-over ends when the Sentinels name the new
 * primary: how long they took to promote it (`promotedMs`, from the kill,
 * or on a set given with `--sentinel` from the runner's order) is Sentinel's
 * and its configuration's (`down-after-milliseconds`; a split vote is tried
 * again after 2 x `failover-timeout`), reported beside, not bounded here.
 * Time the store was out meanwhile for another fault (see
 * {@link StoreOutages}) is not counted.
 */
export const CONVERGE_BOUNDS_MS: Readonly<Record<FaultKind, number>> = {
  'node-pause': 10_000,
  'node-kill': 15_000,
  'gateway-pause': 5_000,
  'gateway-kill': 15_000,
  'redis-pause': 5_000,
  'redis-failover': 5_000,
  partition: 10_000,
};

/** A fault as it ran. */
export interface FaultResult extends Fault {
  /** When it really started and ended, in ms from the start of the chaos phase (a busy target delays a fault). */
  readonly startedAt: number;
  readonly endedAt: number;
  /** From the end to convergence, less `storeOutMs`; null when it did not converge within twice its bound. */
  readonly convergedMs: number | null;
  /** ms the store was out (another fault's pause or fail-over) while this fault converged: not in `convergedMs`. */
  readonly storeOutMs?: number;
  /** Fail-overs: ms from the kill (`--sentinel`: from `SENTINEL FAILOVER`) until Sentinel named the new primary. */
  readonly promotedMs?: number;
  /** What went wrong carrying it out, if anything. */
  readonly error?: string;
}

/** What a fault needs to act on the cluster and to record what it did. */
export interface FaultContext {
  readonly parts: ReadonlyMap<string, Part>;
  readonly network: Network;
  /** The store's own faults: the run's Sentinel set, a Redis given with `--redis`, or a Sentinel set given with `--sentinel`. */
  readonly store: {
    pause(ms: number): Promise<void>;
    failover(options?: FailoverOptions): Promise<FailoverReport>;
    /** Resolves when the store can be failed over (`--sentinel`: the last fail-over's old primary is back in sync); not part of the fault's time. */
    readyForFailover?(): Promise<void>;
  };
  readonly watch: Watch;
  /** The runner's own Redis client (through the Sentinels): writes probe that the store takes writes again. */
  readonly redis: Redis;
  readonly probeKey: string;
  /** When the store was out (pauses, fail-overs until the promotion): not counted against other faults' convergence. */
  readonly storeOutages: StoreOutages;
  /** Parts under a fault now: convergence of other faults does not wait for them. */
  readonly faulted: Set<string>;
  /** ms from the start of the chaos phase. */
  now(): number;
  /** Called when a node process stops (`SIGSTOP`), resumes, or is killed, for the ownership measure. */
  onFreeze(part: Part, from: number, to: number): void;
  onKill(part: Part, at: number): void;
}

/** Longest store outage a convergence waits through before giving up anyway. */
const STORE_OUTAGE_CAP_MS = 120_000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function runFault(fault: Fault, ctx: FaultContext): Promise<FaultResult> {
  const startedAt = ctx.now();
  const held = [fault.target, ...(fault.peer !== undefined && fault.peer !== 'store' ? [fault.peer] : [])];
  for (const id of held) ctx.faulted.add(id);
  let promotedMs: number | undefined;
  let error: string | undefined;
  let endedAt = startedAt;
  let promotedConvergence: Promise<Convergence | null> | null = null;
  try {
    const part = ctx.parts.get(fault.target);
    switch (fault.kind) {
      case 'node-pause':
      case 'gateway-pause': {
        const from = Date.now();
        part!.signal('SIGSTOP');
        await sleep(fault.durationMs);
        part!.signal('SIGCONT');
        ctx.onFreeze(part!, from, Date.now());
        break;
      }
      case 'node-kill':
      case 'gateway-kill':
        ctx.onKill(part!, Date.now());
        await part!.kill();
        await sleep(fault.durationMs);
        endedAt = ctx.now();
        await part!.start();
        break;
      case 'redis-pause':
        ctx.storeOutages.begin(ctx.now());
        try {
          await ctx.store.pause(fault.durationMs);
        } finally {
          ctx.storeOutages.end(ctx.now());
        }
        break;
      case 'redis-failover': {
        await ctx.store.readyForFailover?.();
        const killedAt = ctx.now();
        ctx.storeOutages.begin(killedAt);
        try {
          // The fault ends, and the store is back, when the Sentinels name the new primary; the cluster's convergence is
          // measured from then on, while failover() goes on to wait for the old primary to come back as a replica.
          const report = await ctx.store.failover({
            onPromoted: () => {
              endedAt = ctx.now();
              ctx.storeOutages.end(endedAt);
              promotedConvergence = converge(fault, ctx, endedAt);
            },
          });
          promotedMs = report.promotedMs;
        } finally {
          ctx.storeOutages.end(ctx.now());
        }
        break;
      }
      case 'partition': {
        const peer = fault.peer === 'store' ? ctx.network.store : ctx.network.host(fault.peer!).address;
        ctx.network.cut(fault.target, peer);
        await sleep(fault.durationMs);
        ctx.network.heal(fault.target);
        break;
      }
    }
  } catch (e) {
    error = (e as Error).message;
  } finally {
    for (const id of held) ctx.faulted.delete(id);
  }
  if (fault.kind !== 'node-kill' && fault.kind !== 'gateway-kill' && fault.kind !== 'redis-failover') endedAt = ctx.now();
  const convergence = error === undefined ? await (promotedConvergence ?? converge(fault, ctx, endedAt)) : null;
  return {
    ...fault,
    startedAt,
    endedAt,
    convergedMs: convergence?.ms ?? null,
    ...(convergence !== null && convergence.storeOutMs > 0 ? { storeOutMs: convergence.storeOutMs } : {}),
    ...(promotedMs !== undefined ? { promotedMs: Math.round(promotedMs) } : {}),
    ...(error !== undefined ? { error } : {}),
  };
}

/** How long a fault took to converge, not counting the store's outages meanwhile, and those outages. */
interface Convergence {
  readonly ms: number;
  readonly storeOutMs: number;
}

/**
 * ms from `endedAt` until the fault's condition holds, less the time the store
 * was out meanwhile (another fault's pause or fail-over), or null when that
 * took over twice the kind's bound.
 */
async function converge(fault: Fault, ctx: FaultContext, endedAt: number): Promise<Convergence | null> {
  const limitMs = 2 * CONVERGE_BOUNDS_MS[fault.kind];
  const { watch, faulted } = ctx;
  const nodes = [fault.target, fault.peer].filter((id): id is string => id !== undefined && ctx.parts.get(id)?.role === 'node');
  let storeTakesWrites = fault.kind !== 'redis-pause' && fault.kind !== 'redis-failover';
  for (;;) {
    if (!storeTakesWrites) {
      // One write at a time, each bounded by the client's command timeout.
      storeTakesWrites = await ctx.redis.set(ctx.probeKey, String(fault.seq)).then(() => true, () => false);
    }
    const at = ctx.now();
    const storeOutMs = Math.round(ctx.storeOutages.overlap(endedAt, at));
    const ms = Math.max(0, Math.round(at - endedAt) - storeOutMs);
    const gatewayOk = ctx.parts.get(fault.target)?.role !== 'gateway' || watch.gatewayAgrees(fault.target);
    if (storeTakesWrites && gatewayOk && nodes.every((id) => watch.nodeServes(id)) && watch.gatewaysAgree(faulted)) return { ms, storeOutMs };
    // The store's outages are bounded (a pause by its length, a fail-over by failover()'s timeout); the cap is a backstop.
    if (ms > limitMs || at - endedAt > limitMs + STORE_OUTAGE_CAP_MS) return null;
    await sleep(50);
  }
}
