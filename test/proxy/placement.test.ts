import { describe, expect, it } from 'vitest';
import { HashRing, RingError, diffRings, type Placement, type RingNode } from 'ringroute';
import { haproxyIdOf, haproxyPlacement, renderHaproxyBackend } from 'ringroute/haproxy';
import { nginxPlacement, renderNginxUpstream } from 'ringroute/nginx';
import { crc32 } from '../../src/proxy/crc32.js';
import { djb2, fullHash, sdbm, wt6 } from '../../src/proxy/haproxy/hashes.js';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

/**
 * A nearest-point placement with hand-placed points: node "a" at 100,
 * "b" at 200 (and "c" at 2^32 - 50 when present). Keys are numbers.
 */
const handPlaced: Placement = {
  name: 'hand',
  hasher: { name: 'number', hash: (k: string) => Number(k) },
  rule: 'nearest',
  pointCount: () => 1,
  identity: (n) => n.id,
  points: (n) => Uint32Array.of(n.id === 'a' ? 100 : n.id === 'b' ? 200 : 2 ** 32 - 50),
};

describe('proxy hash functions', () => {
  it('match their published check values', () => {
    expect(crc32(bytes('123456789'))).toBe(0xcbf43926);
    expect(crc32(bytes(''))).toBe(0);
    expect(djb2(bytes('a'))).toBe(5381 * 33 + 97);
    expect(sdbm(bytes('ab'))).toBe((98 + 97 * 65599) >>> 0);
    // full_hash is a bijection: no two of 100,000 consecutive inputs collide.
    expect(new Set(Array.from({ length: 100_000 }, (_, i) => fullHash(4096 + i))).size).toBe(100_000);
    expect(wt6(bytes(''))).toBe((0xa53c965a ^ 0x5ca6953a) >>> 0);
  });
});

describe('HashRing with a nearest-point placement', () => {
  it('gives a key to the nearest point, and to the point before on a tie', () => {
    const ring = new HashRing({ placement: handPlaced }, [{ id: 'a' }, { id: 'b' }]);
    // Midpoint 150: 150 is as close to 100 as to 200, so it goes to the point before.
    expect(['100', '149', '150', '151', '199'].map((k) => ring.lookup(k).id)).toEqual(['a', 'a', 'a', 'b', 'b']);
    // Wrapping: the far midpoint is (200 + 100 + 2^32) / 2 = 2^31 + 150.
    expect(ring.lookup(String(2 ** 31 + 150)).id).toBe('b');
    expect(ring.lookup(String(2 ** 31 + 151)).id).toBe('a');
    expect(ring.lookup('0').id).toBe('a');
  });

  it('puts the wrapping midpoint below the first point when it passes 2^32', () => {
    const ring = new HashRing({ placement: handPlaced }, [{ id: 'a' }, { id: 'c' }]);
    // c at 2^32 - 50, a at 100: the midpoint across zero is 25.
    expect(['24', '25', '26', String(2 ** 32 - 1)].map((k) => ring.lookup(k).id)).toEqual(['c', 'c', 'a', 'c']);
    const diff = ring.clone().add({ id: 'b' });
    // b at 200 takes (150, 2^31 + 75] (midpoints with a and with c), from a and from c.
    expect(diff.movedKeys(['150', '151', '2147483700', '2147483724']).map((m) => [m.key, m.from, m.to])).toEqual([['151', 'a', 'b'], ['2147483700', 'c', 'b']]);
  });
});

describe('HashRing placement option', () => {
  it('records a non-default placement in snapshots and needs it back to rebuild', async () => {
    const ring = await HashRing.create([{ id: 'x', meta: { server: '10.0.0.1:80' } }, { id: 'y', weight: 2 }], { placement: nginxPlacement() });
    const json = JSON.parse(JSON.stringify(ring));
    expect(json).toMatchObject({ version: 1, hasher: 'nginx-crc32', placement: 'nginx', vnodes: 160 });
    await expect(HashRing.fromJSON(json)).rejects.toMatchObject({ code: 'HASHER_MISMATCH' });
    await expect(HashRing.fromJSON(json, haproxyPlacement())).rejects.toMatchObject({ code: 'HASHER_MISMATCH' });
    const back = await HashRing.fromJSON(json, nginxPlacement());
    expect(back.points).toBe(ring.points);
    expect(back.lookup('u1')).toEqual(ring.lookup('u1'));
    // Default rings keep the snapshot they always had.
    expect(Object.keys((await HashRing.create([{ id: 'a' }])).toJSON())).toEqual(['version', 'hasher', 'vnodes', 'nodes']);
  });

  it('refuses a vnodes that differs from the placement, both a hasher and a placement, and a malformed placement', async () => {
    await expect(HashRing.create([], { placement: nginxPlacement(), vnodes: 100 })).rejects.toMatchObject({ code: 'INVALID_OPTION' });
    expect((await HashRing.create([], { placement: nginxPlacement(), vnodes: 160 })).vnodes).toBe(160);
    expect(() => new HashRing({ placement: nginxPlacement(), hasher: nginxPlacement().hasher })).toThrow(/not both/);
    expect(() => new HashRing({ placement: { name: 'x' } as unknown as Placement })).toThrow(RingError);
    const short: Placement = { ...handPlaced, points: () => new Uint32Array(0) };
    expect(() => new HashRing({ placement: short }, [{ id: 'a' }])).toThrow(/Uint32Array of 1/);
  });

  it('refuses to diff rings on different placements', async () => {
    const a = await HashRing.create([{ id: 'a' }], { placement: haproxyPlacement() });
    const b = await HashRing.create([{ id: 'a' }], { placement: haproxyPlacement({ hashFunction: 'djb2' }) });
    expect(() => diffRings(a, b)).toThrow(/placed|hashed/);
  });

  it('re-places all points of a node whose nginx server changed, and the diff says so', async () => {
    const nodes: RingNode[] = [{ id: 'a', meta: { server: '10.0.0.1:80' } }, { id: 'b', meta: { server: '10.0.0.2:80' } }];
    const ring = await HashRing.create(nodes, { placement: nginxPlacement() });
    const before = ring.clone();
    const diff = ring.setNodes([nodes[0]!, { id: 'b', meta: { server: '10.0.0.3:80' } }]);
    expect(diff.updated).toEqual(['b']);
    const keys = Array.from({ length: 5000 }, (_, i) => `k${i}`);
    const moved = keys.filter((k) => before.lookup(k).id !== ring.lookup(k).id);
    expect(moved.length).toBeGreaterThan(0);
    expect(diff.movedKeys(keys).map((m) => m.key)).toEqual(moved);
    const fresh = await HashRing.create(ring.nodes(), { placement: nginxPlacement() });
    expect(ring.lookupMany(keys)).toEqual(fresh.lookupMany(keys));
  });
});

