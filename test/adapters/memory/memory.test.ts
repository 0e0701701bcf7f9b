/** The adapter contract suites against the in-memory reference adapters. */
import { MemoryMembership, MemoryRingStore } from '../../../src/index.js';
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
