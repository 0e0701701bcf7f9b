import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { END_ID, decodeHeader, encodeBody, encodeEnd, encodeEnvelope, formatTime, newHeader } from '../../src/cli/envelope.js';
import { SessionNode } from '../../src/cli/session-node.js';

const userArb = fc.nat({ max: 99_999 }).map((i) => `user:${i}`);

describe('the envelope', () => {
  it('gives back the id, time and recipients from the header, and the body untouched after it', () => {
    fc.assert(
      fc.property(fc.nat({ max: 10_000_000 }), fc.array(userArb, { maxLength: 20 }), userArb, fc.string({ maxLength: 80 }), (id, to, from, text) => {
        const t = 1_764_600_000_000.125;
        const body = encodeBody(from, text);
        const payload = encodeEnvelope(id, formatTime(t), to, body);
        const recipients = ['keep'];
        const header = newHeader();
        decodeHeader(payload, recipients, 1, header);
        expect(header.id).toBe(id);
        expect(header.t).toBe(t);
        expect(recipients.slice(header.from, header.to)).toEqual(to);
        expect(recipients[0]).toBe('keep');
        expect(payload.slice(header.bodyStart)).toBe(body);
        expect(JSON.parse(payload.slice(header.bodyStart))).toEqual({ from, text });
      }),
    );
  });

  it('marks the end of a run', () => {
    const header = newHeader();
    decodeHeader(encodeEnd(formatTime(0)), [], 0, header);
    expect(header.id).toBe(END_ID);
    expect(header.to - header.from).toBe(0);
  });
});

describe('SessionNode', () => {
  it('delivers to the sessions it holds, counts a visit where it holds nobody as wasted, and stops at the end marker', () => {
    const node = new SessionNode('n1', ['user:1', 'user:2']);
    const body = encodeBody('user:9', 'hello');
    expect(node.receive(encodeEnvelope(5, formatTime(0), ['user:2', 'user:3'], body))).toBe(true);
    expect(node.receive(encodeEnvelope(6, formatTime(0), ['user:7', 'user:8'], body))).toBe(true);
    expect(node.receive(encodeEnd(formatTime(0)))).toBe(false);
    const c = node.counters();
    expect(c).toMatchObject({ visits: 2, wastedVisits: 1, sessionLookups: 4, delivered: 1 });
  });

  it('times header decoding and delivery apart when recording latency', () => {
    const node = new SessionNode('n1', ['user:1'], true);
    for (let i = 0; i < 200; i++) node.receive(encodeEnvelope(i, formatTime(performance.timeOrigin + performance.now()), ['user:1'], encodeBody('user:2', 'x')));
    const times = node.times();
    expect(times.codecMs).toBeGreaterThan(0);
    expect(times.deliveryMs).toBeGreaterThan(0);
    expect(node.latencies()).toHaveLength(200);
    node.reset();
    expect(node.times()).toEqual({ codecMs: 0, deliveryMs: 0 });
  });
});
