/**
 * restyChashPlacement against the expectations of the projects that use
 * resty.chash, quoted from their own tests (values only; no code copied):
 *
 * - lua-resty-balancer, t/chash.t
 *   https://github.com/openresty/lua-resty-balancer/blob/master/t/chash.t
 * - Apache APISIX, t/node/chash-balance.t and t/node/chash-hashon.t
 *   https://github.com/apache/apisix/blob/master/t/node/chash-balance.t
 *   https://github.com/apache/apisix/blob/master/t/node/chash-hashon.t
 * - ingress-nginx, rootfs/etc/nginx/lua/test/balancer/chash_test.lua (it
 *   mocks resty.chash, so only its endpoint naming is quoted)
 *   https://github.com/kubernetes/ingress-nginx/blob/main/rootfs/etc/nginx/lua/test/balancer/chash_test.lua
 *
 * lua-resty-balancer's keys are Lua numbers: `chash:find(i)` hashes
 * `tostring(i)`, so the key "1" here is its `find(1)`.
 */
import { describe, expect, it } from 'vitest';
import { HashRing, RingError, diffRings, type RingNode } from 'ringroute';
import { nginxPlacement } from 'ringroute/nginx';
import { RESTY_POINTS_PER_WEIGHT, reduceApisixWeights, restyChashPlacement } from 'ringroute/resty';

const resty = restyChashPlacement({ servers: 'resty' });
const apisix = restyChashPlacement({ servers: 'apisix' });
const ingress = restyChashPlacement({ servers: 'ingress-nginx' });

const numbers = (n: number): string[] => Array.from({ length: n }, (_, i) => String(i + 1));

function counts(ring: HashRing, keys: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const key of keys) {
    const id = ring.lookup(key).id;
    out[id] = (out[id] ?? 0) + 1;
  }
  return out;
}

/** Servers `{ name: weight }` as ring nodes (ids are the server strings). */
const serversOf = (servers: Record<string, number>): RingNode[] => Object.entries(servers).map(([id, weight]) => ({ id, weight }));

/** APISIX's test upstream `127.0.0.1:<port>` nodes. */
const local = (...ports: number[]): RingNode[] => ports.map((p) => ({ id: `127.0.0.1:${p}` }));

describe('lua-resty-balancer t/chash.t', () => {
  it('TEST 1 "find": server1=10, server2=2, server3=1 over keys 1..100000', async () => {
    const ring = await HashRing.create(serversOf({ server1: 10, server2: 2, server3: 1 }), { placement: resty });
    // --- response_body: server1: 77075 / server2: 14743 / server3: 8182 / points number: 2080
    expect(counts(ring, numbers(100_000))).toEqual({ server1: 77075, server2: 14743, server3: 8182 });
    expect(ring.points).toBe(2080);
  });

  it('TEST 3 "next": find("foo") is server1 at index 434, and 100 points on is server2 at 534', async () => {
    const nodes = serversOf({ server1: 2, server2: 2, server3: 1 });
    const ring = await HashRing.create(nodes, { placement: resty });
    // --- response_body: "server1, 434" then "server2, 534"
    expect(ring.lookup('foo').id).toBe('server1');
    // The indices are positions in resty.chash's sorted point array: rebuild it from the placement's points.
    const all = nodes.flatMap((n) => Array.from(resty.points(n, 0, resty.pointCount(n, 160)), (hash) => ({ hash, id: n.id }))).sort((a, b) => a.hash - b.hash);
    const h = resty.hasher.hash('foo');
    const index = all.findIndex((p) => p.hash >= h);
    expect([all[index]!.id, index]).toEqual(['server1', 434]);
    expect([all[(index + 100) % all.length]!.id, (index + 100) % all.length]).toEqual(['server2', 534]);
  });

  it('TEST 4 "up, decr": incr server1 (7 -> 8) moves 2394 of keys 1..100000, then decr server3 (1 -> gone) 9745', async () => {
    const keys = numbers(100_000);
    const ring = await HashRing.create(serversOf({ server1: 7, server2: 2, server3: 1 }), { placement: resty });
    const res1 = ring.lookupMany(keys);
    // resty.chash's incr adds points 1120..1279 of server1, the same tail the ring adds on a reweight.
    const up = ring.setNodes(serversOf({ server1: 8, server2: 2, server3: 1 }));
    const res2 = ring.lookupMany(keys);
    // --- response_body: same: 97606 / diff: 2394
    expect(res1.filter((owner, i) => owner.id !== res2[i]!.id).length).toBe(2394);
    expect(up.movedKeys(keys).length).toBe(2394);
    // decr by the whole weight deletes the server.
    const down = ring.setNodes(serversOf({ server1: 8, server2: 2 }));
    const res3 = ring.lookupMany(keys);
    // --- response_body: same: 90255 / diff: 9745
    expect(res3.filter((owner, i) => owner.id !== res2[i]!.id).length).toBe(9745);
    expect(down.movedKeys(keys).length).toBe(9745);
  });

  it('TEST 5 "reinit": 2080 points, then 480 for server4=1, server5=2', async () => {
    const ring = await HashRing.create(serversOf({ server1: 10, server2: 2, server3: 1 }), { placement: resty });
    expect(ring.points).toBe(2080);
    ring.setNodes(serversOf({ server4: 1, server5: 2 }));
    expect(ring.points).toBe(480);
  });

  it('TEST 2 "compare with nginx chash": ids "host\\0port" (APISIX\'s naming) place keys as nginx\'s hash consistent', async () => {
    // server_list 127.0.0.1:1985 = 2, :1986 = 2, :1987 = 1; the test checks 100 random keys agree with nginx.
    const nodes: RingNode[] = [
      { id: '127.0.0.1:1985', weight: 2 },
      { id: '127.0.0.1:1986', weight: 2 },
      { id: '127.0.0.1:1987', weight: 1 },
    ];
    const lua = await HashRing.create(nodes, { placement: apisix });
    const ngx = await HashRing.create(nodes, { placement: nginxPlacement() });
    const keys = Array.from({ length: 20_000 }, (_, i) => String(1 + ((i * 7919) % 1_000_100)));
    expect(lua.lookupMany(keys).map((o) => o.id)).toEqual(ngx.lookupMany(keys).map((o) => o.id));
  });
});

