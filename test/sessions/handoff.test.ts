import { afterEach, describe, expect, it } from 'vitest';
import type { SessionClient } from '../../src/client/index.js';
import { CloseCode, type DeliveryOutcome } from '../../src/sessions/index.js';
import { sleep, waitFor } from '../support/wait.js';
import { TestCluster, type NodeOptions } from './support.js';

let cluster: TestCluster;
afterEach(async () => {
  await cluster?.close();
});

/** 3 nodes with `users` connected clients, then node d started (not on the ring yet). */
async function connected(users: number, options: NodeOptions) {
  cluster = new TestCluster();
  for (const id of ['a', 'b', 'c']) await cluster.startNode(id, options);
  await cluster.setRing(['a', 'b', 'c']);
  const clients = new Map<string, SessionClient>();
  const moves: Array<{ key: string; code: number; to: string; at: number }> = [];
  for (let i = 0; i < users; i++) {
    const key = `user-${i}`;
    const client = cluster.client(key, ['a', 'b', 'c'][i % 3]!);
    client.on('move', (target, code) => moves.push({ key, code, to: target.node, at: performance.now() }));
    clients.set(key, client);
  }
  await waitFor(() => [...clients.values()].every((c) => c.node !== null), { timeoutMs: 10_000, what: 'all clients welcomed' });
  moves.length = 0; // wrong-node redirects of the first connects
  await cluster.startNode('d', options);
  return { clients, moves };
}

