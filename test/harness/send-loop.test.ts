/**
 * The sender's loop of the bench harness: a bounded window of messages
 * waiting for their outcomes, paced at `rate`, each message sent once.
 */
import { describe, expect, it } from 'vitest';
import { sendAll } from '../../src/harness/send-loop.js';
import type { BenchMessage } from '../../src/harness/types.js';
import type { CountingTransport } from '../../src/harness/counting-transport.js';
import type { Dispatcher } from '../../src/sessions/dispatcher.js';

const messages: BenchMessage[] = Array.from({ length: 40 }, (_, id) => ({ id, kind: 'direct', from: 'user:0', to: [`user:${id + 1}`], text: 'x' }));

/** A dispatcher that answers every recipient `delivered` after `delayMs`, recording the ids it was asked to send and the most in flight. */
function fakeDispatcher(delayMs: number) {
  const sent: string[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const transport = { counts: { published: 0 } };
  const dispatcher = {
    sendGroup(to: readonly string[], _body: string, options: { id: string }) {
      sent.push(options.id);
      transport.counts.published++;
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      return new Promise<Array<{ status: string }>>((resolve) =>
        setTimeout(() => {
          inFlight--;
          resolve(to.map(() => ({ status: 'delivered' })));
        }, delayMs),
      );
    },
  };
  return { dispatcher: dispatcher as unknown as Dispatcher, transport: transport as unknown as CountingTransport, sent, maxInFlight: () => maxInFlight };
}

describe('sendAll', () => {
  it('paced with a window larger than the workload, sends each message once, at the rate, and nothing after the end', async () => {
    const fake = fakeDispatcher(1);
    const started = performance.now();
    const result = await sendAll(fake.dispatcher, fake.transport, messages, 1, () => undefined, null, { rate: 400, window: 256 });
    const elapsed = performance.now() - started;
    expect(fake.sent).toEqual(messages.map((m) => `1:${m.id}`));
    // 40 messages at 400/s: the last leaves 97.5 ms after the first.
    expect(elapsed).toBeGreaterThanOrEqual(90);
    expect(result.notDelivered).toBe(0);
    expect(result.directPublications).toBe(40);
    expect(result.latenciesMs.every((ms) => ms > 0)).toBe(true);
    // Timers left behind would send more (or throw) once the loop is over.
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(fake.sent).toHaveLength(40);
  });

  it('keeps at most `window` messages waiting, unpaced', async () => {
    const fake = fakeDispatcher(5);
    const result = await sendAll(fake.dispatcher, fake.transport, messages, 2, () => undefined, null, { window: 8 });
    expect(fake.sent).toHaveLength(40);
    expect(new Set(fake.sent).size).toBe(40);
    expect(fake.maxInFlight()).toBe(8);
    expect(result.notDelivered).toBe(0);
  });

  it('ends at once when aborted, leaving the rest unsent', async () => {
    const fake = fakeDispatcher(1);
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 30);
    await sendAll(fake.dispatcher, fake.transport, messages, 3, () => undefined, null, { rate: 200, signal: abort.signal });
    const count = fake.sent.length;
    expect(count).toBeGreaterThan(0);
    expect(count).toBeLessThan(40);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(fake.sent).toHaveLength(count);
  });
});
