/**
 * Tests the package a user installs: the built `dist/` (run `npm run build`
 * first; `npm test` does), loaded by package name through `import` and
 * `require` in a separate Node process, and in this process from the files.
 *
 * To cover a new export, add its name to the list of its entry point; to
 * cover a new entry point (e.g. `ringroute/redis`), add a line to ENTRIES.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { HashRing as SourceHashRing } from '../../src/index.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DIST = join(ROOT, 'dist');
const USE_PACKAGE = fileURLToPath(new URL('./fixtures/use-package.mjs', import.meta.url));
const RECORD_RESOLVES = fileURLToPath(new URL('./fixtures/record-resolves.mjs', import.meta.url));

/** Runtime exports of `ringroute` (types are erased and cannot be listed). */
const CORE_EXPORTS = [
  'HashRing',
  'diffRings',
  'createXxHash32',
  'RingError',
  'DEFAULT_VNODES',
  'MAX_ID_LENGTH',
  'MAX_META_ENTRIES',
  'MAX_META_LENGTH',
  'MAX_POINTS',
  'MAX_VNODES',
  'MAX_WEIGHT',
  'groupByOwner',
  'MemoryRingStore',
  'MemoryMembership',
  'RingRouter',
  'RingCoordinator',
  'MemoryTransport',
  'MAX_ADDRESS_LENGTH',
  'maglevPlacement',
  'MAGLEV_TABLE_SIZE',
];

const REDIS_EXPORTS = ['RedisRingStore', 'RedisMembership', 'RedisTransport', 'redisKeys', 'DEFAULT_PREFIX', 'DEFAULT_TTL_MS', 'DEFAULT_HEARTBEAT_MS'];

const NATS_EXPORTS = [
  'NatsRingStore',
  'NatsMembership',
  'NatsTransport',
  'natsNames',
  'addressToken',
  'memberKey',
  'DEFAULT_NATS_PREFIX',
  'DEFAULT_NATS_TTL_MS',
  'DEFAULT_NATS_HEARTBEAT_MS',
];

const SESSIONS_EXPORTS = [
  'SessionNode',
  'Session',
  'Dispatcher',
  'HashIndex',
  'CloseCode',
  'PROTOCOL_VERSION',
  'MAX_CLIENT_FRAME',
  'MAX_MESSAGE_ID',
  'DEFAULT_HOLD_BYTES',
  'DEFAULT_HOLD_PER_KEY',
  'BROADCAST_ADDRESS',
  'nodeAddress',
  'senderAddress',
  'HandshakeGate',
  'Admission',
  'DEFAULT_RESERVED_DESCRIPTORS',
  'descriptorLimit',
  'isDescriptorExhaustion',
  'openDescriptors',
  'openDescriptorsAsync',
  'resolveDescriptorBudget',
  'refuseUpgrade',
];

const CLIENT_EXPORTS = ['SessionClient', 'fullJitter', 'retryAfterDelay', 'parseRetryAfter', 'CloseCode', 'PROTOCOL_VERSION', 'RingError'];

const METRICS_EXPORTS = ['instrument', 'reasonOf', 'StatusBoard', 'statusHandler', 'ringArcs'];
const SOCKETIO_EXPORTS = ['createAdapter', 'RingrouteAdapter', 'userRooms'];
const RESTY_EXPORTS = ['restyChashPlacement', 'reduceApisixWeights', 'restyServerOf', 'RESTY_POINTS_PER_WEIGHT'];
const ENVOY_EXPORTS = ['envoyRingHashPlacement', 'envoyMaglevPlacement', 'envoyRequestKey', 'envoyHashKeyOf', 'ENVOY_MIN_RING_SIZE', 'ENVOY_MAX_RING_SIZE', 'ENVOY_MAGLEV_TABLE_SIZE', 'ENVOY_MAGLEV_MAX_TABLE_SIZE'];
const GATEWAY_EXPORTS = ['GatewayHandler', 'createJwtAuthenticator', 'gatewayServerOptions', 'DEFAULT_LIMITS', 'AuthenticationError', 'requestToken', 'checkMemberUrl', 'RateLimiter'];

interface Entry {
  /** What users import. */
  readonly specifier: string;
  /** Its files in dist/: `<file>.js`, `<file>.cjs`, `<file>.d.ts`, `<file>.d.cts`. */
  readonly file: string;
  /** Runtime names it must export. */
  readonly names: readonly string[];
}

