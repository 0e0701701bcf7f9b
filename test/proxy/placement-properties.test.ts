/**
 * fast-check properties of nginxPlacement and haproxyPlacement against an
 * independent model of each proxy's rules (zlib's crc32 for nginx, BigInt
 * arithmetic for HAProxy's full_hash and sdbm): owners, determinism,
 * minimal movement and exact diffs, probed at, before and after every point
 * and every midpoint (HAProxy's tie rule).
 */
import { crc32 as zlibCrc32 } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HashRing, type PointPlacement, type RingNode } from 'ringroute';
import { haproxyPlacement, haproxyIdOf } from 'ringroute/haproxy';
import { nginxPlacement } from 'ringroute/nginx';

const SPACE = 2 ** 32;
const M32 = (1n << 32n) - 1n;

/** A placement whose keys `"@<n>"` hash to exactly n, to probe the hash space at chosen spots. */
function probing(p: PointPlacement): PointPlacement {
  const base = p.hasher;
  return {
    ...p,
    check: p.check!,
    name: `probe:${p.name}`,
    hasher: { name: `probe:${base.name}`, hash: (s: string) => (s.charCodeAt(0) === 64 ? Number(s.slice(1)) : base.hash(s)) },
  };
}

interface Point {
  readonly hash: number;
  readonly id: string;
}

/** nginx's points, from its documented rule: crc32(host \0 port prevLE), chained. */
function nginxPoints(node: RingNode): Point[] {
  const server = node.meta?.server ?? node.id;
  const m = /^(.*):([0-9]*)$/.exec(server);
  const [host, port] = server.toLowerCase().startsWith('unix:') ? [server.slice(5), ''] : m ? [m[1]!, m[2]!] : [server, ''];
  const out: Point[] = [];
  let prev = 0;
  for (let j = 0; j < (node.weight ?? 1) * 160; j++) {
    const le = Buffer.alloc(4);
    le.writeUInt32LE(prev);
    prev = zlibCrc32(Buffer.concat([Buffer.from(host), Buffer.from([0]), Buffer.from(port), le]));
    out.push({ hash: prev, id: node.id });
  }
  return out;
}

function fullHashBig(x: number): number {
  let a = BigInt(x >>> 0);
  a = (a + 0x7ed55d16n + (a << 12n)) & M32;
  a = (a ^ 0xc761c23cn ^ (a >> 19n)) & M32;
  a = (a + 0x165667b1n + (a << 5n)) & M32;
  a = ((a + 0xd3a2646cn) ^ (a << 9n)) & M32;
  a = (a + 0xfd7046c5n + (a << 3n)) & M32;
  a = (a ^ 0xb55a4f09n ^ (a >> 16n)) & M32;
  return Number((a * 3221225473n) & M32);
}

function haproxyPoints(node: RingNode): Point[] {
  const id = haproxyIdOf(node);
  return Array.from({ length: (node.weight ?? 1) * 16 }, (_, i) => ({ hash: fullHashBig(id * 4096 + i), id: node.id }));
}

