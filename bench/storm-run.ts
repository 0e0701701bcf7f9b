/**
 * The connection-storm benchmark's runner (the command line is
 * bench/storm.ts, which documents the method): {@link runStorm} starts the
 * app nodes once, then for every N, gateway-process setting and gateway
 * runs one storm and measures it. Usable from a test with a small N.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { WebSocket } from 'ws';
import type { RingNode } from '../src/index.js';
import type { GatewayLimits } from '../src/gateway/index.js';
import { descriptorLimit } from '../src/sessions/index.js';
import { ask, forget, spawnChild, stopChild, track } from './storm-children.js';
import type { GatewayProcessConfig } from './storm-gateway.js';
import { type ProxyKind, type StormProxy, findBinary, startProxy } from './storm-proxies.js';
import type { StormReport, StormRow } from './storm-report.js';
import { childrenOf, connectCurve, cpuSeconds, descriptors, quantile } from './storm-stats.js';
import type { UsersConfig, UsersReport } from './storm-users.js';

export type { StormReport, StormRow } from './storm-report.js';
export type GatewayKind = 'ringroute' | 'node-bare' | 'node-http-bare' | ProxyKind;
/** The issue's comparison, run by default. */
export const GATEWAYS: readonly GatewayKind[] = ['ringroute', 'nginx', 'haproxy'];
/** Every kind `--gateways` takes: `node-bare` is the floor under ringroute's gateway, `node-http-bare` the same behind `node:http` (bench/storm-bare.ts). */
export const ALL_GATEWAYS: readonly GatewayKind[] = [...GATEWAYS, 'node-bare', 'node-http-bare'];

/** Gateway processes (workers) per run: a number, or `auto`: enough for N to fit ({@link autoProcs}). */
export type ProcsSetting = number | 'auto';

/** Users per gateway process that `auto` plans for: below the ~9,900 tunnels a process can hold under a 20,000 limit (8,769 under ringroute's default maxTunnels), with room for an uneven spread. */
export const USERS_PER_GATEWAY_PROCESS = 7500;

/** Options of {@link runStorm}. */
export interface StormOptions {
  /** Users per run. @default [5000, 20000] */
  readonly n?: readonly number[];
  /** @default ['ringroute', 'nginx', 'haproxy'] */
  readonly gateways?: readonly GatewayKind[];
  /** App-node processes. @default 4 */
  readonly nodes?: number;
  /** Gateway processes per run; each setting is a separate row (duplicates for one N are run once). The issue's comparison is one process each: ringroute's gateway process, one nginx worker, one HAProxy process with one thread. @default [1] */
  readonly procs?: readonly ProcsSetting[];
  /** ringroute gateway `limits` (passed to `GatewayHandler` and `gatewayServerOptions` as given). @default {} */
  readonly gatewayLimits?: GatewayLimits;
  /** ringroute gateway authentication: `insecure: true`, or JWT (HS256) with tokens the users send as `?token=`. @default 'insecure' */
  readonly auth?: 'insecure' | 'jwt';
  /**
   * How ringroute's cluster workers get connections: `none`, each worker
   * accepts from the shared listening socket (as nginx's workers and the
   * HAProxy processes do); `rr`, Node's default, the primary accepts every
   * connection and passes it to a worker over IPC.
   * @default 'none'
   */
  readonly clusterScheduling?: 'rr' | 'none';
  /** Users arrive uniformly over this. @default 1000 */
  readonly spreadMs?: number;
  /** Width of the connect-rate bins. @default 250 */
  readonly binMs?: number;
  /** After everyone connected, wait this long before counting who is still up. @default 2000 */
  readonly holdMs?: number;
  /** A run stops measuring after this, from its start. @default 60 s + 2N ms (60 s + N/500 s) */
  readonly timeBoundMs?: (n: number) => number;
  /** Connections opened and closed through each gateway before its storm, to compile the gateway's and the nodes' code. @default 500 */
  readonly warmup?: number;
  /** Users' handshake timeout (connect and upgrade). @default 10000 */
  readonly handshakeTimeoutMs?: number;
  /** Users' first backoff window after a failure. @default 1000 (SessionClient's default) */
  readonly backoffMs?: number;
  /** Users' largest backoff window, and cap on Retry-After: SessionClient's default. @default 30000 */
  readonly maxBackoffMs?: number;
  /** Most users in one process. @default 15000 */
  readonly usersPerProcess?: number;
  /** A missing nginx/haproxy binary: `skip` its runs (noted in the report) or `fail`. @default 'skip' */
  readonly missingProxy?: 'skip' | 'fail';
  /** The gateway's open descriptors are counted this often. @default 500 */
  readonly fdSampleMs?: number;
  /** Progress lines. @default none */
  readonly progress?: (line: string) => void;
}

