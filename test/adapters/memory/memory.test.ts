/** The adapter contract suites against the in-memory reference adapters. */
import { describe, expect, it } from 'vitest';
import { MemoryMembership, MemoryRingStore } from '../../../src/index.js';
import { sleep } from '../../support/wait.js';
import { membershipContract } from '../../contract/membership.contract.js';
import { ringStoreContract } from '../../contract/ring-store.contract.js';

ringStoreContract('MemoryRingStore', () => {
  const root = new MemoryRingStore();
  const opened: MemoryRingStore[] = [root];
  return {
    create: () => {
      const store = root.connect();
      opened.push(store);
      return store;
    },
    wipe: async () => root.reset(),
    cleanup: async () => {
      for (const store of opened) await store.close();
    },
  };
});

membershipContract('MemoryMembership', () => {
  const ttlMs = 400;
  const heartbeatMs = 100;
  const root = new MemoryMembership({ ttlMs, heartbeatMs });
  const opened: MemoryMembership[] = [root];
  return {
    ttlMs,
    expireWithinMs: ttlMs + heartbeatMs + 500,
    create: () => {
      const membership = root.connect();
      opened.push(membership);
      return membership;
    },
    cleanup: async () => {
      for (const membership of opened) await membership.close();
    },
  };
});

describe('MemoryMembership time accounting', () => {
  it('does not count a stall (no heartbeat could run) against members, but expires a dead one a ttl after time runs again', async () => {
    let now = 1_000_000;
    const membership = new MemoryMembership({ ttlMs: 300, heartbeatMs: 100, now: () => now });
    const alive = membership.connect();
    const dying = membership.connect();
    await alive.join({ id: 'alive' });
    const dead = await dying.join({ id: 'dead' });
    dead.abandon();
    // The whole process stalls for 10 ttls: no timer ran.
    now += 3000;
    expect((await membership.members()).map((n) => n.id)).toEqual(['alive', 'dead']);
    // Time runs normally again: the dead member expires one ttl later.
    for (let t = 0; t < 4; t++) {
      now += 100;
      await sleep(110); // the live member's heartbeat timer runs
    }
    expect((await membership.members()).map((n) => n.id)).toEqual(['alive']);
    await membership.close();
    await alive.close();
    await dying.close();
  });
});
