/**
 * A cluster to look at: `npm run status` starts the example cluster on the
 * in-memory adapters (2 gateways, 3 app nodes), users chatting at a steady
 * pace, and the admin port; it prints the status page's address with its
 * token. Type `j` + Enter to join one more node, `l` to make the newest
 * leave, `k` to kill it (it expires after the ttl), Ctrl-C to stop.
 *
 *   npm run status -- [--users N] [--rate N] [--port N] [--token T]
 */
import { parseArgs } from 'node:util';
import { MemoryMembership, MemoryRingStore } from 'ringroute';
import { startAdmin } from './admin.js';
import { startMemoryCluster } from './cluster.js';
import { User } from './client.js';
import { requestJson } from './http.js';

const { values } = parseArgs({ options: { users: { type: 'string' }, rate: { type: 'string' }, port: { type: 'string' }, token: { type: 'string' } } });
const users = Math.min(5000, Number(values.users ?? 300));
const rate = Math.min(2000, Number(values.rate ?? 50));

const store = new MemoryRingStore();
const membership = new MemoryMembership({ ttlMs: 2000, heartbeatMs: 500 });
const cluster = await startMemoryCluster({ gateways: 2, nodes: ['node-1', 'node-2', 'node-3'], strategy: 'selective', mode: 'hash', graceMs: 10_000, ttlMs: 2000, heartbeatMs: 500, backends: { store, membership } });
const admin = await startAdmin({
  store: store.connect(),
  membership: membership.connect(),
  gateways: () => cluster.gateways,
  nodes: () => cluster.nodes,
  ...(values.port !== undefined ? { port: Number(values.port) } : {}),
  ...(values.token !== undefined ? { token: values.token } : {}),
});
process.stdout.write(`status page: ${admin.url}/status?token=${admin.token}\nmetrics:     curl -H 'authorization: Bearer ${admin.token}' ${admin.url}/metrics\n`);

const people = Array.from({ length: users }, (_, i) => new User(`user-${i}`, { gateway: cluster.gateways[i % cluster.gateways.length]!, via: 'proxy', onMessage: () => undefined }));
for (const user of people) user.start();
let outstanding = 0;
const traffic = setInterval(() => {
  for (let i = 0; i < rate / 10 && outstanding < 200; i++) {
    const from = people[Math.floor(Math.random() * users)]!.id;
    const to = people[Math.floor(Math.random() * users)]!.id;
    outstanding++;
    requestJson('POST', `${cluster.gateways[0]}/send`, { from, to, text: 'hi' }, { timeoutMs: 15_000 }).catch(() => undefined).finally(() => outstanding--);
  }
}, 100);

let next = 4;
process.stdin.setEncoding('utf8').on('data', (line: string) => {
  const command = line.trim();
  const newest = [...cluster.nodes.keys()].at(-1);
  if (command === 'j') void cluster.startNode(`node-${next++}`, 'selective');
  else if (command === 'l' && newest !== undefined) void cluster.stopNode(newest);
  else if (command === 'k' && newest !== undefined) void cluster.killNode(newest);
});
process.once('SIGINT', async () => {
  clearInterval(traffic);
  for (const user of people) user.stop();
  await admin.close();
  await cluster.close();
  process.exit(0);
});