/** Sorted by hash; equal hashes in config order (by id). */
function sorted(points: Point[]): Point[] {
  return points.sort((a, b) => a.hash - b.hash || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** nginx: the first point >= h, wrapping. */
function nginxOwner(points: readonly Point[], h: number): string {
  return (points.find((p) => p.hash >= h) ?? points[0]!).id;
}

/** HAProxy: the nearest point; the one before when both are as close. */
function haproxyOwner(points: readonly Point[], h: number): string {
  let i = points.findIndex((p) => p.hash >= h);
  if (i < 0) i = 0;
  const next = points[i]!;
  const prev = points[(i - 1 + points.length) % points.length]!;
  const dp = (h - prev.hash + SPACE) % SPACE;
  const dn = (next.hash - h + SPACE) % SPACE;
  return dp <= dn ? prev.id : next.id;
}

/** Probe keys at, just before and after every point and every midpoint (with its +1), plus a few ordinary keys. */
function probes(points: readonly Point[]): string[] {
  const out = new Set<number>([0, SPACE - 1]);
  for (let i = 0; i < points.length; i++) {
    const p = points[i]!.hash;
    const q = points[(i + 1) % points.length]!.hash + (i + 1 === points.length ? SPACE : 0);
    const mid = Math.floor((p + q) / 2) % SPACE;
    for (const h of [p - 1, p, p + 1, mid, mid + 1]) out.add(((h % SPACE) + SPACE) % SPACE);
  }
  return [...out].map((h) => `@${h}`);
}

const ids = fc.uniqueArray(fc.stringMatching(/^[a-z][a-z0-9-]{0,8}$/), { minLength: 1, maxLength: 5 });

function nginxCluster(): fc.Arbitrary<RingNode[]> {
  return ids.chain((names) => {
    const nodes = names.map((id, i) =>
      fc.record({
        weight: fc.integer({ min: 1, max: 3 }),
        server: fc.constantFrom(`10.0.0.${i}:80${i}`, `app-${i}`, `unix:/run/a${i}.sock`, `[::1]:90${i}`),
      }).map(({ weight, server }): RingNode => ({ id, weight, meta: { server } })),
    );
    return fc.tuple(...nodes);
  });
}

function haproxyCluster(): fc.Arbitrary<RingNode[]> {
  return fc.uniqueArray(fc.integer({ min: 1, max: 1_048_575 }), { minLength: 1, maxLength: 5 }).chain((sids) => {
    const nodes = sids.map((sid, i) =>
      fc.record({ weight: fc.integer({ min: 1, max: 4 }), explicit: fc.boolean() }).map(
        ({ weight, explicit }): RingNode => ({ id: `srv${i}`, weight, ...(explicit ? { meta: { haproxyId: String(sid) } } : {}) }),
      ),
    );
    return fc.tuple(...nodes);
  });
}

const cases = [
  { label: 'nginxPlacement', placement: probing(nginxPlacement()), cluster: nginxCluster, points: nginxPoints, owner: nginxOwner },
  { label: 'haproxyPlacement', placement: probing(haproxyPlacement()), cluster: haproxyCluster, points: haproxyPoints, owner: haproxyOwner },
] as const;

for (const c of cases) {
  const model = (nodes: readonly RingNode[]): Point[] => sorted(nodes.flatMap((n) => c.points(n)));

  describe(c.label, () => {
    it('gives every probed hash the owner the proxy rule gives it', () => {
      fc.assert(
        fc.property(c.cluster(), (nodes) => {
          const ring = new HashRing({ placement: c.placement }, nodes);
          const points = model(nodes);
          for (const key of probes(points)) expect(ring.lookup(key).id, key).toBe(c.owner(points, Number(key.slice(1))));
        }),
        { numRuns: 40 },
      );
    });

    it('does not depend on the order nodes joined in', () => {
      fc.assert(
        fc.property(c.cluster(), (nodes) => {
          const all = new HashRing({ placement: c.placement }, nodes);
          const oneByOne = new HashRing({ placement: c.placement });
          for (const n of [...nodes].reverse()) oneByOne.add(n);
          const keys = probes(model(nodes));
          expect(oneByOne.lookupMany(keys)).toEqual(all.lookupMany(keys));
        }),
        { numRuns: 30 },
      );
    });

    it('moves keys only to an added node and only from a removed one, and the diff names exactly the moved keys', () => {
      fc.assert(
        fc.property(c.cluster(), fc.nat(), (nodes, pick) => {
          fc.pre(nodes.length >= 2);
          const leaving = nodes[pick % nodes.length]!;
          const rest = nodes.filter((n) => n !== leaving);
          const before = new HashRing({ placement: c.placement }, rest);
          const after = before.clone();
          const diff = after.add(leaving);
          const keys = probes(model(nodes)).concat(probes(model(rest)));
          const moved = keys.filter((k) => before.lookup(k).id !== after.lookup(k).id);
          for (const k of moved) expect(after.lookup(k).id).toBe(leaving.id);
          expect(diff.movedKeys(keys).map((m) => m.key)).toEqual(moved);
          // And back: removing it moves exactly the same keys the other way.
          const back = after.clone();
          const undo = back.remove(leaving.id);
          expect(undo.movedKeys(keys).map((m) => [m.key, m.from, m.to])).toEqual(moved.map((k) => [k, leaving.id, before.lookup(k).id]));
        }),
        { numRuns: 30 },
      );
    });

    it('moves keys only to or from a reweighted node, exactly as the diff says', () => {
      fc.assert(
        fc.property(c.cluster(), fc.nat(), fc.integer({ min: 1, max: 4 }), (nodes, pick, weight) => {
          const target = nodes[pick % nodes.length]!;
          fc.pre((target.weight ?? 1) !== weight);
          const before = new HashRing({ placement: c.placement }, nodes);
          const after = before.clone();
          const next = nodes.map((n) => (n === target ? { ...n, weight } : n));
          const diff = after.setNodes(next);
          expect(diff.reweighted).toEqual([target.id]);
          const keys = probes(model(nodes)).concat(probes(model(next)));
          const moved = keys.filter((k) => before.lookup(k).id !== after.lookup(k).id);
          for (const k of moved) expect([before.lookup(k).id, after.lookup(k).id]).toContain(target.id);
          expect(diff.movedKeys(keys).map((m) => m.key)).toEqual(moved);
          const points = model(next);
          for (const k of keys) expect(after.lookup(k).id).toBe(c.owner(points, Number(k.slice(1))));
        }),
        { numRuns: 30 },
      );
    });
  });
}
