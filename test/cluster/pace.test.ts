import { afterEach, describe, expect, it, vi } from 'vitest';
import { PaceController } from '../../examples/cluster/pace.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('PaceController (the example handoff pace)', () => {
  it('slows the closes while more users wait than the limit, never below a tenth, and comes back to the base pace', async () => {
    vi.useFakeTimers();
    let waiting = 500;
    const set: number[] = [];
    const c = new PaceController(100, 200, { waiting: () => waiting, setPace: async (p) => void set.push(p) });
    c.start();
    await vi.advanceTimersByTimeAsync(1000);
    expect(set).toEqual([70]);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(c.pace).toBe(10); // 70, 49, 34, 23, 16, 11, then the floor
    expect(Math.min(...set)).toBe(10);
    waiting = 100;
    await vi.advanceTimersByTimeAsync(20_000);
    expect(c.pace).toBe(100);
    expect(set.at(-1)).toBe(100);
    expect(c.slowest).toBe(10);
    const count = set.length;
    await vi.advanceTimersByTimeAsync(5000);
    expect(set.length).toBe(count); // at the base pace and under the limit: nothing to change
    waiting = 1000;
    await vi.advanceTimersByTimeAsync(1000);
    await c.stop();
    expect(set.slice(-2)).toEqual([70, 100]); // stop() puts the base pace back
    await vi.advanceTimersByTimeAsync(5000);
    expect(set.at(-1)).toBe(100);
  });

  it('keeps going when a node cannot be told (it is leaving)', async () => {
    vi.useFakeTimers();
    let calls = 0;
    const c = new PaceController(50, 10, { waiting: () => 100, setPace: async () => { calls++; throw new Error('gone'); } });
    c.start();
    await vi.advanceTimersByTimeAsync(3000);
    expect(calls).toBe(3);
    expect(c.pace).toBe(16); // 35, 24, 16
    await c.stop().catch(() => undefined);
  });
});