describe('SessionNode handoff on a ring change', () => {
  it('selective: closes exactly the sessions whose key moved to the new node, with 4001 naming it', async () => {
    const { clients, moves } = await connected(300, { maxClosesPerSecond: 5000 });
    const owners = new Map([...clients].map(([key, c]) => [key, c.node]));
    await cluster.setRing(['a', 'b', 'c', 'd']);
    const router = cluster.nodes.get('d')!.router;
    const movedKeys = [...clients.keys()].filter((key) => router.lookup(key).id !== owners.get(key));
    expect(movedKeys.length).toBeGreaterThan(30); // about a quarter of 300
    expect(movedKeys.every((key) => router.lookup(key).id === 'd')).toBe(true);
    await waitFor(() => movedKeys.every((key) => clients.get(key)!.node === 'd'), { timeoutMs: 10_000, what: 'moved clients on d' });
    await sleep(100);
    expect(moves.map((m) => m.key).sort()).toEqual([...movedKeys].sort());
    expect(new Set(moves.map((m) => `${m.code}:${m.to}`))).toEqual(new Set([`${CloseCode.MOVED}:d`]));
    for (const [key, client] of clients) expect(client.node).toBe(router.lookup(key).id);
    const moved = ['a', 'b', 'c'].reduce((n, id) => n + cluster.nodes.get(id)!.node.stats().moved, 0);
    expect(moved).toBe(movedKeys.length);
  });

  it('reconnect-all: closes every session on any change (the baseline)', async () => {
    const { clients, moves } = await connected(90, { strategy: 'reconnect-all', maxClosesPerSecond: 5000 });
    await cluster.setRing(['a', 'b', 'c', 'd']);
    await waitFor(() => moves.length >= 90, { timeoutMs: 10_000, what: 'every client moved' });
    await waitFor(() => [...clients.values()].every((c) => c.node !== null), { timeoutMs: 10_000 });
    expect(new Set(moves.map((m) => m.key)).size).toBe(90);
  });

  it('paces the closes at maxClosesPerSecond', async () => {
    const { moves } = await connected(240, { maxClosesPerSecond: 100, jitter: 0.5 });
    const started = performance.now();
    await cluster.setRing(['a', 'b', 'c', 'd']);
    const moved = ['a', 'b', 'c'].reduce((n, id) => n + cluster.nodes.get(id)!.node.stats().pendingCloses, 0);
    expect(moved).toBeGreaterThan(20);
    await waitFor(() => ['a', 'b', 'c'].every((id) => cluster.nodes.get(id)!.node.stats().pendingCloses === 0), { timeoutMs: 10_000 });
    const elapsed = performance.now() - started;
    const perNode = Math.max(...['a', 'b', 'c'].map((id) => cluster.nodes.get(id)!.node.stats().moved));
    // Each node closes at most 100 a second: one at once, bursts of at most 100 ms worth (10).
    expect(elapsed).toBeGreaterThanOrEqual(((perNode - 10) / 100) * 1000 * 0.9);
    expect(moves.length).toBeGreaterThan(0);
  });

  it('takes a new pace at run time, and refuses a bad one leaving the pace unchanged', async () => {
    const { moves } = await connected(240, { maxClosesPerSecond: 5000, jitter: 0 });
    const nodes = ['a', 'b', 'c'].map((id) => cluster.nodes.get(id)!.node);
    for (const node of nodes) node.maxClosesPerSecond = 40;
    for (const bad of [0, -1, Number.NaN, Infinity, '10' as unknown as number]) {
      expect(() => (nodes[0]!.maxClosesPerSecond = bad)).toThrow(/maxClosesPerSecond must be a positive number/);
    }
    expect(nodes.map((n) => n.maxClosesPerSecond)).toEqual([40, 40, 40]);
    await cluster.setRing(['a', 'b', 'c', 'd']);
    await sleep(500);
    // 40 a second each for half a second: about 20 per node (one batch at once), never the 5000/s of the start.
    const closed = nodes.map((n) => n.stats().moved);
    for (const n of closed) expect(n).toBeLessThanOrEqual(24);
    expect(closed.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    expect(moves.length).toBeGreaterThan(0);
  }, 20_000);

  it('loses no message sent while sessions move: each gets delivered', async () => {
    const { clients } = await connected(150, { maxClosesPerSecond: 300 });
    const received = new Map<string, string[]>();
    for (const [key, client] of clients) client.on('message', (d) => received.set(key, [...(received.get(key) ?? []), d]));
    const dispatcher = await cluster.dispatcher({ retryMs: 300 });
    const sends: Array<Promise<DeliveryOutcome>> = [];
    const keys = [...clients.keys()];
    let n = 0;
    const traffic = setInterval(() => {
      for (let i = 0; i < 10; i++, n++) sends.push(dispatcher.send(keys[n % keys.length]!, `m${n}`, { id: `m${n}` }));
    }, 10);
    await sleep(100);
    await cluster.setRing(['a', 'b', 'c', 'd']);
    await sleep(800);
    clearInterval(traffic);
    const outcomes = await Promise.all(sends);
    expect(outcomes.length).toBeGreaterThan(300);
    expect(outcomes.filter((o) => o.status !== 'delivered')).toEqual([]);
    const total = [...received.values()].reduce((s, l) => s + l.length, 0);
    expect(total).toBe(outcomes.length); // each exactly once at the application
  });

  it('forwards messages held for a key that moved away to the new owner', async () => {
    cluster = new TestCluster();
    await cluster.startNode('a', { sweepMs: 20 });
    await cluster.setRing(['a']);
    const a = cluster.nodes.get('a')!.node;
    const pending = Array.from({ length: 40 }, (_, i) => a.deliver(`user-${i}`, `held-${i}`));
    await sleep(30);
    expect(a.stats().held).toBe(40);
    await cluster.startNode('b', { sweepMs: 20 });
    await cluster.setRing(['a', 'b']);
    const onB = Array.from({ length: 40 }, (_, i) => `user-${i}`).filter((k) => cluster.nodes.get('b')!.router.lookup(k).id === 'b');
    expect(onB.length).toBeGreaterThan(5);
    await waitFor(() => a.stats().held === 40 - onB.length && cluster.nodes.get('b')!.node.stats().held === onB.length);
    for (let i = 0; i < 40; i++) cluster.client(`user-${i}`, 'a');
    const outcomes = await Promise.all(pending);
    expect(outcomes.every((o) => o.status === 'delivered')).toBe(true);
    expect(outcomes.filter((o) => o.status === 'delivered' && o.node === 'b').length).toBe(onB.length);
  });
});

describe('SessionNode during a paced handoff', () => {
  it('delivers through the previous owner while it still holds the session, instead of holding it on the new owner', async () => {
    const { clients } = await connected(60, { maxClosesPerSecond: 1, jitter: 0 });
    const owners = new Map([...clients].map(([key, c]) => [key, c.node!]));
    await cluster.setRing(['a', 'b', 'c', 'd']);
    const router = cluster.nodes.get('d')!.router;
    const moved = [...clients.keys()].filter((key) => router.lookup(key).id === 'd');
    expect(moved.length).toBeGreaterThan(6);
    const dispatcher = await cluster.dispatcher();
    const outcomes = await Promise.all(moved.map((key) => dispatcher.send(key, 'during the handoff')));
    expect(outcomes.every((o) => o.status === 'delivered')).toBe(true);
    // Closes go at one a second per node, so most moved users were still on their old node and got it there.
    const viaOld = outcomes.filter((o) => o.status === 'delivered' && o.node === owners.get(o.key)).length;
    expect(viaOld).toBeGreaterThan(moved.length / 2);
    expect(['a', 'b', 'c'].reduce((n, id) => n + cluster.nodes.get(id)!.node.stats().pendingCloses, 0)).toBeGreaterThan(0);
    await waitFor(() => moved.every((key) => clients.get(key)!.node === 'd'), { timeoutMs: 20_000, what: 'moved users on d' });
  });
});
