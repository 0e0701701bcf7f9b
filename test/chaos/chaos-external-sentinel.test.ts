/**
 * The chaos run on a Sentinel set the user already runs (`--sentinel`): a
 * primary, a replica and three Sentinels on loopback (test/support), which
 * the parts in their namespaces reach through the runner's relays on the
 * store's address and ioredis's `natMap`. Half a minute of faults of every
 * kind: pauses by CLIENT PAUSE on the primary, fail-overs by SENTINEL
 * FAILOVER (nothing killed), the servers and the Sentinels behind ACL users
 * with no default user; the run's keys are gone afterwards.
 */
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { parseSentinelList, sentinelSetProblem } from '../../examples/chaos/external-sentinel.js';
import { networkProblem } from '../../examples/chaos/network.js';
import { failures, formatReport } from '../../examples/chaos/report.js';
import { runChaos } from '../../examples/chaos/run.js';
import { FAULT_KINDS } from '../../examples/chaos/schedule.js';
import { freePort, storeProblem } from '../../examples/chaos/store.js';
import { redisEngineFromEnv } from '../../examples/cluster/redis-engine.js';
import { credentialsEnv } from '../../examples/cluster/sentinel-credentials.js';
import { SENTINEL_NAME, SentinelSet } from '../support/redis-sentinel.js';
import { skipFor } from '../support/skip.js';
import { waitFor } from '../support/wait.js';

const MAIN = fileURLToPath(new URL('../../examples/chaos/main.ts', import.meta.url));
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
// The runner imports the package by name: resolve it to src/, as vitest does.
const SOURCE_TSCONFIG = fileURLToPath(new URL('../cluster/tsconfig.source.json', import.meta.url));

/** `npm run chaos -- <args>`, for the options it refuses before it needs root or a store. */
function chaosMain(args: readonly string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', TSX, MAIN, ...args], { env: { ...process.env, TSX_TSCONFIG_PATH: SOURCE_TSCONFIG }, timeout: 30_000 }, (error, _stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : null, stderr });
    });
  });
}

describe('the --sentinel options', () => {
  it('takes host:port lists (IPv6 in brackets) and refuses anything else in one line', () => {
    expect(parseSentinelList('127.0.0.1:26379,sentinel-2:26380, [::1]:26381')).toEqual([
      { host: '127.0.0.1', port: 26379 }, { host: 'sentinel-2', port: 26380 }, { host: '::1', port: 26381 },
    ]);
    for (const bad of ['127.0.0.1', '127.0.0.1:0', 'host:65536', 'a:1,,b:2', '::1:26379', '']) expect(parseSentinelList(bad), bad).toMatch(/^--sentinel takes host:port/);
  });

  it('exits 2 with one line for --redis with --sentinel, a bad list, a --sentinel-... option without --sentinel, and a --redis that does not answer', { timeout: 60_000 }, async () => {
    const nobody = await freePort('127.0.0.1');
    const runs = await Promise.all([
      chaosMain(['--redis', 'redis://127.0.0.1:6379', '--sentinel', '127.0.0.1:26379']),
      chaosMain(['--sentinel', 'localhost']),
      chaosMain(['--sentinel-name', 'mymaster']),
      chaosMain(['--redis', 'redis://127.0.0.1:6379', '--redis-password', 'x']),
      chaosMain(['--redis', `redis://127.0.0.1:${nobody}`]),
    ]);
    const expected = [
      /^chaos: --redis and --sentinel exclude each other/,
      /^chaos: --sentinel takes host:port\[,host:port\.\.\.\], got "localhost"/,
      /^chaos: --sentinel-name goes with --sentinel/,
      /^chaos: --redis-password goes with --sentinel \(with --redis, the password rides in the URL\)/,
      new RegExp(`^chaos: --redis: the Redis at redis://127\\.0\\.0\\.1:${nobody}: connect ECONNREFUSED`),
    ];
    for (const [i, run] of runs.entries()) {
      expect(run.code, run.stderr).toBe(2);
      expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(run.stderr).toMatch(expected[i]!);
    }
  });
});

const SUITE = 'the chaos run on a given Sentinel set (--sentinel)';
const skip = skipFor(SUITE, networkProblem() ?? storeProblem());

