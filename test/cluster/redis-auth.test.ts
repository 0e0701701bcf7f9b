/**
 * The cluster example on a Redis that wants credentials: a password
 * (`requirepass`), an ACL user limited to the run's key prefix, and TLS
 * (`rediss://`, a self-signed certificate made with openssl). Each starts
 * its own redis-server and the example's processes, connects a user with a
 * token and delivers one message through the gateway.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TokenSigner } from '../../examples/cluster/auth.js';
import { User } from '../../examples/cluster/client.js';
import { requestJson } from '../../examples/cluster/http.js';
import { startRedisCluster } from '../../examples/cluster/process-cluster.js';
import { RedisServer, redisEnv, skipWithoutRedis } from '../support/redis-server.js';
import { waitFor } from '../support/wait.js';

const SECRET = 'redis-auth-test-secret-of-32-bytes!!';
const signer = new TokenSigner(SECRET);
const previousTsconfig = process.env.TSX_TSCONFIG_PATH;

/** Starts the example on `redisUrl`, connects bob, sends him one message from alice: the outcome. */
async function roundTrip(redisUrl: string, prefix: string): Promise<unknown> {
  const cluster = await startRedisCluster({
    redisUrl, prefix, gateways: 1, nodes: ['node-1', 'node-2'], strategy: 'selective', mode: 'hash',
    graceMs: 5000, ttlMs: 2000, heartbeatMs: 500, secret: SECRET, adminToken: 'redis-auth-admin-token',
  });
  const got: string[] = [];
  const bob = new User('bob', { gateway: cluster.gateways[0]!, via: 'proxy', token: (u) => signer.sign(u), onMessage: (_, f) => got.push(f.text) });
  try {
    bob.start();
    await waitFor(() => bob.node, { timeoutMs: 15_000, what: 'bob connected' });
    const result = await requestJson('POST', `${cluster.gateways[0]}/send`, { to: 'bob', text: 'over an authenticated Redis' }, { token: await signer.sign('alice') });
    expect(got).toEqual(['over an authenticated Redis']);
    return result;
  } finally {
    bob.stop();
    await cluster.close();
  }
}

beforeAll(() => {
  process.env.TSX_TSCONFIG_PATH = fileURLToPath(new URL('./tsconfig.source.json', import.meta.url));
});
afterAll(() => {
  if (previousTsconfig === undefined) delete process.env.TSX_TSCONFIG_PATH;
  else process.env.TSX_TSCONFIG_PATH = previousTsconfig;
});