const ENTRIES: readonly Entry[] = [
  { specifier: 'ringroute', file: 'index', names: CORE_EXPORTS },
  { specifier: 'ringroute/redis', file: 'redis', names: REDIS_EXPORTS },
  { specifier: 'ringroute/nats', file: 'nats', names: NATS_EXPORTS },
  { specifier: 'ringroute/sessions', file: 'sessions', names: SESSIONS_EXPORTS },
  { specifier: 'ringroute/client', file: 'client', names: CLIENT_EXPORTS },
  { specifier: 'ringroute/metrics', file: 'metrics', names: METRICS_EXPORTS },
  { specifier: 'ringroute/gateway', file: 'gateway', names: GATEWAY_EXPORTS },
  { specifier: 'ringroute/socket.io', file: 'socket.io', names: SOCKETIO_EXPORTS },
  { specifier: 'ringroute/resty', file: 'resty', names: RESTY_EXPORTS },
  { specifier: 'ringroute/envoy', file: 'envoy', names: ENVOY_EXPORTS },
];

const MODES = ['import', 'require'] as const;
type Mode = (typeof MODES)[number];

interface ChildReport {
  readonly names: string[];
  readonly owners: string[] | null;
  readonly cjsLoaded: string[];
}

async function usePackage(mode: Mode, specifier: string, nodeArgs: readonly string[] = [], env: Record<string, string> = {}): Promise<ChildReport> {
  const { stdout } = await run(process.execPath, [...nodeArgs, USE_PACKAGE, mode, specifier], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    maxBuffer: 1 << 24,
  });
  return JSON.parse(stdout) as ChildReport;
}

/** Loads a dist file in this process: natively for CommonJS, through the test runner for ESM. */
async function loadDist(mode: Mode, file: string): Promise<Record<string, unknown>> {
  if (mode === 'require') return createRequire(import.meta.url)(join(DIST, `${file}.cjs`)) as Record<string, unknown>;
  return (await import(pathToFileURL(join(DIST, `${file}.js`)).href)) as Record<string, unknown>;
}

/** Owners of `user:0..49` on the source ring, which the built one must agree with. */
async function sourceOwners(): Promise<string[]> {
  const ring = await SourceHashRing.create([{ id: 'a' }, { id: 'b' }, { id: 'c', weight: 2 }]);
  return Array.from({ length: 50 }, (_, i) => ring.lookup(`user:${i}`).id);
}

beforeAll(() => {
  for (const { file } of ENTRIES) {
    for (const ext of ['js', 'cjs', 'd.ts', 'd.cts']) {
      if (!existsSync(join(DIST, `${file}.${ext}`))) throw new Error(`dist/${file}.${ext} is missing: run \`npm run build\` before these tests`);
    }
  }
});

describe('package.json exports', () => {
  it('points every condition of every subpath at a file that exists in dist', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { exports: Record<string, unknown> };
    const targets: string[] = [];
    const walk = (value: unknown): void => {
      if (typeof value === 'string') targets.push(value);
      else if (value !== null && typeof value === 'object') for (const v of Object.values(value)) walk(v);
    };
    walk(pkg.exports);
    expect(targets.length).toBeGreaterThan(0);
    for (const target of targets) expect(existsSync(join(ROOT, target)), target).toBe(true);
    for (const { specifier } of ENTRIES) {
      const subpath = specifier === 'ringroute' ? '.' : `.${specifier.slice('ringroute'.length)}`;
      expect(Object.keys(pkg.exports)).toContain(subpath);
    }
  });
});

describe.each(ENTRIES)('$specifier as installed', ({ specifier, file, names }) => {
  it.each(MODES)('exports every public name through %s, loaded by package name', async (mode) => {
    const report = await usePackage(mode, specifier);
    for (const name of names) expect(report.names, `${name} missing from ${mode} ${specifier}`).toContain(name);
  });

  it.each(MODES)('resolves to the built file through %s', async (mode) => {
    if (mode === 'require') {
      expect(createRequire(import.meta.url).resolve(specifier)).toBe(join(DIST, `${file}.cjs`));
    } else {
      const { stdout } = await run(process.execPath, ['--input-type=module', '-e', `process.stdout.write(import.meta.resolve(${JSON.stringify(specifier)}))`], { cwd: ROOT });
      expect(stdout).toBe(pathToFileURL(join(DIST, `${file}.js`)).href);
    }
  });
});