describe.skipIf(skip)(SUITE, () => {
  it('fails the set over through its Sentinels, loses nothing, misinforms no sender, and leaves no key behind', { timeout: 200_000 }, async () => {
    // The user's settings: a production-like down-after (a 0.7 s CLIENT PAUSE is no reason to fail over).
    // Behind ACL users, as production sets are: no default user on the servers or the Sentinels.
    const acl = { redisUser: 'app', redisPassword: 'redis-secret', sentinelUser: 'watcher', sentinelPassword: 'sentinel-secret' };
    const credentials = { sentinelUsername: acl.sentinelUser, sentinelPassword: acl.sentinelPassword, redisUsername: acl.redisUser, redisPassword: acl.redisPassword };
    const set = await SentinelSet.start({ downAfterMs: 5000, failoverTimeoutMs: 10_000, acl });
    try {
      // Refused in one line before anything starts: a name the Sentinels do not know, Sentinels that do not answer.
      expect(await sentinelSetProblem({ sentinels: set.sentinels, name: 'not-the-name', ...credentials })).toMatch(/know no primary named "not-the-name" \(--sentinel-name\)$/);
      expect(await sentinelSetProblem({ sentinels: [{ host: '127.0.0.1', port: await freePort('127.0.0.1') }], name: SENTINEL_NAME })).toMatch(/^no Sentinel answered \(Sentinel 127\.0\.0\.1:\d+: .*ECONNREFUSED/);
      expect(await sentinelSetProblem({ sentinels: set.sentinels, name: SENTINEL_NAME, ...credentials })).toBeNull();

      const report = await runChaos({ seed: 7, durationMs: 30_000, sentinel: { sentinels: set.sentinels, name: SENTINEL_NAME, ...credentials } });
      if (failures(report).length > 0 || process.env.CHAOS_DEBUG) console.log(formatReport(report));
      expect([...new Set(report.faults.map((f) => f.kind))].sort()).toEqual([...FAULT_KINDS].sort());
      const failovers = report.faults.filter((f) => f.kind === 'redis-failover');
      expect(failovers.length).toBeGreaterThanOrEqual(1);
      for (const f of failovers) {
        expect(f.error, `fail-over ${f.seq}`).toBeUndefined();
        expect(f.promotedMs, `fail-over ${f.seq} promoted`).toBeGreaterThan(0);
      }
      expect(report.messages.delivered).toBeGreaterThan(500);
      expect(report.messages.lost).toBe(0);
      expect(report.messages.failedButReceived).toBe(0);
      expect(report.ownership.maxMs).toBeLessThanOrEqual(report.settings.ttlMs);
      // Every fault converged within twice its bound (the bound itself is the 10-minute run's verdict, docs/chaos.md).
      for (const f of report.faults) expect(f.convergedMs, `fault ${f.seq} ${f.kind} ${f.target} converged`).not.toBeNull();
      expect(failures(report).filter((reason) => !/did not converge within/.test(reason))).toEqual([]);
      // No key left on either server (the replica follows the primary's deletes).
      for (const port of [set.primary.port, set.replica.port]) {
        const redis = new Redis({ port, username: acl.redisUser, password: acl.redisPassword, maxRetriesPerRequest: 1 });
        try {
          await waitFor(async () => (await redis.dbsize()) === 0, { what: `no key left on the server on port ${port}`, timeoutMs: 5000 });
        } finally {
          redis.disconnect();
        }
      }
    } finally {
      await set.destroy();
    }
  });
});

describe.skipIf(skipFor('a Sentinel set behind ACL users (--sentinel-username, --redis-username)', storeProblem()))('a Sentinel set behind ACL users', () => {
  it('is refused in one line without the right users and passwords, and serves the parts with them', { timeout: 60_000 }, async () => {
    const acl = { redisUser: 'app', redisPassword: 'redis-secret', sentinelUser: 'watcher', sentinelPassword: 'sentinel-secret' };
    const set = await SentinelSet.start({ acl });
    try {
      const base = { sentinels: set.sentinels, name: SENTINEL_NAME };
      expect(await sentinelSetProblem(base)).toMatch(/requires a password \(--sentinel-username, --sentinel-password\)/);
      expect(await sentinelSetProblem({ ...base, sentinelPassword: acl.sentinelPassword })).toMatch(/refused the password \(--sentinel-username, --sentinel-password\)/);
      const sentinelsOk = { ...base, sentinelUsername: acl.sentinelUser, sentinelPassword: acl.sentinelPassword };
      expect(await sentinelSetProblem(sentinelsOk)).toMatch(/^the primary 127\.0\.0\.1:\d+ that Sentinel \S+ names requires a password \(--redis-username, --redis-password\)$/);
      expect(await sentinelSetProblem({ ...sentinelsOk, redisUsername: acl.redisUser, redisPassword: 'wrong' })).toMatch(/refused the password \(--redis-username, --redis-password\)$/);
      expect(await sentinelSetProblem({ ...sentinelsOk, redisUsername: acl.redisUser, redisPassword: acl.redisPassword })).toBeNull();

      // A part process builds its engine from the environment the runner gives it (parts.ts): ring writes land on the primary.
      const env = {
        RINGROUTE_SENTINELS: set.sentinels.map((s) => `${s.host}:${s.port}`).join(','), RINGROUTE_SENTINEL_NAME: SENTINEL_NAME,
        ...credentialsEnv({ sentinelUsername: acl.sentinelUser, sentinelPassword: acl.sentinelPassword, username: acl.redisUser, password: acl.redisPassword }),
      };
      const connection = await redisEngineFromEnv(env, () => undefined).connect({ name: 'acl-test', prefix: 'acl-test', waitMs: 5000 });
      const store = connection.store();
      try {
        expect((await store.compareAndSet(0, [{ id: 'a' }]))?.version).toBe(1);
      } finally {
        await store.close();
        await connection.close();
      }
      const admin = new Redis({ port: set.primary.port, username: acl.redisUser, password: acl.redisPassword, maxRetriesPerRequest: 1 });
      try {
        expect((await admin.keys('*acl-test*')).length).toBeGreaterThan(0);
      } finally {
        admin.disconnect();
      }
    } finally {
      await set.destroy();
    }
  });
});
