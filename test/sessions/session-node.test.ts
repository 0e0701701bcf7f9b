import { WebSocket } from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryTransport } from '../../src/adapters/memory/transport.js';
import { RingError } from '../../src/errors.js';
import { CloseCode, SessionNode } from '../../src/sessions/index.js';
import { sleep, waitFor } from '../support/wait.js';
import { FakeSocket, TestCluster } from './support.js';

let cluster: TestCluster;
afterEach(async () => {
  await cluster?.close();
});

/** Keys owned by `node` on the cluster's current ring. */
function keysOwnedBy(node: string, count: number, prefix = 'user'): string[] {
  const router = cluster.nodes.get(node)!.router;
  const out: string[] = [];
  for (let i = 0; out.length < count; i++) if (router.lookup(`${prefix}-${i}`).id === node) out.push(`${prefix}-${i}`);
  return out;
}

/** A raw ws client: records frames and the close; acks only when told to. */
async function rawClient(url: string, key: string, ack = false) {
  const ws = new WebSocket(`${url}/ws?key=${encodeURIComponent(key)}`);
  const frames: Array<Record<string, string>> = [];
  let closed: { code: number; reason: string } | null = null;
  ws.on('message', (data) => {
    const frame = JSON.parse(String(data)) as Record<string, string>;
    frames.push(frame);
    if (ack && frame.t === 'msg') ws.send(JSON.stringify({ t: 'ack', id: frame.id }));
  });
  ws.on('close', (code, reason) => (closed = { code, reason: String(reason) }));
  ws.on('error', () => undefined);
  await waitFor(() => frames.length > 0 || closed !== null, { what: 'first frame or close' });
  return { ws, frames, closed: () => closed };
}

describe('SessionNode.attach', () => {
  it('refuses a key owned by another node with 4002, a move frame and the owner in the reason', async () => {
    cluster = new TestCluster();
    await cluster.startNode('a');
    await cluster.startNode('b');
    await cluster.setRing(['a', 'b']);
    const [key] = keysOwnedBy('b', 1);
    const raw = await rawClient(cluster.nodes.get('a')!.url, key!);
    await waitFor(() => raw.closed());
    const b = cluster.nodes.get('b')!;
    expect(raw.closed()).toEqual({ code: CloseCode.WRONG_NODE, reason: JSON.stringify({ node: 'b', url: b.url }) });
    expect(raw.frames).toEqual([{ t: 'move', code: CloseCode.WRONG_NODE, node: 'b', url: b.url }]);
    expect(cluster.nodes.get('a')!.node.stats()).toMatchObject({ sessions: 0, refused: 1 });
  });

  it('refuses every key with 4006 while the ring is empty', async () => {
    cluster = new TestCluster();
    await cluster.startNode('a');
    const raw = await rawClient(cluster.nodes.get('a')!.url, 'user-1');
    await waitFor(() => raw.closed());
    expect(raw.closed()?.code).toBe(CloseCode.NO_OWNER);
  });

  it('lets a client that reached the wrong node go straight to the owner', async () => {
    cluster = new TestCluster();
    for (const id of ['a', 'b', 'c']) await cluster.startNode(id);
    await cluster.setRing(['a', 'b', 'c']);
    const [key] = keysOwnedBy('c', 1);
    const client = cluster.client(key!, 'a');
    const moves: string[] = [];
    client.on('move', (target, code) => moves.push(`${code}:${target.node}`));
    await waitFor(() => client.node === 'c');
    expect(moves).toEqual([`${CloseCode.WRONG_NODE}:c`]);
    expect(client.connects).toBe(2);
  });

  it('keeps several connections per key and delivers to each', async () => {
    cluster = new TestCluster();
    await cluster.startNode('a');
    await cluster.setRing(['a']);
    const got: string[] = [];
    const one = cluster.client('user-1', 'a');
    const two = cluster.client('user-1', 'a');
    one.on('message', (d) => got.push(`one:${d}`));
    two.on('message', (d) => got.push(`two:${d}`));
    await waitFor(() => one.node && two.node);
    const node = cluster.nodes.get('a')!.node;
    expect(node.stats()).toMatchObject({ sessions: 2, keys: 1 });
    expect(await node.deliver('user-1', 'hi')).toEqual({ status: 'delivered', key: 'user-1', node: 'a' });
    await waitFor(() => got.length === 2);
    expect(got.sort()).toEqual(['one:hi', 'two:hi']);
  });

  it('throws RingError for a bad key or socket and leaves the table unchanged', async () => {
    cluster = new TestCluster();
    const { node } = await cluster.startNode('a');
    await cluster.setRing(['a']);
    expect(() => node.attach('', new FakeSocket())).toThrow(RingError);
    expect(() => node.attach('x'.repeat(1025), new FakeSocket())).toThrow(/key must be a string of 1 to 1024/);
    expect(() => node.attach('k', {} as never)).toThrow(/send\(\), close\(\) and bufferedAmount/);
    expect(node.size).toBe(0);
  });
});

