/**
 * The chaos run: the example cluster (gateways and app nodes on hosts of
 * their own, a Sentinel-managed Redis, users connecting and senders sending
 * with honest outcomes) under a seeded schedule of faults, then a check of
 * the whole history. See docs/chaos.md.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { RingRouter } from 'ringroute';
import { RedisRingStore } from 'ringroute/redis';
import { TokenSigner, randomSecret } from '../cluster/auth.js';
import { type OutcomeFigures, countOutcomes, failureReasons } from '../cluster/report.js';
import { RemotePool } from '../cluster/remote-pool.js';
import { Traffic } from '../cluster/traffic.js';
import { type FaultContext, type FaultResult, runFault } from './faults.js';
import { StoreOutages } from './store-outages.js';
import { Network, ipBinary } from './network.js';
import { type Incarnation, type OwnershipSummary, measureOwnership, parseOwnershipLog } from './ownership.js';
import { Part, type PartSettings } from './parts.js';
import { DEFAULT_TIMINGS, FAULT_KINDS, type Fault, type FaultKind, planSchedule } from './schedule.js';
import { RedisSet, SENTINEL_NAME } from './store.js';
import { Watch } from './watch.js';
import { ExternalRedis } from './external-store.js';
import { ExternalSentinels, type SentinelSetOptions } from './external-sentinel.js';
import { redactUrl, redisOptions } from '../cluster/redis-url.js';
import { followSentinelSwitches } from '../cluster/sentinel-switch.js';

export interface ChaosOptions {
  readonly seed: number;
  /** Length of the chaos phase (faults), in ms. */
  readonly durationMs: number;
  /** @default 200 */
  readonly users?: number;
  /** @default 6 */
  readonly nodes?: number;
  /** @default 4 */
  readonly gateways?: number;
  /** One-to-one messages per second. @default 40 */
  readonly oneToOneRate?: number;
  /** Group messages per second (groups of 5). @default 4 */
  readonly groupRate?: number;
  /** Faults of each kind per minute. @default 12 */
  readonly perMinute?: number;
  readonly kinds?: readonly FaultKind[];
  /** Membership ttl (the nodes' lease); heartbeats every ttl / 6. @default 3000 */
  readonly ttlMs?: number;
  /**
   * Run on this Redis instead of the run's own Sentinel set: no fail-overs
   * then (a single Redis cannot fail over), pauses by `CLIENT PAUSE`.
   */
  readonly redisUrl?: string;
  /**
   * Run on this Sentinel set (the user's) instead of the run's own: pauses by
   * `CLIENT PAUSE` on the primary, fail-overs by `SENTINEL FAILOVER`.
   */
  readonly sentinel?: SentinelSetOptions;
  /** Trace every transport message of every part into this folder (see trace.ts). */
  readonly traceDir?: string;
  readonly progress?: (line: string) => void;
  readonly log?: (line: string) => void;
}