describe('APISIX t/node/chash-balance.t', () => {
  it('TEST 1-2: nodes :1980, :1981 (weight 1), key remote_addr 127.0.0.1 -> 1980 (12 of 12)', async () => {
    const ring = await HashRing.create(local(1980, 1981), { placement: apisix });
    expect(ring.lookup('127.0.0.1').id).toBe('127.0.0.1:1980');
  });

  it('TEST 3-4: nodes :1980, :1981, :1982, key 127.0.0.1 -> 1982 (12 of 12)', async () => {
    const ring = await HashRing.create(local(1980, 1981, 1982), { placement: apisix });
    expect(ring.lookup('127.0.0.1').id).toBe('127.0.0.1:1982');
  });

  it('TEST 5-6: weights 1, 0, 0 -> 1980 (a weight-0 node has no points: it is left out)', async () => {
    const nodes = reduceApisixWeights([
      { id: '127.0.0.1:1980', weight: 1 },
      { id: '127.0.0.1:1981', weight: 0 },
      { id: '127.0.0.1:1982', weight: 0 },
    ]);
    expect(nodes).toEqual([{ id: '127.0.0.1:1980', weight: 1 }]);
    const ring = await HashRing.create(nodes, { placement: apisix });
    expect(ring.lookup('127.0.0.1').id).toBe('127.0.0.1:1980');
  });

  it('TEST 13-14: weights 1979 = 1000, 1980 = 1, device_id=1 tries 1979 first ("Connection refused"), then 1980', () => {
    // ringroute caps ring weights at 100, so this one is checked on the placement's points directly.
    const nodes: RingNode[] = [
      { id: '127.0.0.1:1979', weight: 1000 },
      { id: '127.0.0.1:1980', weight: 1 },
    ];
    const all = nodes.flatMap((n) => Array.from(apisix.points(n, 0, apisix.pointCount(n, 160)), (hash) => ({ hash, id: n.id }))).sort((a, b) => a.hash - b.hash);
    const h = apisix.hasher.hash('1');
    expect((all.find((p) => p.hash >= h) ?? all[0]!).id).toBe('127.0.0.1:1979');
  });

  it('TEST 15-18: very big weights are divided by their GCD (1e9, 2e9, 1e9 -> 1, 2, 1; 1e9, 0, 4e9 -> 1, 4)', async () => {
    const big = reduceApisixWeights([
      { id: '127.0.0.1:1980', weight: 1_000_000_000 },
      { id: '127.0.0.1:1981', weight: 2_000_000_000 },
      { id: '127.0.0.1:1982', weight: 1_000_000_000 },
    ]);
    expect(big.map((n) => n.weight)).toEqual([1, 2, 1]);
    expect((await HashRing.create(big, { placement: apisix })).points).toBe(4 * RESTY_POINTS_PER_WEIGHT);
    const zero = reduceApisixWeights([
      { id: '127.0.0.1:1980', weight: 1_000_000_000 },
      { id: '127.0.0.1:1981', weight: 0 },
      { id: '127.0.0.1:1982', weight: 4_000_000_000 },
    ]);
    expect(zero).toEqual([
      { id: '127.0.0.1:1980', weight: 1 },
      { id: '127.0.0.1:1982', weight: 4 },
    ]);
  });
});

