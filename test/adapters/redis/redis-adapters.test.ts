import { Cluster, Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { MembershipAdapter, MembershipEvent, RingState, RingStore } from '../../../src/live/contracts.js';
import {
  RedisMembership,
  RedisRingStore,
  redisKeys,
  type RedisMembershipHandle,
} from '../../../src/adapters/redis/index.js';
import { membershipContract, type MembershipHarness } from '../../contract/membership.contract.js';
import { ringStoreContract, type RingStoreHarness } from '../../contract/ring-store.contract.js';
import { rejectionOf, sleep, waitFor } from '../../support/wait.js';
import { RedisServer, randomPrefix, skipWithoutRedis, useRedisCluster, useRedisServer } from '../../support/redis-server.js';

// Short timings keep the suite fast; production defaults are 3000/1000.
const TTL_MS = 400;
const HEARTBEAT_MS = 100;

type AnyClient = Redis | Cluster;

/** How a test backend makes clients: one per adapter instance, as separate processes would have. */
interface Backend {
  client(): AnyClient;
}

/** The Redis server's clock, in ms (what the membership scripts score with). */
async function serverTimeMs(client: AnyClient): Promise<number> {
  const [seconds, micros] = (await client.call('TIME')) as [string, string];
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

function quiet<T extends AnyClient>(client: T): T {
  // The application owns its client's error events; tests only need them not to be "unhandled".
  client.on('error', () => undefined);
  return client;
}

function singleServer(url: () => string): Backend {
  return {
    client: () => quiet(new Redis(url(), { maxRetriesPerRequest: 1, retryStrategy: () => 50 })),
  };
}

function cluster(nodes: () => Array<{ host: string; port: number }>): Backend {
  return {
    client: () => quiet(new Cluster(nodes(), { redisOptions: { maxRetriesPerRequest: 1 }, clusterRetryStrategy: () => 50 })),
  };
}

async function deleteKeys(backend: Backend, prefix: string): Promise<void> {
  const admin = backend.client();
  const k = redisKeys(prefix);
  await admin.del(k.ring, k.members, k.expiry, k.owners, k.clock);
  await admin.quit();
}

function storeHarness(backend: Backend): RingStoreHarness {
  const prefix = randomPrefix('store');
  const opened: Array<{ store: RingStore; client: AnyClient }> = [];
  return {
    create() {
      const client = backend.client();
      const store = new RedisRingStore({ redis: client, prefix });
      opened.push({ store, client });
      return store;
    },
    wipe: () => deleteKeys(backend, prefix),
    async cleanup() {
      await Promise.all(opened.map(({ store }) => store.close()));
      await Promise.all(opened.map(({ client }) => client.quit()));
      await deleteKeys(backend, prefix);
    },
  };
}

function membershipHarness(backend: Backend): MembershipHarness {
  const prefix = randomPrefix('members');
  const opened: Array<{ adapter: MembershipAdapter; client: AnyClient }> = [];
  return {
    ttlMs: TTL_MS,
    // ttl after the last heartbeat + one reaper period + scheduling slack.
    expireWithinMs: TTL_MS + HEARTBEAT_MS + 500,
    create() {
      const client = backend.client();
      const adapter = new RedisMembership({ redis: client, prefix, ttlMs: TTL_MS, heartbeatMs: HEARTBEAT_MS });
      opened.push({ adapter, client });
      return adapter;
    },
    async cleanup() {
      await Promise.all(opened.map(({ adapter }) => adapter.close()));
      await Promise.all(opened.map(({ client }) => client.quit()));
      await deleteKeys(backend, prefix);
    },
  };
}

// ---------------------------------------------------------------------------
// Contract suites on a single server (REDIS_URL or a private redis-server)

const skipSingle = skipWithoutRedis('Redis adapters on a single server', 'server-or-url');
describe.skipIf(skipSingle)('Redis adapters on a single server', () => {
  const backend = singleServer(useRedisServer());
  ringStoreContract('RedisRingStore (single server)', () => storeHarness(backend));
  membershipContract('RedisMembership (single server)', () => membershipHarness(backend));
  describeRedisSpecifics(backend, 'single server');
});

// ---------------------------------------------------------------------------
// Contract suites on a local 3-master Redis Cluster

const skipCluster = skipWithoutRedis('Redis adapters on a 3-master Redis Cluster', 'cluster');
describe.skipIf(skipCluster)('Redis adapters on a 3-master Redis Cluster', () => {
  const backend = cluster(useRedisCluster());
  ringStoreContract('RedisRingStore (cluster)', () => storeHarness(backend));
  membershipContract('RedisMembership (cluster)', () => membershipHarness(backend));
  describeRedisSpecifics(backend, 'cluster');

  it('keeps every key and channel of a prefix in one cluster slot', async () => {
    const client = backend.client();
    try {
      for (const prefix of ['a', 'chat', 'rr-x-1', 'with:colons and spaces']) {
        const names = Object.values(redisKeys(prefix));
        const slots = await Promise.all(names.map((name) => client.cluster('KEYSLOT', name)));
        expect(new Set(slots).size, prefix).toBe(1);
      }
      // Prefixes do spread over the cluster: not everything lands on one master.
      const slots = await Promise.all(['p1', 'p2', 'p3', 'p4', 'p5', 'p6'].map((p) => client.cluster('KEYSLOT', redisKeys(p).ring)));
      expect(new Set(slots).size).toBeGreaterThan(1);
    } finally {
      await client.quit();
    }
  });
});

// ---------------------------------------------------------------------------
// Redis-specific behaviour

function describeRedisSpecifics(backend: Backend, label: string): void {
  describe(`Redis specifics (${label})`, () => {
    const clients: AnyClient[] = [];
    const closers: Array<() => Promise<void>> = [];
    const prefixes: string[] = [];
    function client(): AnyClient {
      const c = backend.client();
      clients.push(c);
      return c;
    }
    function prefix(): string {
      const p = randomPrefix('spec');
      prefixes.push(p);
      return p;
    }
    function store(p: string, extra: { maxStateBytes?: number } = {}): RedisRingStore {
      const s = new RedisRingStore({ redis: client(), prefix: p, ...extra });
      closers.push(() => s.close());
      return s;
    }
    function membership(p: string, onError?: (e: Error) => void): RedisMembership {
      const m = new RedisMembership({ redis: client(), prefix: p, ttlMs: TTL_MS, heartbeatMs: HEARTBEAT_MS, ...(onError ? { onError } : {}) });
      closers.push(() => m.close());
      return m;
    }
    afterEach(async () => {
      await Promise.all(closers.splice(0).map((close) => close()));
      await Promise.all(prefixes.splice(0).map((p) => deleteKeys(backend, p)));
      await Promise.all(clients.splice(0).map((c) => c.quit()));
    });

    describe('RedisRingStore.read', () => {
      const bad: Array<[string, string]> = [
        ['garbage JSON', '{"version":1,"nodes":[{"id":"a"}'],
        ['a JSON array', '[1,2,3]'],
        ['a JSON string', '"hello"'],
        ['no epoch', '{"version":1,"nodes":[]}'],
        ['an epoch that is not an id', '{"epoch":"a b","version":1,"nodes":[]}'],
        ['a version of the wrong type', '{"epoch":"e-1","version":"1","nodes":[]}'],
        ['version 0', '{"epoch":"e-1","version":0,"nodes":[]}'],
        ['a fractional version', '{"epoch":"e-1","version":1.5,"nodes":[]}'],
        ['an unsafe integer version', '{"epoch":"e-1","version":9007199254740993,"nodes":[]}'],
        ['nodes of the wrong type', '{"epoch":"e-1","version":1,"nodes":{"a":{}}}'],
        ['a node without id', '{"epoch":"e-1","version":1,"nodes":[{"weight":1}]}'],
        ['a node with a negative weight', '{"epoch":"e-1","version":1,"nodes":[{"id":"a","weight":-1}]}'],
        ['a node with numeric meta', '{"epoch":"e-1","version":1,"nodes":[{"id":"a","meta":{"port":80}}]}'],
        ['duplicate ids', '{"epoch":"e-1","version":3,"nodes":[{"id":"a"},{"id":"b"},{"id":"a"}]}'],
      ];
      for (const [label, raw] of bad) {
        it(`rejects ${label} with INVALID_SNAPSHOT`, async () => {
          const p = prefix();
          await client().set(redisKeys(p).ring, raw);
          const error = await rejectionOf(store(p).read());
          expect(error.name).toBe('RingError');
          expect(error.code).toBe('INVALID_SNAPSHOT');
          expect(error.message).toContain(redisKeys(p).ring);
        });
      }

      it('rejects a payload over maxStateBytes (default 4 MiB) before parsing it', async () => {
        const p = prefix();
        const huge = `{"epoch":"e-1","version":1,"nodes":[${Array.from({ length: 50_000 }, (_, i) => `{"id":"node-${i}-${'x'.repeat(80)}"}`).join(',')}]}`;
        expect(huge.length).toBeGreaterThan(4 * 1024 * 1024);
        await client().set(redisKeys(p).ring, huge);
        const error = await rejectionOf(store(p).read());
        expect(error.code).toBe('INVALID_SNAPSHOT');
        expect(error.message).toMatch(/bytes; the limit is 4194304/);
        // A store with a higher cap accepts it: the data itself is fine.
        expect((await store(p, { maxStateBytes: 8 * 1024 * 1024 }).read())?.nodes).toHaveLength(50_000);
      });

      it('rejects a key of another Redis type with INVALID_SNAPSHOT', async () => {
        const p = prefix();
        await client().hset(redisKeys(p).ring, 'version', '1');
        expect((await rejectionOf(store(p).read())).code).toBe('INVALID_SNAPSHOT');
        expect((await rejectionOf(store(p).compareAndSet(0, []))).code).toBe('INVALID_SNAPSHOT');
      });

      it('refuses to compareAndSet over a value it did not write; repair replaces it with a new epoch', async () => {
        const p = prefix();
        const c = client();
        for (const raw of ['not a ring', '{"version":3,"nodes":[]}', '{"epoch":"e-1","version":5,"nodes":[{"id":""}]}']) {
          await c.set(redisKeys(p).ring, raw);
          for (const expected of [0, 1, 2]) {
            if (raw.startsWith('{"epoch"')) {
              // A readable header: the script compares versions without decoding the nodes.
              expect(await store(p).compareAndSet(expected, [{ id: 'a' }])).toBeNull();
              continue;
            }
            const error = await rejectionOf(store(p).compareAndSet(expected, [{ id: 'a' }]));
            expect(error.code, raw).toBe('INVALID_SNAPSHOT');
          }
          expect(await c.get(redisKeys(p).ring)).toBe(raw);
          const repaired = await store(p).repair([{ id: 'a' }]);
          expect(repaired).toMatchObject({ version: 1, nodes: [{ id: 'a' }] });
          expect(await store(p).read()).toEqual(repaired);
          await c.del(redisKeys(p).ring);
        }
        // A key of another Redis type is replaced too.
        await c.hset(redisKeys(p).ring, 'version', '1');
        expect((await store(p).repair([{ id: 'b' }]))?.nodes).toEqual([{ id: 'b' }]);
      });

      it('lets exactly one of racing repairs win, and never repairs a valid state written meanwhile', async () => {
        const p = prefix();
        await client().set(redisKeys(p).ring, '{garbage');
        const stores = Array.from({ length: 5 }, () => store(p));
        const results = await Promise.all(stores.map((s, i) => s.repair([{ id: `r${i}` }])));
        expect(results.filter((r) => r !== null)).toHaveLength(1);
        const winner = results.find((r) => r !== null)!;
        expect(await stores[0]!.read()).toEqual(winner);
      });

      it('rejects a compareAndSet whose state would exceed maxStateBytes, writing nothing', async () => {
        const p = prefix();
        const s = store(p, { maxStateBytes: 2048 });
        const nodes = Array.from({ length: 100 }, (_, i) => ({ id: `node-${i}-padding-padding` }));
        expect((await rejectionOf(s.compareAndSet(0, nodes))).code).toBe('INVALID_OPTION');
        expect((await rejectionOf(s.compareAndSet(-1, []))).code).toBe('INVALID_OPTION');
        expect((await rejectionOf(s.compareAndSet(0.5, []))).code).toBe('INVALID_OPTION');
        expect(await s.read()).toBeNull();
      });
    });

    describe('RedisRingStore.watch', () => {
      it('sends garbage published on the channel to onError, never to the listener', async () => {
        const p = prefix();
        const s = store(p);
        const states: RingState[] = [];
        const errors: Error[] = [];
        s.watch(
          (state) => states.push(state),
          (error) => errors.push(error),
        );
        const writer = store(p);
        await waitFor(async () => {
          await writer.compareAndSet((await writer.read())?.version ?? 0, []);
          return states.length > 0;
        });
        const publisher = client();
        const garbage = ['{oops', '{"version":-1,"nodes":[]}', '{"version":99,"nodes":[{"id":"a"},{"id":"a"}]}', 'x'.repeat(10)];
        for (const message of garbage) await publisher.publish(s.keys.ringChanges, message);
        await waitFor(() => errors.length === garbage.length, { what: 'one error per bad message' });
        expect(errors.every((e) => (e as { code?: string }).code === 'INVALID_SNAPSHOT')).toBe(true);
        expect(states.every((state) => state.nodes.length === 0 && state.version < 99)).toBe(true);
        // Good states still flow afterwards.
        const next = await writer.compareAndSet((await writer.read())!.version, [{ id: 'ok' }]);
        await waitFor(() => states.some((state) => state.version === next!.version));
      });

      it('isolates prefixes from each other', async () => {
        const [p, q] = [prefix(), prefix()];
        const seen: RingState[] = [];
        store(q).watch((state) => seen.push(state));
        await store(p).compareAndSet(0, [{ id: 'p-only' }]);
        await sleep(100);
        expect(await store(q).read()).toBeNull();
        expect(seen).toEqual([]);
      });
    });

    describe('RedisMembership', () => {
      it('sends garbage on the events channel to onError and rejects members() over garbage in the hash', async () => {
        const p = prefix();
        const m = membership(p);
        const events: MembershipEvent[] = [];
        const errors: Error[] = [];
        m.watch(
          (e) => events.push(e),
          (e) => errors.push(e),
        );
        const other = membership(p);
        await waitFor(async () => {
          const probe = await other.join({ id: `probe-${events.length}-${Math.random()}` });
          await probe.leave();
          return events.length > 0;
        });
        const publisher = client();
        const garbage = ['nope', '{"type":"explode","node":{"id":"a"}}', '{"type":"join","node":{"id":""}}', '{"type":"join"}'];
        for (const message of garbage) await publisher.publish(m.keys.memberEvents, message);
        await waitFor(() => errors.length >= garbage.length);
        expect(errors.every((e) => (e as { code?: string }).code === 'INVALID_SNAPSHOT')).toBe(true);
        expect(events.every((e) => e.node.id.startsWith('probe-'))).toBe(true);

        await other.join({ id: 'good' });
        await publisher.hset(m.keys.members, 'evil', '{"id":"evil","weight":"heavy"}');
        await publisher.hset(m.keys.owners, 'evil', 'token');
        await publisher.zadd(m.keys.expiry, (await serverTimeMs(publisher)) + 200, 'evil');
        errors.length = 0;
        // The bad record is skipped and reported with its id; the others are still listed.
        expect(await m.members()).toEqual([{ id: 'good' }]);
        expect(errors.some((e) => (e as { code?: string }).code === 'INVALID_SNAPSHOT' && e.message.includes('"evil"'))).toBe(true);
      });

      it('validates its options with INVALID_OPTION', () => {
        const redis = client();
        const bad: Array<Record<string, unknown>> = [
          { redis: null },
          { redis: {} },
          { redis, prefix: '' },
          { redis, prefix: 'a{b}' },
          { redis, prefix: 'x'.repeat(300) },
          { redis, ttlMs: 0 },
          { redis, ttlMs: 1.5 },
          { redis, heartbeatMs: 5 },
          { redis, ttlMs: 1000, heartbeatMs: 600 },
          { redis, onError: 'log' },
        ];
        for (const options of bad) {
          expect(() => new RedisMembership(options as never), JSON.stringify(Object.keys(options))).toThrow(
            expect.objectContaining({ code: 'INVALID_OPTION' }),
          );
        }
        expect(() => new RedisRingStore({ redis, maxStateBytes: 10 })).toThrow(expect.objectContaining({ code: 'INVALID_OPTION' }));
        expect(() => new RedisRingStore(undefined as never)).toThrow(expect.objectContaining({ code: 'INVALID_OPTION' }));
        // Defaults follow each other when only one is given.
        expect(() => new RedisMembership({ redis, ttlMs: 300 })).not.toThrow();
        expect(() => new RedisMembership({ redis, heartbeatMs: 5000 })).not.toThrow();
      });

      it('never lets a stale process remove a member that another process has since re-joined', async () => {
        const p = prefix();
        const errors: Error[] = [];
        const oldProcess = membership(p, (e) => errors.push(e));
        const newProcess = membership(p);
        const stale = await oldProcess.join({ id: 'x', meta: { gen: '1' } });
        await newProcess.join({ id: 'x', meta: { gen: '2' } });
        await waitFor(() => errors.some((e) => (e as { code?: string }).code === 'DUPLICATE_NODE'), { what: 'the take-over report' });
        await stale.leave();
        await sleep(TTL_MS * 1.5);
        expect(await newProcess.members()).toEqual([{ id: 'x', meta: { gen: '2' } }]);
      });

      it('ends a displaced member\'s lease, and joins it again once the other registration expired', async () => {
        const p = prefix();
        const errors: Error[] = [];
        const earlier = membership(p, (e) => errors.push(e));
        const later = membership(p);
        const displaced = await earlier.join({ id: 'x', meta: { run: '1' } });
        const other = await later.join({ id: 'x', meta: { run: '2' } }); // e.g. a fail-over brought back a registration
        await waitFor(() => errors.some((e) => (e as { code?: string }).code === 'DUPLICATE_NODE'), { what: 'the report' });
        expect(displaced.lease!.until).toBeLessThanOrEqual(performance.now());
        other.abandon(); // that registration stops being renewed: it expires after ttlMs
        await waitFor(() => displaced.lease!.until > performance.now(), { what: 'the lease back', timeoutMs: TTL_MS * 4 });
        expect(errors.some((e) => /free again/.test(e.message))).toBe(true);
        expect(await later.members()).toEqual([{ id: 'x', meta: { run: '1' } }]);
      });

      it('keeps every key it writes under the {prefix} hash tag', async () => {
        const p = prefix();
        const c = client();
        const s = store(p);
        await s.compareAndSet(0, [{ id: 'a' }]);
        const m = membership(p);
        await m.join({ id: 'a' });
        await (await m.join({ id: 'b' })).leave();
        const names = Object.values(redisKeys(p));
        expect(names.every((name) => name.startsWith(`{${p}}:`))).toBe(true);
        if (!(c instanceof Cluster)) {
          const keys = (await c.keys(`*${p}*`)).sort();
          expect(keys).toEqual([redisKeys(p).clock, redisKeys(p).expiry, redisKeys(p).members, redisKeys(p).owners, redisKeys(p).ring].sort());
        }
      });
    });

    it('measures CAS round trip and expire latency', async () => {
      const p = prefix();
      const s = store(p);
      const times: number[] = [];
      for (let v = 0; v < 200; v++) {
        const t = performance.now();
        await s.compareAndSet(v, [{ id: `n${v % 7}` }, { id: 'base' }]);
        times.push(performance.now() - t);
      }
      times.sort((a, b) => a - b);
      const m = membership(p);
      const events: MembershipEvent[] = [];
      m.watch((e) => events.push(e));
      const joiner = membership(p);
      const member: RedisMembershipHandle | null = await waitFor(async () => {
        const handle = await joiner.join({ id: `probe-${Math.random()}` });
        if (events.length > 0) return handle;
        await handle.leave();
        return null;
      });
      const started = performance.now();
      member!.abandon();
      await waitFor(() => events.some((e) => e.type === 'expire'), { timeoutMs: TTL_MS + 2000 });
      const expireMs = performance.now() - started;
      console.info(
        `[ringroute] ${label}: CAS round trip: median ${times[100]!.toFixed(2)} ms, p95 ${times[190]!.toFixed(2)} ms; ` +
          `expire after abandon: ${expireMs.toFixed(0)} ms (ttlMs ${TTL_MS}, heartbeatMs ${HEARTBEAT_MS})`,
      );
      expect(expireMs).toBeLessThan(TTL_MS + HEARTBEAT_MS + 500);
    });
  });
}

// ---------------------------------------------------------------------------
// Redis going away and coming back (needs a private server to stop)

const skipFailure = skipWithoutRedis('Redis adapters when Redis goes away', 'binary');
describe.skipIf(skipFailure)('Redis adapters when Redis goes away', () => {
  let server: RedisServer;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => {
    unhandled.push(reason);
  };
  beforeAll(async () => {
    server = await RedisServer.start();
    process.on('unhandledRejection', onUnhandled);
  });
  afterAll(async () => {
    process.off('unhandledRejection', onUnhandled);
    await server?.destroy();
  });

  it('catches up with a state written while its subscriber connection was down', async () => {
    const backend = singleServer(() => server.url);
    const p = randomPrefix('catchup');
    const clients = [backend.client(), backend.client(), backend.client()] as const;
    const [admin] = clients;
    const store = new RedisRingStore({ redis: clients[1], prefix: p });
    const writer = new RedisRingStore({ redis: clients[2], prefix: p });
    try {
      const states: RingState[] = [];
      store.watch((s) => states.push(s));
      await writer.compareAndSet(0, [{ id: 'a' }]);
      await waitFor(() => states.some((s) => s.version === 1));
      // Drop the subscriber connection and write before it is back, so the push goes to nobody.
      await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
      expect(await admin.call('PUBSUB', 'NUMSUB', store.keys.ringChanges)).toEqual([store.keys.ringChanges, 0]);
      await writer.compareAndSet(1, [{ id: 'b' }]);
      await waitFor(() => states.some((s) => s.version === 2 && s.nodes[0]?.id === 'b'), { what: 'the catch-up read after resubscribing' });
    } finally {
      await store.close();
      await writer.close();
      await Promise.all(clients.map((c) => c.quit()));
    }
  });

  it('reports failures to onError while Redis is down and resumes after it restarts', async () => {
    const backend = singleServer(() => server.url);
    const p = randomPrefix('down');
    const clients = [backend.client(), backend.client(), backend.client()] as const;
    const store = new RedisRingStore({ redis: clients[0], prefix: p });
    const writer = new RedisRingStore({ redis: clients[1], prefix: p });
    const memberErrors: Error[] = [];
    const membership = new RedisMembership({
      redis: clients[2],
      prefix: p,
      ttlMs: TTL_MS,
      heartbeatMs: HEARTBEAT_MS,
      onError: (e) => memberErrors.push(e),
    });
    try {
      const states: RingState[] = [];
      const storeErrors: Error[] = [];
      store.watch(
        (s) => states.push(s),
        (e) => storeErrors.push(e),
      );
      await writer.compareAndSet(0, [{ id: 'before' }]);
      await waitFor(() => states.some((s) => s.version === 1));
      await membership.join({ id: 'survivor' });

      await server.stop();
      const downAt = performance.now();
      await waitFor(() => memberErrors.length > 0 && storeErrors.length > 0, { what: 'errors from heartbeats and the subscriber' });
      const readError = await rejectionOf(store.read());
      expect(readError.name).not.toBe('RingError');
      await rejectionOf(writer.compareAndSet(1, [{ id: 'lost' }]));
      const errorsWhileDown = memberErrors.length;
      await sleep(HEARTBEAT_MS * 5);
      expect(memberErrors.length).toBeGreaterThan(errorsWhileDown); // still trying

      await server.restart(); // empty: persistence is off
      const upAt = performance.now();
      // The heartbeat finds its member gone and joins again.
      await waitFor(async () => (await membership.members()).some((n) => n.id === 'survivor'), { what: 'the member to re-join' });
      const rejoinMs = performance.now() - upAt;
      // The watch resubscribes: a state written after the restart reaches it.
      // The writer's client may still be reconnecting, so retry its first write.
      const written = await waitFor(() => writer.compareAndSet(0, [{ id: 'after' }]), { what: 'a write after the restart' });
      expect(written).toMatchObject({ version: 1, nodes: [{ id: 'after' }] });
      await waitFor(() => states.some((s) => s.nodes[0]?.id === 'after'), { what: 'a push after resubscribing' });
      const resumeMs = performance.now() - upAt;
      console.info(
        `[ringroute] Redis down ${(upAt - downAt).toFixed(0)} ms; member re-joined ${rejoinMs.toFixed(0)} ms and watch resumed ${resumeMs.toFixed(0)} ms after restart`,
      );
      expect(memberErrors.some((e) => e.message.includes('joined again'))).toBe(true);
      expect(unhandled).toEqual([]);
    } finally {
      await membership.close();
      await store.close();
      await writer.close();
      for (const c of clients) c.disconnect();
    }
  });
});
