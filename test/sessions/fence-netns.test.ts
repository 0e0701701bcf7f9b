/**
 * Self-fencing across a real network partition: app node `a` runs as its
 * own host, in a network namespace joined to this one by a veth pair, with
 * Redis listening on this side's address. The partition takes the link
 * down, so packets vanish (no reset, no refusal: the node's commands just
 * time out), as between two machines. `a` must fence before the ring,
 * written from this side, drops it, and unfence after the link is back.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { RedisMembership, RedisRingStore } from '../../src/adapters/redis/index.js';
import { RingCoordinator, RingRouter } from '../../src/index.js';
import { RedisServer, findBinary, randomPrefix, redisEnv } from '../support/redis-server.js';
import { skipFor } from '../support/skip.js';
import { waitFor } from '../support/wait.js';

const ip = findBinary('ip') ?? findBinary('/sbin/ip');
const SUITE = 'self-fencing across a network partition (ip netns)';
const canPartition = !skipFor(SUITE, process.getuid?.() === 0 && ip !== null && redisEnv.server !== null ? null : 'network namespaces need root, the ip command (iproute2) and redis-server');

const run = (...args: string[]) => execFileSync(ip ?? 'ip', args, { stdio: 'pipe' });

describe.skipIf(!canPartition)(SUITE, { timeout: 40_000 }, () => {
  const cleanup: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const f of cleanup.reverse()) {
      try {
        await f();
      } catch {
        // best effort: the rest still runs
      }
    }
    cleanup.length = 0;
  });

  it('fences the cut-off node before the ring drops it, and unfences it after the link is back', async () => {
    const tag = Math.random().toString(36).slice(2, 7);
    const ns = `rr-${tag}`;
    const [outside, inside] = [`rr${tag}o`, `rr${tag}i`];
    const subnet = `10.251.${1 + Math.floor(Math.random() * 250)}`;
    run('netns', 'add', ns);
    cleanup.push(() => void run('netns', 'del', ns));
    run('link', 'add', outside, 'type', 'veth', 'peer', 'name', inside);
    cleanup.push(() => void run('link', 'del', outside));
    run('link', 'set', inside, 'netns', ns);
    run('addr', 'add', `${subnet}.1/24`, 'dev', outside);
    run('link', 'set', outside, 'up');
    run('netns', 'exec', ns, 'ip', 'addr', 'add', `${subnet}.2/24`, 'dev', inside);
    run('netns', 'exec', ns, 'ip', 'link', 'set', inside, 'up');
    run('netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up');

    // Reachable from the namespace only through the veth address (protected mode off for that private link).
    const server = await RedisServer.start(['--bind', '127.0.0.1', `${subnet}.1`, '--protected-mode', 'no']);
    cleanup.push(() => server.destroy());
    const prefix = randomPrefix('netns');
    const client = () => {
      const redis = new Redis({ port: server.port, maxRetriesPerRequest: 1 });
      redis.on('error', () => undefined);
      cleanup.push(() => redis.disconnect());
      return redis;
    };
    const membership = new RedisMembership({ redis: client(), prefix, ttlMs: 1500, heartbeatMs: 300, onError: () => undefined });
    cleanup.push(() => membership.close());
    const coordinator = await RingCoordinator.start({ membership, store: new RedisRingStore({ redis: client(), prefix }), settleMs: 0, graceMs: 0 });
    coordinator.on('error', () => undefined);
    cleanup.push(() => coordinator.close());
    const watcher = await RingRouter.start({ store: new RedisRingStore({ redis: client(), prefix }), resyncMs: 100 });
    watcher.on('error', () => undefined);
    cleanup.push(() => watcher.close());
    await membership.join({ id: 'b' });

    const events: Array<{ event: string; at: number }> = [];
    const tsx = fileURLToPath(new URL('../../node_modules/.bin/tsx', import.meta.url));
    const child: ChildProcess = spawn(ip!, ['netns', 'exec', ns, tsx, fileURLToPath(new URL('./fence-node-child.ts', import.meta.url)), `${subnet}.1`, String(server.port), prefix], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    cleanup.push(() => void child.kill('SIGKILL'));
    let buffer = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
        events.push(JSON.parse(buffer.slice(0, nl)) as { event: string; at: number });
        buffer = buffer.slice(nl + 1);
      }
    });
    await waitFor(() => events.some((e) => e.event === 'ready'), { what: 'node a ready in its namespace', timeoutMs: 20_000 });
    await waitFor(() => watcher.ring.has('a'), { what: 'a on the ring' });

    run('link', 'set', outside, 'down'); // the partition: packets to and from a are dropped, nothing tells it
    const cut = Date.now();
    await waitFor(() => !watcher.ring.has('a'), { what: 'the ring without a', timeoutMs: 15_000 });
    const dropped = Date.now();
    const fence = events.find((e) => e.event === 'fence');
    expect(fence, 'a fenced').toBeDefined();
    expect(fence!.at).toBeLessThan(dropped);
    expect(events.some((e) => e.event === 'closed')).toBe(false); // idle, not closed (closeAfterMs 60 s)
    if (process.env.FENCE_FIGURES) console.log(`netns partition: fenced ${fence!.at - cut} ms after the cut, ring dropped a ${dropped - cut} ms after`);

    run('link', 'set', outside, 'up');
    await waitFor(() => events.some((e) => e.event === 'unfence'), { what: 'a unfenced after the link is back', timeoutMs: 15_000 });
    await waitFor(() => watcher.ring.has('a'), { what: 'a back on the ring', timeoutMs: 15_000 });
  });
});
