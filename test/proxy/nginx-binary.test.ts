/**
 * nginxPlacement against the real nginx binary: for every scenario (equal
 * weights, add, remove, reweight, mixed weights) the backend that answered
 * each of 20,000 keys equals ring.lookup(key), and each change's diff names
 * exactly the keys whose backend changed.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HashRing, type RingDiff, type RingNode } from 'ringroute';
import { nginxPlacement, renderNginxUpstream } from 'ringroute/nginx';
import { Backends, type ProxyProcess, probe, run, skipWithoutProxy, startNginx } from '../support/proxies.js';
import { childrenOf, urlKeys, workersReplaced } from './support.js';

const KEYS = urlKeys(20_000);
const NAMES = ['app-a', 'app-b', 'app-c', 'app-d', 'app-e', 'app-f'];
const skip = skipWithoutProxy('nginx integration tests', 'nginx');

describe.skipIf(skip)('nginxPlacement against nginx', () => {
  const backends = new Backends();
  let address: Map<string, string>;
  let proxy: ProxyProcess;
  let ring: HashRing;
  let seen: string[] = [];
  const reloads: number[] = [];

  const node = (name: string, weight = 1): RingNode => ({ id: name, weight, meta: { server: address.get(name)! } });

  /** Writes the ring's upstream, reloads nginx, waits for the new workers, probes every key. */
  async function apply(next: HashRing): Promise<string[]> {
    writeFileSync(join(proxy.dir, 'upstream.conf'), renderNginxUpstream(next, { name: 'ringroute', argument: 'user', keepalive: 16 }));
    const master = proxy.child.pid!;
    const old = childrenOf(master);
    await run(proxy.binary, [...proxy.args, '-t']);
    await run(proxy.binary, [...proxy.args, '-s', 'reload']);
    reloads.push(await workersReplaced(master, old));
    return probe(proxy.port, 'user', KEYS);
  }

  function expectPredicted(observed: readonly string[], on: HashRing): void {
    const predicted = on.lookupMany(KEYS).map((n) => n.id);
    const wrong = KEYS.filter((_, i) => predicted[i] !== observed[i]);
    expect(wrong.length, `first mispredicted keys: ${wrong.slice(0, 3).join(', ')}`).toBe(0);
  }

  function expectExactDiff(diff: RingDiff, before: readonly string[], after: readonly string[]): void {
    const changed = KEYS.filter((_, i) => before[i] !== after[i]);
    expect(changed.length).toBeGreaterThan(0);
    const moved = diff.movedKeys(KEYS);
    expect(moved.map((m) => m.key)).toEqual(changed);
    const index = new Map(KEYS.map((k, i) => [k, i]));
    for (const m of moved) {
      expect(m.from).toBe(before[index.get(m.key)!]);
      expect(m.to).toBe(after[index.get(m.key)!]);
    }
  }

  beforeAll(async () => {
    address = await backends.start(NAMES);
    ring = await HashRing.create(NAMES.slice(0, 5).map((n) => node(n)), { placement: nginxPlacement() });
    proxy = await startNginx(renderNginxUpstream(ring, { name: 'ringroute', argument: 'user', keepalive: 16 }));
  }, 30_000);

  afterAll(async () => {
    await proxy?.stop();
    await backends.close();
    if (reloads.length > 0) console.log(`[ringroute] nginx reloads: old workers gone after ${reloads.map((ms) => ms.toFixed(0)).join(', ')} ms`);
  });

  it('routes every key to ring.lookup(key) with equal weights', async () => {
    seen = await probe(proxy.port, 'user', KEYS);
    expectPredicted(seen, ring);
    // The probe covers every backend.
    expect(new Set(seen).size).toBe(5);
  }, 60_000);

  it('moves exactly diff.movedKeys when a server is added', async () => {
    const next = ring.clone();
    const diff = next.add(node('app-f'));
    const after = await apply(next);
    expectPredicted(after, next);
    expectExactDiff(diff, seen, after);
    [ring, seen] = [next, after];
  }, 60_000);

  it('moves exactly diff.movedKeys when a server is removed', async () => {
    const next = ring.clone();
    const diff = next.remove('app-b');
    const after = await apply(next);
    expectPredicted(after, next);
    expectExactDiff(diff, seen, after);
    [ring, seen] = [next, after];
  }, 60_000);

  it('moves exactly diff.movedKeys when a server is reweighted', async () => {
    const next = ring.clone();
    const diff = next.setNodes(ring.nodes().map((n) => (n.id === 'app-c' ? { ...n, weight: 3 } : n)));
    expect(diff.reweighted).toEqual(['app-c']);
    const after = await apply(next);
    expectPredicted(after, next);
    expectExactDiff(diff, seen, after);
    [ring, seen] = [next, after];
  }, 60_000);

  it('routes every key to ring.lookup(key) with mixed weights', async () => {
    const next = ring.clone();
    const weights: Record<string, number> = { 'app-a': 2, 'app-b': 1, 'app-c': 5, 'app-d': 1, 'app-e': 3, 'app-f': 4 };
    const diff = next.setNodes(NAMES.map((n) => node(n, weights[n])));
    const after = await apply(next);
    expectPredicted(after, next);
    expectExactDiff(diff, seen, after);
    [ring, seen] = [next, after];
  }, 60_000);
});
