import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AckCollector } from '../../src/socketio/ack-collector.js';
import { decode, encode } from '../../src/socketio/codec.js';
import { HoldDirectory, RecentIds } from '../../src/socketio/holds.js';
import type { WireMessage } from '../../src/socketio/message.js';
import { ReplayBuffer } from '../../src/socketio/replay.js';

describe('the socket.io wire codec', () => {
  it('round-trips JSON values, keys that look like its binary marker included', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(decode(encode(value))).toEqual(JSON.parse(JSON.stringify(value)));
      }),
    );
    const tricky = { '\u0000b': 'not binary', '\u0000\u0000x': 1, nested: [{ '\u0000b': 'QQ==' }] };
    expect(decode(encode(tricky))).toEqual(tricky);
    const polluting = decode('{"__proto__":{"polluted":true}}') as Record<string, unknown>;
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(polluting)).toBe(Object.prototype);
    expect(Object.keys(polluting)).toEqual(['__proto__']);
  });

  it('carries Buffers, typed arrays and ArrayBuffers as binary', () => {
    const out = decode(encode({ a: Buffer.from([1, 2]), b: new Uint8Array([3]), c: new Uint8Array([4, 5]).buffer, d: [Buffer.alloc(0)] })) as Record<string, unknown>;
    expect(Buffer.isBuffer(out.a) && [...(out.a as Buffer)]).toEqual([1, 2]);
    expect(Buffer.isBuffer(out.b) && [...(out.b as Buffer)]).toEqual([3]);
    expect(out.c).toBeInstanceOf(ArrayBuffer);
    expect([...new Uint8Array(out.c as ArrayBuffer)]).toEqual([4, 5]);
    expect(Buffer.isBuffer((out.d as unknown[])[0])).toBe(true);
  });
});

describe('AckCollector', () => {
  function run(slots: number, asked: string[]) {
    const counts: number[] = [];
    const acks: unknown[] = [];
    const collector = new AckCollector(slots, asked, (n) => counts.push(n), (a) => acks.push(a));
    return { collector, counts, acks };
  }

  it('reports once every asked node and the nodes it forwarded to have answered, filling the other server slots with 0', () => {
    const { collector, counts, acks } = run(4, ['b']);
    collector.counted('b', 1, ['c']);
    collector.acked('b', 'B');
    expect(counts).toEqual([]);
    collector.acked('c', 'C1');
    collector.counted('c', 2, []);
    expect(counts).toEqual([]);
    collector.acked('c', 'C2');
    expect(counts).toEqual([3, 0, 0, 0]);
    expect(acks).toEqual(['B', 'C1', 'C2']);
  });

  it('counts a node that leaves for the acks that arrived', () => {
    const { collector, counts } = run(2, ['b', 'c']);
    collector.counted('b', 2, []);
    collector.acked('b', 1);
    collector.gone('b');
    expect(counts).toEqual([]);
    collector.gone('c');
    expect(counts).toEqual([1, 0]);
  });

  it('answers at once when nobody was asked, and ignores acks when no server slot exists', () => {
    expect(run(3, []).counts).toEqual([0, 0, 0]);
    const lonely = run(0, ['b']);
    lonely.collector.acked('b', 'x');
    expect(lonely.acks).toEqual([]);
  });
});

describe('HoldDirectory and RecentIds', () => {
  it('registers up to its bound, then forwards everything to an overflowed node until it expires', () => {
    const holds = new HoldDirectory(2, 100);
    const first = holds.hold('n1', ['r1', 'r2', 'r3'], 0);
    expect(first.refused).toBe(1);
    expect([...first.added]).toEqual(['r1', 'r2']);
    expect([...holds.hold('n1', ['r1'], 10).added]).toEqual([]);
    const to = new Set<string>();
    holds.holdersOf('elsewhere', to, 50);
    expect([...to]).toEqual(['n1']);
    holds.prune(201);
    expect(holds.size).toBe(0);
    expect(holds.overflowed).toBe(0);
    holds.hold('n2', ['r1'], 300);
    holds.dropNode('n2');
    expect(holds.size).toBe(0);
  });

  it('forgets the oldest id beyond its bound', () => {
    const recent = new RecentIds(2);
    expect([recent.seen('a'), recent.seen('b'), recent.seen('a'), recent.seen('c'), recent.seen('a'), recent.seen('b')]).toEqual([false, false, true, false, false, false]);
  });
});

describe('ReplayBuffer', () => {
  const packet = (node: string, rooms: string[], id: string): WireMessage => ({ uid: node, nsp: '/', type: 3, node, id, data: { packet: {}, opts: { rooms, except: [], flags: {} } } });

  it('gives a late registration the packets of its rooms within the window, once, never its own or those it already got', () => {
    const replay = new ReplayBuffer(100, 1_000_000);
    replay.add(packet('a', ['r1'], '1'), 10, [], 0);
    replay.add(packet('b', ['r2'], '2'), 10, ['c'], 50);
    replay.add(packet('c', ['r1', 'r2'], '3'), 10, [], 60);
    replay.add(packet('a', ['r3'], '4'), 10, [], 70);
    expect(replay.take('c', new Set(['r1', 'r2']), 90).map((m) => m.id)).toEqual(['1']);
    expect(replay.take('c', new Set(['r1', 'r2']), 95)).toEqual([]);
    expect(replay.take('d', new Set(['r1', 'r2']), 120).map((m) => m.id)).toEqual(['2', '3']);
    expect(replay.overflowed(120)).toBe(false);
  });

  it('drops the oldest beyond its byte bound, and says so while the dropped ones were inside the window', () => {
    const replay = new ReplayBuffer(100, 25);
    for (let i = 0; i < 5; i++) replay.add(packet('a', ['r'], String(i)), 10, [], i);
    expect(replay.take('b', new Set(['r']), 10).map((m) => m.id)).toEqual(['3', '4']);
    expect(replay.overflowed(10)).toBe(true);
    expect(replay.overflowed(200)).toBe(false);
  });
});
