/**
 * The users of `bench/socketio.bench.ts`, in their own process so their
 * CPU is not counted as the servers': connects each user to the server it is
 * told, counts the packets received, answers `count`, and says `reached`
 * once a `notify` target is met (no polling, which would cost CPU).
 */
import { type Socket, io as connect } from 'socket.io-client';

interface Config {
  readonly users: ReadonlyArray<{ readonly id: string; readonly url: string }>;
}

const config = JSON.parse(process.argv[2]!) as Config;
const sockets: Socket[] = [];
let received = 0;
let waitingFor = Number.POSITIVE_INFINITY;

async function main(): Promise<void> {
  for (const user of config.users) {
    const socket = connect(user.url, { transports: ['websocket'], reconnection: false, auth: { user: user.id } });
    socket.on('m', () => {
      received++;
      if (received >= waitingFor) {
        waitingFor = Number.POSITIVE_INFINITY;
        process.send!({ type: 'reached', received });
      }
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', reject);
    });
    sockets.push(socket);
  }
  process.send!({ type: 'ready' });
}

process.on('message', (message: { type: string; target?: number }) => {
  if (message.type === 'count') process.send!({ type: 'count', received });
  if (message.type === 'notify') {
    if (received >= message.target!) process.send!({ type: 'reached', received });
    else waitingFor = message.target!;
  }
  if (message.type === 'stop') {
    for (const socket of sockets) socket.disconnect();
    process.exit(0);
  }
});

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