describe('SessionNode.deliver', () => {
  it('resolves delivered when the client acks, and the client sees the message once', async () => {
    cluster = new TestCluster();
    await cluster.startNode('a');
    await cluster.setRing(['a']);
    const got: string[] = [];
    const client = cluster.client('user-1', 'a');
    client.on('message', (d) => got.push(d));
    await waitFor(() => client.node);
    const node = cluster.nodes.get('a')!.node;
    expect(await node.deliver('user-1', 'one', { id: 'm-1' })).toEqual({ status: 'delivered', key: 'user-1', node: 'a' });
    await expect(node.deliver('user-1', 'one again', { id: 'm-1' })).resolves.toMatchObject({ status: 'delivered' });
    expect(got).toEqual(['one']); // the repeat of id m-1 was acknowledged and dropped
  });

  it('forwards to the owner when the key lives elsewhere', async () => {
    cluster = new TestCluster();
    await cluster.startNode('a');
    await cluster.startNode('b');
    await cluster.setRing(['a', 'b']);
    const [key] = keysOwnedBy('b', 1);
    const client = cluster.client(key!, 'b');
    await waitFor(() => client.node);
    const a = cluster.nodes.get('a')!.node;
    expect(await a.deliver(key!, 'hello')).toEqual({ status: 'delivered', key, node: 'b' });
    expect(a.stats().forwarded).toBe(1);
  });

  it('holds a message for an owned key until the user attaches', async () => {
    cluster = new TestCluster();
    await cluster.startNode('a');
    await cluster.setRing(['a']);
    const node = cluster.nodes.get('a')!.node;
    const pending = node.deliver('user-1', 'waiting');
    await sleep(50);
    expect(node.stats().held).toBe(1);
    const got: string[] = [];
    cluster.client('user-1', 'a').on('message', (d) => got.push(d));
    expect(await pending).toMatchObject({ status: 'delivered' });
    expect(got).toEqual(['waiting']);
  });

  it('fails at once with no-owner on an empty ring', async () => {
    cluster = new TestCluster();
    const { node } = await cluster.startNode('a');
    expect(await node.deliver('user-1', 'x')).toEqual({ status: 'failed', key: 'user-1', reason: 'no-owner' });
  });

  it('fails a held message with expired after its ttl, and one past the per-key bound with hold-full', async () => {
    cluster = new TestCluster();
    const { node } = await cluster.startNode('a', { hold: { maxPerKey: 2 }, sweepMs: 20 });
    await cluster.setRing(['a']);
    const first = node.deliver('user-1', '1', { ttlMs: 100 });
    const second = node.deliver('user-1', '2', { ttlMs: 100 });
    expect(await node.deliver('user-1', '3')).toEqual({ status: 'failed', key: 'user-1', reason: 'hold-full' });
    expect(await first).toEqual({ status: 'failed', key: 'user-1', reason: 'expired' });
    expect(await second).toEqual({ status: 'failed', key: 'user-1', reason: 'expired' });
    expect(node.stats().held).toBe(0);
  });

  it('refuses messages past the total byte bound of the hold queue', async () => {
    cluster = new TestCluster();
    const { node } = await cluster.startNode('a', { hold: { maxBytes: 2000 } });
    await cluster.setRing(['a']);
    void node.deliver('user-1', 'x'.repeat(500), { ttlMs: 200 });
    expect(await node.deliver('user-2', 'x'.repeat(500))).toEqual({ status: 'failed', key: 'user-2', reason: 'hold-full' });
  });

  it('reports unknown, never failed, when a written message is not acknowledged in time', async () => {
    cluster = new TestCluster();
    const { node, url } = await cluster.startNode('a', { ackTimeoutMs: 100, sweepMs: 20 });
    await cluster.setRing(['a']);
    const raw = await rawClient(url, 'user-1', false);
    expect(await node.deliver('user-1', 'x')).toEqual({ status: 'unknown', key: 'user-1', reason: 'ack-timeout' });
    expect(raw.frames.filter((f) => f.t === 'msg')).toHaveLength(1);
  });

  it('sends an unacknowledged message again when the session drops, and the client shows it once', async () => {
    cluster = new TestCluster();
    const { node, url } = await cluster.startNode('a');
    await cluster.setRing(['a']);
    const raw = await rawClient(url, 'user-1', false);
    const outcome = node.deliver('user-1', 'again', { id: 'm-9' });
    await waitFor(() => raw.frames.some((f) => f.t === 'msg'));
    raw.ws.terminate(); // gone before acking
    await waitFor(() => node.size === 0);
    const got: string[] = [];
    cluster.client('user-1', 'a').on('message', (d) => got.push(d));
    expect(await outcome).toMatchObject({ status: 'delivered' });
    expect(got).toEqual(['again']);
  });

  it('answers unknown (it was written) when a dropped message then expires', async () => {
    cluster = new TestCluster();
    const { node, url } = await cluster.startNode('a', { sweepMs: 20 });
    await cluster.setRing(['a']);
    const raw = await rawClient(url, 'user-1', false);
    const outcome = node.deliver('user-1', 'x', { ttlMs: 300 });
    await waitFor(() => raw.frames.some((f) => f.t === 'msg'));
    raw.ws.terminate();
    expect(await outcome).toEqual({ status: 'unknown', key: 'user-1', reason: 'expired-after-write' });
  });

  it('fails with overloaded when maxInFlight messages are unacknowledged', async () => {
    cluster = new TestCluster();
    const { node, url } = await cluster.startNode('a', { maxInFlight: 2, ackTimeoutMs: 200, sweepMs: 20 });
    await cluster.setRing(['a']);
    await rawClient(url, 'user-1', false);
    const first = [node.deliver('user-1', '1'), node.deliver('user-1', '2')];
    expect(await node.deliver('user-1', '3')).toEqual({ status: 'failed', key: 'user-1', reason: 'overloaded' });
    expect((await Promise.all(first)).map((o) => o.status)).toEqual(['unknown', 'unknown']);
  });

  it('throws RingError for bad input', async () => {
    cluster = new TestCluster();
    const { node } = await cluster.startNode('a');
    expect(() => node.deliver('', 'x')).toThrow(RingError);
    expect(() => node.deliver('k', 42 as never)).toThrow(/data must be a string/);
    expect(() => node.deliver('k', 'x', { ttlMs: -1 })).toThrow(/ttlMs/);
    expect(() => node.deliver('k', 'x', { id: '' })).toThrow(/id must be/);
  });
});

