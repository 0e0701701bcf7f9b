import { afterEach, describe, expect, it, vi } from 'vitest';
import { PaceController } from '../../examples/cluster/pace.js';
import { defaultTtlMs, handoffPace, settleTimeoutMs } from '../../examples/cluster/scenario.js';

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

describe('the example scenario\'s sizing', () => {
  it('paces the handoff at 80% of the measured connect rate over the nodes, never above the configured pace nor below 1', () => {
    expect(handoffPace(125, 876, 8)).toBe(87); // 100,000 users: 0.8 x 876 / 8
    expect(handoffPace(250, 5000, 4)).toBe(250); // the cluster keeps up: the configured pace stands
    expect(handoffPace(50, 0, 4)).toBe(1);
  });

  it('gives big runs a longer membership ttl, and every run time to connect that grows with its users', () => {
    expect(defaultTtlMs(2000)).toBe(2000);
    expect(defaultTtlMs(20_000)).toBe(2000);
    expect(defaultTtlMs(50_000)).toBe(5000);
    expect(defaultTtlMs(100_000)).toBe(10_000);
    expect(defaultTtlMs(1_000_000)).toBe(10_000);
    expect(settleTimeoutMs(20_000, 1000)).toBe(130_000);
    expect(settleTimeoutMs(100_000, 1000)).toBe(530_000);
  });
});
