import { afterEach, describe, expect, it, vi } from 'vitest';
import { RingError, SessionClient, type WebSocketConstructor, type WebSocketLike, fullJitter, parseRetryAfter, retryAfterDelay } from '../../src/client/index.js';
import { seededRandom } from '../../src/cli/prng.js';
import { welcomeFrame } from '../../src/sessions/protocol.js';

describe('retryAfterDelay', () => {
  it('waits Retry-After plus a uniform extra of up to half of it', () => {
    expect(retryAfterDelay(1000, () => 0)).toBe(1000);
    expect(retryAfterDelay(1000, () => 0.5)).toBe(1250);
    expect(retryAfterDelay(1000, () => 0.999)).toBeCloseTo(1499.5);
    expect(retryAfterDelay(0, () => 0.7)).toBe(0);
  });
});

describe('fullJitter', () => {
  it('reaches the 30 s cap at attempt 5 with a 1 s base', () => {
    expect([0, 1, 2, 3, 4, 5, 40].map((k) => fullJitter(k, 1000, 30_000, () => 1))).toEqual([1000, 2000, 4000, 8000, 16_000, 30_000, 30_000]);
  });
});

/** A seeded PRNG (the CLI's mulberry32), so the distribution tests draw the same numbers every run. */
function seeded(seed: number): () => number {
  return seededRandom(seed).next;
}

/** How many of `delays` fall in each `bucketMs` slice of [0, spanMs). */
function histogram(delays: number[], bucketMs: number, spanMs: number): number[] {
  const counts = new Array<number>(Math.ceil(spanMs / bucketMs)).fill(0);
  for (const d of delays) counts[Math.floor(d / bucketMs)]!++;
  return counts;
}

describe('backoff distribution (the arithmetic in docs/sessions.md)', () => {
  it('spreads the 25,000 users of a dead node evenly over the first 1 s window: about 25,000/s', () => {
    const random = seeded(19);
    const delays = Array.from({ length: 25_000 }, () => fullJitter(0, 1000, 30_000, random));
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...delays)).toBeLessThan(1000);
    // 100 ms slices: 2,500 each (25,000/s); binomial sd is about 47, so 10% is over 5 sd.
    for (const [i, n] of histogram(delays, 100, 1000).entries()) {
      expect(n, `slice ${i}`).toBeGreaterThan(2250);
      expect(n, `slice ${i}`).toBeLessThan(2750);
    }
  });

  it('halves the rate with each round that fails again, down to N / 30 s', () => {
    const random = seeded(7);
    for (const [attempt, windowMs] of [[1, 2000], [3, 8000], [5, 30_000], [9, 30_000]] as const) {
      const delays = Array.from({ length: 100_000 }, () => fullJitter(attempt, 1000, 30_000, random));
      expect(Math.max(...delays)).toBeLessThan(windowMs);
      // The busiest second carries about 100,000 / window-in-seconds arrivals (3,333/s at the cap).
      const perSecond = Math.max(...histogram(delays, 1000, windowMs));
      expect(perSecond, `attempt ${attempt}`).toBeLessThan((100_000 / (windowMs / 1000)) * 1.1);
      expect(perSecond, `attempt ${attempt}`).toBeGreaterThan((100_000 / (windowMs / 1000)) * 0.95);
    }
  });

  it('brings 100,000 clients refused with Retry-After 10 back over 10 to 15 s, none early, about 20,000/s', () => {
    const random = seeded(42);
    const delays = Array.from({ length: 100_000 }, () => retryAfterDelay(10_000, random));
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(10_000);
    expect(Math.max(...delays)).toBeLessThanOrEqual(15_000);
    const seconds = histogram(delays, 1000, 15_001).slice(10, 15);
    for (const [i, n] of seconds.entries()) {
      expect(n, `second ${10 + i}`).toBeGreaterThan(19_000);
      expect(n, `second ${10 + i}`).toBeLessThan(21_000);
    }
  });
});

describe('parseRetryAfter', () => {
  const now = Date.UTC(2026, 11, 5, 12, 0, 0);
  it('reads delta-seconds', () => {
    expect(parseRetryAfter('1', now, 30_000)).toBe(1000);
    expect(parseRetryAfter(' 0 ', now, 30_000)).toBe(0);
    expect(parseRetryAfter(['2', '9'], now, 30_000)).toBe(2000);
  });
  it('reads the three HTTP-date forms, relative to now', () => {
    expect(parseRetryAfter('Sat, 05 Dec 2026 12:00:05 GMT', now, 30_000)).toBe(5000);
    expect(parseRetryAfter('Saturday, 05-Dec-26 12:00:07 GMT', now, 30_000)).toBe(7000);
    expect(parseRetryAfter('Sat Dec  5 12:00:09 2026', now, 30_000)).toBe(9000);
    expect(parseRetryAfter('Sat, 05 Dec 2026 11:00:00 GMT', now, 30_000)).toBe(0);
  });
  it('caps at capMs', () => {
    expect(parseRetryAfter('3600', now, 30_000)).toBe(30_000);
    expect(parseRetryAfter('Sun, 06 Dec 2026 12:00:00 GMT', now, 30_000)).toBe(30_000);
  });
  it('gives null for missing or unreadable values', () => {
    for (const v of [undefined, '', '  ', '-1', '1.5', 'soon', '1e3', 'Tuesday']) expect(parseRetryAfter(v, now, 30_000), String(v)).toBeNull();
  });
});

