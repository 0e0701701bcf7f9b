/**
 * The Socket.IO baseline of the bench harness (src/harness/socketio.ts) on a
 * private redis-server: @socket.io/redis-adapter and ringroute/socket.io
 * carry the same small workload at 2 and 4 nodes. Both must deliver every
 * (message, user) pair exactly once; the redis adapter must take every
 * message to every node, ringroute/socket.io each direct message to one.
 */
import { describe, expect, it } from 'vitest';
import { HashRing } from '../../src/ring/hash-ring.js';
import { DeliveryChecksum } from '../../src/harness/checksum.js';
import { startSocketIoCluster } from '../../src/harness/socketio.js';
import type { BenchMessage } from '../../src/harness/types.js';
import { skipWithoutRedis, useRedisServer } from '../support/redis-server.js';

const USERS = Array.from({ length: 40 }, (_, i) => `user:${i}`);

/** 40 direct messages, then 20 to groups of 4, deterministic. */
function workload(): { messages: BenchMessage[]; pairs: number; checksum: string } {
  const messages: BenchMessage[] = [];
  for (let id = 0; id < 60; id++) {
    const to = id < 40 ? [USERS[(id * 7 + 3) % USERS.length]!] : [0, 9, 17, 31].map((k) => USERS[(id + k) % USERS.length]!);
    messages.push({ id, kind: id < 40 ? 'direct' : 'group', from: USERS[id % USERS.length]!, to, text: `text ${id} `.padEnd(64, 'x') });
  }
  const checksum = new DeliveryChecksum();
  let pairs = 0;
  for (const m of messages) {
    for (const user of m.to) checksum.add(m.id, Number(user.slice(5)));
    pairs += m.to.length;
  }
  return { messages, pairs, checksum: checksum.toString() };
}

const skip = skipWithoutRedis('the Socket.IO baseline', 'server-or-url');

describe.skipIf(skip)('the Socket.IO baseline (a real redis-server)', () => {
  const url = useRedisServer();
  const { messages, pairs, checksum } = workload();
  const directs = messages.filter((m) => m.kind === 'direct').length;

  for (const nodes of [2, 4]) {
    for (const system of ['socket.io-redis-adapter', 'ringroute-socket.io'] as const) {
      it(`${system} at ${nodes} nodes delivers every pair once and visits the nodes it should`, async () => {
        const problems: string[] = [];
        const cluster = await startSocketIoCluster({ system, nodes, users: USERS, redisUrl: url(), onProblem: (p) => problems.push(p), ackTimeoutMs: 5000 });
        try {
          const sent: number[] = [];
          const run = await cluster.run(messages, (n) => sent.push(n), false);
          expect(run.delivered).toBe(pairs);
          expect(run.duplicates).toBe(0);
          expect(run.checksum).toBe(checksum);
          expect(run.notDelivered).toBe(0);
          expect(run.messages).toBe(messages.length);
          expect(run.directMessages).toBe(directs);
          expect(sent.at(-1)).toBe(messages.length);
          expect(run.latenciesMs.length).toBe(messages.length);
          expect(Math.min(...run.latenciesMs)).toBeGreaterThan(0);
          expect(run.server!.cpuMicros).toBeGreaterThan(0);
          expect(run.server!.netBytes).toBeGreaterThan(0);
          expect(run.cpu.serverMicros).toBe(run.server!.cpuMicros);
          expect(run.cpu.totalMicros).toBeGreaterThan(run.cpu.serverMicros!);
          expect(run.busMessages).toBeGreaterThan(0);
          expect(run.busBytes).toBeGreaterThan(run.busMessages);
          expect(run.nodeVisits).toBe(run.directVisits + run.groupVisits);
          if (system === 'socket.io-redis-adapter') {
            // Exact: each emitWithAck is published once on the request
            // channel, every node's subscriber hears it and its adapter
            // looks it up once (the sender, not a node, is not counted).
            expect(run.nodeVisits).toBe(messages.length * nodes);
            expect(run.directVisits).toBe(directs * nodes);
            // A direct message finds its user on one node: the others are wasted.
            const owners = await ownersPerMessage(nodes);
            expect(run.wastedVisits).toBe(messages.length * nodes - owners);
          } else {
            // A direct message visits its user's owner only; a group one, each member's owner once.
            expect(run.directVisits).toBe(directs);
            expect(run.groupVisits).toBe((await ownersPerMessage(nodes, 'group')));
            expect(run.wastedVisits).toBe(0);
          }
          // A second run on the same cluster counts from zero.
          const again = await cluster.run(messages.slice(0, 10), () => undefined, false);
          expect(again.delivered).toBe(10);
          expect(again.checksum).not.toBe(checksum);
          expect(again.nodeVisits).toBe(system === 'socket.io-redis-adapter' ? 10 * nodes : 10);
        } finally {
          await cluster.close();
        }
        expect(problems).toEqual([]);
      });
    }
  }

  /** Distinct owners of each message's recipients, summed (over `kind` only when given). */
  async function ownersPerMessage(nodes: number, kind?: 'direct' | 'group'): Promise<number> {
    const ring = await HashRing.create(Array.from({ length: nodes }, (_, i) => ({ id: `node-${i + 1}` })));
    let sum = 0;
    for (const m of messages) if (kind === undefined || m.kind === kind) sum += new Set(m.to.map((user) => ring.lookup(user).id)).size;
    return sum;
  }
});
