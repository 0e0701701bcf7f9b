/**
 * Real nginx and HAProxy processes for tests: each started from the binary
 * with its own config, pid and log files in a temp folder, listening on a
 * free 127.0.0.1 port, and stopped (with its folder removed) afterwards.
 * Tiny `node:http` backends answer every request with their own name.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, type Server, createServer, request } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { describe, it } from 'vitest';

const run = promisify(execFile);

/** Full path of `name` on PATH or in the sbin folders Debian installs proxies to, or null. */
export function findProxyBinary(name: string): string | null {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/sbin'];
  for (const dir of dirs) {
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

/**
 * Whether a suite needing `binary` must be skipped: prints one line when it
 * is missing, or under `CI=true` registers a failing test instead.
 */
export function skipWithoutProxy(suite: string, binary: 'nginx' | 'haproxy'): boolean {
  if (findProxyBinary(binary) !== null) return false;
  const reason = `no ${binary} binary on PATH or in /usr/sbin: skipping ${suite}`;
  if (process.env.CI === 'true') {
    describe(suite, () => {
      it(`has ${binary} available (required when CI=true)`, () => {
        throw new Error(`${reason}. Install the Debian package ${binary} (CI must run every proxy test).`);
      });
    });
  } else console.warn(`[ringroute] ${reason} (install the Debian package ${binary} to run them)`);
  return true;
}

/** A free TCP port on 127.0.0.1 (free when asked; the caller binds it right away). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** HTTP backends answering each request with their name (except `hold=1` requests, held open). */
export class Backends {
  readonly #servers = new Map<string, Server>();

  /** Starts one backend per name; returns name -> "127.0.0.1:port". */
  async start(names: readonly string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const name of names) {
      const server = createServer((req, res) => {
        // `hold=1` stands for a long-lived connection (an open WebSocket): never answered.
        if (req.url?.includes('hold=1')) return;
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(name) });
        res.end(name);
      });
      server.keepAliveTimeout = 60_000;
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      this.#servers.set(name, server);
      out.set(name, `127.0.0.1:${(server.address() as AddressInfo).port}`);
    }
    return out;
  }

  async close(): Promise<void> {
    for (const server of this.#servers.values()) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    this.#servers.clear();
  }
}

/**
 * Sends `GET /?<param>=<key>` for every key (keys go as given: already
 * URL-safe) through the proxy on `port`, `concurrency` at a time over
 * keep-alive connections; returns the body (the backend's name) per key.
 */
