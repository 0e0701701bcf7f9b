import { describe, expect, it } from 'vitest';
import { Pacer } from '../../src/sessions/pacer.js';
import { sleep, waitFor } from '../support/wait.js';

describe('Pacer', () => {
  it('runs each queued key once, in order, never faster than its rate', async () => {
    const ran: Array<{ key: string; at: number }> = [];
    const pacer = new Pacer(200, 0.5, (key) => ran.push({ key, at: performance.now() }));
    const started = performance.now();
    for (let i = 0; i < 60; i++) pacer.add(`k${i}`);
    pacer.add('k0'); // already queued: keeps its place, runs once
    await waitFor(() => pacer.size === 0, { timeoutMs: 5000 });
    expect(ran.map((r) => r.key)).toEqual(Array.from({ length: 60 }, (_, i) => `k${i}`));
    // 200/s: the first batch (2) at once, a burst never above 100 ms worth (20); so 60 take >= (60 - 20) / 200 s.
    expect(ran.at(-1)!.at - started).toBeGreaterThanOrEqual(((60 - 20) / 200) * 1000 * 0.9);
    // A token bucket: in any 100 ms, at most the saved-up 100 ms worth plus what 100 ms earns (and one batch of rounding).
    for (let i = 0; i < ran.length; i++) {
      const within = ran.filter((r) => r.at >= ran[i]!.at && r.at < ran[i]!.at + 100).length;
      expect(within).toBeLessThanOrEqual(20 + 20 + 2);
    }
  });

  it('stops: queued keys are dropped and nothing runs after', async () => {
    const ran: string[] = [];
    const pacer = new Pacer(10, 0, (key) => ran.push(key));
    for (let i = 0; i < 5; i++) pacer.add(`k${i}`);
    await sleep(30);
    pacer.stop();
    const count = ran.length;
    await sleep(300);
    expect(ran.length).toBe(count);
    expect(pacer.size).toBe(0);
  });

  it('changes its pace while keys wait: slower from the next batch on', async () => {
    const ran: number[] = [];
    const pacer = new Pacer(1000, 0, () => ran.push(performance.now()));
    for (let i = 0; i < 400; i++) pacer.add(`k${i}`);
    await waitFor(() => ran.length >= 50, { timeoutMs: 2000 });
    pacer.rate = 50;
    expect(pacer.rate).toBe(50);
    const at = ran.length;
    const since = performance.now();
    await sleep(600);
    // 50/s for 600 ms is 30, plus the batch saved up (at most one tenth of a second's worth, or one).
    expect(ran.length - at).toBeLessThanOrEqual(30 + 5 + 2);
    expect(ran.length - at).toBeGreaterThanOrEqual(15);
    expect(ran.at(-1)! - since).toBeLessThanOrEqual(650);
    pacer.stop();
  });
});
