import { describe, expect, it } from 'vitest';
import { type Incarnation, measureOwnership, parseOwnershipLog, subtract } from '../../examples/chaos/ownership.js';

const inc = (name: string, text: string, endedAt = 10_000, frozen: Array<[number, number]> = []): Incarnation => ({ name, lines: parseOwnershipLog(text), endedAt, frozen });

describe('parseOwnershipLog', () => {
  it('reads attach, close, fence and unfence lines and skips a torn last line', () => {
    expect(parseOwnershipLog('100.5 a user-1\n200 c user-1\n300 f\n400 u\n500 a us')).toEqual([
      { at: 100.5, kind: 'a', user: 'user-1' }, { at: 200, kind: 'c', user: 'user-1' }, { at: 300, kind: 'f' }, { at: 400, kind: 'u' }, { at: 500, kind: 'a', user: 'us' },
    ]);
    expect(parseOwnershipLog('100 a user-1\n20')).toHaveLength(1);
  });
});

describe('subtract', () => {
  it('cuts holes out of spans', () => {
    expect(subtract([[0, 100]], [[10, 20], [50, 200]])).toEqual([[0, 10], [20, 50]]);
    expect(subtract([[0, 100]], [])).toEqual([[0, 100]]);
    expect(subtract([[0, 100]], [[0, 100]])).toEqual([]);
  });
});

describe('measureOwnership', () => {
  it('counts the time two nodes both served a user', () => {
    const summary = measureOwnership([inc('n1#1', '100 a user-1\n500 c user-1'), inc('n2#1', '300 a user-1\n900 c user-1')]);
    expect(summary.overlaps).toEqual([{ user: 'user-1', from: 300, ms: 200, owners: ['n1#1', 'n2#1'] }]);
    expect(summary).toMatchObject({ attaches: 2, usersAffected: 1, totalMs: 200, maxMs: 200 });
  });

  it('does not count a handover where one closes as the other attaches', () => {
    expect(measureOwnership([inc('n1#1', '100 a user-1\n500 c user-1'), inc('n2#1', '500 a user-1')]).overlaps).toEqual([]);
  });

  it('does not count time the old owner was fenced or stopped', () => {
    const fenced = inc('n1#1', '100 a user-1\n250 f\n900 u\n950 c user-1');
    expect(measureOwnership([fenced, inc('n2#1', '300 a user-1')]).maxMs).toBe(50);
    const frozen = inc('n1#1', '100 a user-1\n950 c user-1', 10_000, [[200, 960]]);
    expect(measureOwnership([frozen, inc('n2#1', '300 a user-1')]).maxMs).toBe(0);
  });

  it('ends a killed incarnation\'s sessions at its death, and counts a still-open one to the end', () => {
    expect(measureOwnership([inc('n1#1', '100 a user-1', 400), inc('n2#1', '300 a user-1', 1000)]).maxMs).toBe(100);
    expect(measureOwnership([inc('n1#1', '100 a user-1', 1000), inc('n2#1', '300 a user-1', 1000)]).maxMs).toBe(700);
  });

  it('never counts one node twice: a second attach on the same node is a replacement, not an owner', () => {
    expect(measureOwnership([inc('n1#1', '100 a user-1\n200 a user-1\n210 c user-1\n300 c user-1')]).overlaps).toEqual([]);
  });
});
