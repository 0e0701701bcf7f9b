/**
 * Private Redis servers for tests: a single `redis-server` or a 3-master
 * Redis Cluster, started from the binary on PATH on free ports (never 6379)
 * with persistence off, and torn down with their temp dirs afterwards, even
 * when a test fails or the process exits early.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { findExecutable, killChild, portIsFree, stopChild, trackChild } from './server-process.js';

const run = promisify(execFile);
const HOST = '127.0.0.1';
const START_TIMEOUT_MS = 10_000;

/** Full path of `name` on PATH, or null. */
export function findBinary(name: string): string | null {
  return findExecutable(name);
}

/** What Redis the tests can use. */
export const redisEnv = {
  /** `redis-server` binary on PATH. */
  server: findBinary('redis-server'),
  /** `redis-cli` binary on PATH (needed to create a cluster). */
  cli: findBinary('redis-cli'),
  /** An external Redis to use instead of starting one. */
  url: process.env.REDIS_URL || null,
};

/** Why the Redis tests cannot all run here, as one line; null when they can. */
function missingRedis(): string | null {
  if (!redisEnv.server && !redisEnv.url) return 'no redis-server on PATH and REDIS_URL is not set: skipping every Redis test';
  if (!redisEnv.server) return 'no redis-server on PATH: skipping the Redis Cluster and Redis-restart tests (REDIS_URL only serves the others)';
  if (!redisEnv.cli) return 'no redis-cli on PATH: skipping the Redis Cluster tests';
  return null;
}

let warned = false;

/**
 * Whether a suite that needs `need` must be skipped. When Redis is missing,
 * prints ONE line (per test file) saying why, or, under `CI=true`,
 * registers a failing test instead: a CI run must never skip Redis. Call at
 * module level and pass the result to `describe.skipIf`.
 */
export function skipWithoutRedis(suite: string, need: 'server-or-url' | 'binary' | 'cluster'): boolean {
  const missing =
    need === 'server-or-url' ? !redisEnv.server && !redisEnv.url : need === 'binary' ? !redisEnv.server : !redisEnv.server || !redisEnv.cli;
  if (!missing) return false;
  const reason = missingRedis() ?? 'Redis is not available';
  if (process.env.CI === 'true') {
    describe(suite, () => {
      it('has Redis available (required when CI=true)', () => {
        throw new Error(`${suite}: ${reason}. Install the Debian package redis-server (CI must run every Redis test).`);
      });
    });
  } else if (!warned) {
    warned = true;
    console.warn(`[ringroute] ${reason} (install the redis-server package or set REDIS_URL to run them)`);
  }
  return true;
}


/** A random free port P whose cluster bus port P + 10000 is free too. */
async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 30_000);
    if ((await portIsFree(port)) && (await portIsFree(port + 10_000))) return port;
  }
  throw new Error('no free port found for redis-server');
}

/** Sends PING over a raw socket; true on +PONG. */
export async function ping(port: number, host = HOST, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host });
    let reply = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('error', () => done(false));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      // -NOAUTH: the server is up and wants a password (a test started it with --requirepass)
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG') || reply.startsWith('-NOAUTH'));
    });
    socket.once('connect', () => socket.write('PING\r\n'));
  });
}

