/**
 * Self-fencing (SessionNode.followLease): a node whose membership lease runs
 * out stops acting as an owner before the store could expire it, keeps its
 * sessions through a short outage, closes them after `closeAfterMs`, and
 * acts again only after the lease is back and the ring was read.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryMembership } from '../../src/adapters/memory/membership.js';
import { RingError } from '../../src/errors.js';
import type { Membership, MembershipLease } from '../../src/live/contracts.js';
import { CloseCode, type FenceReport } from '../../src/sessions/index.js';
import { sleep, waitFor } from '../support/wait.js';
import { FakeSocket, TestCluster } from './support.js';

let cluster: TestCluster;
afterEach(async () => {
  await cluster?.close();
});

/** A membership whose lease the test moves by hand, as a store's confirmed heartbeats would. */
function handLease(ttlMs: number): Membership & { renew(): void; lapse(): void } {
  let until = performance.now() + ttlMs;
  return {
    leave: async () => undefined,
    get lease(): MembershipLease {
      return { until, ttlMs };
    },
    renew() {
      until = performance.now() + ttlMs;
    },
    lapse() {
      until = performance.now() - 1;
    },
  };
}

async function oneNode() {
  cluster = new TestCluster();
  const a = await cluster.startNode('a');
  await cluster.setRing(['a']);
  const events: Array<['fence' | 'unfence', FenceReport]> = [];
  a.node.on('fence', (r) => events.push(['fence', r]));
  a.node.on('unfence', (r) => events.push(['unfence', r]));
  return { a, events };
}

describe('SessionNode.followLease', () => {
  it('fences when the lease runs out: refuses attaches with 4006, writes nothing, keeps its sessions; delivers what it held once the lease is back', async () => {
    const { a, events } = await oneNode();
    const lease = handLease(5000);
    a.node.followLease(lease, { closeAfterMs: 60_000 });
    const socket = new FakeSocket();
    const session = a.node.attach('user-1', socket)!;
    expect(session).not.toBeNull();
    expect(a.node.fenced).toBe(false);

    lease.lapse();
    // Checked on the hot path, not only by the timer: a process resumed after SIGSTOP checks before it acts.
    const held = a.node.deliver('user-1', 'while fenced', { ttlMs: 5000 });
    expect(a.node.fenced).toBe(true);
    expect(events.map(([e]) => e)).toEqual(['fence']);
    await sleep(50);
    expect(socket.messages()).toEqual([]); // not written while fenced
    expect(socket.closed).toBeNull(); // the session stays (an outage for everyone moves nobody)

    const late = new FakeSocket();
    expect(a.node.attach('user-2', late)).toBeNull();
    expect(late.closed).toEqual({ code: CloseCode.NO_OWNER, reason: 'fenced' });
    expect(a.node.stats()).toMatchObject({ fenced: true, fences: 1, refused: 1, sessions: 1 });

    lease.renew();
    await waitFor(() => events.length === 2, { what: 'unfence' });
    expect(events[1]![0]).toBe('unfence');
    expect(events[1]![1]).toMatchObject({ reason: 'renewed', sessionsClosed: 0 });
    await waitFor(() => socket.messages().length === 1, { what: 'the held message written' });
    expect(socket.messages()[0]!.data).toBe('while fenced');
    session.receive(JSON.stringify({ t: 'ack', id: socket.messages()[0]!.id }));
    expect(await held).toMatchObject({ status: 'delivered' });
    expect(a.node.stats()).toMatchObject({ fenced: false, fences: 1 });
    expect(a.node.stats().fencedMs).toBeGreaterThan(0);
  });

  it('fails a message whose ttl runs out while fenced as failed: fenced, and one written before the fence as unknown', async () => {
    const { a } = await oneNode();
    const lease = handLease(5000);
    a.node.followLease(lease, { closeAfterMs: 60_000 });
    const written = a.node.deliver('user-1', 'before', { ttlMs: 300 }); // nobody connected: held, not written
    lease.lapse();
    const fenced = a.node.deliver('user-9', 'during', { ttlMs: 300 });
    expect(await fenced).toEqual({ status: 'failed', key: 'user-9', reason: 'fenced' });
    expect(await written).toMatchObject({ status: 'failed', key: 'user-1' });
  });

  it('closes its sessions with 4006 after closeAfterMs fenced, so cut-off users reconnect to the new owners', async () => {
    const { a, events } = await oneNode();
    const lease = handLease(5000);
    a.node.followLease(lease, { closeAfterMs: 200 });
    const sockets = [new FakeSocket(), new FakeSocket(), new FakeSocket()];
    sockets.forEach((s, i) => a.node.attach(`user-${i}`, s));
    lease.lapse();
    await waitFor(() => sockets.every((s) => s.closed !== null), { what: 'sessions closed by the fence' });
    for (const s of sockets) expect(s.closed).toEqual({ code: CloseCode.NO_OWNER, reason: 'fenced' });
    expect(a.node.stats()).toMatchObject({ fenced: true, fencedCloses: 3, sessions: 0 });
    lease.renew();
    await waitFor(() => events.some(([e]) => e === 'unfence'), { what: 'unfence' });
    expect(events.find(([e]) => e === 'unfence')![1].sessionsClosed).toBe(3);
  });

  it('fences a margin before the lease ends: before a MemoryMembership that stopped heartbeating expires', async () => {
    const { a, events } = await oneNode();
    const membership = new MemoryMembership({ ttlMs: 600, heartbeatMs: 100 });
    const expired: number[] = [];
    const watcher = membership.connect();
    watcher.watch((e) => {
      if (e.type === 'expire' && e.node.id === 'a') expired.push(performance.now());
    });
    const member = await membership.join({ id: 'a' });
    a.node.followLease(member);
    await sleep(300);
    expect(a.node.fenced).toBe(false); // heartbeats keep the lease
    member.abandon(); // a process cut off from its store: no heartbeat lands any more
    const cut = performance.now();
    await waitFor(() => events.length > 0, { what: 'fence' });
    const fencedAt = performance.now();
    await waitFor(async () => (await watcher.members()).every((n) => n.id !== 'a'), { what: 'expiry', timeoutMs: 5000 });
    expect(expired.length).toBe(1);
    expect(fencedAt).toBeLessThan(expired[0]!);
    expect(fencedAt - cut).toBeLessThan(600);
    await watcher.close();
    await membership.close();
  });

  it('stays unfenced after leave(): a member that left hands over by the ring, not by its lease', async () => {
    const { a } = await oneNode();
    const membership = new MemoryMembership({ ttlMs: 300, heartbeatMs: 100 });
    const member = await membership.join({ id: 'a' });
    a.node.followLease(member);
    await member.leave();
    await sleep(500);
    expect(a.node.fenced).toBe(false);
    await membership.close();
  });

  it('refuses a membership without a lease or bad options with INVALID_OPTION, and keeps the lease it follows', async () => {
    const { a } = await oneNode();
    const lease = handLease(5000);
    a.node.followLease(lease);
    expect(() => a.node.followLease({ leave: async () => undefined })).toThrow(RingError);
    expect(() => a.node.followLease({ leave: async () => undefined })).toThrow(/with a lease/);
    expect(() => a.node.followLease(lease, { marginMs: 0 })).toThrow(/marginMs/);
    expect(() => a.node.followLease(lease, { closeAfterMs: -1 })).toThrow(/closeAfterMs/);
    expect(() => a.node.followLease(null as unknown as Membership)).toThrow(/Membership that join\(\) returned/);
    lease.lapse(); // still following the first lease
    expect(a.node.fenced).toBe(true);
  });
});
