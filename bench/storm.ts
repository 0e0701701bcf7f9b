/**
 * Connection storms (issue 19): N users arrive uniformly within one second
 * and each opens a WebSocket through a gateway to an app node. Three
 * gateways take turns in front of the SAME app nodes:
 *
 * - `ringroute`: `GatewayHandler` (src/gateway) on `node:http` with
 *   `gatewayServerOptions(limits)` and `watch(server)`, in its own process
 *   (bench/storm-gateway.ts); `insecure: true` for the bench (the `user`
 *   parameter is trusted, as the proxies trust it; `--auth=jwt` runs it with
 *   HS256 tokens); `--gateway-limits=JSON` is passed as its `limits`;
 * - `nginx` 1.22 with ONE worker and HAProxy 2.6 with `nbthread 1`
 *   (bench/storm-proxies.ts: `hash $arg_user consistent` / `balance
 *   url_param user` with consistent hashing, configs and descriptor sizing
 *   documented there), the upstream / backend rendered from the run's ring.
 *
 * The app nodes (bench/storm-node.ts, `--nodes`, default 4) are processes
 * with a `node:http` server, a `ws` `WebSocketServer({ noServer: true })`
 * and a `HandshakeGate` (src/sessions) that accepts ANY user and sends
 * `{"t":"welcome","v":1,"node":"<id>"}`: ownership checks are not what is
 * measured. They ping every session every 25 s, as `SessionNode` does, so
 * no gateway's idle timeout cuts a live session. The users (bench/storm-users.ts) run in processes of at most
 * 15,000 sockets, spread over source addresses 127.0.0.2, 127.0.0.3, ...
 * (ws `localAddress`, about 4,000 users per address), arrive uniformly over
 * 1 s, and retry every failure with full-jitter backoff (1 s doubling to
 * 10 s), waiting at least `Retry-After` when a refusal (ws
 * 'unexpected-response') carries one. A user is connected when its node's
 * welcome frame arrives; sessions stay open to the end of the run.
 *
 * Descriptors: the limit here is 20,000 per process (`ulimit -Hn`, which
 * nothing may raise). A gateway holds 2 per tunnel, so one process holds
 * about 9,900 (nginx `worker_connections` 19,800, HAProxy `maxconn` 9,900;
 * ringroute's gateway keeps `maxTunnels` = 8,769 by default, 45% of the
 * budget left after 512 reserved). At N = 20,000 no gateway process holds
 * everyone: the run then shows each "at the descriptor limit" (connected
 * count, attempts per user, refusals by kind, CPU burnt) until its time
 * bound. `--procs=K` (or `auto`, one per 7,500 users) gives each gateway
 * more processes (ringroute: `node:cluster` workers, nginx workers with
 * `reuseport`, HAProxy processes on one port), outside the issue's
 * one-process comparison.
 *
 * Measured per run (bench/storm-run.ts, bench/storm-stats.ts): time to
 * 50/90/99/100% connected from the first arrival; peak connects per second
 * (250 ms bins); "no collapse": while arrived-but-unconnected users remain,
 * the lowest bin rate as a share of the peak (the first bin ignored; bins
 * after the arrivals count while users wait); attempts per user; failed
 * attempts by kind (`HTTP <status>`, connect error codes, `timeout`,
 * `close <code>` before the welcome); the gateway's CPU seconds (utime +
 * stime from /proc/<pid>/stat of its process and children, nginx's master
 * and worker, before and after) and per 1,000 connections; its peak open
 * descriptors (/proc/<pid>/fd every 500 ms). Before the storm, 500
 * connections go through the gateway and are closed again, and each users
 * process opens 300 to a throwaway server of its own: every Node process's
 * code is compiled, as on servers that have been running. A run measures
 * until everyone connected (then waits 2 s and counts who is still up) or
 * for 60 s + N/500 s, then reports what it has.
 *
 *   npm run bench:storm                     # N = 5,000 and 20,000; all three gateways (about 5 minutes)
 *   npm run bench:storm -- --n=5000 --gateways=ringroute,nginx
 *   npm run bench:storm -- --n=20000 --json=storm.json
 *   npm run bench:storm -- --gateways=ringroute --gateway-limits='{"maxPendingUpgrades":256}'
 *
 * Options: --n=LIST --gateways=LIST --nodes=K --procs=LIST (numbers or
 * auto; default 1) --gateway-limits=JSON --auth=insecure|jwt
 * --cluster-scheduling=none|rr --users-per-process=K --bin-ms=K (the rate's
 * bins, default 250) --json=FILE. The
 * table is printed as markdown; --json writes every figure, with the
 * connects per bin, the users' start lag and the gateway's own counters.
 */
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import type { GatewayLimits } from '../src/gateway/index.js';
import { table } from './storm-report.js';
import { ALL_GATEWAYS, GATEWAYS, type GatewayKind, type ProcsSetting, runStorm } from './storm-run.js';

