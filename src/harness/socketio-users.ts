/**
 * The users of a Socket.IO baseline run (`./socketio.ts`), in a child
 * process of their own so that their CPU is not counted as the servers':
 * one `socket.io-client` connection per user to the server that owns it,
 * each acknowledging every `m` event with its callback. The child counts
 * what its users got, (message id, user index) pairs, distinct and
 * duplicate, and their checksum, and reports them when asked.
 *
 * The child is this module's {@link runSocketIoUsers}, started with
 * `RINGROUTE_BENCH_ROLE=socketio-users` in its environment: from source
 * (tsx) this file starts itself; from the bundled `dist/cli.js` the CLI's
 * entry calls {@link runSocketIoUsers} when it sees that variable.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DeliveryChecksum } from './checksum.js';

/** The environment variable, and its value, that make a process the users' child. */
export const SOCKETIO_USERS_ROLE_ENV = 'RINGROUTE_BENCH_ROLE';
export const SOCKETIO_USERS_ROLE = 'socketio-users';

/** Messages from the parent. */
export type ToUsers =
  /** Connect each user to its server; answer `ready` (or `error`). */
  | { readonly type: 'init'; readonly users: ReadonlyArray<{ readonly id: string; readonly url: string }> }
  /** Forget what was received; answer `reset`. */
  | { readonly type: 'reset' }
  /** Answer `report` with what was received since the last reset. */
  | { readonly type: 'report' }
  | { readonly type: 'stop' };

/** Messages to the parent. */
export type FromUsers =
  | { readonly type: 'ready' }
  | { readonly type: 'reset' }
  | { readonly type: 'report'; readonly delivered: number; readonly duplicates: number; readonly checksum: string }
  | { readonly type: 'error'; readonly message: string };

/** Connections opened at once while connecting the users. */
const CONNECT_CONCURRENCY = 64;
/** Tries per user before the run gives up on connecting it. */
const CONNECT_ATTEMPTS = 5;

/** The slice of a socket.io-client socket used here. */
interface ClientSocket {
  on(event: string, listener: (...args: any[]) => void): unknown;
  once(event: string, listener: (...args: any[]) => void): unknown;
  disconnect(): unknown;
}
type Connect = (url: string, options: Record<string, unknown>) => ClientSocket;

/** Whether this process was started as the users' child. */
export function isSocketIoUsersProcess(): boolean {
  return process.env[SOCKETIO_USERS_ROLE_ENV] === SOCKETIO_USERS_ROLE && typeof process.send === 'function';
}

/**
 * Runs this process as the users' child: answers the parent over IPC until
 * it says `stop` or disconnects. Call it instead of anything else when
 * {@link isSocketIoUsersProcess} is true.
 */
export function runSocketIoUsers(): void {
  const send = (message: FromUsers): void => {
    try {
      process.send?.(message);
    } catch {
      // The parent is gone; 'disconnect' below ends this process.
    }
  };
  const sockets: ClientSocket[] = [];
  // Keys of (message id, user index) pairs: id * span + user.
  let seen = new Set<number>();
  let span = 1;
  let duplicates = 0;
  let checksum = new DeliveryChecksum();

  const stop = (): void => {
    for (const socket of sockets) socket.disconnect();
    process.exit(0);
  };

  async function init(users: ReadonlyArray<{ readonly id: string; readonly url: string }>): Promise<void> {
    let connect: Connect;
    try {
      // A specifier in a variable: bundlers leave it alone and it stays optional.
      const name = 'socket.io-client';
      const mod = (await import(name)) as { io?: Connect; default?: Connect };
      connect = (mod.io ?? mod.default) as Connect;
    } catch {
      send({ type: 'error', message: 'the Socket.IO baseline needs the socket.io-client package, which is not installed: run "npm install socket.io-client"' });
      return;
    }
    span = users.reduce((max, user) => Math.max(max, Number(user.id.slice(5)) + 1), 1);
    let next = 0;
    const connectOne = async (): Promise<void> => {
      while (next < users.length) {
        const user = users[next++]!;
        const index = Number(user.id.slice(5));
        // A connect can fail under a burst (the server's accept queue); try a few times before giving up.
        let socket: ClientSocket | undefined;
        for (let attempt = 1; socket === undefined; attempt++) {
          const candidate = connect(user.url, { transports: ['websocket'], reconnection: false, forceNew: true, auth: { user: user.id } });
          try {
            await new Promise<void>((done, fail) => {
              candidate.once('connect', () => done());
              candidate.once('connect_error', (error: Error) => fail(new Error(`user ${user.id} could not connect to ${user.url}: ${error.message}`)));
            });
            socket = candidate;
          } catch (error) {
            candidate.disconnect();
            if (attempt >= CONNECT_ATTEMPTS) throw error;
            await new Promise((resume) => setTimeout(resume, 100 * attempt));
          }
        }
        socket.on('m', (id: number, _from: string, _text: string, ack?: () => void) => {
          const key = id * span + index;
          if (seen.has(key)) duplicates++;
          else {
            seen.add(key);
            checksum.add(id, index);
          }
          if (typeof ack === 'function') ack();
        });
        sockets.push(socket);
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.min(CONNECT_CONCURRENCY, users.length) }, connectOne));
      send({ type: 'ready' });
    } catch (error) {
      send({ type: 'error', message: error instanceof Error ? error.message : String(error) });
    }
  }

  process.on('message', (message: ToUsers) => {
    switch (message.type) {
      case 'init':
        void init(message.users);
        return;
      case 'reset':
        seen = new Set();
        duplicates = 0;
        checksum = new DeliveryChecksum();
        send({ type: 'reset' });
        return;
      case 'report':
        send({ type: 'report', delivered: seen.size, duplicates, checksum: checksum.toString() });
        return;
      case 'stop':
        stop();
    }
  });
  // The parent died or closed the channel: nothing left to serve.
  process.on('disconnect', stop);
}

// From source (tsx), the parent forks this very file; the bundled CLI calls runSocketIoUsers() from its entry instead.
if (import.meta.url.endsWith('.ts') && isSocketIoUsersProcess() && process.argv[1] !== undefined && pathToFileURL(resolve(process.argv[1])).href === import.meta.url) {
  runSocketIoUsers();
}