describe('ringroute core from dist', () => {
  it.each(MODES)('builds a ring and looks keys up through %s, agreeing with the source', async (mode) => {
    const report = await usePackage(mode, 'ringroute');
    expect(report.owners).toEqual(await sourceOwners());
  });

  it.each(MODES)('works in this process through %s: ring, diff, errors and limits', async (mode) => {
    const m = await loadDist(mode, 'index');
    const api = m as unknown as typeof import('../../src/index.js');
    expect(typeof api.HashRing).toBe('function');
    expect(typeof api.diffRings).toBe('function');
    expect(typeof api.createXxHash32).toBe('function');
    expect(api.MAX_WEIGHT).toBe(100);
    expect(api.MAX_VNODES).toBe(10_000);
    expect(api.DEFAULT_VNODES).toBe(160);

    const hasher = await api.createXxHash32();
    expect(hasher.name).toBe('xxh32');
    const ring = new api.HashRing({ hasher }, [{ id: 'a' }, { id: 'b' }]);
    const before = ring.clone();
    const diff = ring.add({ id: 'c' });
    expect(diff.added).toEqual(['c']);
    expect(api.diffRings(before, ring).ranges).toEqual(diff.ranges);
    expect(ring.lookupN('user:1', 3)).toHaveLength(3);
    const restored = await api.HashRing.fromJSON(JSON.parse(JSON.stringify(ring)));
    expect(restored.lookup('user:1')).toEqual(ring.lookup('user:1'));

    let caught: unknown;
    try {
      new api.HashRing({ hasher }).lookup('k');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(api.RingError);
    expect(caught).toBeInstanceOf(Error);
    expect((caught as InstanceType<typeof api.RingError>).code).toBe('EMPTY_RING');
  });

  it.each(MODES)('routes live through %s: memory adapters, coordinator and router', async (mode) => {
    const api = (await loadDist(mode, 'index')) as unknown as typeof import('../../src/index.js');
    const store = new api.MemoryRingStore();
    const membership = new api.MemoryMembership();
    await membership.join({ id: 'node-a', meta: { url: 'ws://a' } });
    const coordinator = await api.RingCoordinator.start({ membership, store });
    const router = await api.RingRouter.start({ store });
    expect(router.version).toBe(1);
    expect(router.lookup('user:1').meta).toEqual({ url: 'ws://a' });
    expect([...api.groupByOwner(router, ['u1', 'u2']).keys()]).toEqual(['node-a']);
    await router.close();
    await coordinator.close();
    await membership.close();
  });

  it.each(MODES)('shares one RingError class between ringroute and ringroute/redis through %s', async (mode) => {
    const core = (await loadDist(mode, 'index')) as unknown as typeof import('../../src/index.js');
    const redis = (await loadDist(mode, 'redis')) as unknown as typeof import('../../src/adapters/redis/index.js');
    let caught: unknown;
    try {
      new redis.RedisRingStore({ redis: null as never });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(core.RingError);
    expect((caught as InstanceType<typeof core.RingError>).code).toBe('INVALID_OPTION');
  });

  it.each(MODES)('shares one RingError class between ringroute and ringroute/nats through %s', async (mode) => {
    const core = (await loadDist(mode, 'index')) as unknown as typeof import('../../src/index.js');
    const nats = (await loadDist(mode, 'nats')) as unknown as typeof import('../../src/adapters/nats/index.js');
    expect(() => new nats.NatsRingStore({ nats: null as never })).toThrow(core.RingError);
    expect(() => nats.natsNames('a.b')).toThrow(core.RingError);
    expect(nats.addressToken('node:a.b')).toBe('node:a%2Eb');
  });

  it.each(MODES)('shares one RingError class between ringroute, ringroute/sessions and ringroute/client through %s', async (mode) => {
    const core = (await loadDist(mode, 'index')) as unknown as typeof import('../../src/index.js');
    const sessions = (await loadDist(mode, 'sessions')) as unknown as typeof import('../../src/sessions/index.js');
    const client = (await loadDist(mode, 'client')) as unknown as typeof import('../../src/client/index.js');
    expect(client.RingError).toBe(core.RingError);
    await expect(sessions.SessionNode.start(null as never)).rejects.toBeInstanceOf(core.RingError);
    expect(client.CloseCode).toEqual(sessions.CloseCode);
  });

  it.each(MODES)('verifies a JWT with ringroute/gateway through %s (jose loaded lazily, as an optional peer)', async (mode) => {
    const core = (await loadDist(mode, 'index')) as unknown as typeof import('../../src/index.js');
    const gateway = (await loadDist(mode, 'gateway')) as unknown as typeof import('../../src/gateway/index.js');
    await expect(gateway.createJwtAuthenticator({ secret: 'short' })).rejects.toBeInstanceOf(core.RingError);
    const auth = await gateway.createJwtAuthenticator({ secret: 'x'.repeat(32) });
    expect(await auth.verify('not-a-token')).toBeNull();
    expect(() => new gateway.GatewayHandler({ router: null as never, dispatcher: null as never })).toThrow(core.RingError);
  });

  it.each(MODES)('routes a Socket.IO emit to the owner of a user through ringroute/socket.io via %s', async (mode) => {
    const core = (await loadDist(mode, 'index')) as unknown as typeof import('../../src/index.js');
    const sio = (await loadDist(mode, 'socket.io')) as unknown as typeof import('../../src/socketio/index.js');
    const { Server } = await import('socket.io');
    const { io: connect } = await import('socket.io-client');
    const { createServer } = await import('node:http');
    const ring = await core.HashRing.create([{ id: 'n1' }, { id: 'n2' }]);
    const router = { ring, on: () => router, off: () => router };
    const bus = new core.MemoryTransport();
    const servers = ['n1', 'n2'].map((nodeId) => {
      const http = createServer();
      const io = new Server(http, { adapter: sio.createAdapter({ router, transport: bus.connect(), nodeId }) as never });
      io.on('connection', (socket) => void socket.join('user:42'));
      return { http, io };
    });
    const owner = ring.lookup('42').id === 'n1' ? 0 : 1;
    await new Promise<void>((resolve) => servers[owner]!.http.listen(0, '127.0.0.1', () => resolve()));
    const port = (servers[owner]!.http.address() as { port: number }).port;
    const client = connect(`http://127.0.0.1:${port}`, { transports: ['websocket'], reconnection: false });
    try {
      await new Promise((resolve) => client.once('connect', () => resolve(null)));
      await new Promise((resolve) => setTimeout(resolve, 100));
      const got = new Promise((resolve) => client.once('hello', resolve));
      servers[1 - owner]!.io.to('user:42').emit('hello', 'from the other server');
      expect(await got).toBe('from the other server');
      expect(() => sio.createAdapter({} as never)).toThrow(core.RingError);
    } finally {
      client.disconnect();
      await Promise.all(servers.map(({ io }) => io.close()));
    }
  });

  it('keeps the client bundle free of Node built-ins', () => {
    const text = readFileSync(join(DIST, 'client.js'), 'utf8');
    const chunks = [...text.matchAll(/from\s*["'](\.\/[^"']+)["']/g)].map((m) => readFileSync(join(DIST, m[1]!), 'utf8'));
    for (const code of [text, ...chunks]) expect(code).not.toMatch(/from\s*["'](node:|ws["']|ioredis)|require\(["'](node:|ws["']|ioredis)/);
  });

  it('does not load ioredis', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ringroute-resolves-'));
    try {
      const log = join(dir, 'resolved.txt');
      const esm = await usePackage('import', 'ringroute', ['--import', pathToFileURL(RECORD_RESOLVES).href], { RINGROUTE_RESOLVE_LOG: log });
      const resolved = readFileSync(log, 'utf8').split('\n').filter(Boolean);
      // The recorder works: it saw the package entry itself.
      expect(resolved).toContain(pathToFileURL(join(DIST, 'index.js')).href);
      expect(resolved.filter((url) => /[\\/]node_modules[\\/]ioredis[\\/]/.test(url))).toEqual([]);
      expect(resolved.filter((url) => /[\\/]node_modules[\\/]@nats-io[\\/]/.test(url))).toEqual([]);
      expect(esm.cjsLoaded.filter((path) => /[\\/]node_modules[\\/]ioredis[\\/]/.test(path))).toEqual([]);

      const cjs = await usePackage('require', 'ringroute');
      expect(cjs.cjsLoaded).toContain(join(DIST, 'index.cjs'));
      expect(cjs.cjsLoaded.filter((path) => /[\\/]node_modules[\\/]ioredis[\\/]/.test(path))).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