describe('APISIX t/node/chash-hashon.t (nodes 127.0.0.1:1980 and :1981, weight 1)', () => {
  it('sends each quoted chash_key where the test expects', async () => {
    const ring = await HashRing.create(local(1980, 1981), { placement: apisix });
    const owner = (key: string): string => ring.lookup(key).id.slice('127.0.0.1:'.length);
    // TEST 3: hash_on consumer, chash_key "jack" -> [{"count":4,"port":"1981"}]
    expect(owner('jack')).toBe('1981');
    // TEST 4: "jack" and "tom" alternately -> [{"count":2,"port":"1981"},{"count":2,"port":"1980"}]
    expect(owner('tom')).toBe('1980');
    // TEST 6: hash_on header, chash_key "custom-one" -> 1980 (4 of 4)
    expect(owner('custom-one')).toBe('1980');
    // TEST 7 and 10: no key, remote_addr 127.0.0.1 -> 1980
    expect(owner('127.0.0.1')).toBe('1980');
    // TEST 9: hash_on cookie, chash_key "cuscookie" -> 1981 (4 of 4)
    expect(owner('cuscookie')).toBe('1981');
    // TEST 12: X-Sessionid chash_val_1..6 -> [{"count":3,"port":"1981"},{"count":3,"port":"1980"}]
    const six = ['1', '2', '3', '4', '5', '6'].map((i) => owner(`chash_val_${i}`));
    expect(six.filter((p) => p === '1981').length).toBe(3);
    expect(six.filter((p) => p === '1980').length).toBe(3);
    // TEST 14: vars_combinations, chash_key "custom-one-custom-two" -> 1980 (4 of 4)
    expect(owner('custom-one-custom-two')).toBe('1980');
  });
});

describe('ingress-nginx naming', () => {
  it('uses "address:port" as the server id, colon kept (chash_test.lua: endpoint 10.184.7.40 port 8080 is "10.184.7.40:8080")', async () => {
    const node: RingNode = { id: 'pod-a', meta: { server: '10.184.7.40:8080' } };
    const ring = await HashRing.create([node, { id: 'pod-b', meta: { server: '10.184.7.41:8080' } }], { placement: ingress });
    // Same points as the resty placement given the id string itself, not APISIX's "host\0port".
    expect(ingress.points(node, 0, 160)).toEqual(resty.points({ id: '10.184.7.40:8080' }, 0, 160));
    expect(ingress.points(node, 0, 160)).not.toEqual(apisix.points(node, 0, 160));
    expect(ring.points).toBe(320);
  });
});

describe('restyChashPlacement refuses', () => {
  it('what each proxy would not take, leaving the ring unchanged', async () => {
    const ring = await HashRing.create([{ id: 'a', meta: { server: '10.0.0.1:80' } }], { placement: ingress });
    expect(() => ring.add({ id: 'b', weight: 2, meta: { server: '10.0.0.2:80' } })).toThrow(/weight 1/);
    expect(() => ring.add({ id: 'b', meta: { server: '10.0.0.1:80' } })).toThrow(/same server/);
    expect(ring.size).toBe(1);
    expect(ring.points).toBe(160);

    const up = await HashRing.create([{ id: '10.0.0.1:80', weight: 1 }], { placement: apisix });
    expect(() => up.setNodes([{ id: '10.0.0.1:80', weight: 2 }, { id: '10.0.0.2:80', weight: 4 }])).toThrow(/greatest common divisor \(2\).*10\.0\.0\.1:80: 1, 10\.0\.0\.2:80: 2/);
    expect(() => up.add({ id: 'app-2' })).toThrow(/host:port/);
    expect(() => up.add({ id: '10.0.0.2:80', weight: 1.5 })).toThrow(/integers/);
    expect(up.nodes()).toEqual([{ id: '10.0.0.1:80', weight: 1 }]);

    // Two ids with the same CRC32 ("plumless" and "buckeroo" are a known pair) would get the very same points.
    const r = await HashRing.create([{ id: 'plumless' }], { placement: resty });
    const err = (() => {
      try {
        r.add({ id: 'buckeroo' });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(RingError);
    expect(err).toMatchObject({ code: 'INVALID_NODE', message: expect.stringMatching(/same CRC32/) });
    expect(r.size).toBe(1);

    expect(() => restyChashPlacement({} as never)).toThrow(/servers/);
    expect(() => restyChashPlacement({ servers: 'nginx' as never })).toThrow(/servers/);
    expect(() => reduceApisixWeights([{ id: 'x', weight: -1 }])).toThrow(/integers >= 0/);
  });

  it('snapshots and diffs across placements', async () => {
    const nodes: RingNode[] = [{ id: '10.0.0.1:80' }, { id: '10.0.0.2:80' }];
    const ring = await HashRing.create(nodes, { placement: apisix });
    const json = JSON.parse(JSON.stringify(ring));
    expect(json).toMatchObject({ placement: 'resty-chash:apisix', hasher: 'resty-crc32', vnodes: 160 });
    await expect(HashRing.fromJSON(json)).rejects.toMatchObject({ code: 'HASHER_MISMATCH' });
    await expect(HashRing.fromJSON(json, ingress)).rejects.toMatchObject({ code: 'HASHER_MISMATCH' });
    await expect(HashRing.fromJSON(json, nginxPlacement())).rejects.toMatchObject({ code: 'HASHER_MISMATCH' });
    const back = await HashRing.fromJSON(json, apisix);
    expect(back.lookupMany(numbers(1000))).toEqual(ring.lookupMany(numbers(1000)));
    expect(() => diffRings(ring, new HashRing({ placement: resty }, nodes))).toThrow(/placed|hashed/);
    expect(() => diffRings(ring, new HashRing({ placement: nginxPlacement() }, nodes))).toThrow(/placed|hashed/);
  });
});
