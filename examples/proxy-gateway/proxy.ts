/**
 * The example's gateway: a real nginx or HAProxy started from its binary,
 * with its own config, pid and log files in a temp folder, listening on a
 * free 127.0.0.1 port, proxying WebSocket upgrades (and plain requests, for
 * probing) by `?user=` with consistent hashing, and kept in step with the
 * store by `NginxSync` / `HaproxySync` driven by `router`'s `change` events.
 *
 * INSECURE LOCAL DEMO: it listens on 127.0.0.1 only and trusts `?user=`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import type { RingRouter } from 'ringroute';
import { HaproxySync } from 'ringroute/haproxy';
import { NginxSync } from 'ringroute/nginx';

export type GatewayKind = 'nginx' | 'haproxy';

/** A running proxy and its sync. */
export interface ProxyGateway {
  readonly kind: GatewayKind;
  readonly port: number;
  readonly dir: string;
  readonly pid: number;
  /** Resolves after the next `synced` event (rejects after `timeoutMs`). */
  synced(timeoutMs?: number): Promise<{ ms: number; reloaded: string | false }>;
  /** The proxy's log so far (for error messages). */
  log(): string;
  /** Closes the sync, stops the proxy (SIGTERM, then SIGKILL after 5 s) and removes its folder. Idempotent. */
  stop(): Promise<void>;
  /** Last resort on process exit: SIGKILL and remove the folder, synchronously. */
  killNow(): void;
}

/** Full path of `name` on PATH or in the sbin folders Debian installs proxies to, or null. */
export function findBinary(name: string): string | null {
  for (const dir of [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/sbin']) {
    if (dir === '') continue;
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      // not here
    }
  }
  return null;
}

/** Stops `child`: SIGTERM, then SIGKILL after `graceMs`; resolves once it exited (at once if it already has). */
export async function stopProcess(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** A free TCP port on 127.0.0.1 (free when asked; the caller binds it right away). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Whether something accepts connections on 127.0.0.1:port (or a Unix socket path). */
export function reachable(target: { port: number } | { path: string }): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = 'port' in target ? connect({ host: '127.0.0.1', port: target.port }) : connect(target.path);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function until(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function nginxConfig(dir: string, port: number): string {
  return [
    'daemon off;',
    'master_process on;',
    'worker_processes 1;',
    // A safety net only: the app nodes close the moved sessions themselves.
    'worker_shutdown_timeout 300s;',
    `pid ${dir}/nginx.pid;`,
    `error_log ${dir}/error.log warn;`,
    'events { worker_connections 8192; }',
    'http {',
    '  access_log off;',
    `  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fcgi; uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;`,
    "  map $http_upgrade $connection_upgrade { default upgrade; '' ''; }",
    `  include ${dir}/upstream.conf;`,
    '  server {',
    `    listen 127.0.0.1:${port};`,
    '    location / {',
    '      proxy_pass http://ringroute;',
    '      proxy_http_version 1.1;',
    '      proxy_set_header Upgrade $http_upgrade;',
    '      proxy_set_header Connection $connection_upgrade;',
    '      proxy_read_timeout 1h;',
    '    }',
    '  }',
    '}',
    '',
  ].join('\n');
}

function haproxyConfig(dir: string, port: number): string {
  return [
    'global',
    `  pidfile ${dir}/haproxy.pid`,
    `  stats socket ${dir}/admin.sock mode 600 level admin expose-fd listeners`, // reloads hand the listening socket over: no refused connections
    '  maxconn 8000', // 2 fds each: stays under a 20,000 open-files limit
    // A safety net only: the app nodes close the moved sessions themselves.
    '  hard-stop-after 300s',
    'defaults',
    '  mode http',
    '  timeout connect 2s',
    '  timeout client 30s',
    '  timeout server 30s',
    '  timeout tunnel 1h',
    // `retries` stays at its default (3, 1 s apart): streams retrying a dead node are exactly what
    // crashed HAProxy 2.6 on `del server` (haproxy/haproxy#2323); HaproxySync waits for them to end.
    'frontend fe',
    `  bind 127.0.0.1:${port}`,
    '  default_backend ringroute',
    '',
  ].join('\n');
}

/**
 * Starts the proxy and its sync on `router` (whose ring must already hold
 * the first nodes). A free port can be taken by another process before the
 * proxy binds it: when the proxy exits while starting, it tries again on
 * another port, 3 times in all.
 */
export async function startProxy(kind: GatewayKind, router: RingRouter, onError: (error: Error) => void): Promise<ProxyGateway> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(kind, router, onError);
    } catch (error) {
      if (attempt >= 3 || !/exited with/.test((error as Error).message)) throw error;
    }
  }
}