/** `auto`: one gateway process per {@link USERS_PER_GATEWAY_PROCESS} users. */
export function autoProcs(n: number): number {
  return Math.max(1, Math.ceil(n / USERS_PER_GATEWAY_PROCESS));
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const now = (): number => performance.timeOrigin + performance.now();

/** One WebSocket through the gateway as `user`: resolves with its welcome (then closes it), or with why it failed. */
function openOnce(port: number, user: string, token: string | null): Promise<string | null> {
  return new Promise((resolve) => {
    let why = '';
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws?user=${user}${token === null ? '' : `&token=${token}`}`, { handshakeTimeout: 3000, perMessageDeflate: false });
    ws.on('message', (data) => {
      if (!data.toString().startsWith('{"t":"welcome"')) return;
      ws.terminate();
      resolve(null);
    });
    ws.on('unexpected-response', (_req, res) => {
      why = `HTTP ${res.statusCode}`;
      ws.terminate();
    });
    ws.on('error', (error) => (why ||= error.message));
    ws.on('close', (code) => resolve(why || `close ${code}`));
  });
}

/**
 * Until a probe gets its welcome through the gateway (everything is up and
 * the gateway and the nodes agree), then `warm` more connections, 20 at a
 * time, closed again: the gateway's and the nodes' code is compiled before
 * the storm, as on a server that has been running.
 */
async function probeAndWarm(port: number, warm: number, token: ((user: string) => Promise<string>) | null, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const open = async (user: string): Promise<string | null> => openOnce(port, user, token === null ? null : await token(user));
  for (;;) {
    const why = await open('probe');
    if (why === null) break;
    if (Date.now() > deadline) throw new Error(`no welcome through the gateway on port ${port} within ${timeoutMs} ms (last: ${why})`);
    await sleep(200);
  }
  let next = 0;
  await Promise.all(Array.from({ length: 20 }, async () => {
    while (next < warm) await open(`warm${next++}`);
  }));
}

/** Signs HS256 tokens (`sub` = the user) for a gateway with `createJwtAuthenticator({ secret })`, as the users do. */
async function jwtSigner(secret: string): Promise<(user: string) => Promise<string>> {
  const { SignJWT } = await import('jose');
  const key = new TextEncoder().encode(secret);
  return (user) => new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(user).setExpirationTime('2h').sign(key);
}

/** The most frequent log lines, timestamps, pids and connection numbers stripped. */
function summarizeLog(text: string): Record<string, number> {
  const counts = new Map<string, number>();
  for (const raw of text.split('\n')) {
    const line = raw
      .replace(/^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d /, '')
      .replace(/\d+#\d+: \*?\d*:? ?/, '')
      .replace(/, client: .*$/, '')
      .replace(/\(\d+\)/g, '(N)')
      .trim()
      .slice(0, 120);
    if (line !== '') counts.set(line, (counts.get(line) ?? 0) + 1);
  }
  return Object.fromEntries([...counts].sort((a, b) => b[1] - a[1]).slice(0, 6));
}

/** The machine, as docs/benchmarks.md reports it. */
function machine(): StormReport['machine'] {
  let cpu = cpus()[0]?.model ?? 'unknown';
  try {
    cpu = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpu;
  } catch {
    // not Linux
  }
  return { nproc: cpus().length, cpu, node: process.version, descriptorLimit: descriptorLimit() ?? 0 };
}

/**
 * Runs the storms: the app nodes are started once and shared by every run;
 * each run gets its own gateway and users processes, stopped after it.
 */
export async function runStorm(options: StormOptions = {}): Promise<StormReport> {
  const ns = options.n ?? [5000, 20_000];
  const gateways = options.gateways ?? GATEWAYS;
  const nodeCount = options.nodes ?? 4;
  const procsSettings = options.procs ?? [1];
  const limits = options.gatewayLimits ?? {};
  const auth = options.auth ?? 'insecure';
  const scheduling = options.clusterScheduling ?? 'none';
  const spreadMs = options.spreadMs ?? 1000;
  const binMs = options.binMs ?? 250;
  const holdMs = options.holdMs ?? 2000;
  const warmup = options.warmup ?? 500;
  const timeBound = options.timeBoundMs ?? ((n: number) => 60_000 + 2 * n);
  const usersPerProcess = options.usersPerProcess ?? 15_000;
  const fdSampleMs = options.fdSampleMs ?? 500;
  const progress = options.progress ?? (() => undefined);
  const limit = descriptorLimit() ?? 20_000;
  const secret = randomBytes(32).toString('hex');
  const settings = {
    nodes: nodeCount, procs: procsSettings, gatewayLimits: limits, auth, clusterScheduling: scheduling, spreadMs, binMs, holdMs, warmup,
    handshakeTimeoutMs: options.handshakeTimeoutMs ?? 10_000, backoffMs: options.backoffMs ?? 1000, maxBackoffMs: options.maxBackoffMs ?? 30_000, usersPerProcess, fdSampleMs,
  };
  const rows: StormRow[] = [];
  const skipped: string[] = [];
  const available = gateways.filter((g) => {
    if (g === 'ringroute' || g === 'node-bare' || g === 'node-http-bare' || findBinary(g) !== null) return true;
    const reason = `${g}: no ${g} binary on PATH or in /usr/sbin`;
    if (options.missingProxy === 'fail') throw new Error(reason);
    skipped.push(reason);
    progress(`skipping ${reason}`);
    return false;
  });

  const nodes: Array<{ id: string; child: ChildProcess; port: number }> = [];
  try {
    const starting = Array.from({ length: nodeCount }, (_, i) => ({ id: `node-${i + 1}`, child: spawnChild('./storm-node.ts', { id: `node-${i + 1}` }) }));
    for (const { id, child } of starting) nodes.push({ id, child, port: (await ask<{ port: number }>(child, 'ready', 'ready', false)).port });
    const members: RingNode[] = nodes.map((n) => ({ id: n.id, meta: { url: `ws://127.0.0.1:${n.port}`, server: `127.0.0.1:${n.port}` } }));
    let runIndex = 0;
    for (const n of ns) {
      const procsList = [...new Set(procsSettings.map((p) => (p === 'auto' ? autoProcs(n) : p)))];
      for (const procs of procsList) {
        for (const gateway of available) {
          progress(`run ${runIndex + 1}: ${gateway}, N=${n}, ${procs} gateway process${procs === 1 ? '' : 'es'}; load ${loadavg()[0]!.toFixed(2)}`);
          const row = await runOne({ gateway, n, procs, runIndex, members, nodes, limit, secret, limits, auth, scheduling, spreadMs, binMs, holdMs, warmup, timeBoundMs: timeBound(n), usersPerProcess, fdSampleMs, settings, progress });
          rows.push(row);
          progress(
            `  ${row.connected}/${n} connected, 100% ${row.msTo.p100 === null ? 'not reached' : `in ${row.msTo.p100} ms`}, peak ${row.peakPerSecond}/s, ` +
              `${row.attempts.perUser} attempts/user, gateway CPU ${row.gatewayCpuSeconds} s, peak fds ${row.peakDescriptors.perProcess}`,
          );
          runIndex++;
        }
      }
    }
  } finally {
    await Promise.all(nodes.map((n) => stopChild(n.child)));
  }
  return { date: new Date().toISOString(), machine: machine(), settings, rows, skipped };
}

interface RunContext {
  readonly gateway: GatewayKind;
  readonly n: number;
  readonly procs: number;
  readonly runIndex: number;
  readonly members: readonly RingNode[];
  readonly nodes: ReadonlyArray<{ child: ChildProcess; port: number }>;
  readonly limit: number;
  readonly secret: string;
  readonly limits: GatewayLimits;
  readonly auth: 'insecure' | 'jwt';
  readonly scheduling: 'rr' | 'none';
  readonly spreadMs: number;
  readonly binMs: number;
  readonly holdMs: number;
  readonly warmup: number;
  readonly timeBoundMs: number;
  readonly usersPerProcess: number;
  readonly fdSampleMs: number;
  readonly settings: { handshakeTimeoutMs: number; backoffMs: number; maxBackoffMs: number };
  readonly progress: (line: string) => void;
}

async function runOne(c: RunContext): Promise<StormRow> {
  const { gateway, n, procs } = c;
  // The gateway.
  let port: number;
  let gatewayPids: () => number[];
  let gatewayChild: ChildProcess | null = null;
  let proxy: StormProxy | null = null;
  if (gateway === 'ringroute' || gateway === 'node-bare' || gateway === 'node-http-bare') {
    const bare = gateway === 'node-bare' ? { bare: 'net' as const } : gateway === 'node-http-bare' ? { bare: 'http' as const } : {};
    const config: GatewayProcessConfig = { members: c.members, procs, limits: c.limits, auth: c.auth, secret: c.secret, scheduling: c.scheduling, ...bare };
    // STORM_GATEWAY_NODE_OPTIONS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") profiles ringroute's gateway alone.
    gatewayChild = spawnChild('./storm-gateway.ts', config, (process.env.STORM_GATEWAY_NODE_OPTIONS ?? '').split(' ').filter((a) => a !== ''));
    const ready = await ask<{ port: number; pids: number[] }>(gatewayChild, 'ready', 'ready', false);
    port = ready.port;
    // The gateway process and its children (cluster workers; tsx's esbuild service, idle after startup).
    gatewayPids = () => [...new Set([...ready.pids, ...ready.pids.flatMap(childrenOf)])];
  } else {
    proxy = track(await startProxy(gateway, c.members, procs, c.limit));
    port = proxy.port;
    gatewayPids = proxy.pids;
  }
  const users: ChildProcess[] = [];
  try {
    await probeAndWarm(port, c.warmup, gateway === 'ringroute' && c.auth === 'jwt' ? await jwtSigner(c.secret) : null);

    // The users: at most usersPerProcess each, on source addresses 127.0.0.2, 127.0.0.3, ... (about 4,000 users per
    // address, 16 addresses per run, so a run does not meet the previous run's TIME_WAIT ports).
    const processes = Math.ceil(n / c.usersPerProcess);
    const per = Math.ceil(n / processes);
    const perProcess = Math.max(1, Math.ceil(Math.max(2, Math.ceil(n / 4000)) / processes));
    for (let p = 0; p < processes; p++) {
      const from = p * per;
      const count = Math.min(per, n - from);
      const sources = Array.from({ length: perProcess }, (_, k) => `127.0.0.${2 + ((c.runIndex * 16 + p * perProcess + k) % 250)}`);
      const config: UsersConfig = {
        from, count, port, sources, auth: c.auth, secret: c.secret, spreadMs: c.spreadMs,
        handshakeTimeoutMs: c.settings.handshakeTimeoutMs, backoffMs: c.settings.backoffMs, maxBackoffMs: c.settings.maxBackoffMs, seed: 1 + c.runIndex * 1000 + p,
      };
      users.push(spawnChild('./storm-users.ts', config));
    }
    await Promise.all(users.map((u) => ask(u, 'ready', 'ready', false, 120_000)));

    const connected = new Map<ChildProcess, number>();
    for (const u of users) {
      connected.set(u, 0);
      u.on('message', (m: { type: string; connected?: number }) => {
        if (m.type === 'status') connected.set(u, m.connected!);
      });
    }
    const loadBefore = loadavg()[0]!;
    const nodePids = c.nodes.map((node) => node.child.pid!);
    const cpu = (pids: number[]): number => pids.reduce((s, pid) => s + cpuSeconds(pid), 0);
    const startAt = now() + 300;
    for (const u of users) u.send({ type: 'go', startAt });
    await sleep(Math.max(0, startAt - now()));
    const pids0 = gatewayPids();
    const gatewayCpu0 = pids0.map(cpuSeconds);
    const nodesCpu0 = cpu(nodePids);

    // Descriptors of the gateway's processes, every fdSampleMs.
    let peakPerProcess = 0;
    let peakTotal = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const counts = await Promise.all(gatewayPids().map(descriptors));
        peakPerProcess = Math.max(peakPerProcess, ...counts);
        peakTotal = Math.max(peakTotal, counts.reduce((a, b) => a + b, 0));
        await sleep(c.fdSampleMs);
      }
    })();

    const deadline = startAt + c.timeBoundMs;
    let all = false;
    let lastLog = now();
    for (;;) {
      const total = [...connected.values()].reduce((a, b) => a + b, 0);
      if (total >= n) {
        all = true;
        break;
      }
      if (now() > deadline) break;
      if (now() - lastLog > 10_000) {
        lastLog = now();
        c.progress(`  ${((now() - startAt) / 1000).toFixed(0)} s: ${total}/${n} connected`);
      }
      await sleep(50);
    }
    const endAt = now();
    const gatewayCpuByProcess = pids0.map((pid, i) => round2(cpuSeconds(pid) - gatewayCpu0[i]!));
    const gatewayCpu = gatewayCpuByProcess.reduce((a, b) => a + b, 0);
    const nodesCpu = cpu(nodePids) - nodesCpu0;
    const loadAfter = loadavg()[0]!;
    if (all) await sleep(c.holdMs);
    sampling = false;
    await sampler;

    const reports = await Promise.all(users.map(async (u) => (await ask<{ report: UsersReport }>(u, 'report')).report));
    const nodeSessions = (await Promise.all(c.nodes.map((node) => ask<{ sessions: number }>(node.child, 'stats')))).reduce((s, r) => s + r.sessions, 0);
    const gatewayStats = gatewayChild === null ? undefined : (await ask<{ stats: Record<string, unknown> }>(gatewayChild, 'stats')).stats;

    const arrivals = reports.flatMap((r) => r.arrivals);
    const connects = reports.flatMap((r) => r.connects);
    const attempts = reports.flatMap((r) => r.attempts);
    const lags = reports.flatMap((r) => r.lags);
    const refusals: Record<string, number> = {};
    for (const r of reports) for (const [kind, count] of Object.entries(r.refusals)) refusals[kind] = (refusals[kind] ?? 0) + count;
    const curve = connectCurve(arrivals, connects, n, endAt, c.binMs);
    // The same with each user's real first attempt as its arrival: on a busy machine the users' own processes start
    // late, and users not yet trying are no backlog at the gateway.
    const started = connectCurve(reports.flatMap((r) => r.started), connects, n, endAt, c.binMs);
    const firstArrival = arrivals.reduce((m, a) => Math.min(m, a), Infinity);
    const totalAttempts = attempts.reduce((a, b) => a + b, 0);
    return {
      gateway, n, procs,
      auth: gateway === 'ringroute' ? c.auth : 'none',
      connected: connects.length,
      upAtEnd: reports.reduce((s, r) => s + r.up, 0),
      nodeSessions,
      dropped: reports.reduce((s, r) => s + r.dropped, 0),
      timedOut: !all,
      measuredMs: Math.round(endAt - firstArrival),
      msTo: curve.msTo,
      peakPerSecond: curve.peakPerSecond,
      binMs: c.binMs,
      noCollapse: curve.noCollapse,
      noCollapseStarted: started.noCollapse,
      connectsPerBin: curve.perBin,
      arrivalLagMs: { p50: Math.round(quantile(lags, 0.5)), p99: Math.round(quantile(lags, 0.99)), max: Math.round(quantile(lags, 1)) },
      attempts: { total: totalAttempts, perUser: Math.round((totalAttempts / n) * 100) / 100, p99: quantile(attempts, 0.99), max: attempts.reduce((m, a) => Math.max(m, a), 0) },
      refusals,
      gatewayCpuSeconds: round2(gatewayCpu),
      gatewayCpuByProcess,
      cpuMsPer1000: connects.length === 0 ? null : Math.round((gatewayCpu * 1000) / (connects.length / 1000)),
      peakDescriptors: { perProcess: peakPerProcess, total: peakTotal },
      nodesCpuSeconds: round2(nodesCpu),
      usersCpuSeconds: round2(reports.reduce((s, r) => s + r.cpuSeconds, 0)),
      load: { before: round2(loadBefore), after: round2(loadAfter) },
      ...(gatewayStats === undefined ? {} : { gatewayStats }),
      ...(proxy === null ? {} : { proxyLog: summarizeLog(proxy.log()) }),
    };
  } finally {
    await Promise.all(users.map(stopChild));
    if (gatewayChild !== null) await stopChild(gatewayChild);
    if (proxy !== null) {
      await proxy.stop();
      forget(proxy);
    }
    // The next run starts from empty nodes.
    await Promise.all(c.nodes.map((node) => ask(node.child, 'drop', 'drop-done')));
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      const sessions = await Promise.all(c.nodes.map((node) => ask<{ sessions: number }>(node.child, 'stats')));
      if (sessions.every((s) => s.sessions === 0)) break;
      await sleep(200);
    }
    await sleep(1000);
  }
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