export async function probe(port: number, param: string, keys: readonly string[], concurrency = 48, timeoutMs = 10_000): Promise<string[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const out = new Array<string>(keys.length);
  let next = 0;
  // A keep-alive socket the proxy closes just as a request goes out on it (a
  // reload's old worker leaving, an idle timeout) resets that request: the
  // usual keep-alive race. The GET is idempotent, so it is sent again, once.
  const one = (key: string, retried = false): Promise<string> =>
    attempt(key).catch((error: NodeJS.ErrnoException) => {
      if (retried || (error.code !== 'ECONNRESET' && error.code !== 'EPIPE')) throw error;
      return one(key, true);
    });
  const attempt = (key: string): Promise<string> =>
    new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: `/?${param}=${key}`, agent, timeout: timeoutMs }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`HTTP ${res.statusCode} for key ${key}: ${body.slice(0, 200)}`))));
      });
      req.on('timeout', () => req.destroy(new Error(`no answer for key ${key} in ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end();
    });
  try {
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < keys.length) {
          const i = next++;
          out[i] = await one(keys[i]!);
        }
      }),
    );
  } finally {
    agent.destroy();
  }
  return out;
}

/** Waits until `check()` is true, polling; throws after `timeoutMs`. */
async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Whether something accepts TCP connections on 127.0.0.1:port (the proxy's backends may not answer yet). */
async function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function socketReady(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Reloads a HAProxy started by {@link startHaproxy} through its master CLI. */
export async function reloadHaproxy(proxy: ProxyProcess): Promise<void> {
  // The master refuses connections for a moment around its own start and re-execution: retry for a while.
  await until(() => socketReady(join(proxy.dir, 'master.sock')), 10_000, 'the HAProxy master CLI');
  await new Promise<void>((resolve, reject) => {
    const socket = connect(join(proxy.dir, 'master.sock'));
    socket.once('error', reject);
    socket.on('data', () => undefined);
    socket.once('close', () => resolve());
    socket.end('reload\n');
  });
}

/** A running proxy: its folder, port, and how to stop it. */
export interface ProxyProcess {
  readonly dir: string;
  readonly port: number;
  readonly binary: string;
  /** Arguments that point the binary at this instance's config (for `-t` and reloads). */
  readonly args: readonly string[];
  readonly child: ChildProcess;
  /** The error log so far (for failure messages). */
  log(): string;
  stop(): Promise<void>;
}

function stopper(child: ChildProcess, dir: string): () => Promise<void> {
  return async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
}

/**
 * Starts nginx (master + 1 worker, in the foreground) proxying
 * 127.0.0.1:<port> to the upstream `ringroute` defined in `<dir>/upstream.conf`,
 * which `upstream` (the text) fills before start.
 */
export async function startNginx(upstream: string): Promise<ProxyProcess> {
  const binary = findProxyBinary('nginx')!;
  const dir = mkdtempSync(join(tmpdir(), 'ringroute-nginx-'));
  const port = await freePort();
  writeFileSync(join(dir, 'upstream.conf'), upstream);
  const conf = join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    [
      'daemon off;',
      'master_process on;',
      'worker_processes 1;',
      'worker_shutdown_timeout 2s;',
      `pid ${dir}/nginx.pid;`,
      `error_log ${dir}/error.log warn;`,
      'events { worker_connections 1024; }',
      'http {',
      '  access_log off;',
      `  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fcgi; uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;`,
      `  include ${dir}/upstream.conf;`,
      '  server {',
      `    listen 127.0.0.1:${port};`,
      '    keepalive_requests 100000;',
      '    location / { proxy_pass http://ringroute; proxy_http_version 1.1; proxy_set_header Connection ""; }',
      '  }',
      '}',
      '',
    ].join('\n'),
  );
  const args = ['-p', dir, '-c', conf];
  const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const log = (): string => {
    try {
      return stderr + readFileSync(join(dir, 'error.log'), 'utf8');
    } catch {
      return stderr;
    }
  };
  const stop = stopper(child, dir);
  try {
    await until(() => {
      if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}: ${log()}`);
      return listening(port);
    }, 10_000, 'nginx to listen');
  } catch (error) {
    await stop();
    throw error;
  }
  return { dir, port, binary, args, child, log, stop };
}

/**
 * Starts HAProxy in master-worker mode (foreground) with `backend` (the
 * text of a backend section named `ringroute`) behind a frontend on
 * 127.0.0.1:<port>, and an admin stats socket at `<dir>/admin.sock`.
 */
export async function startHaproxy(backend: string): Promise<ProxyProcess> {
  const binary = findProxyBinary('haproxy')!;
  const dir = mkdtempSync(join(tmpdir(), 'ringroute-haproxy-'));
  const port = await freePort();
  writeFileSync(join(dir, 'backend.cfg'), backend);
  writeFileSync(
    join(dir, 'haproxy.cfg'),
    [
      'global',
      `  pidfile ${dir}/haproxy.pid`,
      `  stats socket ${dir}/admin.sock mode 600 level admin`,
      '  hard-stop-after 2s',
      'defaults',
      '  mode http',
      '  timeout connect 2s',
      '  timeout client 30s',
      '  timeout server 30s',
      'frontend fe',
      `  bind 127.0.0.1:${port}`,
      '  default_backend ringroute',
      '',
    ].join('\n'),
  );
  // The master CLI socket: it accepts connections only once the master is ready for a reload
  // (a SIGUSR2 sent earlier is lost), and takes `reload`.
  const args = ['-W', '-db', '-S', join(dir, 'master.sock'), '-f', join(dir, 'haproxy.cfg'), '-f', join(dir, 'backend.cfg')];
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const stop = stopper(child, dir);
  try {
    await until(async () => {
      if (child.exitCode !== null) throw new Error(`haproxy exited with ${child.exitCode}: ${out}`);
      return (await listening(port)) && (await socketReady(join(dir, 'master.sock')));
    }, 10_000, 'haproxy to listen');
  } catch (error) {
    await stop();
    throw error;
  }
  return { dir, port, binary, args, child, log: () => out, stop };
}

export { run, until };
