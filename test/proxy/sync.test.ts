/**
 * NginxSync and HaproxySync against the real binaries: membership changes
 * written to a store reach the proxy through a RingRouter's `change` events,
 * and afterwards every probed key is routed to ring.lookup(key), and the
 * keys whose backend changed are exactly the change's diff.movedKeys.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryRingStore, RingRouter, type RingDiff, type RingNode } from 'ringroute';
import { HaproxySync, type HaproxySyncInfo, haproxyCommand, haproxyPlacement } from 'ringroute/haproxy';
import { NginxSync, nginxPlacement } from 'ringroute/nginx';
import { Backends, type ProxyProcess, probe, reloadHaproxy, skipWithoutProxy, startHaproxy, startNginx } from '../support/proxies.js';
import { childrenOf, urlKeys, workersReplaced } from './support.js';

const KEYS = urlKeys(5000);
const NAMES = ['app-a', 'app-b', 'app-c', 'app-d'];

interface Rig {
  store: MemoryRingStore;
  router: RingRouter;
  backends: Backends;
  address: Map<string, string>;
  proxy?: ProxyProcess;
  close: Array<() => Promise<void>>;
}

let rig: Rig | undefined;
afterEach(async () => {
  for (const close of rig?.close.reverse() ?? []) await close();
  rig = undefined;
});

async function makeRig(placement: ReturnType<typeof nginxPlacement>): Promise<Rig> {
  const backends = new Backends();
  const address = await backends.start(NAMES);
  const store = new MemoryRingStore();
  const nodes = NAMES.slice(0, 3).map((id): RingNode => ({ id, meta: { server: address.get(id)! } }));
  await store.compareAndSet(0, nodes);
  const router = await RingRouter.start({ store, placement });
  const r: Rig = { store, router, backends, address, close: [() => backends.close(), () => router.close()] };
  rig = r;
  return r;
}

/** Writes `nodes` to the store and waits for the router's change. */
async function change(r: Rig, nodes: RingNode[]): Promise<RingDiff> {
  const changed = new Promise<RingDiff>((resolve) => r.router.once('change', (diff) => resolve(diff)));
  const state = await r.store.read();
  await r.store.compareAndSet(state!.version, nodes, state!.epoch);
  return changed;
}

function expectRouted(r: Rig, observed: readonly string[], before?: readonly string[], diff?: RingDiff): void {
  const predicted = r.router.ring.lookupMany(KEYS).map((n) => n.id);
  expect(KEYS.filter((_, i) => observed[i] !== predicted[i]).length).toBe(0);
  if (before && diff) {
    const changed = KEYS.filter((_, i) => before[i] !== observed[i]);
    expect(changed.length).toBeGreaterThan(0);
    expect(diff.movedKeys(KEYS).map((m) => m.key)).toEqual(changed);
  }
}

describe.skipIf(skipWithoutProxy('NginxSync tests', 'nginx'))('NginxSync', () => {
  it('follows the store: joins, weights and leaves reach nginx, and the diff names the moved keys', async () => {
    const r = await makeRig(nginxPlacement());
    const proxy = await startNginx('upstream ringroute { server 127.0.0.1:1; }\n');
    r.close.push(() => proxy.stop());
    const first = childrenOf(proxy.child.pid!);
    const sync = await NginxSync.start({ router: r.router, file: join(proxy.dir, 'upstream.conf'), upstream: { name: 'ringroute', argument: 'user', keepalive: 8 }, binary: proxy.binary, args: proxy.args });
    r.close.push(() => sync.close());
    const errors: Error[] = [];
    sync.on('error', (e) => errors.push(e));
    await workersReplaced(proxy.child.pid!, first);
    let seen = await probe(proxy.port, 'user', KEYS);
    expectRouted(r, seen);
    const times: number[] = [];

    const node = (id: string, weight = 1): RingNode => ({ id, weight, meta: { server: r.address.get(id)! } });
    for (const nodes of [NAMES.map((id) => node(id)), NAMES.map((id) => node(id, id === 'app-b' ? 3 : 1)), [node('app-a'), node('app-b', 3), node('app-d')]]) {
      const old = childrenOf(proxy.child.pid!);
      const synced = new Promise((resolve) => sync.once('synced', resolve));
      const diff = await change(r, nodes);
      const info = (await synced) as { ms: number };
      expect(info).toMatchObject({ reloaded: true, servers: nodes.length });
      times.push(info.ms);
      await workersReplaced(proxy.child.pid!, old);
      const after = await probe(proxy.port, 'user', KEYS);
      expectRouted(r, after, seen, diff);
      seen = after;
    }
    expect(errors).toEqual([]);
    console.log(`[ringroute] NginxSync: render + write + nginx -t + reload signal took ${times.map((ms) => ms.toFixed(0)).join(', ')} ms`);
  }, 90_000);

  it('reports a config nginx -t refuses, puts the last good upstream back and keeps routing', async () => {
    const r = await makeRig(nginxPlacement());
    const proxy = await startNginx('upstream ringroute { server 127.0.0.1:1; }\n');
    r.close.push(() => proxy.stop());
    const file = join(proxy.dir, 'upstream.conf');
    const sync = await NginxSync.start({ router: r.router, file, upstream: { name: 'ringroute', argument: 'user' }, binary: proxy.binary, args: proxy.args });
    r.close.push(() => sync.close());
    const { readFileSync } = await import('node:fs');
    const good = readFileSync(file, 'utf8');
    const failed = new Promise<Error>((resolve) => sync.once('error', resolve));
    // A host name nginx cannot resolve: `nginx -t` fails ("host not found in upstream").
    const current = r.router.ring.nodes();
    await change(r, [...current, { id: 'ghost', meta: { server: 'no-such-host.invalid:80' } }]);
    expect((await failed).message).toMatch(/-t failed.*host not found/s);
    expect(readFileSync(file, 'utf8')).toBe(good);
  }, 60_000);
});

