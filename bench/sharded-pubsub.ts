/**
 * RedisTransport on a 3-master Redis Cluster with PUBLISH against sharded
 * SPUBLISH (not a test): 8 node transports in this process, each with its
 * own Cluster client, each listening at its node address; every message goes
 * from a node to the owner of a random user key on the ring (hash routing),
 * with at most `--window` publishes in flight. Per case it reports messages
 * per second, delivery latency (publish call to listener, p50/p99), and per
 * master what the master itself counted (read from INFO and CLUSTER INFO
 * before and after each round): PUBLISH/SPUBLISH calls, pub/sub messages
 * received over the cluster bus, CPU (used_cpu_sys + used_cpu_user) and
 * bytes in. The cases' rounds alternate so both see the same machine load;
 * figures are medians over the rounds (per master: totals).
 *
 *   npm run bench:sharded                                   # both cases, 20,000 messages per round, 3 rounds
 *   npm run bench:sharded -- --cases=spublish --messages=50000 --rounds=1 --bytes=512 --nodes=32
 */
import { cpus, loadavg } from 'node:os';
import { Cluster, Redis } from 'ioredis';
import { HashRing, createXxHash32 } from '../src/index.js';
import { RedisTransport } from '../src/adapters/redis/index.js';
import { RedisClusterServers } from '../test/support/redis-server.js';
import { flags, hashRoutedLoad, median } from './hash-routed.js';

type Case = 'publish' | 'spublish';
const args = flags();
const CASES = (args.get('cases') ?? 'publish,spublish').split(',') as Case[];
const MESSAGES = Number(args.get('messages') ?? 20_000);
const ROUNDS = Number(args.get('rounds') ?? 3);
const WINDOW = Number(args.get('window') ?? 128);
const BYTES = Number(args.get('bytes') ?? 128);
const NODES = Number(args.get('nodes') ?? 8);
for (const c of CASES) if (c !== 'publish' && c !== 'spublish') throw new Error(`unknown case ${c} (publish, spublish)`);

interface MasterStats {
  calls: number;
  busReceived: number;
  cpuMs: number;
  bytesIn: number;
}

function field(text: string, name: string): number {
  const match = new RegExp(`^${name}:(.*)$`, 'm').exec(text);
  return match === null ? 0 : Number(match[1]!.trim());
}

function calls(info: string, command: string): number {
  const match = new RegExp(`^cmdstat_${command}:calls=(\\d+)`, 'm').exec(info);
  return match === null ? 0 : Number(match[1]);
}

async function readStats(master: Redis): Promise<MasterStats> {
  const info = (await master.info('everything')) as string;
  const bus = (await master.cluster('INFO')) as string;
  return {
    calls: calls(info, 'publish') + calls(info, 'spublish'),
    busReceived: field(bus, 'cluster_stats_messages_publish_received') + field(bus, 'cluster_stats_messages_publishshard_received'),
    cpuMs: (field(info, 'used_cpu_sys') + field(info, 'used_cpu_user')) * 1000,
    bytesIn: field(info, 'total_net_input_bytes'),
  };
}

function diff(after: MasterStats, before: MasterStats): MasterStats {
  return {
    calls: after.calls - before.calls,
    busReceived: after.busReceived - before.busReceived,
    cpuMs: after.cpuMs - before.cpuMs,
    bytesIn: after.bytesIn - before.bytesIn,
  };
}

interface Round {
  rate: number;
  p50: number;
  p99: number;
  /** Publishes that resolved 0 receivers although the owner listened (PUBLISH on a Cluster counts one shard's subscribers). */
  zero: number;
  masters: MasterStats[];
  /** Shard channels subscribed on each master. */
  channels: number[];
}