describe('SessionNode backpressure and keepalive', () => {
  it('closes a slow consumer with 4003 and delivers its message after it comes back', async () => {
    cluster = new TestCluster();
    const { node } = await cluster.startNode('a', { maxBufferedBytes: 1000 });
    await cluster.setRing(['a']);
    const slow = new FakeSocket();
    slow.bufferedAmount = 5000;
    const session = node.attach('user-1', slow)!;
    const outcome = node.deliver('user-1', 'x');
    expect(slow.closed?.code).toBe(CloseCode.SLOW_CONSUMER);
    expect(session.detached).toBe(true);
    expect(node.stats()).toMatchObject({ sessions: 0, held: 1, slowConsumers: 1 });
    const fast = new FakeSocket();
    const again = node.attach('user-1', fast)!;
    const [msg] = fast.messages();
    again.receive(JSON.stringify({ t: 'ack', id: msg!.id }));
    expect(await outcome).toMatchObject({ status: 'delivered' });
  });

  it('closes a session past maxInFlightPerSession unacknowledged messages as a slow consumer', async () => {
    cluster = new TestCluster();
    const { node } = await cluster.startNode('a', { maxInFlightPerSession: 2 });
    await cluster.setRing(['a']);
    const socket = new FakeSocket();
    node.attach('user-1', socket);
    void node.deliver('user-1', '1');
    void node.deliver('user-1', '2');
    void node.deliver('user-1', '3');
    expect(socket.closed?.code).toBe(CloseCode.SLOW_CONSUMER);
    expect(node.stats().held).toBe(3); // all three wait for the next connection
  });

  it('pings an idle session and closes one that never answers with 4004', async () => {
    cluster = new TestCluster();
    const { url, node } = await cluster.startNode('a', { pingIntervalMs: 60, pongTimeoutMs: 60 });
    await cluster.setRing(['a']);
    const raw = await rawClient(url, 'silent'); // never answers pings
    const client = cluster.client('alive', 'a'); // answers them
    await waitFor(() => raw.closed(), { timeoutMs: 2000 });
    expect(raw.frames.some((f) => f.t === 'ping')).toBe(true);
    expect(raw.closed()?.code).toBe(CloseCode.TIMEOUT);
    await sleep(300);
    expect(client.node).toBe('a');
    expect(node.stats()).toMatchObject({ sessions: 1, timeouts: 1 });
  });

  it('closes a session that sends a frame it does not understand with 4008', async () => {
    cluster = new TestCluster();
    const { node } = await cluster.startNode('a');
    await cluster.setRing(['a']);
    const socket = new FakeSocket();
    node.attach('user-1', socket)!.receive('{"t":"what"}');
    expect(socket.closed?.code).toBe(CloseCode.PROTOCOL_ERROR);
    expect(node.size).toBe(0);
  });
});

describe('SessionNode.start', () => {
  it('throws RingError naming the bad option', async () => {
    const transport = new MemoryTransport();
    const router = { lookup: () => ({ id: 'a' }), ring: { size: 1, hasher: { name: 'h', hash: () => 1 } }, on: () => undefined, off: () => undefined };
    await expect(SessionNode.start({ id: '', router, transport })).rejects.toThrow(/id must be/);
    await expect(SessionNode.start({ id: 'a', router: {} as never, transport })).rejects.toThrow(/router must be a RingRouter/);
    await expect(SessionNode.start({ id: 'a', router, transport: {} as never })).rejects.toThrow(/transport must be a Transport/);
    await expect(SessionNode.start({ id: 'a', router, transport, maxClosesPerSecond: 0 })).rejects.toThrow(/maxClosesPerSecond must be a positive number/);
    await expect(SessionNode.start({ id: 'a', router, transport, jitter: 1 })).rejects.toThrow(/jitter/);
    await expect(SessionNode.start({ id: 'a', router, transport, strategy: 'some' as never })).rejects.toThrow(/strategy/);
    await expect(SessionNode.start({ id: 'a', router, transport, hold: { maxPerKey: 1.5 } })).rejects.toThrow(/hold.maxPerKey/);
  });
});
