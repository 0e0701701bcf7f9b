/**
 * A transport that goes down under a node: forwards turn into honest outcomes
 * after a timeout, and delivery recovers when the transport is back. (The
 * same with a real redis-server stopped and restarted is in
 * test/adapters/redis/redis-transport.test.ts.)
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Transport } from '../../src/live/transport.js';
import { waitFor } from '../support/wait.js';
import { TestCluster } from './support.js';

/** Passes through, except that while `down` every publish hangs (as a client queueing commands for a dead server). */
class HangingTransport implements Transport {
  down = false;
  constructor(readonly inner: Transport) {}
  publish(address: string, message: string): Promise<number> {
    return this.down ? new Promise<number>(() => undefined) : this.inner.publish(address, message);
  }
  listen(address: string, listener: (m: string) => void, onError?: (e: Error) => void): Promise<() => Promise<void>> {
    return this.inner.listen(address, listener, onError);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

let cluster: TestCluster;
afterEach(async () => {
  await cluster?.close();
});

/** Nodes a and b on one bus; `wrap` gives a's handle on it. */
async function twoNodes<T extends Transport>(wrap: (handle: Transport) => T) {
  cluster = new TestCluster();
  const transport = wrap(cluster.transport());
  const a = await cluster.startNode('a', { publishTimeoutMs: 100, sweepMs: 50 }, transport);
  await cluster.startNode('b');
  await cluster.setRing(['a', 'b']);
  let key = '';
  for (let i = 0; key === ''; i++) if (a.router.lookup(`user-${i}`).id === 'b') key = `user-${i}`;
  const client = cluster.client(key, 'b');
  await waitFor(() => client.node === 'b');
  return { a: a.node, key, errors: a.errors, transport };
}

describe('SessionNode with its transport down', () => {
  it('reports unknown (it may have gone out) when publishes hang, and delivers again once they do not', async () => {
    const { a, key, errors, transport: hanging } = await twoNodes((handle) => new HangingTransport(handle));
    hanging.down = true;
    const started = performance.now();
    expect(await a.deliver(key, 'x', { ttlMs: 400 })).toEqual({ status: 'unknown', key, reason: 'no-outcome' });
    expect(performance.now() - started).toBeLessThan(400 + 2000); // ttl, then the sweep: never hangs
    expect(errors.some((e) => /timed out/.test(e.message))).toBe(true);
    hanging.down = false;
    expect(await a.deliver(key, 'y')).toEqual({ status: 'delivered', key, node: 'b' });
  });

  it('reports failed: unreachable when the transport refuses before sending (closed)', async () => {
    const { a, key, transport } = await twoNodes((handle) => handle);
    await transport.close();
    expect(await a.deliver(key, 'x', { ttlMs: 300 })).toEqual({ status: 'failed', key, reason: 'unreachable' });
  });
});
