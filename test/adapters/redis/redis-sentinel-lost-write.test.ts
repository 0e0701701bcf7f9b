/**
 * A Sentinel fail-over that loses the last ring write, made deterministic:
 * the primary and the replica run as hosts of their own (ip netns, the chaos
 * run's Network), three Sentinels on this side. The link between the two
 * Redis hosts is cut silently (packets dropped, so neither notices), the
 * primary acknowledges version 2 and a router reads it, the primary is
 * killed, and the Sentinels, which still reach the replica, promote it with
 * version 1. A coordinator then writes another membership as version 2.
 * The router that read the lost write must adopt the store's ring within a
 * resync and report CONFLICT: no two routers serve different rings under
 * one (epoch, version) beyond that bound.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { skipFor } from '../../support/skip.js';
import { Network, ipBinary, networkProblem } from '../../../examples/chaos/network.js';
import { freePort, storeProblem } from '../../../examples/chaos/store.js';
import { RedisRingStore } from '../../../src/adapters/redis/index.js';
import { RingError, RingRouter } from '../../../src/index.js';
import { randomPrefix } from '../../support/redis-server.js';
import { sleep, waitFor } from '../../support/wait.js';

const SUITE = 'a Sentinel fail-over that loses the last ring write';
const skip = skipFor(SUITE, networkProblem() ?? storeProblem());

const NAME = 'lost-write';

describe.skipIf(skip)(SUITE, { timeout: 60_000 }, () => {
  const cleanup: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const f of cleanup.reverse()) await Promise.resolve().then(f).catch(() => undefined);
    cleanup.length = 0;
  });

  /** A redis-server or redis-sentinel process, in namespace `ns` or on this side; killed at the end. */
  function start(command: string, args: string[], ns?: string): ChildProcess {
    const dir = mkdtempSync(join(tmpdir(), 'ringroute-lost-write-'));
    const argv = command === 'redis-sentinel' ? (writeFileSync(join(dir, 'sentinel.conf'), `${args.join('\n')}\n`), [join(dir, 'sentinel.conf')]) : args;
    const child = ns === undefined ? spawn(command, argv, { cwd: dir, stdio: 'ignore' }) : spawn(ipBinary()!, ['netns', 'exec', ns, command, ...argv], { cwd: dir, stdio: 'ignore' });
    cleanup.push(() => {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    });
    return child;
  }

  /** A client of one address, or (`sentinels`) of the primary the Sentinels name. */
  function client(to: { host: string; port: number } | { sentinels: Array<{ host: string; port: number }>; name: string }): Redis {
    const common = { maxRetriesPerRequest: 2, commandTimeout: 1000, retryStrategy: () => 100 };
    const redis = 'sentinels' in to ? new Redis({ ...common, sentinels: to.sentinels, name: to.name, sentinelRetryStrategy: () => 100 }) : new Redis({ ...common, host: to.host, port: to.port });
    redis.on('error', () => undefined);
    cleanup.push(() => redis.disconnect());
    return redis;
  }

  it('repairs the router that read the lost write within a resync, and reports CONFLICT', async () => {
    const network = Network.create(Math.random().toString(36).slice(2, 7));
    cleanup.push(() => network.destroy());
    const [a, b] = [network.addHost('ra'), network.addHost('rb')];
    const server = ['--port', '6379', '--protected-mode', 'no', '--save', '', '--appendonly', 'no', '--repl-diskless-sync', 'yes', '--repl-diskless-sync-delay', '0'];
    const primaryProcess = start('redis-server', [...server, '--bind', a.address, '--replica-announce-ip', a.address], a.ns);
    start('redis-server', [...server, '--bind', b.address, '--replica-announce-ip', b.address, '--replicaof', a.address, '6379'], b.ns);
    const sentinels: Array<{ host: string; port: number }> = [];
    for (let i = 0; i < 3; i++) {
      const port = await freePort(network.store);
      start('redis-sentinel', [
        `port ${port}`, `bind ${network.store}`, 'protected-mode no', `sentinel announce-ip ${network.store}`,
        `sentinel monitor ${NAME} ${a.address} 6379 2`, `sentinel down-after-milliseconds ${NAME} 1000`, `sentinel failover-timeout ${NAME} 2500`,
      ]);
      sentinels.push({ host: network.store, port });
    }
    for (const s of sentinels) {
      const admin = client(s);
      await waitFor(async () => (await admin.ping().catch(() => '')) === 'PONG', { what: 'a Sentinel', timeoutMs: 10_000 });
      await admin.call('SENTINEL', 'DEBUG', 'ping-period', '200', 'info-period', '1000'); // see docs/chaos.md: no spurious second fail-over
    }
    const replicaDirect = client({ host: b.address, port: 6379 });
    await waitFor(async () => /master_link_status:up/.test(await replicaDirect.info('replication').catch(() => '')), { what: 'the replica in sync', timeoutMs: 10_000 });
    await waitFor(
      async () => {
        for (const s of sentinels) {
          const replicas = (await client(s).call('SENTINEL', 'REPLICAS', NAME)) as string[][];
          if (!replicas.some((r) => r.includes('master-link-status') && r[r.indexOf('master-link-status') + 1] === 'ok')) return false;
        }
        return true;
      },
      { what: 'every Sentinel knowing the replica', timeoutMs: 20_000, intervalMs: 200 },
    );

    const prefix = randomPrefix('sentinel-lost');
    const viaSentinels = () => client({ sentinels, name: NAME });
    const writer = new RedisRingStore({ redis: viaSentinels(), prefix });
    const v1 = await writer.compareAndSet(0, [{ id: 'a' }, { id: 'b' }]);
    await waitFor(async () => (await replicaDirect.get(writer.keys.ring)) !== null, { what: 'version 1 on the replica' });
    const RESYNC_MS = 200;
    const first = await RingRouter.start({ store: new RedisRingStore({ redis: viaSentinels(), prefix }), resyncMs: RESYNC_MS });
    cleanup.push(() => first.close());
    const errors: Error[] = [];
    first.on('error', (e) => errors.push(e));

    // The two Redis hosts stop hearing each other (nothing tells them); the primary acknowledges version 2.
    network.cut('rb', a.address);
    const lost = await writer.compareAndSet(1, [{ id: 'a' }, { id: 'b' }, { id: 'c' }], v1!.epoch);
    expect(lost?.version).toBe(2);
    await waitFor(() => first.version === 2, { what: 'the router on the lost write' });
    primaryProcess.kill('SIGKILL');
    const killed = Date.now();
    await waitFor(
      async () => {
        for (const s of sentinels) {
          const [host] = (await client(s).call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', NAME)) as [string, string];
          if (host !== b.address) return false;
        }
        return /role:master/.test(await replicaDirect.info('replication'));
      },
      { what: 'the Sentinels promoting the replica', timeoutMs: 20_000, intervalMs: 100 },
    );
    const promotedMs = Date.now() - killed;
    network.heal('rb');
    expect(JSON.parse((await replicaDirect.get(writer.keys.ring))!)).toMatchObject({ version: 1, epoch: v1!.epoch }); // the write is lost

    // A coordinator writes the membership it sees now as version 2 of the same epoch again.
    const again = await new RedisRingStore({ redis: viaSentinels(), prefix }).compareAndSet(1, [{ id: 'a' }, { id: 'b' }, { id: 'd' }], v1!.epoch);
    expect(again).toMatchObject({ version: 2, epoch: v1!.epoch });
    const written = Date.now();
    const second = await RingRouter.start({ store: new RedisRingStore({ redis: viaSentinels(), prefix }), resyncMs: RESYNC_MS });
    cleanup.push(() => second.close());
    expect(second.ring.nodes().map((n) => n.id)).toEqual(['a', 'b', 'd']);
    await waitFor(() => first.ring.nodes().map((n) => n.id).join() === 'a,b,d', { what: 'the first router repaired', timeoutMs: 10_000 });
    const repairedMs = Date.now() - written;
    expect(first.conflicts).toBe(1);
    expect(errors.some((e) => e instanceof RingError && e.code === 'CONFLICT')).toBe(true);
    await sleep(3 * RESYNC_MS);
    expect(`${first.epoch}/${first.version}/${first.ring.nodes().map((n) => n.id)}`).toBe(`${second.epoch}/${second.version}/${second.ring.nodes().map((n) => n.id)}`);
    console.log(`[ringroute] Sentinel fail-over lost version 2: promoted ${promotedMs} ms after the kill; the router that read it adopted the rewrite ${repairedMs} ms after it (resyncMs ${RESYNC_MS})`);
  });
});