const t0 = performance.now();
const log = (line: string): void => void process.stderr.write(`[${((performance.now() - t0) / 1000).toFixed(1)}s] ${line}\n`);

function option(name: string): string | undefined {
  const found = process.argv.find((a) => a.startsWith(`--${name}=`));
  return found?.slice(name.length + 3);
}

function list(name: string, fallback: string): string[] {
  return (option(name) ?? fallback).split(',').map((s) => s.trim()).filter((s) => s !== '');
}

function positiveInteger(text: string, name: string): number {
  const n = Number(text.replace(/_/g, ''));
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} takes integers >= 1, got ${JSON.stringify(text)}`);
  return n;
}

const ns = list('n', '5000,20000').map((s) => positiveInteger(s, 'n'));
const gateways = list('gateways', GATEWAYS.join(',')).map((g) => {
  if (!ALL_GATEWAYS.includes(g as GatewayKind)) throw new Error(`--gateways takes ${ALL_GATEWAYS.join(', ')}; got ${JSON.stringify(g)}`);
  return g as GatewayKind;
});
const procs: ProcsSetting[] = list('procs', '1').map((p) => (p === 'auto' ? 'auto' : positiveInteger(p, 'procs')));
const nodes = positiveInteger(option('nodes') ?? '4', 'nodes');
const auth = option('auth') ?? 'insecure';
if (auth !== 'insecure' && auth !== 'jwt') throw new Error(`--auth takes insecure or jwt, got ${JSON.stringify(auth)}`);
const limitsText = option('gateway-limits');
let gatewayLimits: GatewayLimits = {};
if (limitsText !== undefined) {
  try {
    gatewayLimits = JSON.parse(limitsText) as GatewayLimits;
  } catch (error) {
    throw new Error(`--gateway-limits must be a JSON object: ${(error as Error).message}`);
  }
}
const json = option('json');

log(`storm: N = ${ns.join(', ')}; ${gateways.join(', ')}; ${nodes} nodes; gateway processes ${procs.join(', ')}; load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
const scheduling = option('cluster-scheduling') ?? 'none';
if (scheduling !== 'rr' && scheduling !== 'none') throw new Error(`--cluster-scheduling takes none or rr, got ${JSON.stringify(scheduling)}`);
const usersPerProcess = option('users-per-process');
const binMs = option('bin-ms');
const report = await runStorm({
  n: ns, gateways, nodes, procs, gatewayLimits, auth, clusterScheduling: scheduling, progress: log,
  ...(usersPerProcess === undefined ? {} : { usersPerProcess: positiveInteger(usersPerProcess, 'users-per-process') }),
  ...(binMs === undefined ? {} : { binMs: positiveInteger(binMs, 'bin-ms') }),
});
console.log(table(report));
if (json !== undefined) {
  writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
  log(`wrote ${json}`);
}
process.exit(0);
