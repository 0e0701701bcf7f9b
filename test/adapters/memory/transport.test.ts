import { MemoryTransport } from '../../../src/adapters/memory/transport.js';
import { transportContract } from '../../contract/transport.contract.js';

transportContract('MemoryTransport', () => {
  const bus = new MemoryTransport();
  const handles: MemoryTransport[] = [];
  return {
    create: () => {
      const handle = bus.connect();
      handles.push(handle);
      return handle;
    },
    cleanup: async () => {
      for (const h of handles) await h.close();
      await bus.close();
    },
  };
});
