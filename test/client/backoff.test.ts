import { afterEach, describe, expect, it, vi } from 'vitest';
import { RingError, SessionClient, type WebSocketConstructor, type WebSocketLike, fullJitter, parseRetryAfter, retryAfterDelay } from '../../src/client/index.js';
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
