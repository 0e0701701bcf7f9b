import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RingError } from '../../src/errors.js';
import { Admission, type AdmissionRefusal, type AdmissionTicket } from '../../src/sessions/admission.js';

describe('Admission', () => {
  beforeEach(() => void vi.useFakeTimers({ now: 0 }));
  afterEach(() => void vi.useRealTimers());

  const log = () => {
    const events: string[] = [];
    const tickets = new Map<string, AdmissionTicket>();
    return {
      events,
      tickets,
      enter(a: Admission, name: string, group = '') {
        const t = a.enter(group, () => events.push(`grant ${name}`), (reason: AdmissionRefusal) => events.push(`${reason} ${name}`));
        tickets.set(name, t);
        return t;
      },
    };
  };

  it('grants up to maxActive at once, queues the next in order, and refuses at once past maxQueued', () => {
    const a = new Admission({ maxActive: 2, maxQueued: 2, queueTimeoutMs: 1000 });
    const l = log();
    for (const name of ['a', 'b', 'c', 'd', 'e']) l.enter(a, name);
    expect(l.events).toEqual(['grant a', 'grant b', 'queue-full e']);
    expect(a.stats()).toMatchObject({ active: 2, queued: 2, refused: { 'queue-full': 1 } });
    l.tickets.get('b')!.release();
    l.tickets.get('b')!.release(); // idempotent: frees one slot only
    expect(l.events.at(-1)).toBe('grant c');
    expect(a.stats()).toMatchObject({ active: 2, queued: 1, granted: 3, waited: 1 });
  });

  it('refuses an item that waited past queueTimeoutMs, and forgets one that left the queue', () => {
    const a = new Admission({ maxActive: 1, maxQueued: 10, queueTimeoutMs: 1000 });
    const l = log();
    l.enter(a, 'a');
    l.enter(a, 'b');
    vi.advanceTimersByTime(500);
    l.enter(a, 'c');
    l.tickets.get('b')!.release(); // the client left while waiting: no callback
    vi.advanceTimersByTime(600); // b's deadline passed, but b is gone
    expect(l.events).toEqual(['grant a']);
    vi.advanceTimersByTime(600); // c waited 1200 ms
    expect(l.events).toEqual(['grant a', 'queue-timeout c']);
    expect(a.stats()).toMatchObject({ active: 1, queued: 0, refused: { 'queue-timeout': 1 } });
  });

  it('caps the slots of one group; its waiting items do not hold up other groups', () => {
    const a = new Admission({ maxActive: 4, maxQueued: 10, queueTimeoutMs: 1000, maxActivePerGroup: 2 });
    const l = log();
    for (const name of ['f1', 'f2', 'f3', 'f4']) l.enter(a, name, 'frozen');
    l.enter(a, 'ok1', 'ok');
    l.enter(a, 'ok2', 'ok');
    l.enter(a, 'ok3', 'ok');
    expect(l.events).toEqual(['grant f1', 'grant f2', 'grant ok1', 'grant ok2']);
    l.tickets.get('ok1')!.release();
    expect(l.events.at(-1)).toBe('grant ok3'); // not f3: frozen is at its cap
    l.tickets.get('f1')!.release();
    expect(l.events.at(-1)).toBe('grant f3'); // the frozen group's own slot goes to its oldest waiter
    expect(a.stats()).toMatchObject({ active: 4, queued: 1 });
  });

  it('estimates Retry-After from how fast the queue drained in the last second', () => {
    const a = new Admission({ maxActive: 1, maxQueued: 100, queueTimeoutMs: 60_000 });
    const tickets: AdmissionTicket[] = [];
    for (let i = 0; i < 50; i++) tickets.push(a.enter('', () => undefined, () => undefined));
    expect(a.retryAfterSeconds()).toBe(30); // nothing drained yet: 50 items at 1/s, capped at 30
    for (let i = 0; i < 10; i++) tickets[i]!.release(); // 10 grants this second
    vi.advanceTimersByTime(1000);
    expect(a.retryAfterSeconds()).toBe(4); // 40 left at 10/s
  });

  it('checks its options', () => {
    expect(() => new Admission({ maxActive: 0, maxQueued: 1, queueTimeoutMs: 1 })).toThrow(RingError);
    expect(() => new Admission({ maxActive: 1, maxQueued: -1, queueTimeoutMs: 1 })).toThrow(/maxQueued/);
    expect(() => new Admission({ maxActive: 1, maxQueued: 1, queueTimeoutMs: 1, maxActivePerGroup: 1.5 })).toThrow(/maxActivePerGroup/);
  });

  it('keeps its bounds and gives every item exactly one answer, whatever the order of events (property)', () => {
    type Op = { kind: 'enter'; group: number } | { kind: 'release'; pick: number } | { kind: 'wait'; ms: number };
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ kind: fc.constant('enter' as const), group: fc.integer({ min: 0, max: 3 }) }),
      fc.record({ kind: fc.constant('release' as const), pick: fc.nat() }),
      fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 1, max: 400 }) }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 0, max: 5 }), fc.integer({ min: 1, max: 5 }), fc.array(op, { maxLength: 80 }), (maxActive, maxQueued, cap, ops) => {
        vi.useFakeTimers({ now: 0 });
        const a = new Admission({ maxActive, maxQueued, queueTimeoutMs: 500, maxActivePerGroup: cap });
        const items: Array<{ group: number; ticket: AdmissionTicket; answers: string[]; released: boolean; at: number }> = [];
        const active = new Map<number, number>();
        const check = () => {
          const granted = items.filter((i) => i.answers.includes('grant') && !i.released);
          expect(granted.length).toBe(a.active);
          expect(a.active).toBeLessThanOrEqual(maxActive);
          expect(a.queued).toBeLessThanOrEqual(maxQueued);
          for (const [, n] of active) expect(n).toBeLessThanOrEqual(cap);
          for (const i of items) expect(i.answers.length).toBeLessThanOrEqual(1);
        };
        for (const o of ops) {
          if (o.kind === 'enter') {
            const item = { group: o.group, ticket: undefined as unknown as AdmissionTicket, answers: [] as string[], released: false, at: Date.now() };
            items.push(item);
            item.ticket = a.enter(String(o.group), () => {
              item.answers.push('grant');
              active.set(item.group, (active.get(item.group) ?? 0) + 1);
            }, (reason) => item.answers.push(reason));
          } else if (o.kind === 'release') {
            const live = items.filter((i) => !i.released && i.answers.length <= 1 && !(i.answers[0] ?? '').startsWith('queue'));
            const item = live[o.pick % Math.max(1, live.length)];
            if (item !== undefined) {
              if (item.answers[0] === 'grant') active.set(item.group, active.get(item.group)! - 1);
              item.released = true;
              item.ticket.release();
            }
          } else vi.advanceTimersByTime(o.ms);
          check();
        }
        // Nothing waits for ever: past the deadline every item that never left has its answer.
        vi.advanceTimersByTime(2000);
        for (const i of items) if (!i.released) expect(i.answers.length).toBe(1);
        a.close();
        vi.useRealTimers();
      }),
      { numRuns: 300 },
    );
  });
});