describe.skipIf(skipWithoutRedis('cluster example on a Redis with a password and an ACL user', 'binary'))('cluster example on a Redis with credentials', () => {
  let server: RedisServer;
  beforeAll(async () => {
    // The default user needs a password; "ringroute" may touch only keys and channels of the prefix {rr-acl}.
    server = await RedisServer.start([
      '--requirepass', 'default-password',
      '--user', 'ringroute', 'on', '>ringroute-password', '~{rr-acl}*', '&{rr-acl}*', '+@all', '-@admin', '-@dangerous', '+info',
    ]);
  });
  afterAll(async () => {
    await server?.destroy();
  });

  it('works with a password (requirepass) in the URL', { timeout: 60_000 }, async () => {
    const result = await roundTrip(`redis://:default-password@127.0.0.1:${server.port}`, 'rr-pass');
    expect(result).toMatchObject({ id: expect.stringMatching(/^alice\//), delivered: ['bob'] });
  });

  it('works with an ACL user limited to its prefix, which cannot reach other prefixes', { timeout: 60_000 }, async () => {
    const url = `redis://ringroute:ringroute-password@127.0.0.1:${server.port}`;
    const result = await roundTrip(url, 'rr-acl');
    expect(result).toMatchObject({ delivered: ['bob'] });
    const redis = new Redis(url, { maxRetriesPerRequest: 1 });
    try {
      await expect(redis.set('{other}:ring', 'x')).rejects.toThrow(/NOPERM/);
      await expect(redis.flushall()).rejects.toThrow(/NOPERM/);
      expect(await redis.set('{rr-acl}:probe', 'x')).toBe('OK');
      await redis.del('{rr-acl}:probe');
    } finally {
      redis.disconnect();
    }
    const wrong = new Redis(`redis://ringroute:wrong@127.0.0.1:${server.port}`, { maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true });
    const errors: Error[] = [];
    wrong.on('error', (e: Error) => errors.push(e));
    await wrong.connect().catch(() => undefined);
    await waitFor(() => errors.some((e) => /WRONGPASS/.test(e.message)), { what: 'WRONGPASS' });
    wrong.disconnect();
  });
});

const openssl = (() => {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** Whether this redis-server was built with TLS (Debian's is): it then knows the tls-port option. */
function redisHasTls(): boolean {
  if (!redisEnv.server) return false;
  // With a missing certificate a TLS build says "Failed to configure TLS"; a build without TLS rejects the option itself.
  try {
    execFileSync(redisEnv.server, ['--port', '0', '--tls-port', '1', '--tls-cert-file', '/nonexistent', '--tls-key-file', '/nonexistent', '--tls-auth-clients', 'no'], { stdio: 'pipe', timeout: 3000 });
    return false;
  } catch (error) {
    const e = error as { stdout?: Buffer; stderr?: Buffer };
    return /Failed to configure TLS|Failed to load certificate/i.test(`${String(e.stdout ?? '')}${String(e.stderr ?? '')}`);
  }
}

/** A port nothing listens on right now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

const tls = openssl && redisHasTls();
if (redisEnv.server && !tls) console.warn('skipping the rediss:// test: this redis-server was built without TLS (or openssl is missing)');

describe.skipIf(!tls)('cluster example on Redis over TLS (rediss://)', () => {
  let dir = '';
  let child: ChildProcess | undefined;
  let port = 0;
  const previousCa = process.env.RINGROUTE_REDIS_CA;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ringroute-redis-tls-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
      '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], { stdio: 'ignore' });
    port = await freePort();
    child = spawn(redisEnv.server!, ['--port', '0', '--tls-port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir,
      '--tls-cert-file', join(dir, 'cert.pem'), '--tls-key-file', join(dir, 'key.pem'), '--tls-ca-cert-file', join(dir, 'cert.pem'), '--tls-auth-clients', 'no',
      '--requirepass', 'tls-password'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    child.stdout?.on('data', (d: Buffer) => (log = (log + String(d)).slice(-2000)));
    child.stderr?.on('data', (d: Buffer) => (log = (log + String(d)).slice(-2000)));
    child.once('exit', (code) => (log += `\nexited with ${code}`));
    process.env.RINGROUTE_REDIS_CA = join(dir, 'cert.pem');
    await waitFor(async () => {
      const probe = new Redis(`rediss://:tls-password@127.0.0.1:${port}`, { tls: { ca: [execFileSync('cat', [join(dir, 'cert.pem')])] }, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
      probe.on('error', () => undefined); // not up yet: the wait tries again
      try {
        await probe.connect();
        return (await probe.ping()) === 'PONG';
      } finally {
        probe.disconnect();
      }
    }, { timeoutMs: 30_000, what: `redis-server with TLS on port ${port} (log: ${log.slice(-300)})` });
  });
  afterAll(() => {
    child?.kill('SIGKILL');
    if (previousCa === undefined) delete process.env.RINGROUTE_REDIS_CA;
    else process.env.RINGROUTE_REDIS_CA = previousCa;
    rmSync(dir, { recursive: true, force: true });
  });

  it('works over rediss:// with the CA from RINGROUTE_REDIS_CA, and a plain client is refused', { timeout: 60_000 }, async () => {
    const result = await roundTrip(`rediss://:tls-password@127.0.0.1:${port}`, 'rr-tls');
    expect(result).toMatchObject({ delivered: ['bob'] });
    const plain = new Redis(`redis://:tls-password@127.0.0.1:${port}`, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, connectTimeout: 1000 });
    plain.on('error', () => undefined); // expected: the server speaks TLS only
    await expect(plain.connect().then(() => plain.ping())).rejects.toThrow();
    plain.disconnect();
  });
});
