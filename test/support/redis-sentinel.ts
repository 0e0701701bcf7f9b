/**
 * A Sentinel-managed Redis for fail-over tests: a primary, one replica and
 * three Sentinels (quorum 2), each a real process on a free loopback port
 * with its own temp folder. The Sentinels run from Debian's `redis-sentinel`
 * binary, or `redis-server --sentinel` where only that is installed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { it, describe } from 'vitest';
import { RedisServer, findBinary, ping, redisEnv } from './redis-server.js';
import { sleep, waitFor } from './wait.js';

export const SENTINEL_NAME = 'ringroute';

/**
 * ACL users for a set where no default user may do anything: the servers
 * let only `redisUser` in (replication and Sentinel use it too), the
 * Sentinels only `sentinelUser` (and each other as that user).
 */
export interface SentinelAcl {
  readonly redisUser: string;
  readonly redisPassword: string;
  readonly sentinelUser: string;
  readonly sentinelPassword: string;
}

/** redis-server arguments for {@link SentinelAcl}'s Redis side. */
function aclServerArgs(acl: SentinelAcl): string[] {
  // Each word its own argument: redis-server joins the words after an option into its config line.
  return [
    '--user', 'default', 'off',
    '--user', acl.redisUser, 'on', `>${acl.redisPassword}`, '~*', '&*', '+@all',
    '--masteruser', acl.redisUser, '--masterauth', acl.redisPassword,
  ];
}

/** sentinel.conf lines for {@link SentinelAcl}. */
function aclSentinelConf(acl: SentinelAcl): string[] {
  return [
    `sentinel auth-user ${SENTINEL_NAME} ${acl.redisUser}`,
    `sentinel auth-pass ${SENTINEL_NAME} ${acl.redisPassword}`,
    `user default off`,
    `user ${acl.sentinelUser} on >${acl.sentinelPassword} ~* &* +@all`,
    `sentinel sentinel-user ${acl.sentinelUser}`,
    `sentinel sentinel-pass ${acl.sentinelPassword}`,
  ];
}
const HOST = '127.0.0.1';

/** Sentinel's binary and the arguments before its config file. */
function sentinelCommand(): { binary: string; sentinelFlag: boolean } | null {
  const sentinel = findBinary('redis-sentinel');
  if (sentinel) return { binary: sentinel, sentinelFlag: false };
  return redisEnv.server ? { binary: redisEnv.server, sentinelFlag: true } : null;
}

/** Whether a Sentinel suite must be skipped (one line), or, under CI=true, a failing test saying what is missing. */
export function skipWithoutSentinel(suite: string): boolean {
  if (sentinelCommand() !== null) return false;
  const reason = 'neither redis-sentinel nor redis-server is on PATH: skipping the Sentinel fail-over tests';
  if (process.env.CI === 'true') {
    describe(suite, () => {
      it('has redis-sentinel available (required when CI=true)', () => {
        throw new Error(`${suite}: ${reason}. Install the Debian packages redis-server and redis-sentinel.`);
      });
    });
  } else console.warn(`[ringroute] ${reason}`);
  return true;
}

class SentinelProcess {
  readonly port: number;
  readonly #dir: string;
  #child: ChildProcess | null = null;

  constructor(port: number, dir: string) {
    this.port = port;
    this.#dir = dir;
  }

