import { afterEach, describe, expect, it } from 'vitest';
import { Server } from 'socket.io';
import type { Socket as ClientSocket } from 'socket.io-client';
import { MemoryTransport } from '../../src/adapters/memory/transport.js';
import { RingError } from '../../src/index.js';
import { createAdapter, type SocketIoAdapterOptions } from '../../src/socketio/index.js';
import { type UserCluster, TestRouter, adapterOf, lateHolds, sleep, startUserCluster } from './support.js';

const NODES = ['node-1', 'node-2', 'node-3', 'node-4'];

function memoryCluster(router: TestRouter, extra: Partial<SocketIoAdapterOptions> = {}, bus = new MemoryTransport()): Promise<UserCluster> {
  return startUserCluster(NODES.length, async (i) => ({
    adapter: createAdapter({ router, transport: bus.connect(), nodeId: NODES[i]!, ...extra }),
  }));
}

/** Users whose owner is `node`, by trying ids. */
function usersOwnedBy(router: TestRouter, node: string, count: number, from = 0): string[] {
  const ids: string[] = [];
  for (let i = from; ids.length < count; i++) if (router.ring.lookup(`u${i}`).id === node) ids.push(`u${i}`);
  return ids;
}

const indexOf = (node: string): number => NODES.indexOf(node);

function collect(client: ClientSocket, event = 'm'): unknown[] {
  const got: unknown[] = [];
  client.on(event, (value: unknown) => got.push(value));
  return got;
}

async function until(check: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(10);
  }
}