async function startOnce(kind: GatewayKind, router: RingRouter, onError: (error: Error) => void): Promise<ProxyGateway> {
  const binary = findBinary(kind);
  if (binary === null) throw new Error(`no ${kind} binary on PATH or in /usr/sbin (install the Debian package ${kind})`);
  const dir = mkdtempSync(join(tmpdir(), `ringroute-example-${kind}-`));
  const port = await freePort();
  let child: ChildProcess;
  let args: string[];
  let out = '';
  if (kind === 'nginx') {
    writeFileSync(join(dir, 'upstream.conf'), 'upstream ringroute { server 127.0.0.1:1; }\n');
    writeFileSync(join(dir, 'nginx.conf'), nginxConfig(dir, port));
    args = ['-p', dir, '-c', join(dir, 'nginx.conf')];
    child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } else {
    writeFileSync(join(dir, 'backend.cfg'), 'backend ringroute\n  server none 127.0.0.1:1\n');
    writeFileSync(join(dir, 'haproxy.cfg'), haproxyConfig(dir, port));
    args = ['-W', '-db', '-S', join(dir, 'master.sock'), '-f', join(dir, 'haproxy.cfg'), '-f', join(dir, 'backend.cfg')];
    child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  }
  child.stderr!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  const log = (): string => {
    try {
      return out + (kind === 'nginx' ? readFileSync(join(dir, 'error.log'), 'utf8').slice(-20_000) : '');
    } catch {
      return out;
    }
  };
  let sync: NginxSync | HaproxySync | undefined;
  let stopped = false;
  const killNow = (): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await sync?.close().catch(() => undefined);
    await stopProcess(child);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await until(async () => {
      if (child.exitCode !== null) throw new Error(`${kind} exited with ${child.exitCode}: ${log()}`);
      // HAProxy: the worker's runtime socket too, which HaproxySync talks to at once (the master's CLI comes up
      // first; a sync started before the worker bound admin.sock failed with ECONNRESET now and then).
      return (await reachable({ port })) && (kind === 'nginx' || ((await reachable({ path: join(dir, 'master.sock') })) && (await reachable({ path: join(dir, 'admin.sock') }))));
    }, 10_000, `${kind} to listen`);
    if (kind === 'nginx') {
      sync = await NginxSync.start({ router, file: join(dir, 'upstream.conf'), upstream: { name: 'ringroute', argument: 'user', keepalive: 16 }, binary, args });
    } else {
      const reload = async (): Promise<void> => {
        for (let attempt = 1; ; attempt++) {
          await until(() => reachable({ path: join(dir, 'master.sock') }), 10_000, 'the HAProxy master CLI');
          const done = await new Promise<boolean>((resolve, reject) => {
            const cli = connect(join(dir, 'master.sock'));
            let connected = false;
            cli.once('connect', () => (connected = true));
            cli.once('error', (error: NodeJS.ErrnoException) => {
              const reset = error.code === 'ECONNRESET' || error.code === 'EPIPE';
              // The master re-executes itself on `reload` and resets its CLI connections: the command was taken.
              if (connected && reset) return resolve(true);
              // Not connected: the master is between two executions (another reload); ask again.
              if (!connected && attempt < 5) return resolve(false);
              reject(error);
            });
            cli.on('data', () => undefined).once('close', () => resolve(true));
            cli.end('reload\n');
          });
          if (done) return;
        }
      };
      sync = await HaproxySync.start({ router, backend: { name: 'ringroute', param: 'user' }, socket: join(dir, 'admin.sock'), file: join(dir, 'backend.cfg'), reload });
    }
    sync.on('error', onError);
  } catch (error) {
    await stop();
    throw error;
  }
  const s = sync;
  const synced = (timeoutMs = 15_000): Promise<{ ms: number; reloaded: string | false }> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${kind} not in step after ${timeoutMs} ms: ${log().slice(-500)}`)), timeoutMs);
      (s as NginxSync).once('synced', (info: { ms: number; reloaded: boolean | string }) => {
        clearTimeout(timer);
        resolve({ ms: info.ms, reloaded: info.reloaded === true ? 'reload' : info.reloaded === false ? false : info.reloaded });
      });
    });
  return { kind, port, dir, pid: child.pid!, synced, log, stop, killNow };
}
