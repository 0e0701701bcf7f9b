import { afterEach, describe, expect, it } from 'vitest';
import { MemoryTransport } from '../../src/adapters/memory/transport.js';
import { RingError } from '../../src/errors.js';
import { groupByOwner } from '../../src/ring/group-by-owner.js';
import { Dispatcher } from '../../src/sessions/index.js';
import { sleep, waitFor } from '../support/wait.js';
import { TestCluster } from './support.js';

let cluster: TestCluster;
afterEach(async () => {
  await cluster?.close();
});

async function threeNodes(users: number) {
  cluster = new TestCluster();
  for (const id of ['a', 'b', 'c']) await cluster.startNode(id);
  await cluster.setRing(['a', 'b', 'c']);
  const keys = Array.from({ length: users }, (_, i) => `user-${i}`);
  const got = new Map<string, string[]>();
  const clients = keys.map((key) => {
    const c = cluster.client(key, 'a');
    c.on('message', (d) => got.set(key, [...(got.get(key) ?? []), d]));
    return c;
  });
  await waitFor(() => clients.every((c) => c.node !== null), { timeoutMs: 10_000 });
  return { keys, got };
}

describe('Dispatcher.sendGroup', () => {
  it('hash mode: one publication per distinct owner, one delivered outcome per member', async () => {
    const { keys, got } = await threeNodes(12);
    const dispatcher = await cluster.dispatcher();
    const owners = groupByOwner(cluster.nodes.get('a')!.router, keys).size;
    const outcomes = await dispatcher.sendGroup([...keys, keys[0]!], 'to all');
    expect(outcomes.map((o) => o.key)).toEqual(keys); // repeats counted once, first-seen order
    expect(outcomes.every((o) => o.status === 'delivered')).toBe(true);
    expect(dispatcher.publications).toBe(owners);
    await waitFor(() => keys.every((k) => got.get(k)?.length === 1));
  });

  it('broadcast mode: one publication to every node, the same outcomes', async () => {
    const { keys } = await threeNodes(9);
    const dispatcher = await cluster.dispatcher({ mode: 'broadcast' });
    const outcomes = await dispatcher.sendGroup(keys, 'to all');
    expect(outcomes.every((o) => o.status === 'delivered')).toBe(true);
    expect(dispatcher.publications).toBe(1);
    const visits = ['a', 'b', 'c'].reduce((n, id) => n + cluster.nodes.get(id)!.node.stats().delivered, 0);
    expect(visits).toBe(9);
  });

  it('broadcast mode: the owner holds a message for a user who is not connected yet', async () => {
    const { keys } = await threeNodes(1);
    const dispatcher = await cluster.dispatcher({ mode: 'broadcast' });
    const pending = dispatcher.send('late-user', 'hi');
    await sleep(50);
    cluster.client('late-user', 'a');
    expect(await pending).toMatchObject({ status: 'delivered', key: 'late-user' });
    expect(keys).toHaveLength(1);
  });
});

describe('Dispatcher in broadcast mode, nodes answering late', () => {
  it("waits past the deadline for a node that wrote the message before taking another node's failed as final", async () => {
    cluster = new TestCluster();
    const transport = new MemoryTransport();
    const current = await cluster.store.read();
    await cluster.store.compareAndSet(current?.version ?? 0, [{ id: 'a', meta: { url: 'ws://127.0.0.1:1' } }, { id: 'b', meta: { url: 'ws://127.0.0.1:2' } }]);
    const router = await cluster.router();
    await waitFor(() => router.ring.size === 2);
    const dispatcher = await Dispatcher.start({ id: 'late', router, transport, mode: 'broadcast', ttlMs: 200, publishTimeoutMs: 100, ackTimeoutMs: 1000, retryMs: 10_000 });
    const answer = (node: string, id: string, outcome: object) => void transport.publish('sender:late', JSON.stringify({ t: 'o', id, node, outcome }));
    // Node a owns the user and held the message to its deadline; node b had the user's session, wrote it, and
    // answers once the client acknowledged it, well after the deadline.
    await transport.listen('all', (text) => {
      const { id, keys } = JSON.parse(text) as { id: string; keys: string[] };
      setTimeout(() => answer('a', id, { status: 'failed', key: keys[0], reason: 'expired' }), 200);
      setTimeout(() => answer('b', id, { status: 'delivered', key: keys[0], node: 'b' }), 800);
    });
    const started = performance.now();
    expect(await dispatcher.send('moving-user', 'hi')).toMatchObject({ status: 'delivered', key: 'moving-user' });
    expect(performance.now() - started).toBeGreaterThanOrEqual(700);
    // With no late answer, the failed stands once the ack timeout passed too.
    await transport.close();
    const quiet = new MemoryTransport();
    const alone = await Dispatcher.start({ id: 'alone', router, transport: quiet, mode: 'broadcast', ttlMs: 200, publishTimeoutMs: 100, ackTimeoutMs: 500, retryMs: 10_000 });
    await quiet.listen('all', (text) => {
      const { id, keys } = JSON.parse(text) as { id: string; keys: string[] };
      setTimeout(() => void quiet.publish('sender:alone', JSON.stringify({ t: 'o', id, node: 'a', outcome: { status: 'failed', key: keys[0], reason: 'expired' } })), 200);
    });
    const t0 = performance.now();
    expect(await alone.send('gone-user', 'hi')).toMatchObject({ status: 'failed', reason: 'expired' });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(200 + 100 + 500 - 60);
    await dispatcher.close();
    await alone.close();
    await quiet.close();
  });
});

