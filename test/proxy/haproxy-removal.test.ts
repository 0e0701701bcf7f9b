/**
 * HaproxySync removing a dead server while clients keep retrying it through
 * HAProxy (`retries 3`, the default): the scenario in which `del server`
 * crashed HAProxy 2.6's worker (exit 139, haproxy/haproxy#2323, fixed in
 * 2.9) when streams still pointed at the server. Round after round, a server
 * whose process is gone is removed through the store; the worker must
 * survive every round and route as the ring afterwards.
 */
import { type Server, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryRingStore, RingRouter, type RingNode } from 'ringroute';
import { HaproxySync, type HaproxySyncInfo, type HaproxySyncOptions, haproxyCommand, haproxyPlacement } from 'ringroute/haproxy';
import { Backends, type ProxyProcess, probe, reloadHaproxy, skipWithoutProxy, startHaproxy } from '../support/proxies.js';
import { delServerNeedsDrain } from '../../src/proxy/haproxy/streams.js';
import { childrenOf, workersReplaced } from './support.js';

const KEYS = Array.from({ length: 3000 }, (_, i) => `u${i}`);
const LIVE = ['app-a', 'app-b', 'app-c'];
const ROUNDS = 10;

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

/** Whether HAProxy's master still runs and no worker ever exited but cleanly (a reload's old worker exits with 0). */
function alive(proxy: ProxyProcess): boolean {
  return proxy.child.exitCode === null && proxy.child.signalCode === null && !/exited with code (?!0 \(Exit\))/.test(proxy.log());
}

/** `concurrency` loops sending `GET /?user=<key>` through the proxy until stopped; answers and errors are ignored. */
function retryingClients(port: number, keys: readonly string[], concurrency: number): { stop(): Promise<number> } {
  let running = true;
  let sent = 0;
  const one = (key: string): Promise<void> =>
    new Promise((resolve) => {
      const req = request({ host: '127.0.0.1', port, path: `/?user=${key}`, timeout: 10_000 }, (res) => {
        res.resume();
        res.on('end', resolve);
        res.on('error', () => resolve());
      });
      req.on('timeout', () => req.destroy());
      req.on('error', () => resolve());
      req.end();
    });
  const loops = Array.from({ length: concurrency }, async (_, i) => {
    for (let n = i; running; n += concurrency) {
      sent++;
      await one(keys[n % keys.length]!);
    }
  });
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      return sent;
    },
  };
}