  async start(primaryPort: number, options: { downAfterMs: number; failoverTimeoutMs: number; quorum?: number; acl?: SentinelAcl }): Promise<void> {
    const command = sentinelCommand();
    if (command === null) throw new Error('no redis-sentinel');
    const conf = join(this.#dir, 'sentinel.conf');
    writeFileSync(
      conf,
      [
        `port ${this.port}`,
        `bind ${HOST}`,
        'daemonize no',
        `dir ${this.#dir}`,
        `sentinel monitor ${SENTINEL_NAME} ${HOST} ${primaryPort} ${options.quorum ?? 2}`,
        `sentinel down-after-milliseconds ${SENTINEL_NAME} ${options.downAfterMs}`,
        `sentinel failover-timeout ${SENTINEL_NAME} ${options.failoverTimeoutMs}`,
        `sentinel parallel-syncs ${SENTINEL_NAME} 1`,
        ...(options.acl !== undefined ? aclSentinelConf(options.acl) : []),
        '',
      ].join('\n'),
    );
    const args = command.sentinelFlag ? [conf, '--sentinel'] : [conf];
    const child = spawn(command.binary, args, { stdio: 'ignore' });
    this.#child = child;
    process.once('exit', () => child.kill('SIGKILL'));
    const deadline = Date.now() + 10_000;
    while (!(await ping(this.port))) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`redis-sentinel on port ${this.port} did not start`);
      await sleep(20);
    }
  }

  async stop(): Promise<void> {
    const child = this.#child;
    this.#child = null;
    if (child === null || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
    rmSync(this.#dir, { recursive: true, force: true });
  }
}

/** A primary, a replica and three Sentinels watching them as {@link SENTINEL_NAME}. */
export class SentinelSet {
  readonly primary: RedisServer;
  readonly replica: RedisServer;
  readonly #sentinels: SentinelProcess[];
  readonly #stale = new Set<SentinelProcess>();

  private constructor(primary: RedisServer, replica: RedisServer, sentinels: SentinelProcess[]) {
    this.primary = primary;
    this.replica = replica;
    this.#sentinels = sentinels;
  }

  /** Starts everything and waits until every Sentinel knows the replica and the other Sentinels. */
  static async start(options: { downAfterMs?: number; failoverTimeoutMs?: number; acl?: SentinelAcl } = {}): Promise<SentinelSet> {
    const acl = options.acl;
    const aclArgs = acl !== undefined ? aclServerArgs(acl) : [];
    const primary = await RedisServer.start(['--repl-diskless-sync-delay', '0', ...aclArgs]);
    const replica = await RedisServer.start(['--replicaof', HOST, String(primary.port), '--repl-diskless-sync-delay', '0', ...aclArgs]);
    const sentinels: SentinelProcess[] = [];
    const set = new SentinelSet(primary, replica, sentinels);
    try {
      for (let i = 0; i < 3; i++) {
        // A spare redis-server picks the free port; a Sentinel takes it over at once.
        const probe = await RedisServer.start();
        const port = probe.port;
        await probe.destroy();
        const sentinel = new SentinelProcess(port, mkdtempSync(join(tmpdir(), 'ringroute-sentinel-')));
        sentinels.push(sentinel);
        await sentinel.start(primary.port, { downAfterMs: options.downAfterMs ?? 500, failoverTimeoutMs: options.failoverTimeoutMs ?? 3000, ...(acl !== undefined ? { acl } : {}) });
      }
      await waitFor(
        async () => {
          for (const s of sentinels) {
            const admin = new Redis({
              host: HOST, port: s.port, lazyConnect: true, maxRetriesPerRequest: 0,
              ...(acl !== undefined ? { username: acl.sentinelUser, password: acl.sentinelPassword } : {}),
            });
            try {
              await admin.connect();
              const replicas = (await admin.call('SENTINEL', 'REPLICAS', SENTINEL_NAME)) as unknown[];
              const others = (await admin.call('SENTINEL', 'SENTINELS', SENTINEL_NAME)) as unknown[];
              if (replicas.length < 1 || others.length < 2) return false;
            } finally {
              admin.disconnect();
            }
          }
          return true;
        },
        { what: 'Sentinels that know the replica and each other', timeoutMs: 20_000, intervalMs: 100 },
      );
    } catch (error) {
      await set.destroy();
      throw error;
    }
    return set;
  }

  /**
   * A fourth Sentinel, outside the set, that disagrees with it: it monitors
   * the replica as if it were the primary (as a Sentinel that missed a
   * fail-over would name the old primary, now a replica), so it answers
   * `GET-MASTER-ADDR-BY-NAME` with the replica's address. Stopped by
   * {@link destroy}.
   */
  async startStaleSentinel(): Promise<{ host: string; port: number }> {
    const probe = await RedisServer.start();
    const port = probe.port;
    await probe.destroy();
    const sentinel = new SentinelProcess(port, mkdtempSync(join(tmpdir(), 'ringroute-sentinel-')));
    this.#sentinels.push(sentinel);
    this.#stale.add(sentinel);
    await sentinel.start(this.replica.port, { downAfterMs: 60_000, failoverTimeoutMs: 60_000, quorum: 1 });
    return { host: HOST, port };
  }

  /** The Sentinels' addresses, as ioredis's `sentinels` option takes them. */
  get sentinels(): Array<{ host: string; port: number }> {
    return this.#sentinels.filter((s) => !this.#stale.has(s)).map((s) => ({ host: HOST, port: s.port }));
  }

  /** The primary's port as the first Sentinel names it now. */
  async primaryPort(): Promise<number> {
    const admin = new Redis({ host: HOST, port: this.#sentinels[0]!.port, maxRetriesPerRequest: 0 });
    try {
      const [, port] = (await admin.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', SENTINEL_NAME)) as [string, string];
      return Number(port);
    } finally {
      admin.disconnect();
    }
  }

  async destroy(): Promise<void> {
    for (const s of this.#sentinels) await s.stop();
    await this.replica.destroy();
    await this.primary.destroy();
  }
}