describe('ringroute/socket.io routing', () => {
  let cluster: UserCluster | undefined;
  afterEach(async () => {
    await cluster?.close();
    cluster = undefined;
  });

  it("publishes an emit to a user's room to the owner only: 1 node per emit", async () => {
    const router = new TestRouter(NODES);
    cluster = await memoryCluster(router);
    const users: Array<{ id: string; got: unknown[] }> = [];
    for (const node of NODES) {
      for (const id of usersOwnedBy(router, node, 3)) users.push({ id, got: collect(await cluster.user(indexOf(node), id)) });
    }
    const before = cluster.servers.map((io) => adapterOf(io).stats().receivedPackets);
    let remote = 0;
    for (const [i, io] of cluster.servers.entries()) {
      for (const user of users) {
        io.to(`user:${user.id}`).emit('m', `${i}:${user.id}`);
        if (router.ring.lookup(user.id).id !== NODES[i]) remote++;
      }
    }
    await until(() => users.every((u) => u.got.length === NODES.length));
    await sleep(100);
    for (const user of users) expect(user.got.sort()).toEqual(NODES.map((_, i) => `${i}:${user.id}`));
    const handled = cluster.servers.map((io, i) => adapterOf(io).stats().receivedPackets - before[i]!);
    // Each emit to a remote owner is handled by that one node; none reaches a third.
    expect(handled.reduce((a, b) => a + b, 0)).toBe(remote);
  });

  it('forwards to a socket connected to a node that does not own its user, once per emit, and forgets it when it leaves', async () => {
    const router = new TestRouter(NODES);
    cluster = await memoryCluster(router);
    const [id] = usersOwnedBy(router, 'node-1', 1);
    const owner = collect(await cluster.user(0, id!));
    const strayClient = await cluster.user(2, id!);
    const stray = collect(strayClient);
    for (const [i, io] of cluster.servers.entries()) io.to(`user:${id}`).emit('m', i);
    await until(() => owner.length === 4 && stray.length === 4);
    await sleep(100);
    expect(stray.sort()).toEqual([0, 1, 2, 3]);
    expect(owner.sort()).toEqual([0, 1, 2, 3]);
    expect(adapterOf(cluster.servers[0]!).stats().holds).toBe(1);
    expect(adapterOf(cluster.servers[2]!).stats().strays).toBe(1);
    strayClient.disconnect();
    await until(() => adapterOf(cluster!.servers[0]!).stats().holds === 0);
  });

  it('keeps delivering to sockets whose key moved while they stay connected, without loss or duplicates', async () => {
    const router = new TestRouter(NODES);
    cluster = await memoryCluster(router);
    // Users owned by node-2 now; after node-2 leaves the ring, others own them while they stay on node-2.
    const ids = usersOwnedBy(router, 'node-2', 6);
    const got = new Map<string, unknown[]>();
    for (const id of ids) got.set(id, collect(await cluster.user(1, id)));
    let n = 0;
    const sending = (async () => {
      for (let round = 0; round < 40; round++) {
        for (const id of ids) cluster!.servers[(round % 3) + (round % 3 >= 1 ? 1 : 0)]!.to(`user:${id}`).emit('m', n);
        n++;
        if (round === 15) router.set(['node-1', 'node-3', 'node-4']);
        await sleep(5);
      }
    })();
    await sending;
    await until(() => ids.every((id) => got.get(id)!.length >= 40), 3000);
    await sleep(100);
    for (const id of ids) expect(got.get(id)).toEqual([...Array(40).keys()]);
    expect(adapterOf(cluster.servers[1]!).stats().strays).toBe(ids.length);
  });

  it('collects the acks of exactly the sockets that got an emit to a keyed room, without waiting for the timeout', async () => {
    const router = new TestRouter(NODES);
    cluster = await memoryCluster(router);
    const [id] = usersOwnedBy(router, 'node-3', 1);
    for (const i of [2, 2, 0]) (await cluster.user(i, id!)).on('q', (cb: (v: number) => void) => cb(i));
    const other = await cluster.user(1, 'someone-else');
    other.on('q', () => {
      throw new Error('an emit to one user reached another');
    });
    for (const io of cluster.servers) {
      const started = Date.now();
      const responses = await io.to(`user:${id}`).timeout(3000).emitWithAck('q');
      expect([...responses].sort()).toEqual([0, 2, 2]);
      expect(Date.now() - started).toBeLessThan(1000);
    }
    expect(await cluster.servers[1]!.to('user:nobody').timeout(3000).emitWithAck('q')).toEqual([]);
  });

  it('keeps the order of emits from one server to a user, mixing emits to every node and to the owner', async () => {
    const router = new TestRouter(NODES);
    cluster = await memoryCluster(router);
    const [id] = usersOwnedBy(router, 'node-2', 1);
    const got = collect(await cluster.user(1, id!));
    for (const sender of [0, 1]) {
      got.length = 0;
      const io = cluster.servers[sender]!;
      for (let i = 0; i < 300; i++) (i % 3 === 0 ? io.emit('m', i) : io.to(`user:${id}`).emit('m', i));
      await until(() => got.length === 300);
      expect(got).toEqual([...Array(300).keys()]);
    }
  });

  it('resolves a pending ack broadcast with what arrived when a server leaves', async () => {
    const router = new TestRouter(NODES);
    cluster = await memoryCluster(router);
    (await cluster.user(0, 'a')).on('q', (cb: (v: string) => void) => cb('a'));
    (await cluster.user(1, 'b')).on('q', (cb: (v: string) => void) => cb('b'));
    (await cluster.user(2, 'c')).on('q', () => undefined);
    const started = Date.now();
    const pending = cluster.servers[0]!.timeout(8000).emitWithAck('q');
    await sleep(200);
    await cluster.servers[2]!.close();
    const responses = await pending;
    expect([...responses].sort()).toEqual(['a', 'b']);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('fetches the sockets of a keyed room from its owner and the nodes holding it', async () => {
    const router = new TestRouter(NODES);
    cluster = await memoryCluster(router);
    const [id] = usersOwnedBy(router, 'node-4', 1);
    await cluster.user(3, id!);
    await cluster.user(0, id!);
    await cluster.user(1, 'other');
    const sockets = await cluster.servers[2]!.in(`user:${id}`).fetchSockets();
    expect(sockets).toHaveLength(2);
    expect(sockets.every((s) => s.rooms.has(`user:${id}`))).toBe(true);
  });

  it('drops and reports a malformed, foreign or oversized message, and goes on working', async () => {
    const router = new TestRouter(NODES);
    const shared = new MemoryTransport();
    cluster = await memoryCluster(router, { maxMessageBytes: 10_000 }, shared);
    const errors: string[] = [];
    const adapter = adapterOf(cluster.servers[1]!);
    adapter.on('error', (error: Error) => errors.push(error.message));
    const bus = shared.connect();
    for (const text of ['not json', '[]', '{"uid":"x","nsp":"/","type":3,"node":"n"}', '{"uid":"x","nsp":"/other","type":2,"node":"n"}', '{"uid":"x","nsp":"/","type":77,"node":"n"}', 'x'.repeat(20_000)]) {
      await bus.publish('sio:/:node:node-2', text);
    }
    await sleep(50);
    expect(errors).toHaveLength(6);
    expect(errors.join('\n')).toMatch(/not JSON[\s\S]*not an object[\s\S]*data is missing[\s\S]*namespace "\/other"[\s\S]*unknown message type 77[\s\S]*over maxMessageBytes/);
    expect(adapter.stats().dropped).toBe(6);
    const sender = adapterOf(cluster.servers[0]!);
    const sendErrors: Error[] = [];
    sender.on('error', (error: Error) => sendErrors.push(error));
    cluster.servers[0]!.emit('big', 'y'.repeat(20_000));
    await sleep(20);
    expect(sendErrors[0]?.message).toMatch(/over maxMessageBytes \(10000\); it was not sent/);
    const client = await cluster.user(1, 'still-works');
    const got = collect(client);
    cluster.servers[0]!.to('user:still-works').emit('m', 1);
    await until(() => got.length === 1);
    await bus.close();
  });
});

describe('ringroute/socket.io options', () => {
  const router = new TestRouter(NODES);
  const transport = new MemoryTransport();

  it('refuses connection state recovery with a clear error', () => {
    expect(() => new Server({ adapter: createAdapter({ router, transport, nodeId: 'n' }) as never, connectionStateRecovery: {} })).toThrow(/does not support connectionStateRecovery/);
  });

  it.each([
    [{}, /needs options.router/],
    [{ router, nodeId: 'n' }, /needs options.transport/],
    [{ router, transport }, /nodeId must be a string/],
    [{ router, transport, nodeId: 'n', roomKey: 'user:' }, /roomKey must be a function/],
    [{ router, transport, nodeId: 'n', heartbeatIntervalMs: 0 }, /heartbeatIntervalMs must be a positive number, got 0/],
    [{ router, transport, nodeId: 'n', heartbeatIntervalMs: 5000, heartbeatTimeoutMs: 4000 }, /must be longer than heartbeatIntervalMs/],
    [{ router, transport, nodeId: 'n', maxHolds: 1.5 }, /maxHolds must be a positive integer/],
    [{ router, transport, nodeId: 'n', prefix: '' }, /prefix must be a string of 1 to 64/],
    [{ router, transport, nodeId: 'n', requestTimeoutMs: -1 }, /requestTimeoutMs must be a positive number, got -1/],
  ])('refuses bad options %#', (options, message) => {
    let error: unknown;
    try {
      createAdapter(options as unknown as SocketIoAdapterOptions);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(RingError);
    expect((error as RingError).code).toBe('INVALID_OPTION');
    expect((error as Error).message).toMatch(message);
  });
});

describe('ringroute/socket.io with registrations that arrive after the packet', () => {
  let cluster: UserCluster | undefined;
  afterEach(async () => {
    await cluster?.close();
    cluster = undefined;
  });

  it('replays to a late registration the packets its owner handled meanwhile, once', async () => {
    const router = new TestRouter(NODES);
    const bus = new MemoryTransport();
    cluster = await startUserCluster(NODES.length, async (i) => ({
      adapter: createAdapter({ router, transport: lateHolds(bus, 30), nodeId: NODES[i]! }),
    }));
    const [id] = usersOwnedBy(router, 'node-1', 1);
    // The client joins user:<id> on node-3; its HOLD reaches node-1 30 ms late.
    const client = await cluster.user(2, id!);
    const got = collect(client);
    cluster.servers[1]!.to(`user:${id}`).emit('m', 'early');
    cluster.servers[0]!.to(`user:${id}`).emit('m', 'from the owner');
    await until(() => got.length === 2);
    await sleep(100);
    expect(got.sort()).toEqual(['early', 'from the owner']);
    cluster.servers[3]!.to(`user:${id}`).emit('m', 'later');
    await until(() => got.length === 3);
  });
});