describe('Dispatcher.send', () => {
  it('is idempotent per id: in flight or finished, the same outcome and one delivery', async () => {
    const { got } = await threeNodes(1);
    const dispatcher = await cluster.dispatcher();
    const [one, two] = await Promise.all([dispatcher.send('user-0', 'x', { id: 'same' }), dispatcher.send('user-0', 'x', { id: 'same' })]);
    expect(one).toEqual(two);
    expect(await dispatcher.send('user-0', 'x', { id: 'same' })).toEqual(one);
    await sleep(50);
    expect(got.get('user-0')).toEqual(['x']);
    expect(dispatcher.publications).toBe(1);
  });

  it('fails at once with no-owner on an empty ring', async () => {
    cluster = new TestCluster();
    await cluster.startNode('a');
    const dispatcher = await cluster.dispatcher();
    expect(await dispatcher.send('user-0', 'x')).toEqual({ status: 'failed', key: 'user-0', reason: 'no-owner' });
    expect(dispatcher.inFlight).toBe(0);
  });

  it('fails with unreachable when the owner never listens (nobody received any attempt)', async () => {
    cluster = new TestCluster();
    await cluster.startNode('a');
    await cluster.store.compareAndSet((await cluster.store.read())?.version ?? 0, [{ id: 'ghost', meta: { url: 'ws://127.0.0.1:1' } }]);
    const dispatcher = await cluster.dispatcher({ publishTimeoutMs: 100 });
    await waitFor(async () => (await cluster.router()).version > 0);
    expect(await dispatcher.send('user-0', 'x', { ttlMs: 300 })).toEqual({ status: 'failed', key: 'user-0', reason: 'unreachable' });
  });

  it('reports unknown, never failed, when an earlier copy may have reached a previous run of the owner', async () => {
    cluster = new TestCluster();
    await cluster.store.compareAndSet(0, [{ id: 'a' }]);
    const firstRun = cluster.transport();
    const heard: string[] = [];
    const unlisten = await firstRun.listen('node:a', (message) => heard.push(message)); // a's first run: hears it, dies before answering
    const dispatcher = await cluster.dispatcher({ publishTimeoutMs: 100, retryMs: 200 });
    await waitFor(async () => (await cluster.router()).version > 0);
    const outcome = dispatcher.send('user-0', 'x', { ttlMs: 1500 });
    await waitFor(() => heard.length === 1);
    expect(JSON.parse(heard[0]!)).toMatchObject({ t: 'd', e: 0 });
    await unlisten();
    const restarted = await cluster.startNode('a'); // never saw the message; user-0 never connects
    const copies: unknown[] = [];
    await cluster.transport().listen('node:a', (message) => copies.push(JSON.parse(message)));
    expect(await outcome).toEqual({ status: 'unknown', key: 'user-0', reason: 'earlier-copy' });
    expect(copies[0]).toMatchObject({ t: 'd', e: 1 });
    expect(restarted.node.stats().failed).toBe(0);
  });

  it('reports unknown when the owner received it and never answered', async () => {
    cluster = new TestCluster();
    const bus = new MemoryTransport();
    const silent = bus.connect();
    await silent.listen('node:mute', () => undefined); // hears, never answers
    const router = { lookup: () => ({ id: 'mute' }), ring: { size: 1, hasher: { name: 'h', hash: () => 1 } }, on: () => undefined, off: () => undefined };
    const dispatcher = await Dispatcher.start({ id: 'd', router, transport: bus.connect(), publishTimeoutMs: 100, retryMs: 100 });
    try {
      expect(await dispatcher.send('user-0', 'x', { ttlMs: 300 })).toEqual({ status: 'unknown', key: 'user-0', reason: 'no-outcome' });
    } finally {
      await dispatcher.close();
      await bus.close();
    }
  });

  it('throws OVERLOADED when maxInFlight recipients are in flight, and sends nothing then', async () => {
    cluster = new TestCluster();
    await cluster.startNode('a');
    await cluster.setRing(['a']);
    const dispatcher = await cluster.dispatcher({ maxInFlight: 3 });
    const held = dispatcher.sendGroup(['u1', 'u2'], 'x', { ttlMs: 200 }); // nobody connected: held
    expect(() => dispatcher.sendGroup(['u3', 'u4'], 'y')).toThrow(expect.objectContaining({ code: 'OVERLOADED' }));
    expect(dispatcher.inFlight).toBe(2);
    await held;
  });

  it('throws RingError for bad input and after close()', async () => {
    cluster = new TestCluster();
    await cluster.startNode('a');
    const dispatcher = await cluster.dispatcher();
    expect(() => dispatcher.sendGroup('u1' as never, 'x')).toThrow(/members must be an array/);
    expect(() => dispatcher.sendGroup([''], 'x')).toThrow(/recipient key/);
    expect(() => dispatcher.sendGroup(['u1'], 1 as never)).toThrow(/data must be a string/);
    expect(() => dispatcher.sendGroup(['u1'], 'x', { ttlMs: 0 })).toThrow(/ttlMs/);
    await dispatcher.close();
    expect(() => dispatcher.sendGroup(['u1'], 'x')).toThrow(expect.objectContaining({ code: 'CLOSED' }));
    const router = await cluster.router();
    await expect(Dispatcher.start({ id: 'x', router, transport: cluster.transport(), mode: 'multicast' as never })).rejects.toThrow(RingError);
  });

  it('resolves what is in flight when closed: failed closed, or unknown when a node may have it', async () => {
    cluster = new TestCluster();
    await cluster.startNode('a');
    await cluster.setRing(['a']);
    const dispatcher = await cluster.dispatcher();
    const pending = dispatcher.send('nobody-here', 'x');
    await sleep(30);
    await dispatcher.close();
    expect(await pending).toEqual({ status: 'unknown', key: 'nobody-here', reason: 'no-outcome' });
  });
});

