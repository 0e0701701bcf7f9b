/**
 * A cluster to look at: `npm run status` starts the example cluster on the
 * in-memory adapters (2 gateways, 3 app nodes), users chatting at a steady
 * pace, and the admin port; it prints the status page's address with its
 * token. Type `j` + Enter to join one more node, `l` to make the newest
 * leave, `k` to kill it (it expires after the ttl), Ctrl-C to stop.
 *
 *   npm run status -- [--users N] [--rate N] [--port N] [--token T]
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { MemoryMembership, MemoryRingStore } from 'ringroute';
import { startAdmin } from './admin.js';
import { TokenSigner } from './auth.js';
import { startMemoryCluster } from './cluster.js';
import { User } from './client.js';
import { requestJson } from './http.js';

const { values } = (() => {
  try {
    return parseArgs({ options: { users: { type: 'string' }, rate: { type: 'string' }, port: { type: 'string' }, token: { type: 'string' } } });
  } catch (error) {
    process.stderr.write(`status demo: ${(error as Error).message.split('\n')[0]} (options: --users N --rate N --port N --token T)\n`);
    process.exit(2);
  }
})();
function int(name: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    process.stderr.write(`status demo: --${name} must be an integer in [${min}, ${max}], got ${JSON.stringify(value)}\n`);
    process.exit(2);
  }
  return n;
}
const users = int('users', values.users, 300, 2, 5000);
const rate = int('rate', values.rate, 50, 0, 2000);
const port = int('port', values.port, 0, 0, 65535);
if (values.token !== undefined && values.token.length < 16) {
  process.stderr.write('status demo: --token must have at least 16 characters\n');
  process.exit(2);
}

// Authentication stays on: a fresh random secret and admin token for the run.
const secret = randomBytes(32).toString('base64url');
const adminToken = randomBytes(24).toString('base64url');
const signer = new TokenSigner(secret);
const token = (user: string): Promise<string> => signer.sign(user);

const store = new MemoryRingStore();
const membership = new MemoryMembership({ ttlMs: 2000, heartbeatMs: 500 });
const cluster = await startMemoryCluster({ gateways: 2, nodes: ['node-1', 'node-2', 'node-3'], strategy: 'selective', mode: 'hash', graceMs: 10_000, ttlMs: 2000, heartbeatMs: 500, backends: { store, membership }, secret, adminToken });
const admin = await startAdmin({
  store: store.connect(),
  membership: membership.connect(),
  gateways: () => cluster.admins,
  nodes: () => cluster.nodeAdmins,
  partsToken: adminToken,
  port,
  ...(values.token !== undefined ? { token: values.token } : {}),
});
process.stdout.write(`status page: ${admin.url}/status?token=${admin.token}\nmetrics:     curl -H 'authorization: Bearer ${admin.token}' ${admin.url}/metrics\n`);

const people = Array.from({ length: users }, (_, i) => new User(`user-${i}`, { gateway: cluster.gateways[i % cluster.gateways.length]!, via: 'proxy', onMessage: () => undefined, token }));
for (const user of people) user.start();
let outstanding = 0;
const traffic = setInterval(() => {
  for (let i = 0; i < rate / 10 && outstanding < 200; i++) {
    const from = people[Math.floor(Math.random() * users)]!.id;
    const to = people[Math.floor(Math.random() * users)]!.id;
    outstanding++;
    token(from)
      .then((t) => requestJson('POST', `${cluster.gateways[0]}/send`, { to, text: 'hi' }, { timeoutMs: 15_000, token: t }))
      .catch(() => undefined)
      .finally(() => outstanding--);
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