export interface ChaosReport {
  readonly seed: number;
  readonly durationMs: number;
  readonly settings: { users: number; nodes: number; gateways: number; oneToOneRate: number; groupRate: number; ttlMs: number; heartbeatMs: number; graceMs: number };
  readonly planned: number;
  readonly faults: readonly FaultResult[];
  readonly messages: OutcomeFigures & {
    readonly unknownReceived: number;
    readonly misrouted: number;
    readonly skipped: number;
    readonly failureReasons: Record<string, number>;
    /** Told `unknown` and not received, by reason. */
    readonly unknownReasons: Record<string, number>;
  };
  readonly ownership: Omit<OwnershipSummary, 'overlaps'> & { readonly worst: OwnershipSummary['overlaps'] };
  /** After the last fault: ms until every gateway agreed, every node served and every user was connected again (null: not within 60 s). */
  readonly finalConvergedMs: number | null;
  readonly fences: number;
  readonly fencedCloses: number;
  /** Parts that ended by themselves (a crash), never expected. */
  readonly crashes: readonly string[];
  /** Starts that failed and were tried again (a node cannot join while the store fails over). */
  readonly failedStarts: number;
  /** The first recipients that broke a check (lost, or told failed but received), for a look at the logs. */
  readonly violations: ReadonlyArray<{ id: string; user: string; told: string; reason?: string; sentAt: number; receivedAt?: number }>;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const GRACE_MS = 10_000;
/** With `--sentinel`: how long the plan leaves the store alone after a fail-over (see where it is used). */
const EXTERNAL_FAILOVER_RECOVER_MS = 20_000;

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const o = { users: 200, nodes: 6, gateways: 4, oneToOneRate: 40, groupRate: 4, perMinute: 12, ttlMs: 3000, ...options };
  const heartbeatMs = Math.round(o.ttlMs / 6);
  const progress = o.progress ?? (() => undefined);
  const tag = randomBytes(3).toString('hex').slice(0, 5);
  // With --trace the nodes' ownership logs stay beside the traces, for a look after the run.
  const dir = o.traceDir ?? mkdtempSync(join(tmpdir(), 'ringroute-chaos-'));
  const cleanup: Array<() => Promise<void> | void> = [];
  const onSignal = () => void Promise.all(cleanup.reverse().map((f) => Promise.resolve().then(f).catch(() => undefined))).finally(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const network = Network.create(tag);
    cleanup.push(() => network.destroy());
    progress(`network ${network.local}/24: the store on ${network.store}, a namespace per part`);
    const prefix = `chaos-${tag}`;
    if (o.redisUrl !== undefined && o.sentinel !== undefined) throw new Error('redisUrl and sentinel exclude each other');
    const external = o.redisUrl !== undefined ? await ExternalRedis.start(o.redisUrl, network.store) : null;
    const given = o.sentinel !== undefined ? await ExternalSentinels.start(o.sentinel, network.store, join(dir, 'sentinel-natmap.json')) : null;
    const own = external === null && given === null ? await RedisSet.start(network.store) : null;
    const store = external ?? given ?? own!;
    cleanup.push(() => (external !== null ? external.destroy(prefix) : given !== null ? given.destroy(prefix) : own!.destroy()));
    if (own !== null) progress(`Redis: a primary, a replica and 3 Sentinels (${own.sentinels.join(', ')})`);
    else if (external !== null) progress(`Redis: ${redactUrl(o.redisUrl!)}, relayed on ${network.store}`);
    else progress(`Redis: ${given!.describe()}; relayed on ${network.store}`);
    if (given !== null && given.downAfterMs <= DEFAULT_TIMINGS['redis-pause'].maxMs) {
      progress(`the Sentinels' down-after-milliseconds is ${given.downAfterMs}: a redis-pause (up to ${DEFAULT_TIMINGS['redis-pause'].maxMs} ms) may turn into a fail-over`);
    }

    const secret = randomSecret();
    const adminToken = randomSecret();
    const settings: PartSettings = {
      ip: ipBinary() ?? 'ip', prefix, secret, adminToken,
      redis: external !== null ? { url: external.relayUrl }
        : given !== null ? {
            sentinels: given.relayedSentinels, name: given.name, natMapFile: given.natMapFile, ...given.credentials,
          }
        : { sentinels: own!.sentinels, name: SENTINEL_NAME },
      ttlMs: o.ttlMs, heartbeatMs, graceMs: GRACE_MS, ...(o.log ? { log: o.log } : {}), ...(o.traceDir !== undefined ? { traceDir: o.traceDir } : {}),
    };
    const incarnations = new Map<string, { name: string; file: string; endedAt: number; frozen: Array<[number, number]> }>();
    const current = (part: Part) => incarnations.get(`${part.id}#${part.incarnation}`);
    const logFile = (id: string) => (incarnation: number) => {
      const name = `${id}#${incarnation}`;
      const file = join(dir, `${id}-${incarnation}.log`);
      incarnations.set(name, { name, file, endedAt: Infinity, frozen: [] });
      return file;
    };
    const parts = new Map<string, Part>();
    const gatewayIds = Array.from({ length: o.gateways }, (_, i) => `gw-${i + 1}`);
    const nodeIds = Array.from({ length: o.nodes }, (_, i) => `n${i + 1}`);
    for (const id of gatewayIds) parts.set(id, new Part('gateway', id, network.addHost(id), settings, () => undefined));
    const ended = (id: string) => (incarnation: number, at: number) => {
      const entry = incarnations.get(`${id}#${incarnation}`);
      if (entry !== undefined) entry.endedAt = Math.min(entry.endedAt, at);
    };
    for (const id of nodeIds) parts.set(id, new Part('node', id, network.addHost(id), settings, logFile(id), ended(id)));
    cleanup.push(async () => {
      await Promise.all([...parts.values()].map((p) => p.kill()));
    });
    progress(`starting ${o.gateways} gateways and ${o.nodes} app nodes`);
    await Promise.all(gatewayIds.map((id) => parts.get(id)!.start()));
    await Promise.all(nodeIds.map((id) => parts.get(id)!.start()));

    const redis = external !== null
      ? new Redis(o.redisUrl!, { ...redisOptions(o.redisUrl!), maxRetriesPerRequest: 1, commandTimeout: 1000, retryStrategy: () => 100 })
      : given !== null
      ? new Redis({ ...given.clientOptions(), maxRetriesPerRequest: 1, commandTimeout: 1000, sentinelRetryStrategy: () => 100, retryStrategy: () => 100 })
      : new Redis({
          sentinels: own!.sentinels.map((s) => ({ host: s.slice(0, s.lastIndexOf(':')), port: Number(s.slice(s.lastIndexOf(':') + 1)) })),
          name: SENTINEL_NAME, maxRetriesPerRequest: 1, commandTimeout: 1000, sentinelRetryStrategy: () => 100, retryStrategy: () => 100,
        });
    redis.on('error', () => undefined);
    cleanup.push(() => redis.disconnect());
    if (given !== null) {
      // A forced fail-over leaves the old primary taking writes until Sentinel demotes it: the probe writes must follow the
      // switch at once, or they would say the store takes writes while they go to the old primary (as the parts do, process.ts).
      const direct = given.clientOptions();
      cleanup.push(followSentinelSwitches(redis, direct));
    }
    const router = await RingRouter.start({ store: new RedisRingStore({ redis, prefix }), resyncMs: 200 });
    router.on('error', () => undefined);
    cleanup.push(() => router.close());
    const agent = new Agent({ keepAlive: true, maxSockets: 256 });
    cleanup.push(() => agent.destroy());
    const watch = new Watch([...parts.values()], router, agent, adminToken);
    watch.start();
    cleanup.push(() => watch.stop());
    await until(() => nodeIds.every((id) => watch.nodeServes(id)) && watch.gatewaysAgree(new Set()), 30_000, 'every node on the ring and every gateway agreeing');

    const signer = new TokenSigner(secret);
    const tokens = new Map<string, Promise<string>>();
    const token = (user: string): Promise<string> => {
      let t = tokens.get(user);
      if (t === undefined) tokens.set(user, (t = signer.sign(user, 24 * 3600)));
      return t;
    };
    const gatewayUrls = gatewayIds.map((id) => parts.get(id)!.url);
    const traffic = new Traffic({
      users: o.users, gateways: gatewayUrls, oneToOneRate: o.oneToOneRate, groupRate: o.groupRate, groups: Math.max(1, Math.floor(o.users / 10)), groupSize: 5,
      agent, token, retryOtherGateway: true, maxOutstanding: 4000,
    });
    const pool = new RemotePool(o.users, {
      gateways: gatewayUrls, via: 'mixed', onMessage: traffic.onMessage, usersPerProcess: o.users, ratePerSecond: 200,
      backoffMs: 200, maxBackoffMs: 2000, secret, sources: [network.local], ...(o.log ? { log: o.log } : {}),
    });
    cleanup.push(() => pool.stop());
    progress(`connecting ${o.users} users`);
    await pool.start();
    await pool.waitSettled(60_000);
    traffic.start('hash');
    await sleep(2000);

    // A single Redis cannot fail over: that kind is left out (and said so) with --redis, and with a Sentinel set that has no replica.
    const noFailover = external !== null ? 'a single Redis (--redis) cannot fail over' : given !== null && !given.canFailover ? 'the Sentinels name no replica to promote' : null;
    const kinds = (o.kinds ?? FAULT_KINDS).filter((k) => noFailover === null || k !== 'redis-failover');
    if (kinds.length < (o.kinds ?? FAULT_KINDS).length) progress(`redis-failover is not run: ${noFailover}`);
    // On the user's Sentinel set the old primary comes back as a replica only when Sentinel demotes it (at its first INFO
    // 8 s or more after the promotion) and sees it in sync (at a later INFO): 11 to 20 s with Sentinel's defaults (INFO every
    // 10 s), measured. The next fail-over waits for it: the plan leaves the store alone that long after each fail-over, so
    // the Redis lane keeps to its schedule.
    const timings = given !== null ? { ...DEFAULT_TIMINGS, 'redis-failover': { ...DEFAULT_TIMINGS['redis-failover'], recoverMs: EXTERNAL_FAILOVER_RECOVER_MS } } : DEFAULT_TIMINGS;
    const schedule = planSchedule({ seed: o.seed, durationMs: o.durationMs, nodes: nodeIds, gateways: gatewayIds, perMinute: o.perMinute, kinds, timings });
    progress(`chaos: ${schedule.length} faults over ${(o.durationMs / 1000).toFixed(0)} s (seed ${o.seed})`);
    const t0 = performance.now();
    const faulted = new Set<string>();
    const ctx: FaultContext = {
      parts, network, store, watch, redis, probeKey: `{${prefix}}:chaos-probe`, faulted, storeOutages: new StoreOutages(),
      now: () => performance.now() - t0,
      onFreeze: (part, from, to) => current(part)?.frozen.push([from, to]),
      onKill: (part, at) => ended(part.id)(part.incarnation, at),
    };
    const results = await runSchedule(schedule, ctx, progress);
    progress('chaos over: waiting for the cluster to converge');
    const settledFrom = performance.now();
    let finalConvergedMs: number | null = null;
    try {
      await until(() => nodeIds.every((id) => watch.nodeServes(id)) && watch.gatewaysAgree(new Set()) && pool.settled() === o.users, 60_000, 'final convergence');
      finalConvergedMs = Math.round(performance.now() - settledFrom);
    } catch {
      // reported as null; what it waited for, for a look:
      progress(`no convergence within 60 s: ${watch.describe()}; users connected ${pool.settled()} of ${o.users}`);
    }
    traffic.stop();
    await traffic.drain(GRACE_MS * 3);
    await sleep(500);
    await pool.flush();
    const nodeStats = watch.nodeStats();
    const crashes = [...parts.values()].map((p) => p.crashed).filter((c): c is string => c !== null);

    progress('stopping the cluster');
    const endedAt = Date.now();
    await pool.stop();
    await Promise.all([...parts.values()].map((p) => p.stop()));
    const ownership = measureOwnership(
      [...incarnations.values()].map((i): Incarnation => ({
        name: i.name, lines: parseOwnershipLog(readTextOr(i.file)), endedAt: Math.min(i.endedAt, endedAt), frozen: i.frozen,
      })),
    );
    const records = [...traffic.records.values()];
    const counts = countOutcomes(records);
    let unknownReceived = 0;
    const unknownReasons: Record<string, number> = {};
    const violations: ChaosReport['violations'][number][] = [];
    for (const r of records) {
      for (const [user, x] of r.recipients) {
        if (x.told === 'unknown' && x.receivedAt !== undefined) unknownReceived++;
        if (x.told === 'unknown' && x.receivedAt === undefined) {
          // "http: POST ...: timed out" and the like: the part before any address or detail.
          const reason = (x.reason ?? 'none').replace(/^http: .*?(ECONNRESET|ECONNREFUSED|socket hang up|timed out|EPIPE|: \d{3} ).*$/, 'http: $1').replace(/^retried after a lost answer, then .*$/, 'retried after a lost answer');
          unknownReasons[reason] = (unknownReasons[reason] ?? 0) + 1;
        }
        const broken = x.receivedAt !== undefined ? x.told === 'failed' : x.told === undefined || x.told === 'delivered';
        if (broken && violations.length < 20) {
          violations.push({
            id: r.id, user, told: x.told ?? 'nothing', ...(x.reason !== undefined ? { reason: x.reason } : {}), sentAt: Math.round(r.sentAt - t0),
            ...(x.receivedAt !== undefined ? { receivedAt: Math.round(x.receivedAt - t0) } : {}),
          });
        }
      }
    }
    return {
      seed: o.seed, durationMs: o.durationMs,
      settings: { users: o.users, nodes: o.nodes, gateways: o.gateways, oneToOneRate: o.oneToOneRate, groupRate: o.groupRate, ttlMs: o.ttlMs, heartbeatMs, graceMs: GRACE_MS },
      planned: schedule.length, faults: results,
      messages: { ...counts, unknownReceived, misrouted: traffic.misrouted, skipped: traffic.skipped, failureReasons: failureReasons(records), unknownReasons },
      ownership: { attaches: ownership.attaches, usersAffected: ownership.usersAffected, totalMs: Math.round(ownership.totalMs), maxMs: Math.round(ownership.maxMs), worst: ownership.overlaps.slice(0, 5) },
      finalConvergedMs,
      fences: nodeStats.reduce((n, s) => n + s.fences, 0),
      fencedCloses: nodeStats.reduce((n, s) => n + s.fencedCloses, 0),
      crashes,
      failedStarts: [...parts.values()].reduce((n, p) => n + p.failedStarts, 0),
      violations,
    };
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    for (const f of cleanup.reverse()) await Promise.resolve().then(f).catch(() => undefined);
    if (o.traceDir === undefined) rmSync(dir, { recursive: true, force: true });
  }
}

/** Starts each fault at its time (later if the previous fault on its target has not ended), all lanes at once; resolves with every result. */
async function runSchedule(schedule: readonly Fault[], ctx: FaultContext, progress: (line: string) => void): Promise<FaultResult[]> {
  const running: Array<Promise<FaultResult>> = [];
  // A fault waits for the last one that held any of its parts (the schedule's times are nominal).
  const last = new Map<string, Promise<unknown>>();
  let reported = 0;
  for (const fault of schedule) {
    const wait = fault.at - ctx.now();
    if (wait > 0) await sleep(wait);
    const parts = [fault.target, ...(fault.peer !== undefined && fault.peer !== 'store' ? [fault.peer] : [])];
    const before = Promise.all(parts.map((p) => last.get(p)));
    const result = before.then(() => runFault(fault, ctx));
    for (const p of parts) last.set(p, result);
    running.push(result);
    if (ctx.now() - reported > 30_000) {
      reported = ctx.now();
      progress(`  ${(reported / 1000).toFixed(0)} s: ${fault.seq} faults started`);
    }
  }
  return Promise.all(running);
}

async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`no ${what} within ${timeoutMs} ms`);
    await sleep(50);
  }
}

function readTextOr(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
