/**
 * `npm run example:socketio`: a Socket.IO chat on ringroute/socket.io.
 * Starts `--servers` chat servers, connects `--users` socket.io-client users
 * (each to the server owning it on the ring, as a gateway would, and a tenth
 * to another server, whose packets the owner then forwards), has them send
 * `--messages` chat messages to each other, and prints what was delivered
 * and how many servers each message visited, against the N visits of a
 * broadcasting adapter. Exits 1 if any message was lost.
 *
 * Local demo: users get their tokens from this process (see server.ts).
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { type Socket, io as connect } from 'socket.io-client';
import { type Backends, memoryBackends, redisBackends } from './backends.js';
import { type ChatServer, startChatServer, tokenFor } from './server.js';

const USAGE = 'usage: npm run example:socketio -- [--servers N (2-32)] [--users N (2-2000)] [--messages N (1-100000)] [--redis URL]';

function count(name: string, value: string | undefined, fallback: number, min: number, max: number): number {
  const n = value === undefined ? fallback : Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    console.error(`--${name} must be an integer from ${min} to ${max}, got ${value}\n${USAGE}`);
    process.exit(2);
  }
  return n;
}

async function main(): Promise<void> {
  let args;
  try {
    args = parseArgs({ options: { servers: { type: 'string' }, users: { type: 'string' }, messages: { type: 'string' }, redis: { type: 'string' } } }).values;
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    process.exit(2);
  }
  const serverCount = count('servers', args.servers, 4, 2, 32);
  const userCount = count('users', args.users, 40, 2, 2000);
  const messageCount = count('messages', args.messages, 400, 1, 100_000);
  const backends: Backends = args.redis === undefined ? memoryBackends() : redisBackends(args.redis);
  const secret = randomBytes(32).toString('hex');
  const servers: ChatServer[] = [];
  for (let i = 1; i <= serverCount; i++) servers.push(await startChatServer(`chat-${i}`, backends, secret, i === 1));
  // Wait until every server routes by the full ring.
  const deadline = Date.now() + 10_000;
  while (servers.some((s) => s.router.ring.size < serverCount)) {
    if (Date.now() > deadline) throw new Error('the ring did not converge within 10 s');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const byId = new Map(servers.map((s) => [s.id, s]));
  const users: Array<{ id: string; socket: Socket; received: number }> = [];
  let strays = 0;
  for (let u = 0; u < userCount; u++) {
    const id = `user-${u}`;
    let server = byId.get(servers[0]!.router.lookup(id).id)!;
    if (u % 10 === 9) {
      server = servers[(servers.indexOf(server) + 1) % servers.length]!;
      strays++;
    }
    const socket = connect(server.url, { transports: ['websocket'], auth: { user: id, token: tokenFor(secret, id) }, reconnection: false });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', reject);
    });
    const user = { id, socket, received: 0 };
    socket.on('chat', (_message: unknown, ack: () => void) => {
      user.received++;
      ack();
    });
    users.push(user);
  }
  await new Promise((resolve) => setTimeout(resolve, 200));
  const before = servers.map((s) => s.adapter.stats().receivedPackets);
  const started = Date.now();
  let delivered = 0;
  let failed = 0;
  const sends: Array<Promise<void>> = [];
  for (let m = 0; m < messageCount; m++) {
    const from = users[m % users.length]!;
    const to = users[(m * 7 + 3) % users.length]!;
    sends.push(
      from.socket
        .timeout(5000)
        .emitWithAck('chat', { to: to.id, text: `message ${m}` })
        .then((reply: { delivered?: number; error?: string }) => {
          if (reply.error === undefined && reply.delivered === 1) delivered++;
          else failed++;
        })
        .catch(() => {
          failed++;
        }),
    );
    if (sends.length % 100 === 0) await Promise.all(sends.splice(0));
  }
  await Promise.all(sends);
  const seconds = (Date.now() - started) / 1000;
  const handled = servers.map((s, i) => s.adapter.stats().receivedPackets - before[i]!);
  const visits = handled.reduce((a, b) => a + b, 0);
  console.log(`ringroute/socket.io chat: ${serverCount} servers (${args.redis === undefined ? 'in memory' : 'on Redis'}), ${userCount} users (${strays} connected off their owner)`);
  console.log(`messages: ${messageCount} sent, ${delivered} delivered, ${failed} lost, in ${seconds.toFixed(2)} s`);
  console.log(`packets handled per server: ${handled.join(', ')}`);
  console.log(`servers visited per message: ${(visits / messageCount).toFixed(2)} remote (+ the sender); a broadcasting adapter: ${serverCount - 1} remote`);
  for (const user of users) user.socket.disconnect();
  for (const server of servers) await server.close();
  await backends.close();
  console.log(failed === 0 ? 'verdict: ok' : `verdict: FAILED (${failed} lost)`);
  process.exit(failed === 0 ? 0 : 1);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