describe.skipIf(skipWithoutProxy('HaproxySync tests', 'haproxy'))('HaproxySync', () => {
  it('follows the store through the runtime API without reloads, and the diff names the moved keys', async () => {
    const r = await makeRig(haproxyPlacement());
    const proxy = await startHaproxy('backend ringroute\n  server none 127.0.0.1:1\n');
    r.close.push(() => proxy.stop());
    const socket = join(proxy.dir, 'admin.sock');
    const reloads: number[] = [];
    const reload = async (): Promise<void> => {
      const old = childrenOf(proxy.child.pid!);
      await reloadHaproxy(proxy);
      try {
        reloads.push(await workersReplaced(proxy.child.pid!, old));
      } catch (error) {
        throw new Error(`${(error as Error).message}; HAProxy said: ${proxy.log().slice(-2000)}`);
      }
    };
    const sync = await HaproxySync.start({ router: r.router, backend: { name: 'ringroute', param: 'user' }, socket, file: join(proxy.dir, 'backend.cfg'), reload });
    r.close.push(() => sync.close());
    const errors: Error[] = [];
    sync.on('error', (e) => errors.push(e));
    let seen = await probe(proxy.port, 'user', KEYS);
    expectRouted(r, seen);

    const node = (id: string, weight = 1): RingNode => ({ id, weight, meta: { server: r.address.get(id)! } });
    const steps: Array<[string, RingNode[]]> = [
      ['add', NAMES.map((id) => node(id))],
      ['reweight', NAMES.map((id) => node(id, id === 'app-b' ? 3 : 1))],
      ['remove', [node('app-a'), node('app-b', 3), node('app-d')]],
    ];
    const times: string[] = [];
    for (const [what, nodes] of steps) {
      const synced = new Promise<HaproxySyncInfo>((resolve) => sync.once('synced', resolve));
      const diff = await change(r, nodes);
      const info = await synced;
      expect(info.reloaded, what).toBe(false);
      expect(info.commands, what).toBeGreaterThan(0);
      times.push(`${what} ${info.ms.toFixed(1)} ms (${info.commands} commands${info.drainMs > 0 ? `, ${info.drainMs.toFixed(1)} ms checking for streams` : ''})`);
      const after = await probe(proxy.port, 'user', KEYS);
      expectRouted(r, after, seen, diff);
      seen = after;
    }
    // The runtime state is what the file says: a reload changes nothing.
    await reload();
    expectRouted(r, await probe(proxy.port, 'user', KEYS), seen);
    const state = await haproxyCommand(socket, 'show servers state ringroute');
    expect(state).toContain('app-d');
    expect(state).not.toContain('app-c');
    expect(errors).toEqual([]);
    console.log(`[ringroute] HaproxySync through the runtime API: ${times.join(', ')}; reloads took ${reloads.map((ms) => ms.toFixed(0)).join(', ')} ms`);
  }, 90_000);

  for (const [removal, reason] of [
    ['drain', /server app-c still had 1 stream after 500 ms in maintenance/],
    ['runtime', /HAProxy kept server app-c: it still has connections/],
  ] as const) {
    it(`falls back to a reload when a removed server keeps a connection (removal: '${removal}'), and routing follows the ring`, async () => {
      const r = await makeRig(haproxyPlacement());
      const proxy = await startHaproxy('backend ringroute\n  server none 127.0.0.1:1\n');
      r.close.push(() => proxy.stop());
      const reload = async (): Promise<void> => {
        const old = childrenOf(proxy.child.pid!);
        await reloadHaproxy(proxy);
        await workersReplaced(proxy.child.pid!, old);
      };
      const sync = await HaproxySync.start({ router: r.router, backend: { name: 'ringroute', param: 'user' }, socket: join(proxy.dir, 'admin.sock'), file: join(proxy.dir, 'backend.cfg'), reload, removal, drainTimeoutMs: 500 });
      r.close.push(() => sync.close());
      const seen = await probe(proxy.port, 'user', KEYS);
      // A request held open on app-c, as an open WebSocket would be.
      const held = KEYS.find((k) => r.router.lookup(k).id === 'app-c')!;
      const { request } = await import('node:http');
      const hold = request({ host: '127.0.0.1', port: proxy.port, path: `/?user=${held}&hold=1` });
      hold.on('error', () => undefined);
      hold.end();
      await new Promise((resolve) => setTimeout(resolve, 300));
      const synced = new Promise<HaproxySyncInfo>((resolve) => sync.once('synced', resolve));
      const diff = await change(r, r.router.ring.nodes().filter((n) => n.id !== 'app-c'));
      const info = await synced;
      hold.destroy();
      expect(info.reloaded).toMatch(reason);
      if (removal === 'drain') expect(info.drainMs).toBeGreaterThanOrEqual(500);
      else expect(info.drainMs).toBe(0);
      expectRouted(r, await probe(proxy.port, 'user', KEYS), seen, diff);
      expect(await haproxyCommand(join(proxy.dir, 'admin.sock'), 'show servers state ringroute')).not.toContain('app-c');
    }, 60_000);
  }
});
