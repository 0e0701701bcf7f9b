/**
 * The Prometheus exposition of `instrument()`, read back from a real
 * prom-client registry while real parts (routers, a coordinator over
 * MemoryMembership, SessionNodes with WebSocket clients, a Dispatcher) work.
 */
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryMembership } from '../../src/adapters/memory/membership.js';
import { MemoryRingStore } from '../../src/adapters/memory/ring-store.js';
import { RingError } from '../../src/errors.js';
import type { RingStore } from '../../src/live/contracts.js';
import { RingCoordinator } from '../../src/live/coordinator.js';
import type { LogEntry } from '../../src/live/logger.js';
import { RingRouter } from '../../src/live/router.js';
import { instrument, reasonOf } from '../../src/metrics/index.js';
import { waitFor } from '../support/wait.js';
import { TestCluster } from '../sessions/support.js';

/** The value of one sample line (`name{labels} value`), or undefined when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match === null || match[1] !== name) continue;
    const have = match[2] === undefined || match[2] === '' ? [] : match[2].split(/,(?=\w+=)/);
    if (wanted.every((w) => have.includes(w)) && have.length === wanted.length) return Number(match[3]);
  }
  return undefined;
}

const closers: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

async function ringParts(logs: LogEntry[] = []) {
  const store = new MemoryRingStore();
  const membership = new MemoryMembership({ ttlMs: 60_000, heartbeatMs: 10_000 });
  const held = [await membership.join({ id: 'a' }), await membership.join({ id: 'b' })];
  const coordinator = await RingCoordinator.start({ membership, store, settleMs: 5, logger: (e) => logs.push(e) });
  const router = await RingRouter.start({ store: store.connect(), resyncMs: 50, logger: (e) => logs.push(e) });
  closers.push(async () => {
    await router.close();
    await coordinator.close();
    for (const m of held) await m.leave().catch(() => undefined);
    await membership.close();
    await store.close();
  });
  return { store, membership, coordinator, router };
}

describe('instrument()', () => {
  it('exposes the ring: version, epoch, nodes, points, each share and weight', async () => {
    const { router, coordinator } = await ringParts();
    const registry = new Registry();
    closers.push(instrument({ registry, router, coordinator }).close);
    const text = await registry.metrics();
    expect(sample(text, 'ringroute_ring_version')).toBe(router.version);
    expect(sample(text, 'ringroute_ring_nodes')).toBe(2);
    expect(sample(text, 'ringroute_ring_points')).toBe(320);
    expect(sample(text, 'ringroute_ring_epoch_info', { epoch: router.epoch })).toBe(1);
    const shares = ['a', 'b'].map((node) => sample(text, 'ringroute_ring_node_share_ratio', { node })!);
    expect(shares[0]! + shares[1]!).toBeCloseTo(1, 9);
    expect(shares[0]).toBeGreaterThan(0.3);
    expect(sample(text, 'ringroute_ring_node_weight', { node: 'a' })).toBe(1);
    expect(text).toMatch(/# TYPE ringroute_ring_changes_total counter/);
  });

  it('counts a change, the share of keys it moved by reason, and the convergence from write to apply', async () => {
    const logs: LogEntry[] = [];
    const { router, coordinator, membership } = await ringParts(logs);
    const registry = new Registry();
    closers.push(instrument({ registry, router, coordinator }).close);
    const before = router.version;
    const c = await membership.join({ id: 'c' });
    await waitFor(() => router.version === before + 1, { what: 'router at the version with c' });
    let text = await registry.metrics();
    expect(sample(text, 'ringroute_ring_changes_total')).toBe(1);
    expect(sample(text, 'ringroute_coordinator_writes_total')).toBe(1);
    const joined = sample(text, 'ringroute_ring_moved_ratio_total', { reason: 'join' })!;
    expect(joined).toBeGreaterThan(0.2); // about a third of the keys move to the third node
    expect(joined).toBeLessThan(0.5);
    expect(sample(text, 'ringroute_ring_moved_ratio_total', { reason: 'leave' })).toBeUndefined();
    expect(sample(text, 'ringroute_ring_convergence_seconds_count')).toBe(1);
    expect(sample(text, 'ringroute_ring_nodes')).toBe(3);
    await c.leave();
    await waitFor(() => router.version === before + 2, { what: 'router at the version without c' });
    text = await registry.metrics();
    expect(sample(text, 'ringroute_ring_changes_total')).toBe(2);
    expect(sample(text, 'ringroute_ring_moved_ratio_total', { reason: 'leave' })).toBeCloseTo(joined, 9);
    expect(sample(text, 'ringroute_ring_convergence_seconds_count')).toBe(2);
    // The logger traced both parts' decisions.
    expect(logs.filter((e) => e.source === 'coordinator' && e.event === 'write').map((e) => e.fields?.version).slice(-2)).toEqual([before + 1, before + 2]);
    const adopted = logs.filter((e) => e.source === 'router' && e.event === 'adopt');
    expect(adopted.map((e) => e.fields?.version)).toEqual([before + 1, before + 2]);
    expect(adopted[0]!.message).toMatch(/adopted ring .* version \d+ \(3 nodes, \d+\.\d% of keys moved/);
  });

  it('counts errors by part and code, and logs the skipped record', async () => {
    const logs: LogEntry[] = [];
    const base = new MemoryRingStore();
    await base.compareAndSet(0, [{ id: 'a' }]);
    let garbage = false;
    const store: RingStore = {
      read: () => (garbage ? Promise.reject(new RingError('INVALID_SNAPSHOT', 'ring version is not a number')) : base.read()),
      compareAndSet: (version, nodes, epoch) => base.compareAndSet(version, nodes, epoch),
      repair: (nodes) => base.repair(nodes),
      watch: (listener) => base.watch(listener),
      close: () => base.close(),
    };
    const router = await RingRouter.start({ store, resyncMs: 60_000, logger: (e) => logs.push(e) });
    router.on('error', () => undefined);
    closers.push(() => router.close());
    const registry = new Registry();
    closers.push(instrument({ registry, router }).close);
    garbage = true;
    await router.resync();
    await router.resync();
    const text = await registry.metrics();
    expect(sample(text, 'ringroute_errors_total', { source: 'router', code: 'INVALID_SNAPSHOT' })).toBe(2);
    expect(sample(text, 'ringroute_ring_version')).toBe(1); // still serving the last good ring
    expect(logs.filter((e) => e.event === 'skip')).toHaveLength(2);
    expect(logs[0]!.message).toMatch(/ring version is not a number; serving version 1/);
  });

  it('counts sessions per node, handoffs, moved sessions by reason, and deliveries by outcome with their latency', async () => {
    const cluster = new TestCluster();
    closers.push(() => cluster.close());
    const logs: LogEntry[] = [];
    for (const id of ['a', 'b']) await cluster.startNode(id, { maxClosesPerSecond: 5000, logger: (e) => logs.push(e) });
    await cluster.setRing(['a', 'b']);
    const sent: LogEntry[] = [];
    const dispatcher = await cluster.dispatcher({ logger: (e) => sent.push(e) });
    const registry = new Registry();
    const nodes = ['a', 'b'].map((id) => cluster.nodes.get(id)!.node);
    closers.push(instrument({ registry, sessions: nodes, dispatcher }).close);
    const clients = Array.from({ length: 60 }, (_, i) => cluster.client(`user-${i}`, i % 2 === 0 ? 'a' : 'b'));
    await waitFor(() => clients.every((c) => c.node !== null), { timeoutMs: 10_000, what: 'clients welcomed' });
    let text = await registry.metrics();
    expect(sample(text, 'ringroute_sessions', { node: 'a' })! + sample(text, 'ringroute_sessions', { node: 'b' })!).toBe(60);
    const outcomes = await Promise.all(clients.map((_, i) => dispatcher.send(`user-${i}`, `hello ${i}`)));
    expect(outcomes.every((o) => o.status === 'delivered')).toBe(true);
    // A recipient nobody owns a session for: held, then failed when its ttl runs out.
    const expired = await dispatcher.send('user-nobody', 'lost', { ttlMs: 200 });
    expect(expired.status).toBe('failed');
    expect(sent).toHaveLength(1); // delivered outcomes are not logged
    expect(sent[0]).toMatchObject({ level: 'debug', source: 'dispatcher', event: 'outcome', fields: { key: 'user-nobody', status: 'failed' } });
    text = await registry.metrics();
    expect(sample(text, 'ringroute_deliveries_total', { outcome: 'delivered', reason: '' })).toBe(60);
    expect(sample(text, 'ringroute_deliveries_total', { outcome: 'failed', reason: (expired as { reason: string }).reason })).toBe(1);
    expect(sample(text, 'ringroute_delivery_duration_seconds_count', { outcome: 'delivered' })).toBe(60);
    expect(sample(text, 'ringroute_node_deliveries_total', { node: 'a', outcome: 'delivered' })! + sample(text, 'ringroute_node_deliveries_total', { node: 'b', outcome: 'delivered' })!).toBe(60);

    await cluster.startNode('c', { maxClosesPerSecond: 5000 });
    await cluster.setRing(['a', 'b', 'c']);
    await waitFor(() => nodes.every((n) => n.stats().pendingCloses === 0) && nodes.some((n) => n.stats().moved > 0), { what: 'handoff done' });
    await waitFor(() => clients.every((c) => c.node !== null), { timeoutMs: 10_000, what: 'clients back' });
    text = await registry.metrics();
    const moved = nodes.reduce((n, node) => n + node.stats().moved, 0);
    expect(moved).toBeGreaterThan(5); // about a third of 60
    expect(sample(text, 'ringroute_sessions_closed_total', { node: 'a', reason: 'moved' })! + sample(text, 'ringroute_sessions_closed_total', { node: 'b', reason: 'moved' })!).toBe(moved);
    expect(sample(text, 'ringroute_sessions_closed_total', { node: 'a', reason: 'timeout' })).toBe(0);
    expect(sample(text, 'ringroute_node_fenced', { node: 'a' })).toBe(0); // no lease followed: never fenced
    expect(sample(text, 'ringroute_node_fences_total', { node: 'a' })).toBe(0);
    expect(sample(text, 'ringroute_sessions_closed_total', { node: 'a', reason: 'fenced' })).toBe(0);
    const handoffs = nodes.filter((n) => n.stats().moved > 0).map((n) => sample(text, 'ringroute_handoff_duration_seconds_count', { node: n.id }));
    expect(handoffs.every((count) => count === 1)).toBe(true);
    // Counters read at scrape time do not count twice.
    const again = await registry.metrics();
    expect(sample(again, 'ringroute_sessions_closed_total', { node: 'a', reason: 'moved' })).toBe(sample(text, 'ringroute_sessions_closed_total', { node: 'a', reason: 'moved' }));
    const done = logs.filter((e) => e.event === 'handoff-done');
    expect(done.reduce((n, e) => n + Number(e.fields?.sessions), 0)).toBe(moved);
    expect(logs.filter((e) => e.event === 'handoff')[0]!.message).toMatch(/ring change moves \d+ keys \(selective\); closing them at 5000\/s/);
  });

  it('refuses a registry that already holds its metrics, and close() removes them', async () => {
    const { router } = await ringParts();
    const registry = new Registry();
    const first = instrument({ registry, router });
    expect(() => instrument({ registry, router })).toThrow(/already has a metric named ringroute_errors_total/);
    first.close();
    expect(await registry.metrics()).toBe('\n');
    const second = instrument({ registry, router, prefix: 'gw1_' });
    expect(await registry.metrics()).toMatch(/^gw1_ring_nodes 2$/m);
    second.close();
    expect(() => instrument({} as never)).toThrow(RingError);
    expect(() => instrument({ registry, prefix: 'bad prefix' })).toThrow(/prefix/);
  });

  it('refuses a logger that is not a function, and survives one that throws', async () => {
    const store = new MemoryRingStore();
    closers.push(() => store.close());
    await store.compareAndSet(0, [{ id: 'a' }]);
    await expect(RingRouter.start({ store, logger: 'console' as never })).rejects.toThrow(/logger must be a function, got string/);
    const membership = new MemoryMembership();
    closers.push(() => membership.close());
    await expect(RingCoordinator.start({ membership, store, logger: 1 as never })).rejects.toThrow(/logger must be a function/);
    const router = await RingRouter.start({ store, resyncMs: 20, logger: () => { throw new Error('logger down'); } });
    closers.push(() => router.close());
    await store.compareAndSet(1, [{ id: 'a' }, { id: 'b' }]);
    await waitFor(() => router.version === 2, { what: 'the change applied despite the logger' });
  });

  it('names the reason of a change', () => {
    const diff = (added: string[], removed: string[], reweighted: string[]) => ({ added, removed, reweighted }) as never;
    expect(reasonOf(diff(['x'], [], []))).toBe('join');
    expect(reasonOf(diff([], ['x'], []))).toBe('leave');
    expect(reasonOf(diff([], [], ['x']))).toBe('weight');
    expect(reasonOf(diff(['x'], ['y'], []))).toBe('mixed');
  });
});
