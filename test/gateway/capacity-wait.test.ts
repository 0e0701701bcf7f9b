import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CapacityWait, MAX_RETRY_AFTER_S, WINDOW_S } from '../../src/gateway/capacity-wait.js';

describe('CapacityWait', () => {
  it('waits long where nothing closes, and a second or two where tunnels churn', () => {
    let now = 1_000_000;
    const wait = new CapacityWait(() => now);
    expect(wait.refuse()).toBe(10); // 1 refusal at the floor rate of 0.1 closes a second
    expect(wait.refuse()).toBe(20);
    expect(wait.refuse()).toBe(MAX_RETRY_AFTER_S);
    // 50 closes a second for the window: 3 + 1 refusals need a fraction of a second.
    for (let s = 0; s < WINDOW_S; s++) {
      now += 1000;
      for (let k = 0; k < 50; k++) wait.closed();
    }
    expect(wait.refuse()).toBe(1);
  });

  it('forgets what is older than its window', () => {
    let now = 5_000;
    const wait = new CapacityWait(() => now);
    for (let k = 0; k < 100; k++) wait.refuse();
    now += WINDOW_S * 1000;
    expect(wait.refuse()).toBe(10);
    now += 10 * WINDOW_S * 1000; // a long gap clears every bucket once
    expect(wait.refuse()).toBe(10);
  });

  it('always answers between 1 and the longest wait, and never shorter for more refusals at the same closes', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(3000), fc.nat(20), fc.nat(20)), { maxLength: 60 }), (steps) => {
        let now = 0;
        const wait = new CapacityWait(() => now);
        for (const [dt, closes, refusals] of steps) {
          now += dt;
          for (let k = 0; k < closes; k++) wait.closed();
          let last = 0;
          for (let k = 0; k < refusals; k++) {
            const s = wait.refuse();
            expect(s).toBeGreaterThanOrEqual(Math.max(1, last));
            expect(s).toBeLessThanOrEqual(MAX_RETRY_AFTER_S);
            last = s;
          }
        }
      }),
    );
  });
});
