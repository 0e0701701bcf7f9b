/**
 * The chaos run's own Redis: a primary, a replica and three Sentinels
 * (quorum 2), each a real process with its own temp folder, listening on the
 * store's address. Faults: {@link RedisSet.pause} stops the primary
 * (SIGSTOP/SIGCONT), {@link RedisSet.failover} kills it (SIGKILL), waits for
 * the Sentinels to promote the replica, and starts the old primary again as
 * a replica of the new one, ready for the next fail-over.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

export const SENTINEL_NAME = 'ringroute-chaos';
/** Sentinel declares the primary down after this much silence; a Redis pause fault stays under it. */
export const DOWN_AFTER_MS = 1000;

const BINARIES = ['/usr/bin', '/usr/local/bin', '/usr/sbin', '/bin'];

function binary(name: string): string | null {
  for (const dir of BINARIES) if (existsSync(join(dir, name))) return join(dir, name);
  try {
    return execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}

/** Why the run cannot start its own Redis set, or null when it can. */
export function storeProblem(): string | null {
  if (binary('redis-server') === null) return 'redis-server is not installed (Debian: redis-server)';
  if (binary('redis-sentinel') === null) return 'redis-sentinel is not installed (Debian: redis-sentinel)';
  return null;
}

/** A free TCP port on `host`. */
export function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() => (address !== null && typeof address === 'object' ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

async function until(check: () => Promise<boolean>, what: string, timeoutMs: number, intervalMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

async function answers(host: string, port: number, command: string[] = ['PING']): Promise<unknown> {
  const redis = new Redis({ host, port, lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 500, commandTimeout: 500, retryStrategy: () => null });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    return await redis.call(command[0]!, ...command.slice(1));
  } finally {
    redis.disconnect();
  }
}

/** One redis-server or redis-sentinel process. */
class Proc {
  readonly port: number;
  #child: ChildProcess | null = null;
  readonly #dir = mkdtempSync(join(tmpdir(), 'ringroute-chaos-redis-'));

  constructor(
    readonly host: string,
    port: number,
  ) {
    this.port = port;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  async start(args: string[], sentinel = false): Promise<void> {
    const command = sentinel ? binary('redis-sentinel')! : binary('redis-server')!;
    if (sentinel) {
      const conf = join(this.#dir, 'sentinel.conf');
      writeFileSync(conf, `${args.join('\n')}\n`);
      args = [conf];
    }
    const child = spawn(command, args, { stdio: process.env.CHAOS_DEBUG ? 'inherit' : 'ignore', cwd: this.#dir });
    this.#child = child;
    child.on('error', () => undefined);
    await until(async () => (await answers(this.host, this.port)) === 'PONG', `${sentinel ? 'redis-sentinel' : 'redis-server'} on ${this.host}:${this.port} did not start`, 10_000);
  }

  signal(signal: NodeJS.Signals): void {
    this.#child?.kill(signal);
  }

  async kill(): Promise<void> {
    const child = this.#child;
    this.#child = null;
    if (child === null || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGCONT');
    child.kill('SIGKILL');
    await exited;
  }

  async destroy(): Promise<void> {
    await this.kill();
    rmSync(this.#dir, { recursive: true, force: true });
  }
}

/** What one fail-over took, in ms from the kill (a set given with `--sentinel`: from `SENTINEL FAILOVER`). */
export interface FailoverReport {
  /** Until the Sentinels named the new primary. */
  readonly promotedMs: number;
  /**
   * Until the old primary was back as a replica, in sync and known to every Sentinel. On a set given with
   * `--sentinel`, until every Sentinel named the new primary: Sentinel demotes the old one by itself, seconds
   * later, and the next fail-over waits for it (external-sentinel.ts).
   */
  readonly readyMs: number;
}

/** How a fail-over is ordered. */
export interface FailoverOptions {
  /** Called as soon as the Sentinels named the new primary, before the old one is back. */
  readonly onPromoted?: () => void;
  /** Longest wait for the promotion, and again for the set to be whole. */
  readonly timeoutMs?: number;
}

export class RedisSet {
  readonly host: string;
  readonly #servers: Proc[];
  readonly #sentinels: Proc[];

  private constructor(host: string, servers: Proc[], sentinels: Proc[]) {
    this.host = host;
    this.#servers = servers;
    this.#sentinels = sentinels;
  }

  static async start(host: string): Promise<RedisSet> {
    const servers = [new Proc(host, await freePort(host)), new Proc(host, await freePort(host))];
    const sentinels: Proc[] = [];
    for (let i = 0; i < 3; i++) sentinels.push(new Proc(host, await freePort(host)));
    const set = new RedisSet(host, servers, sentinels);
    try {
      await servers[0]!.start(set.#serverArgs(servers[0]!));
      await servers[1]!.start(set.#serverArgs(servers[1]!, servers[0]!.port));
      for (const [i, s] of sentinels.entries()) {
        await s.start([
          `port ${s.port}`, `bind ${host}`, 'protected-mode no', 'daemonize no', `sentinel announce-ip ${host}`,
          `sentinel monitor ${SENTINEL_NAME} ${host} ${servers[0]!.port} 2`,
          // Staggered (1000, 1250, 1500 ms): the Sentinels do not all stand for leader at once, which split the vote
          // (each votes for itself, no majority) and cost a fail-over 2 x failover-timeout more, every so often.
          `sentinel down-after-milliseconds ${SENTINEL_NAME} ${DOWN_AFTER_MS + 250 * i}`,
          `sentinel failover-timeout ${SENTINEL_NAME} 2500`, // a split vote is tried again after twice this
          `sentinel parallel-syncs ${SENTINEL_NAME} 1`,
        ], true);
        // A new primary's link starts with the clock of its creation, and the first ping goes out one ping period later: with the
        // default period (1 s) and a down-after of 1 s, a Sentinel declares a healthy primary down a second after promoting it and
        // fails over again. Ping every 200 ms (and refresh INFO every second, to see a returning replica soon) so that cannot happen.
        // And a Sentinel whose timer ran more than 2 s late (this 2-core machine, busy with a dozen processes) goes into TILT
        // for 30 s and fails nothing over meanwhile: fail-overs then took 12-13 s. Only a 10 s stall means TILT here.
        await answers(host, s.port, ['SENTINEL', 'DEBUG', 'ping-period', '200', 'info-period', '1000', 'ask-period', '200', 'tilt-trigger', '10000', 'tilt-period', '10000']);
      }
      await set.#waitReady(20_000);
    } catch (error) {
      await set.destroy();
      throw error;
    }
    return set;
  }

  /** The Sentinels, as `host:port` pairs. */
  get sentinels(): string[] {
    return this.#sentinels.map((s) => `${s.host}:${s.port}`);
  }

  /** The primary's port as the first Sentinel that answers names it. */
  async primaryPort(): Promise<number> {
    for (const s of this.#sentinels) {
      const answer = (await answers(this.host, s.port, ['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', SENTINEL_NAME]).catch(() => null)) as [string, string] | null;
      if (answer !== null) return Number(answer[1]);
    }
    throw new Error('no Sentinel answered');
  }

  /** Stops the primary for `ms` (SIGSTOP, then SIGCONT). */
  async pause(ms: number): Promise<void> {
    const primary = this.#server(await this.primaryPort());
    primary.signal('SIGSTOP');
    await new Promise((resolve) => setTimeout(resolve, ms));
    primary.signal('SIGCONT');
  }

  /** Kills the primary; once a Sentinel names the replica, starts the old one as its replica and waits until every Sentinel counts it. */
  async failover({ onPromoted, timeoutMs = 20_000 }: FailoverOptions = {}): Promise<FailoverReport> {
    const oldPort = await this.primaryPort();
    const old = this.#server(oldPort);
    const killed = performance.now();
    await old.kill();
    let newPort = oldPort;
    await until(async () => (newPort = await this.primaryPort()) !== oldPort, 'the Sentinels did not promote the replica', timeoutMs);
    const promotedMs = performance.now() - killed;
    onPromoted?.();
    await old.start(this.#serverArgs(old, newPort));
    await this.#waitReady(timeoutMs);
    return { promotedMs, readyMs: performance.now() - killed };
  }

  async destroy(): Promise<void> {
    for (const p of [...this.#sentinels, ...this.#servers]) await p.destroy().catch(() => undefined);
  }

  #server(port: number): Proc {
    const server = this.#servers.find((s) => s.port === port);
    if (server === undefined) throw new Error(`no redis-server on port ${port}`);
    return server;
  }

  #serverArgs(server: Proc, replicaOf?: number): string[] {
    return [
      '--port', String(server.port), '--bind', this.host, '--protected-mode', 'no', '--save', '', '--appendonly', 'no',
      '--repl-diskless-sync', 'yes', '--repl-diskless-sync-delay', '0',
      // The primary would name a replica by its connection's source address, which on a bridge with two addresses is the other one.
      '--replica-announce-ip', this.host,
      ...(replicaOf !== undefined ? ['--replicaof', this.host, String(replicaOf)] : []),
    ];
  }

  /** Every Sentinel knows the primary, the other two, and a replica in sync that it could promote. */
  async #waitReady(timeoutMs: number): Promise<void> {
    let seen = '';
    await until(async () => {
      const primary = await this.primaryPort();
      for (const s of this.#sentinels) {
        const master = flat((await answers(this.host, s.port, ['SENTINEL', 'MASTER', SENTINEL_NAME])) as string[]);
        if (Number(master.port) !== primary || master.flags !== 'master') return false;
        const replicas = ((await answers(this.host, s.port, ['SENTINEL', 'REPLICAS', SENTINEL_NAME])) as string[][]).map(flat);
        const good = replicas.some((r) => r.flags === 'slave' && r['master-link-status'] === 'ok' && Number(r['master-port']) === primary);
        seen = `Sentinel ${s.port}: primary ${primary}, ${master.flags}; replicas ${replicas.map((r) => `${r.port} ${r.flags} link ${r['master-link-status']} of ${r['master-port']}`).join(', ')}`;
        const others = (await answers(this.host, s.port, ['SENTINEL', 'SENTINELS', SENTINEL_NAME])) as unknown[];
        if (!good || others.length < 2) return false;
      }
      return true;
    }, 'the Sentinels did not all see the primary and a replica in sync', timeoutMs, 100).catch((error: Error) => {
      throw new Error(`${error.message} (${seen})`);
    });
  }
}

/** Sentinel's flat [key, value, ...] replies as an object. */
function flat(reply: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < reply.length; i += 2) out[reply[i]!] = reply[i + 1]!;
  return out;
}