async function round(kind: Case, servers: RedisClusterServers, masters: Redis[], ring: HashRing): Promise<Round> {
  const prefix = `bench-sharded-${kind}-${Math.random().toString(36).slice(2, 8)}`;
  const clients = Array.from({ length: NODES }, () => {
    const c = new Cluster(servers.nodes, { redisOptions: { maxRetriesPerRequest: 1 } });
    c.on('error', () => undefined);
    return c;
  });
  const transports = clients.map((redis) => new RedisTransport({ redis, prefix, sharded: kind === 'spublish' }));
  let channels: number[] = [];
  let before: MasterStats[] = [];
  const load = await hashRoutedLoad({
    transports,
    ring,
    messages: MESSAGES,
    window: WINDOW,
    bytes: BYTES,
    beforeSend: async () => {
      channels = await Promise.all(masters.map(async (m) => ((await m.call('PUBSUB', 'SHARDCHANNELS', `${prefix}:*`)) as string[]).length));
      before = await Promise.all(masters.map(readStats));
    },
  });
  const after = await Promise.all(masters.map(readStats));
  await Promise.all(transports.map((t) => t.close()));
  for (const c of clients) c.disconnect();
  if (load.received < MESSAGES) console.warn(`${kind}: only ${load.received}/${MESSAGES} received`);
  return { rate: load.rate, p50: load.p50, p99: load.p99, zero: load.zero, channels, masters: after.map((a, i) => diff(a, before[i]!)) };
}

const servers = await RedisClusterServers.start(3);
const masters = servers.nodes.map((n) => new Redis(n.port, n.host));
try {
  const ring = new HashRing({ hasher: await createXxHash32() }, Array.from({ length: NODES }, (_, i) => ({ id: `node-${i}` })));
  const results = new Map<Case, Round[]>(CASES.map((c) => [c, []]));
  await round(CASES[0]!, servers, masters, ring); // warm-up (connections, JIT), not reported
  for (let r = 0; r < ROUNDS; r++) for (const kind of CASES) results.get(kind)!.push(await round(kind, servers, masters, ring));

  console.log(
    `\nmachine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}; ` +
      `3-master Redis Cluster (${(await masters[0]!.info('server')).match(/redis_version:(\S+)/)?.[1]}), ${NODES} nodes, ` +
      `${MESSAGES} messages of ${BYTES} bytes per round, window ${WINDOW}, ${ROUNDS} rounds per case (alternating); load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}\n`,
  );
  console.log('| case | messages/s | p50 ms | p99 ms | replies "0 receivers" (all were delivered) |');
  console.log('|---|---:|---:|---:|---:|');
  for (const [kind, rounds] of results) {
    console.log(`| ${kind} | ${Math.round(median(rounds.map((r) => r.rate))).toLocaleString('en-US')} | ${median(rounds.map((r) => r.p50)).toFixed(2)} | ${median(rounds.map((r) => r.p99)).toFixed(2)} | ${((100 * rounds.reduce((a, r) => a + r.zero, 0)) / (MESSAGES * rounds.length)).toFixed(0)} % |`);
  }
  console.log('\nper master, totals over the rounds (sent = messages published in all rounds of the case):\n');
  console.log('| case | master | node channels | (S)PUBLISH calls | share | bus pub/sub msgs in | CPU ms | client MB in |');
  console.log('|---|---|---:|---:|---:|---:|---:|---:|');
  for (const [kind, rounds] of results) {
    const sent = MESSAGES * rounds.length;
    masters.forEach((_, m) => {
      const s = rounds.reduce<MasterStats>(
        (acc, r) => ({ calls: acc.calls + r.masters[m]!.calls, busReceived: acc.busReceived + r.masters[m]!.busReceived, cpuMs: acc.cpuMs + r.masters[m]!.cpuMs, bytesIn: acc.bytesIn + r.masters[m]!.bytesIn }),
        { calls: 0, busReceived: 0, cpuMs: 0, bytesIn: 0 },
      );
      // What a master carries: the messages published on it plus those the cluster bus brought it.
      const share = (s.calls + s.busReceived) / sent;
      console.log(`| ${kind} | ${m + 1} | ${kind === 'spublish' ? rounds[0]!.channels[m] : 'all (bus)'} | ${s.calls.toLocaleString('en-US')} | ${(share * 100).toFixed(0)} % | ${s.busReceived.toLocaleString('en-US')} | ${Math.round(s.cpuMs)} | ${(s.bytesIn / 1e6).toFixed(1)} |`);
    });
  }
} finally {
  for (const m of masters) m.disconnect();
  await servers.destroy();
}
