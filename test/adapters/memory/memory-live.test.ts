import { MemoryMembership, MemoryRingStore } from '../../../src/index.js';
import { liveRoutingContract } from '../../contract/live-routing.contract.js';

liveRoutingContract('memory adapters', async () => {
  const store = new MemoryRingStore();
  let membership: MemoryMembership | undefined;
  const opened: Array<{ close(): Promise<void> }> = [store];
  return {
    store: () => {
      const s = store.connect();
      opened.push(s);
      return s;
    },
    membership: (timing) => {
      membership ??= new MemoryMembership(timing);
      const m = membership.connect();
      opened.push(m);
      return m;
    },
    wipeStore: async () => store.reset(),
    cleanup: async () => {
      for (const o of opened) await o.close();
      await membership?.close();
    },
  };
});