/**
 * A browser-like WebSocket: plain `on*` properties, no `on`/`once`, so the
 * client cannot see why a connect failed. Connects fail (close 1006) until
 * `fail` runs out, then the next one opens and is welcomed.
 */
function browserLike(failures: number) {
  const created: number[] = [];
  class FakeWebSocket implements WebSocketLike {
    readyState = 0;
    onopen: ((event: unknown) => void) | null = null;
    onmessage: ((event: { data: unknown }) => void) | null = null;
    onclose: ((event: { code: number; reason: string }) => void) | null = null;
    onerror: ((event: unknown) => void) | null = null;
    constructor(_url: string) {
      created.push(Date.now());
      const fail = created.length <= failures;
      void Promise.resolve().then(() => {
        if (fail) {
          this.readyState = 3;
          this.onerror?.({});
          this.onclose?.({ code: 1006, reason: '' });
        } else {
          this.readyState = 1;
          this.onopen?.({});
          this.onmessage?.({ data: welcomeFrame('b') });
        }
      });
    }
    send(): void {}
    close(): void {
      this.readyState = 3;
    }
  }
  return { WebSocket: FakeWebSocket as WebSocketConstructor, created };
}

describe('SessionClient with a browser-like WebSocket (no Retry-After to see)', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('backs off with full jitter under the defaults: windows of 1 s, 2 s, 4 s ... up to 30 s', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const fake = browserLike(8);
    const client = new SessionClient({ url: 'wss://example.test/ws', WebSocket: fake.WebSocket, random: () => 0.999 });
    const refused: unknown[] = [];
    client.on('refused', (...args) => refused.push(args));
    const disconnects: number[] = [];
    client.on('disconnect', (code) => disconnects.push(code));
    client.start();
    await vi.advanceTimersByTimeAsync(0);
    // 0.999 of each window; from attempt 5 on the window is the 30 s cap.
    const expected = [999, 1998, 3996, 7992, 15_984, 29_970, 29_970, 29_970];
    for (const [k, delay] of expected.entries()) {
      await vi.advanceTimersByTimeAsync(delay - 1);
      expect(fake.created, `attempt ${k + 1} too early`).toHaveLength(k + 1);
      await vi.advanceTimersByTimeAsync(1);
      expect(fake.created, `attempt ${k + 1} late`).toHaveLength(k + 2);
    }
    await vi.advanceTimersByTimeAsync(0);
    expect(client.node).toBe('b');
    expect(refused).toEqual([]);
    expect(disconnects).toEqual(new Array(8).fill(1006));
    expect(client.stats()).toEqual({ connects: 9, welcomes: 1, refusals: {}, failures: 8, redirects: 0, lastRetryAfterMs: null });
    client.close();
  });

  it('starts over from the first window after a welcome', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const fake = browserLike(2);
    const client = new SessionClient({ url: 'wss://example.test/ws', WebSocket: fake.WebSocket, random: () => 0.5, backoffMs: 100, maxBackoffMs: 1000 });
    client.start();
    await vi.advanceTimersByTimeAsync(50 + 100);
    expect(fake.created).toHaveLength(3);
    expect(client.node).toBe('b');
    client.close();
  });
});

describe('SessionClient options', () => {
  const WebSocket = browserLike(0).WebSocket;
  it.each([
    ['backoffMs', { backoffMs: -1 }],
    ['backoffMs', { backoffMs: Number.NaN }],
    ['maxBackoffMs', { maxBackoffMs: -5 }],
    ['maxBackoffMs', { maxBackoffMs: '30000' }],
    ['moveJitterMs', { moveJitterMs: Infinity }],
    ['random', { random: 0.5 }],
    ['maxRedirects', { maxRedirects: 1.5 }],
    ['connectTimeoutMs', { connectTimeoutMs: -1 }],
    ['ownerUrl', { ownerUrl: 'ws://owner' }],
    ['WebSocket', { WebSocket: {} }],
  ])('rejects a bad %s with RingError INVALID_OPTION naming it', (name, bad) => {
    const make = () => new SessionClient({ url: 'ws://x', WebSocket, ...(bad as object) });
    expect(make).toThrow(RingError);
    expect(make).toThrow(new RegExp(`^${name} `));
    try {
      make();
    } catch (error) {
      expect((error as RingError).code).toBe('INVALID_OPTION');
    }
  });
});