async function sleep(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

/** One `redis-server` process on a private port and temp dir. */
export class RedisServer {
  readonly port: number;
  readonly #dir: string;
  readonly #extraArgs: readonly string[];
  #child: ChildProcess | null = null;
  #log: string[] = [];

  private constructor(port: number, dir: string, extraArgs: readonly string[]) {
    this.port = port;
    this.#dir = dir;
    this.#extraArgs = extraArgs;
  }

  /** Starts a server on a free port. `extraArgs` are appended to the command line. */
  static async start(extraArgs: readonly string[] = []): Promise<RedisServer> {
    const binary = redisEnv.server;
    if (!binary) throw new Error('redis-server is not on PATH');
    for (let attempt = 1; ; attempt++) {
      const dir = mkdtempSync(join(tmpdir(), 'ringroute-redis-'));
      const server = new RedisServer(await freePort(), dir, extraArgs);
      try {
        await server.#spawn();
        return server;
      } catch (error) {
        await server.destroy();
        // Another process may have taken the port between check and bind.
        if (attempt >= 3) throw error;
      }
    }
  }

  /** `redis://127.0.0.1:PORT` */
  get url(): string {
    return `redis://${HOST}:${this.port}`;
  }

  /** True while the process runs. */
  get running(): boolean {
    return this.#child !== null;
  }

  async #spawn(): Promise<void> {
    const args = [
      '--port', String(this.port),
      '--bind', HOST,
      '--save', '',
      '--appendonly', 'no',
      '--daemonize', 'no',
      '--dir', this.#dir,
      ...this.#extraArgs,
    ];
    const child = spawn(redisEnv.server!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    trackChild(child);
    this.#child = child;
    this.#log = [];
    const keep = (chunk: Buffer): void => {
      this.#log.push(chunk.toString());
      if (this.#log.length > 50) this.#log.shift();
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    let exited = false;
    child.once('exit', () => {
      exited = true;
      if (this.#child === child) this.#child = null;
    });
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (!(await ping(this.port))) {
      if (exited || Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`redis-server on port ${this.port} did not start:\n${this.#log.join('').slice(-2000)}`);
      }
      await sleep(20);
    }
  }

  /** Stops the process (SIGTERM, SIGKILL after 5 s). Data is lost: persistence is off. */
  async stop(): Promise<void> {
    const child = this.#child;
    if (child === null) return;
    this.#child = null;
    await stopChild(child);
  }

  /** Kills the process at once (SIGKILL), as a crash would: no shutdown, no waiting for replicas. */
  async kill(): Promise<void> {
    const child = this.#child;
    if (child === null) return;
    this.#child = null;
    await killChild(child);
  }

  /** Freezes the process (SIGSTOP), as a fork for a snapshot or a VM stall would: connections stay open, nothing is answered. */
  pause(): void {
    if (this.#child === null) throw new Error('redis-server is not running');
    this.#child.kill('SIGSTOP');
  }

  /** Lets a paused process run again (SIGCONT): it answers everything queued meanwhile. */
  resume(): void {
    if (this.#child === null) throw new Error('redis-server is not running');
    this.#child.kill('SIGCONT');
  }

  /** Starts the process again on the same port and dir. */
  async restart(): Promise<void> {
    await this.stop();
    await this.#spawn();
  }

  /** Stops the process and removes its temp dir. Idempotent. */
  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.#dir, { recursive: true, force: true });
  }
}

/** A local Redis Cluster of N masters, no replicas. */
export class RedisClusterServers {
  readonly servers: readonly RedisServer[];

  private constructor(servers: readonly RedisServer[]) {
    this.servers = servers;
  }

  /** Starts `masters` cluster-enabled servers and joins them with `redis-cli --cluster create`. */
  static async start(masters = 3): Promise<RedisClusterServers> {
    const cli = redisEnv.cli;
    if (!cli) throw new Error('redis-cli is not on PATH');
    const servers: RedisServer[] = [];
    try {
      for (let i = 0; i < masters; i++) {
        // The config file name needs the port, which start() picks: use a fixed name
        // inside each server's own temp dir (--dir), which is unique.
        servers.push(
          await RedisServer.start(['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '5000']),
        );
      }
      const addresses = servers.map((server) => `${HOST}:${server.port}`);
      await run(cli, ['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes'], { timeout: 30_000 });
      const deadline = Date.now() + 30_000;
      for (const server of servers) {
        for (;;) {
          const { stdout } = await run(cli, ['-h', HOST, '-p', String(server.port), 'cluster', 'info'], { timeout: 5000 });
          if (stdout.includes('cluster_state:ok')) break;
          if (Date.now() > deadline) throw new Error(`cluster node ${server.port} never reached cluster_state:ok:\n${stdout}`);
          await sleep(50);
        }
      }
      return new RedisClusterServers(servers);
    } catch (error) {
      await Promise.allSettled(servers.map((server) => server.destroy()));
      throw error;
    }
  }

  /** Startup nodes for an ioredis `Cluster`. */
  get nodes(): Array<{ host: string; port: number }> {
    return this.servers.map((server) => ({ host: HOST, port: server.port }));
  }

  /** Stops every server and removes the temp dirs. */
  async destroy(): Promise<void> {
    await Promise.allSettled(this.servers.map((server) => server.destroy()));
  }
}

/** A key prefix no other test uses. */
export function randomPrefix(label = 'test'): string {
  return `rr-${label}-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
}

/**
 * Inside a `describe`: a single Redis for the suite, `REDIS_URL` when set,
 * otherwise a private redis-server started before and destroyed after it.
 * Returns a getter for its URL (valid once `beforeAll` has run).
 */
export function useRedisServer(): () => string {
  let server: RedisServer | null = null;
  let url = redisEnv.url ?? '';
  beforeAll(async () => {
    if (!redisEnv.url) {
      server = await RedisServer.start();
      url = server.url;
    }
  });
  afterAll(async () => {
    await server?.destroy();
  });
  return () => url;
}

/** Inside a `describe`: a private 3-master Redis Cluster for the suite. Returns a getter for its nodes. */
export function useRedisCluster(): () => Array<{ host: string; port: number }> {
  let servers: RedisClusterServers | null = null;
  beforeAll(async () => {
    servers = await RedisClusterServers.start(3);
  });
  afterAll(async () => {
    await servers?.destroy();
  });
  return () => servers!.nodes;
}
