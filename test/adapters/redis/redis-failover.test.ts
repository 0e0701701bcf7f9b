/**
 * The fail-over that loses the last ring write, with real redis-servers: a
 * primary and its replica, the replication stream held (the replica
 * replicates through a forwarder that stops passing the primary's bytes on),
 * a compare-and-set acknowledged by the primary and read by a router, the
 * stream dropped, the primary stopped and the replica promoted (`REPLICAOF
 * NO ONE`). Clients reach Redis through one address, a TCP forwarder the
 * test switches to the promoted replica, as a virtual IP or a proxy in front
 * of Redis does. A coordinator then writes other nodes as the same version.
 * Before issue 20 the router that had read the lost write ignored the new
 * one for ever (it never adopts a version it already has): two routers
 * served different rings under one (epoch, version). Now it adopts the
 * store's ring at its next resync and reports `CONFLICT`.
 */
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { RedisRingStore } from '../../../src/adapters/redis/index.js';
import { RingError, RingRouter } from '../../../src/index.js';
import { Forwarder } from '../../support/forwarder.js';
import { RedisServer, randomPrefix, skipWithoutRedis } from '../../support/redis-server.js';
import { sleep, waitFor } from '../../support/wait.js';

const skip = skipWithoutRedis('the Redis fail-over that loses a write', 'binary');
describe.skipIf(skip)('a Redis fail-over that loses the last ring write', { timeout: 30_000 }, () => {
  const cleanup: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const f of cleanup.reverse()) await f();
    cleanup.length = 0;
  });

  it('leaves no two routers serving different rings under one (epoch, version) past a resync, and reports CONFLICT', async () => {
    // No 5 s wait before the first full sync (diskless replication's default delay).
    const primary = await RedisServer.start(['--repl-diskless-sync-delay', '0']);
    cleanup.push(() => primary.destroy());
    // The replica replicates through a link the test can hold and cut: the replication stream.
    const link = await Forwarder.start(primary.port);
    cleanup.push(() => link.close());
    const replica = await RedisServer.start(['--replicaof', '127.0.0.1', String(link.port)]);
    cleanup.push(() => replica.destroy());
    const vip = await Forwarder.start(primary.port);
    cleanup.push(() => vip.close());
    const clients: Redis[] = [];
    const client = (port = vip.port): Redis => {
      const r = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 2, retryStrategy: () => 50, lazyConnect: false });
      r.on('error', () => undefined);
      clients.push(r);
      return r;
    };
    cleanup.push(() => clients.forEach((c) => c.disconnect()));
    const prefix = randomPrefix('failover');
    const direct = client(replica.port);
    await waitFor(async () => /master_link_status:up/.test(await direct.info('replication')), { timeoutMs: 10_000, what: 'the replica in sync' });

    const writer = new RedisRingStore({ redis: client(), prefix });
    const v1 = await writer.compareAndSet(0, [{ id: 'a' }, { id: 'b' }]);
    expect(v1?.version).toBe(1);
    await waitFor(async () => (await direct.get(writer.keys.ring)) !== null, { timeoutMs: 5000, what: 'version 1 on the replica' });

    const RESYNC_MS = 200;
    const first = await RingRouter.start({ store: new RedisRingStore({ redis: client(), prefix }), resyncMs: RESYNC_MS });
    cleanup.push(() => first.close());
    const errors: Error[] = [];
    first.on('error', (e) => errors.push(e));
    expect(first.version).toBe(1);

    // The replication stream is held; the primary acknowledges version 2 = {a, b, c} and the router reads it.
    link.hold();
    const lost = await writer.compareAndSet(1, [{ id: 'a' }, { id: 'b' }, { id: 'c' }], v1!.epoch);
    expect(lost?.version).toBe(2);
    await waitFor(() => first.version === 2, { timeoutMs: 5000, what: 'the router on the lost write' });
    expect(first.ring.nodes().map((n) => n.id)).toEqual(['a', 'b', 'c']);

    // The primary dies before its replica got the write; the replica is promoted and the address moves to it.
    // (Killed first: a replica that reconnected to a live primary would fetch the write from its backlog.)
    await primary.kill();
    link.cut();
    await direct.call('REPLICAOF', 'NO', 'ONE');
    const promoted = JSON.parse((await direct.get(writer.keys.ring))!) as { version: number; epoch: string };
    expect(promoted).toMatchObject({ version: 1, epoch: v1!.epoch }); // the write is lost
    vip.switchTo(replica.port);

    // A coordinator writes the membership it sees now, {a, b, d}: version 2 of the same epoch again.
    const rewrite = new RedisRingStore({ redis: client(), prefix });
    const again = await rewrite.compareAndSet(1, [{ id: 'a' }, { id: 'b' }, { id: 'd' }], v1!.epoch);
    expect(again).toMatchObject({ version: 2, epoch: v1!.epoch });
    const written = Date.now();
    const second = await RingRouter.start({ store: new RedisRingStore({ redis: client(), prefix }), resyncMs: RESYNC_MS });
    cleanup.push(() => second.close());
    expect(second.ring.nodes().map((n) => n.id)).toEqual(['a', 'b', 'd']);

    // The first router had {a, b, c} as version 2: it must come to {a, b, d} by its next resyncs.
    await waitFor(() => first.ring.nodes().map((n) => n.id).join() === 'a,b,d', { timeoutMs: 5000, what: 'the first router repaired' });
    const repairedMs = Date.now() - written;
    expect(first.version).toBe(2);
    expect(first.conflicts).toBe(1);
    const conflict = errors.find((e) => e instanceof RingError && e.code === 'CONFLICT');
    expect(conflict?.message).toMatch(/other nodes under ring .* version 2/);
    // Both serve the same ring under the same (epoch, version), and stay so.
    await sleep(3 * RESYNC_MS);
    expect(`${first.epoch}/${first.version}/${first.ring.nodes().map((n) => n.id)}`).toBe(`${second.epoch}/${second.version}/${second.ring.nodes().map((n) => n.id)}`);
    expect(first.conflicts).toBe(1);
    console.log(`[ringroute] fail-over lost version 2 = {a,b,c}; {a,b,d} written as version 2; the router that had read the lost write adopted the store's ring ${repairedMs} ms after the rewrite (resyncMs ${RESYNC_MS}, ioredis reconnecting through the moved address)`);
  });
});
