/**
 * The behaviour every message Transport must have (src/live/transport.ts),
 * run against each implementation with `transportContract(name, factory)`.
 * `create()` opens another handle on the same backend, as another process would.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Transport } from '../../src/live/transport.js';
import { RingError } from '../../src/errors.js';
import { sleep, waitFor } from '../support/wait.js';

export interface TransportHarness {
  create(): Transport | Promise<Transport>;
  cleanup(): Promise<void>;
  /**
   * Whether `publish` resolves to the exact number of listeners (memory, Redis) or only to 1 for "at least
   * one" (NATS, which knows whether a subscription matched but not how many). 0 must be exact either way.
   * @default true
   */
  readonly countsListeners?: boolean;
}

export function transportContract(name: string, factory: () => TransportHarness | Promise<TransportHarness>): void {
  describe(`Transport contract: ${name}`, () => {
    let harness: TransportHarness | null = null;
    async function handles(n: number): Promise<Transport[]> {
      harness ??= await factory();
      const h = harness;
      return Promise.all(Array.from({ length: n }, () => h.create()));
    }
    afterEach(async () => {
      await harness?.cleanup();
      harness = null;
    });

    it('delivers a message to the listener of its address and counts the receivers', async () => {
      const [a, b, c] = await handles(3);
      const heardB: string[] = [];
      const heardC: string[] = [];
      await b!.listen('node:x', (m) => heardB.push(m));
      await c!.listen('node:x', (m) => heardC.push(m));
      expect(await a!.publish('node:x', 'hello')).toBe(harness!.countsListeners === false ? 1 : 2);
      await waitFor(() => heardB.length === 1 && heardC.length === 1);
      expect(heardB).toEqual(['hello']);
    });

    it('resolves 0 when nobody listens, and keeps addresses apart', async () => {
      const [a, b] = await handles(2);
      const heard: string[] = [];
      await b!.listen('node:y', (m) => heard.push(m));
      expect(await a!.publish('node:z', 'lost')).toBe(0);
      await sleep(50);
      expect(heard).toEqual([]);
    });

    it('keeps the order of messages from one publisher', async () => {
      const [a, b] = await handles(2);
      const heard: string[] = [];
      await b!.listen('all', (m) => heard.push(m));
      for (let i = 0; i < 50; i++) await a!.publish('all', String(i));
      await waitFor(() => heard.length === 50);
      expect(heard).toEqual(Array.from({ length: 50 }, (_, i) => String(i)));
    });

    it('stops delivering after the stop function or close()', async () => {
      const [a, b] = await handles(2);
      const heard: string[] = [];
      const stop = await b!.listen('node:s', (m) => heard.push(m));
      await stop();
      expect(await a!.publish('node:s', 'x')).toBe(0);
      await b!.listen('node:s', (m) => heard.push(m));
      await b!.close();
      expect(await a!.publish('node:s', 'y')).toBe(0);
      await sleep(50);
      expect(heard).toEqual([]);
    });

    it('rejects a second listener on one address and bad input with RingError', async () => {
      const [a] = await handles(1);
      await a!.listen('node:d', () => undefined);
      await expect(a!.listen('node:d', () => undefined)).rejects.toThrow(RingError);
      await expect(a!.publish('', 'x')).rejects.toThrow(/address/);
      await expect(a!.publish('node:d', 42 as never)).rejects.toThrow(/string message/);
    });

    it('reports a listener that throws to onError and goes on', async () => {
      const [a, b] = await handles(2);
      const errors: Error[] = [];
      const heard: string[] = [];
      await b!.listen(
        'node:e',
        (m) => {
          if (m === 'bad') throw new Error('boom');
          heard.push(m);
        },
        (e) => errors.push(e),
      );
      await a!.publish('node:e', 'bad');
      await a!.publish('node:e', 'good');
      await waitFor(() => heard.length === 1 && errors.length === 1);
      expect(errors[0]!.message).toMatch(/boom/);
    });

    it('rejects calls after close() with CLOSED', async () => {
      const [a] = await handles(1);
      await a!.close();
      await expect(a!.publish('all', 'x')).rejects.toMatchObject({ code: 'CLOSED' });
    });
  });
}