describe('outcomes in batches', () => {
  it('a node answers a burst for one sender in few messages, and every outcome arrives', async () => {
    const { keys } = await threeNodes(30);
    const heard: string[] = [];
    const spy = cluster.transport();
    // Listen beside the dispatcher: the memory bus hands every listener of an address a copy.
    const dispatcher = await cluster.dispatcher({ id: 'batched' });
    await spy.listen('sender:batched', (text) => heard.push(text));
    const outcomes = await Promise.all(keys.map((key, i) => dispatcher.send(key, `m${i}`, { id: `b-${i}` })));
    expect(outcomes.every((o) => o.status === 'delivered')).toBe(true);
    const wires = () => heard.map((t) => JSON.parse(t) as { t: string; list?: unknown[] });
    const answered = () => wires().reduce((n, w) => n + (w.t === 'os' ? w.list!.length : 1), 0);
    // The spy's copies come on their own ticks, possibly after the dispatcher's.
    await waitFor(() => answered() >= keys.length);
    await sleep(20);
    expect(answered()).toBe(keys.length);
    expect(wires().some((w) => w.t === 'os')).toBe(true);
    expect(wires().length).toBeLessThan(keys.length);
  });

  it('a sender that did not ask for batches (no "ob") gets one outcome per message, as before', async () => {
    await threeNodes(6);
    const transport = cluster.transport();
    const heard: Array<{ t: string; id: string; outcome: { status: string; key: string } }> = [];
    await transport.listen('sender:old', (text) => heard.push(JSON.parse(text)));
    const router = cluster.nodes.get('a')!.router;
    for (let i = 0; i < 6; i++) {
      const key = `user-${i}`;
      const wire = { t: 'd', id: `old-${i}`, from: 'sender:old', keys: [key], data: 'x', hops: 0, ttl: 5000, w: 0, b: 0 };
      await transport.publish(`node:${router.lookup(key).id}`, JSON.stringify(wire));
    }
    await waitFor(() => heard.length === 6);
    expect(heard.every((w) => w.t === 'o' && w.outcome.status === 'delivered')).toBe(true);
  });

  it('ignores and reports a malformed batch, and takes a good one after it', async () => {
    cluster = new TestCluster();
    const transport = new MemoryTransport();
    await cluster.store.compareAndSet((await cluster.store.read())?.version ?? 0, [{ id: 'a', meta: { url: 'ws://127.0.0.1:1' } }]);
    const router = await cluster.router();
    await waitFor(() => router.ring.size === 1);
    const dispatcher = await Dispatcher.start({ id: 'm', router, transport, retryMs: 10_000 });
    const errors: Error[] = [];
    dispatcher.on('error', (e) => errors.push(e));
    await transport.listen('node:a', () => undefined);
    const pending = dispatcher.sendGroup(['k1', 'k2'], 'hi', { id: 'g' });
    await sleep(10);
    for (const bad of [{ t: 'os', node: 'a', list: [] }, { t: 'os', node: 'a', list: [{ id: 'g', outcome: { status: 'delivered', key: 'k1' } }] }, { t: 'os', list: [{ id: 'g', outcome: { status: 'delivered', key: 'k1', node: 'a' } }] }]) {
      await transport.publish('sender:m', JSON.stringify(bad));
    }
    await transport.publish('sender:m', JSON.stringify({ t: 'os', node: 'a', list: [{ id: 'g', outcome: { status: 'delivered', key: 'k1', node: 'a' } }, { id: 'g', outcome: { status: 'delivered', key: 'k2', node: 'a' } }] }));
    expect((await pending).map((o) => o.status)).toEqual(['delivered', 'delivered']);
    expect(errors).toHaveLength(3);
    await dispatcher.close();
    await transport.close();
  });
});