describe('nginxPlacement checks', () => {
  it('refuses fractional weights, unsafe or shared server strings, and leaves the ring unchanged', async () => {
    const ring = await HashRing.create([{ id: 'a', meta: { server: '10.0.0.1:80' } }], { placement: nginxPlacement() });
    expect(() => ring.add({ id: 'b', weight: 1.5, meta: { server: '10.0.0.2:80' } })).toThrow(/integers/);
    expect(() => ring.add({ id: 'b', meta: { server: '10.0.0.2:80; include /etc/passwd' } })).toThrow(/set meta.server/);
    expect(() => ring.add({ id: 'b', meta: { server: '10.0.0.1:80' } })).toThrow(/same nginx server/);
    expect(ring.size).toBe(1);
    expect(ring.points).toBe(160);
  });

  it('renders servers in id order with weights, and refuses bad names', async () => {
    const ring = await HashRing.create([{ id: 'b', weight: 2, meta: { server: '10.0.0.2:80' } }, { id: 'a', meta: { server: 'unix:/run/a.sock' } }], { placement: nginxPlacement() });
    const text = renderNginxUpstream(ring, { name: 'app', argument: 'user', keepalive: 8 });
    expect(text).toContain('hash $arg_user consistent;');
    expect(text.indexOf('server unix:/run/a.sock weight=1;')).toBeLessThan(text.indexOf('server 10.0.0.2:80 weight=2;'));
    expect(text).toContain('keepalive 8;');
    expect(() => renderNginxUpstream(ring, { name: 'app; }', argument: 'user' })).toThrow(RingError);
    expect(() => renderNginxUpstream(ring, { name: 'app', argument: 'user id' })).toThrow(RingError);
  });
});

describe('haproxyPlacement checks', () => {
  it('derives stable ids, takes meta.haproxyId, and refuses bad or shared ids and weights', async () => {
    expect(haproxyIdOf({ id: 'node-1' })).toBe(haproxyIdOf({ id: 'node-1' }));
    expect(haproxyIdOf({ id: 'n', meta: { haproxyId: '42' } })).toBe(42);
    for (const bad of ['0', '-1', '1.5', '1048576', '0x10', ' 7']) expect(() => haproxyIdOf({ id: 'n', meta: { haproxyId: bad } })).toThrow(/haproxyId/);
    const ring = await HashRing.create([{ id: 'a', meta: { haproxyId: '7' } }], { placement: haproxyPlacement() });
    expect(() => ring.add({ id: 'b', meta: { haproxyId: '7' } })).toThrow(/same HAProxy server id 7/);
    expect(() => ring.add({ id: 'b', weight: 2.5 })).toThrow(/integers/);
    expect(ring.size).toBe(1);
    expect(() => haproxyPlacement({ hashFunction: 'md5' as 'sdbm' })).toThrow(/hashFunction/);
  });

  it('renders explicit ids and the hash-type line of the placement', async () => {
    const ring = await HashRing.create([{ id: 'a', weight: 3, meta: { server: '10.0.0.1:80', haproxyId: '5' } }, { id: 'bad id', meta: { server: '10.0.0.2:80' } }], {
      placement: haproxyPlacement({ hashFunction: 'crc32', avalanche: false }),
    });
    const text = renderHaproxyBackend(ring, { name: 'app', param: 'user' });
    expect(text).toContain('balance url_param user');
    expect(text).toContain('hash-type consistent crc32\n');
    expect(text).toContain('server a 10.0.0.1:80 id 5 weight 3');
    expect(text).toContain(`server node-${haproxyIdOf({ id: 'bad id' })} 10.0.0.2:80 id`);
    expect(() => renderHaproxyBackend(ring, { name: 'app', param: 'user', serverOptions: 'check\n  acl x' })).toThrow(RingError);
  });
});
