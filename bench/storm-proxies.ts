/**
 * nginx 1.22 and HAProxy 2.6 as gateways of the connection-storm benchmark
 * (bench/storm.ts): each started from its binary with its own config in a
 * temp folder, listening on a free 127.0.0.1 port, routing `/ws?user=` by
 * consistent hashing to the run's app nodes, with the upstream / backend
 * rendered from the run's ring by ringroute (`renderNginxUpstream`,
 * `renderHaproxyBackend`), so the proxy and the nodes agree on every owner.
 *
 * Sized honestly for the process's open-file limit L (`ulimit -n`, 20,000
 * here), which neither may raise: a proxied WebSocket holds two descriptors
 * (client and upstream), and 200 are left for listeners, logs and pipes.
 *
 * - nginx: `worker_processes procs`, `worker_rlimit_nofile L`,
 *   `worker_connections L - 200` (nginx counts both sides of a proxied
 *   connection: (L - 200) / 2 = 9,900 tunnels per worker), `listen ...
 *   reuseport` (one accept queue per worker, filled by the kernel's hash),
 *   `proxy_next_upstream off` (a user is never sent to a node that does not
 *   own it, as with ringroute's gateway).
 * - HAProxy: `procs` separate processes (threads share one descriptor
 *   table, so only processes add capacity), each `nbthread 1`,
 *   `maxconn (L - 200) / 2` = 9,900 (HAProxy needs 2 x maxconn + a few
 *   descriptors and refuses to start above the limit), all binding the same
 *   port (HAProxy sets SO_REUSEPORT on its listeners).
 *
 * Both listen with `backlog 4096` (net.core.somaxconn here), as the
 * ringroute gateway and the nodes do.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findBinary, freePort, reachable, stopProcess } from '../examples/proxy-gateway/proxy.js';
import { HashRing, type RingNode } from '../src/index.js';
import { haproxyPlacement, renderHaproxyBackend } from '../src/proxy/haproxy/index.js';
import { nginxPlacement, renderNginxUpstream } from '../src/proxy/nginx/index.js';
import { childrenOf, listeners } from './storm-stats.js';

export type ProxyKind = 'nginx' | 'haproxy';

/** Descriptors each proxy process keeps besides its tunnels' two each. */
const SPARE_DESCRIPTORS = 200;

/** A running proxy. */
export interface StormProxy {
  readonly port: number;
  /** Its processes now (nginx: the master and its workers). */
  pids(): number[];
  /** Its log and stderr so far. */
  log(): string;
  /** SIGTERM, SIGKILL after 5 s, folder removed. Idempotent. */
  stop(): Promise<void>;
  /** On process exit: SIGKILL and remove the folder, synchronously. */
  killNow(): void;
}

export { findBinary };

/** Starts `kind` with `procs` processes (workers) in front of `members`, for a descriptor limit of `limit`. */
export async function startProxy(kind: ProxyKind, members: readonly RingNode[], procs: number, limit: number): Promise<StormProxy> {
  const binary = findBinary(kind);
  if (binary === null) throw new Error(`no ${kind} binary on PATH or in /usr/sbin (install the Debian package ${kind})`);
  const dir = mkdtempSync(join(tmpdir(), `ringroute-storm-${kind}-`));
  const port = await freePort();
  const children: ChildProcess[] = [];
  let out = '';
  const capture = (child: ChildProcess): void => {
    child.stdout?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
    child.stderr?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  };
  if (kind === 'nginx') {
    const ring = await HashRing.create(members, { placement: nginxPlacement() });
    writeFileSync(join(dir, 'upstream.conf'), renderNginxUpstream(ring, { name: 'ringroute', argument: 'user' }));
    writeFileSync(join(dir, 'nginx.conf'), nginxConfig(dir, port, procs, limit));
    const child = spawn(binary, ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
    capture(child);
    children.push(child);
  } else {
    const ring = await HashRing.create(members, { placement: haproxyPlacement() });
    writeFileSync(join(dir, 'haproxy.cfg'), haproxyConfig(port, limit) + renderHaproxyBackend(ring, { name: 'ringroute', param: 'user' }));
    for (let i = 0; i < procs; i++) {
      const child = spawn(binary, ['-db', '-f', join(dir, 'haproxy.cfg')], { stdio: ['ignore', 'pipe', 'pipe'] });
      capture(child);
      children.push(child);
      // One at a time: each must have bound its own listener before the next starts.
      await until(() => listeners(port) >= i + 1, children, 10_000, `haproxy process ${i + 1} to listen`);
    }
  }
  const log = (): string => {
    try {
      return out + (kind === 'nginx' ? readFileSync(join(dir, 'error.log'), 'utf8').slice(-20_000) : '');
    } catch {
      return out;
    }
  };
  const pids = (): number[] => (kind === 'nginx' ? [children[0]!.pid!, ...childrenOf(children[0]!.pid!)] : children.map((c) => c.pid!));
  const alive = (c: ChildProcess): boolean => c.exitCode === null && c.signalCode === null;
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await Promise.all(children.map((child) => stopProcess(child)));
    rmSync(dir, { recursive: true, force: true });
  };
  const killNow = (): void => {
    for (const child of children) if (alive(child)) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await until(async () => (await reachable({ port })) && (kind === 'haproxy' || childrenOf(children[0]!.pid!).length >= procs), children, 10_000, `${kind} to listen`);
  } catch (error) {
    await stop();
    throw new Error(`${(error as Error).message}: ${log().slice(-2000)}`);
  }
  return { port, pids, log, stop, killNow };
}

function nginxConfig(dir: string, port: number, procs: number, limit: number): string {
  return [
    'daemon off;',
    'master_process on;',
    `worker_processes ${procs};`,
    `worker_rlimit_nofile ${limit};`,
    `pid ${dir}/nginx.pid;`,
    `error_log ${dir}/error.log error;`,
    `events { worker_connections ${limit - SPARE_DESCRIPTORS}; }`,
    'http {',
    '  access_log off;',
    `  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fcgi; uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;`,
    "  map $http_upgrade $connection_upgrade { default upgrade; '' close; }",
    `  include ${dir}/upstream.conf;`,
    '  server {',
    `    listen 127.0.0.1:${port} reuseport backlog=4096;`,
    '    location / {',
    '      proxy_pass http://ringroute;',
    '      proxy_http_version 1.1;',
    '      proxy_set_header Upgrade $http_upgrade;',
    '      proxy_set_header Connection $connection_upgrade;',
    '      proxy_connect_timeout 5s;',
    '      proxy_read_timeout 1h;',
    '      proxy_send_timeout 1h;',
    '      proxy_next_upstream off;',
    '    }',
    '  }',
    '}',
    '',
  ].join('\n');
}

function haproxyConfig(port: number, limit: number): string {
  const maxconn = Math.floor((limit - SPARE_DESCRIPTORS) / 2);
  return [
    'global',
    `  maxconn ${maxconn}`,
    '  nbthread 1',
    'defaults',
    '  mode http',
    '  timeout connect 5s',
    '  timeout http-request 10s',
    '  timeout client 60s',
    '  timeout server 60s',
    '  timeout tunnel 1h',
    'frontend fe',
    `  bind 127.0.0.1:${port} backlog 4096`,
    `  maxconn ${maxconn}`,
    '  default_backend ringroute',
    '',
  ].join('\n');
}


async function until(check: () => boolean | Promise<boolean>, children: readonly ChildProcess[], timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const dead = children.find((c) => c.exitCode !== null);
    if (dead !== undefined) throw new Error(`the proxy exited with ${dead.exitCode} while waiting for ${what}`);
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