describe('Dispatcher in hash mode, a copy still being published', () => {
  it("does not take a node's failed as final while a retry to the key's new owner is being published; the new owner's delivery counts", async () => {
    cluster = new TestCluster();
    const bus = new MemoryTransport();
    const handle = bus.connect();
    // Publications to node b hang until the test lets them through (Redis slow during a fail-over).
    let releaseB!: () => void;
    const bHeld = new Promise<void>((resolve) => (releaseB = resolve));
    const transport = {
      publish: async (address: string, message: string): Promise<number> => {
        if (address === 'node:b') await bHeld;
        return handle.publish(address, message);
      },
      listen: handle.listen.bind(handle),
      close: handle.close.bind(handle),
    };
    await cluster.store.compareAndSet(0, [{ id: 'a' }]);
    const router = await cluster.router();
    await waitFor(() => router.ring.size === 1);
    const dispatcher = await Dispatcher.start({ id: 'race', router, transport, ttlMs: 5000, publishTimeoutMs: 3000, retryMs: 150 });
    const answer = (node: string, id: string, outcome: object) => void bus.publish('sender:race', JSON.stringify({ t: 'o', id, node, outcome }));
    const seen: string[] = [];
    // Node a hears the message and says nothing for now (it holds it, forwarding to an owner nobody listens at).
    await bus.listen('node:a', (text) => seen.push(`a:${(JSON.parse(text) as { id: string }).id}`));
    // Node b, the new owner, delivers what reaches it.
    await bus.listen('node:b', (text) => {
      const { id, keys } = JSON.parse(text) as { id: string; keys: string[] };
      seen.push(`b:${id}`);
      answer('b', id, { status: 'delivered', key: keys[0], node: 'b' });
    });
    const outcome = dispatcher.send('user-0', 'hi');
    await waitFor(() => seen.length === 1);
    const id = seen[0]!.slice(2);
    // The ring moves user-0 to b: the dispatcher's retry goes to b, whose publication hangs.
    const state = await cluster.store.read();
    await cluster.store.compareAndSet(state!.version, [{ id: 'b' }], state!.epoch);
    await waitFor(() => router.ring.has('b') && !router.ring.has('a'));
    await sleep(400); // past retryMs: the retry to b is under way
    // Now a gives up: it could not reach anyone. The copy to b is still being published.
    answer('a', id, { status: 'failed', key: 'user-0', reason: 'unreachable' });
    await sleep(100);
    let settled = false;
    void outcome.then(() => (settled = true));
    await sleep(50);
    expect(settled).toBe(false);
    releaseB();
    expect(await outcome).toEqual({ status: 'delivered', key: 'user-0', node: 'b' });
    await dispatcher.close();
    await bus.close();
  });
});