async function listen(): Promise<Server> {
  const server = createServer((_req, res) => res.end('dead'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

/**
 * Runs the rounds with `removal`; returns the sync infos of the removals.
 * Throws as soon as HAProxy's worker died.
 */
async function removeDeadServers(removal: HaproxySyncOptions['removal'], rounds: number): Promise<{ infos: HaproxySyncInfo[]; proxy: ProxyProcess; router: RingRouter; requests: number }> {
  const backends = new Backends();
  const address = await backends.start(LIVE);
  closers.push(() => backends.close());
  const store = new MemoryRingStore();
  const live = LIVE.map((id): RingNode => ({ id, meta: { server: address.get(id)! } }));
  await store.compareAndSet(0, live);
  const router = await RingRouter.start({ store, placement: haproxyPlacement() });
  closers.push(() => router.close());
  const proxy = await startHaproxy('backend ringroute\n  server none 127.0.0.1:1\n');
  closers.push(() => proxy.stop());
  const reload = async (): Promise<void> => {
    const old = childrenOf(proxy.child.pid!);
    await reloadHaproxy(proxy);
    await workersReplaced(proxy.child.pid!, old);
  };
  const sync = await HaproxySync.start({ router, backend: { name: 'ringroute', param: 'user' }, socket: join(proxy.dir, 'admin.sock'), file: join(proxy.dir, 'backend.cfg'), reload, ...(removal !== undefined ? { removal } : {}) });
  closers.push(() => sync.close());
  const errors: Error[] = [];
  sync.on('error', (e) => errors.push(e));
  const setMembers = async (nodes: RingNode[]): Promise<HaproxySyncInfo> => {
    const synced = new Promise<HaproxySyncInfo>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no sync within 30 s; HAProxy said: ${proxy.log().slice(-1000)}`)), 30_000);
      sync.once('synced', (info) => {
        clearTimeout(timer);
        resolve(info);
      });
    });
    const state = await store.read();
    await store.compareAndSet(state!.version, nodes, state!.epoch);
    return synced;
  };
  const infos: HaproxySyncInfo[] = [];
  let requests = 0;
  for (let round = 1; round <= rounds; round++) {
    const server = await listen();
    const dead: RingNode = { id: `gone-${round}`, meta: { server: `127.0.0.1:${(server.address() as AddressInfo).port}` } };
    await setMembers([...live, dead]);
    // Its process dies: every connection to it is refused from now on, and HAProxy retries each one.
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const keys = KEYS.filter((k) => router.lookup(k).id === dead.id);
    const clients = retryingClients(proxy.port, keys, 24);
    // Let streams pile up in HAProxy's retry turn-around (1 s per retry).
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const info = await setMembers(live).finally(async () => void (requests += await clients.stop()));
    infos.push(info);
    // Give a crash time to show (the worker dies a moment after the delete, when a stream touches the server).
    await new Promise((resolve) => setTimeout(resolve, 300));
    if (!alive(proxy)) throw new Error(`HAProxy's worker died in round ${round} (removal ${removal ?? 'auto'}): ${proxy.log().slice(-800)}`);
  }
  expect(errors).toEqual([]);
  return { infos, proxy, router, requests };
}

describe('HaproxySync removal options', () => {
  it('drains before del server on HAProxy before 2.9 and on an unknown version only', () => {
    const cases: Array<[readonly [number, number] | null, boolean]> = [
      [[1, 8], true], [[2, 4], true], [[2, 6], true], [[2, 8], true], [[2, 9], false], [[2, 10], false], [[3, 0], false], [null, true],
    ];
    for (const [version, drain] of cases) expect(delServerNeedsDrain(version), String(version)).toBe(drain);
  });

  it('refuses an unknown removal or a negative drainTimeoutMs before touching anything', async () => {
    const router = await RingRouter.start({ store: new MemoryRingStore(), placement: haproxyPlacement() });
    closers.push(() => router.close());
    let reloads = 0;
    const base = { router, backend: { name: 'ringroute', param: 'user' }, socket: '/nonexistent/admin.sock', file: '/nonexistent/backend.cfg', reload: () => void reloads++ };
    await expect(HaproxySync.start({ ...base, removal: 'sometimes' as 'auto' })).rejects.toThrow(/removal must be one of 'auto', 'drain', 'runtime', 'reload', got "sometimes"/);
    await expect(HaproxySync.start({ ...base, drainTimeoutMs: -1 })).rejects.toThrow(/drainTimeoutMs must be a number >= 0, got -1/);
    expect(reloads).toBe(0);
  });
});

describe.skipIf(skipWithoutProxy('HaproxySync removal tests', 'haproxy'))('HaproxySync removal of a dead server under retrying clients', () => {
  it(`never crashes HAProxy's worker over ${ROUNDS} rounds, and routing follows the ring`, async () => {
    const started = performance.now();
    const { infos, proxy, router, requests } = await removeDeadServers(undefined, ROUNDS);
    expect(infos).toHaveLength(ROUNDS);
    expect(alive(proxy)).toBe(true);
    // Streams did point at each removed server (the crash scenario), and the sync waited for them, without reloads.
    expect(infos.map((i) => i.reloaded)).toEqual(infos.map(() => false));
    expect(Math.min(...infos.map((i) => i.drainMs))).toBeGreaterThan(500);
    const seen = await probe(proxy.port, 'user', KEYS).catch((error: Error) => {
      throw new Error(`probing after the rounds: ${error.message}; HAProxy ${alive(proxy) ? 'alive' : 'DIED'}: ${proxy.log().slice(-800)}`);
    });
    const want = router.ring.lookupMany(KEYS).map((n) => n.id);
    expect(KEYS.filter((_, i) => seen[i] !== want[i])).toEqual([]);
    const state = await haproxyCommand(join(proxy.dir, 'admin.sock'), 'show servers state ringroute');
    expect(state).not.toMatch(/gone-/);
    console.log(
      `[ringroute] HaproxySync removal under retrying clients (${requests} requests): ${ROUNDS} rounds in ${((performance.now() - started) / 1000).toFixed(1)} s, ` +
        `removals (ms, of which draining) ${infos.map((i) => `${i.ms.toFixed(0)}/${i.drainMs.toFixed(0)}${i.reloaded === false ? '' : ' (reload)'}`).join(', ')}`,
    );
  }, 180_000);

  it("removes by reload with removal: 'reload', after the streams drained, and no worker dies", async () => {
    const { infos, proxy, router } = await removeDeadServers('reload', 3);
    for (const info of infos) {
      expect(info.reloaded).toMatch(/^removal: 'reload' \(gone-\d\)$/);
      // A reload while streams retried the dead server crashed the old worker (exit 139) on 2.6.12: drained first.
      expect(info.drainMs).toBeGreaterThan(500);
    }
    expect(alive(proxy)).toBe(true);
    const seen = await probe(proxy.port, 'user', KEYS);
    const want = router.ring.lookupMany(KEYS).map((n) => n.id);
    expect(KEYS.filter((_, i) => seen[i] !== want[i])).toEqual([]);
  }, 60_000);
});
