/**
 * A Redis pause (SIGSTOP/SIGCONT of a real redis-server) of up to 3 x ttl, and
 * a restart that loses every key, with members that keep heartbeating: no
 * ring version may move a key of a live member, and a member that really
 * died meanwhile is removed within ttl + 1 s after Redis returns.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RedisMembership } from '../../../src/adapters/redis/index.js';
import { RedisServer, skipWithoutRedis } from '../../support/redis-server.js';
import { sleep, waitForTimed } from '../../support/wait.js';
import { movedKeys, startFaultCluster, type FaultCluster } from './fault-cluster.js';

// RINGROUTE_FAULT_DEFAULTS=1 runs the same scenarios with the production defaults
// (ttlMs 3000, heartbeatMs 1000, default router and coordinator options): slower, not part of `npm test`.
const DEFAULTS = process.env.RINGROUTE_FAULT_DEFAULTS === '1';
const TIMING = DEFAULTS ? { ttlMs: 3000, heartbeatMs: 1000 } : { ttlMs: 600, heartbeatMs: 150 };
const MEMBERS = ['node-a', 'node-b', 'node-c'];

/** Every change any router applied moved no key. */
function expectNoKeyMoved(cluster: FaultCluster): void {
  for (const log of cluster.changes) {
    for (const { diff, state } of log) expect(diff.movedFraction, `ring ${state.epoch}/${state.version}`).toBe(0);
  }
}

const skip = skipWithoutRedis('Redis pauses and restarts', 'binary');
describe.skipIf(skip)('live routing across a Redis pause or an empty restart', { timeout: DEFAULTS ? 120_000 : 30_000 }, () => {
  let server: RedisServer;
  let cluster: FaultCluster | undefined;
  beforeAll(async () => {
    server = await RedisServer.start();
  });
  afterEach(async () => {
    if (server.running) server.resume();
    await cluster?.close();
    cluster = undefined;
  });
  afterAll(async () => {
    await server?.destroy();
  });

  it(`moves no key when Redis is paused for 3 x ttl (${3 * TIMING.ttlMs} ms) while every member lives`, async () => {
    cluster = await startFaultCluster(server.url, { members: MEMBERS, routers: 3, coordinators: 2, timing: TIMING, defaults: DEFAULTS });
    const before = cluster.owners();
    const versions = cluster.routers.map((r) => `${r.epoch}/${r.version}`);
    const writes = cluster.writes.length;
    const events: string[] = [];
    const watcher = new RedisMembership({ redis: cluster.client(), prefix: cluster.prefix, ...TIMING, onError: () => undefined });
    watcher.watch((e) => events.push(`${e.type} ${e.node.id}`));
    await sleep(100); // subscribed
    server.pause();
    await sleep(3 * TIMING.ttlMs);
    server.resume();
    // Long enough for any needless reap, rewrite and re-registration to show.
    await sleep(2 * TIMING.ttlMs + 500);
    expectNoKeyMoved(cluster);
    expect(cluster.writes.length - writes).toBe(0);
    expect(cluster.routers.map((r) => `${r.epoch}/${r.version}`)).toEqual(versions);
    expect(movedKeys(before, cluster.owners())).toBe(0);
    expect(cluster.agreed()).toBe(MEMBERS.join(','));
    // No live member was reaped (and made to join again): the pause did not count against them.
    expect(events).toEqual([]);
    await watcher.close();
    // The hung reads were reported, not silently piled up.
    expect(cluster.routerErrors.some((e) => e.name === 'TimeoutError')).toBe(true);
  });

  it('removes a member that died during the pause within ttl + 1 s after Redis returns, moving only its keys', async () => {
    cluster = await startFaultCluster(server.url, { members: MEMBERS, routers: 3, coordinators: 2, timing: TIMING, defaults: DEFAULTS });
    const before = cluster.owners();
    server.pause();
    cluster.members.get('node-c')!.abandon(); // dies while Redis is paused
    await sleep(3 * TIMING.ttlMs);
    server.resume();
    const c = cluster;
    const removed = await waitForTimed(() => c.agreed() === 'node-a,node-b', { timeoutMs: TIMING.ttlMs + 1000, what: 'node-c to be removed' });
    console.info(`[ringroute] Redis paused ${3 * TIMING.ttlMs} ms: the dead member was removed ${removed.ms.toFixed(0)} ms after SIGCONT (ttl ${TIMING.ttlMs} ms)`);
    const after = cluster.owners();
    for (let i = 0; i < before.length; i++) if (before[i] !== 'node-c') expect(after[i]).toBe(before[i]);
  });

  it('moves no key when Redis restarts empty while every member lives, and starts a new epoch', async () => {
    cluster = await startFaultCluster(server.url, { members: MEMBERS, routers: 3, coordinators: 2, timing: TIMING, defaults: DEFAULTS });
    const before = cluster.owners();
    const epoch = cluster.routers[0]!.epoch;
    await server.restart(); // persistence is off: every key is gone
    const back = performance.now();
    const c = cluster;
    const adopted = await waitForTimed(() => c.routers.every((r) => r.epoch !== epoch) && c.agreed() === MEMBERS.join(','), {
      timeoutMs: 3 * TIMING.ttlMs + 2000,
      what: 'every router to adopt the new epoch',
    });
    await sleep(TIMING.ttlMs);
    expectNoKeyMoved(cluster);
    expect(movedKeys(before, cluster.owners())).toBe(0);
    // Exactly one new ring was written after the restart: the whole membership, after the grace period.
    const after = cluster.writes.filter((w) => w.at >= back);
    expect(after.map((w) => w.state.nodes.map((n) => n.id).join(','))).toEqual([MEMBERS.join(',')]);
    console.info(`[ringroute] Redis restarted empty: routers adopted the new epoch ${adopted.ms.toFixed(0)} ms after it was back, no key moved`);
  });

  it('removes a member that died while Redis was down and restarted empty within ttl + 1 s, moving only its keys', async () => {
    cluster = await startFaultCluster(server.url, { members: MEMBERS, routers: 3, coordinators: 2, timing: TIMING, defaults: DEFAULTS });
    const before = cluster.owners();
    await server.stop();
    cluster.members.get('node-b')!.abandon();
    await sleep(TIMING.ttlMs);
    await server.restart();
    const c = cluster;
    const removed = await waitForTimed(() => c.agreed() === 'node-a,node-c', { timeoutMs: TIMING.ttlMs + 1000, what: 'node-b to be removed' });
    console.info(`[ringroute] Redis restarted empty: the member that died meanwhile was removed ${removed.ms.toFixed(0)} ms after the restart`);
    const after = cluster.owners();
    for (let i = 0; i < before.length; i++) if (before[i] !== 'node-b') expect(after[i]).toBe(before[i]);
    // No intermediate ring dropped a live member.
    for (const log of cluster.changes) for (const { state } of log) expect(state.nodes.map((n) => n.id)).toEqual(expect.arrayContaining(['node-a', 'node-c']));
  });
});
