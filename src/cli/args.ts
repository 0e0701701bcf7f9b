/**
 * The command line of `ringroute`: the flags of `bench`, their defaults and
 * checks, and the help text. Parsing is pure (no I/O) so tests can call it.
 */

import { SetupError } from '../harness/setup-error.js';

/** Where the nodes run: in this process, or one process per node on Redis or NATS pub/sub. */
export type TransportName = 'memory' | 'redis' | 'nats';

/** What the users' sessions are: in-process sockets, or real WebSockets over loopback. */
export type SocketsName = 'memory' | 'ws';

/** The options of one `ringroute bench` run, defaults filled in. */
export interface BenchOptions {
  /** Cluster sizes to measure, ascending. */
  readonly nodes: readonly number[];
  readonly users: number;
  readonly messages: number;
  /** Members per group; 0 = one-to-one messages only. */
  readonly groupSize: number;
  /** Share of messages that go to a group, when `groupSize > 0`. */
  readonly groupShare: number;
  /** Characters of text per message. */
  readonly payloadBytes: number;
  readonly transport: TransportName;
  readonly sockets: SocketsName;
  /** Also run the workload through Socket.IO (`@socket.io/redis-adapter` and `ringroute/socket.io`). */
  readonly baseline: 'socket.io' | null;
  readonly redisUrl: string;
  readonly natsUrl: string;
  /** Messages per second offered by the gateway on the redis and nats transports; 0 = as fast as it can. */
  readonly rate: number;
  /** Measured repetitions of each mode at each node count; the median CPU is reported. */
  readonly rounds: number;
  readonly seed: number;
  readonly json: string | null;
  readonly svg: string | null;
  readonly quiet: boolean;
}

/**
 * What the command line asks for: `help` prints {@link USAGE} (no command,
 * `--help`, `help`), `bench-help` prints {@link HELP}, `version` the version.
 */
export type Command =
  | { readonly kind: 'help' }
  | { readonly kind: 'bench-help' }
  | { readonly kind: 'version' }
  | { readonly kind: 'bench'; readonly options: BenchOptions };

/** A command line that cannot run; the CLI prints the message and exits with code 2. */
export class UsageError extends SetupError {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Defaults; those that depend on the transport are given for both. */
export const DEFAULTS = {
  nodes: [2, 4, 8, 16] as readonly number[],
  users: 10_000,
  messages: { memory: 30_000, redis: 2_000, nats: 2_000 },
  groupSize: 8,
  groupShare: 0.5,
  payloadBytes: 64,
  transport: 'memory' as const,
  redisUrl: 'redis://127.0.0.1:6379',
  natsUrl: 'nats://127.0.0.1:4222',
  rate: 500,
  rounds: { memory: 5, redis: 1, nats: 1 },
  seed: 1,
} as const;

/** Upper bounds that keep a run on one machine sane (redis and nats: one OS process per node). */
export const LIMITS = {
  nodesMemory: 1024,
  nodesRedis: 64,
  nodesNats: 64,
  users: 10_000_000,
  messages: 10_000_000,
  payloadBytes: 1_048_576,
  rate: 1_000_000,
  rounds: 100,
} as const;

/** The help of `ringroute` itself: its commands and global flags. */
export const USAGE = `ringroute: consistent-hash routing for clusters

Usage: ringroute <command> [flags]

Commands:
  bench               measure broadcast routing against hash routing as the
                      cluster grows, on this machine ("ringroute bench --help")
  help                show this help

Flags:
  -h, --help          show this help ("ringroute bench --help": the bench's)
  -v, --version       print the version of ringroute

Exit codes: 0 done, 1 the run failed, 2 invalid arguments.
Documentation: https://github.com/ringroute/ringroute#readme
`;

/** The help of `ringroute bench`. */
export const HELP = `ringroute bench: broadcast routing against hash routing as the cluster grows

Usage: ringroute bench [flags]

For each node count, the same seeded workload (users whose sessions live on
their owner node by the ring; one-to-one and group messages) is sent through
the library's own parts: a SessionNode per node holding its users' sessions
(clients that acknowledge each message), over the library's transport, and
a Dispatcher that sends
  broadcast  every message to every node; each node checks its own sessions
             (what the Socket.IO Redis adapter does)
  hash       each message once to each distinct owner of its recipients
Every expected (message, user) pair must reach its user exactly once with a
"delivered" outcome (counted and checksummed); if not, exit code 1.

Flags:
  --nodes LIST        comma-separated node counts to measure, each >= 1
                      (default ${DEFAULTS.nodes.join(',')}; at most ${LIMITS.nodesRedis} with --transport
                      redis or nats)
  --users N           users, one session each (default ${DEFAULTS.users})
  --messages N        messages sent per system and node count
                      (default ${DEFAULTS.messages.memory} with memory, ${DEFAULTS.messages.redis} with redis or nats)
  --group-size N      members per chat group; 0 = one-to-one messages only
                      (default ${DEFAULTS.groupSize}; at most --users)
  --group-share F     share of messages sent to a group, in (0, 1], when
                      --group-size > 0 (default ${DEFAULTS.groupShare})
  --payload N         characters of text per message (default ${DEFAULTS.payloadBytes})
  --transport NAME    memory (default): every node in this process on a
                      MemoryTransport, CPU split by kind of work; redis: a
                      process per node on RedisTransport (needs ioredis),
                      Redis server's CPU and bytes included; nats: the same
                      on NatsTransport (needs @nats-io/transport-node,
                      jetstream and kv), NATS server's CPU left out
  --sockets KIND      memory (default): sockets in the node's process; ws:
                      real WebSockets over loopback (needs ws), refused up
                      front when the descriptors or ports do not suffice
  --baseline socket.io
                      also run Socket.IO with @socket.io/redis-adapter and
                      with ringroute/socket.io on the same Redis (needs
                      --transport redis, socket.io and socket.io-client)
  --redis URL         Redis server (default ${DEFAULTS.redisUrl}); implies
                      --transport redis; --nats URL likewise for NATS
                      (default ${DEFAULTS.natsUrl}); names get a unique prefix
  --rate N            messages per second the sender offers with --transport
                      redis or nats; 0 = as fast as it can (default ${DEFAULTS.rate}).
                      Latency is measured at this load.
  --rounds N          measured repetitions of each system; the median CPU is
                      reported (default ${DEFAULTS.rounds.memory} with memory, ${DEFAULTS.rounds.redis} with redis or nats)
  --seed N            seed of the workload, an integer in [0, 2^32)
                      (default ${DEFAULTS.seed}): same seed, same users and messages
  --json FILE         also write the full report as JSON to FILE
  --svg FILE          also write a chart of CPU per delivered message (SVG)
  --quiet             no progress bar (it is only drawn on a terminal anyway)
  -h, --help          show this help
  -v, --version       print the version of ringroute

Per node count, bcast, hash and (ratio) bcast / hash: visits/msg (deliveries
that reached a node), wasted/msg (visits that wrote to no session), bus B/msg
(bytes heard on the bus, outcomes included), CPU µs/deliv (sender, nodes and
Redis, per delivered message), deliv/CPU-s, p50/p99 ms (send to the last
acknowledgement). --json adds raw counts, every round, CPU by process and by
kind of work, Redis's own cost (schema: ringroute/report.schema.json, v2).

Exit codes: 0 done, 1 the run failed (a delivery mismatch, or a server lost
mid-run: the report says incomplete), 2 bad arguments, a missing package, a
server that does not answer, or a size this machine cannot open.

Examples:
  ringroute bench
  ringroute bench --nodes 2,4,8,16,32 --group-size 0 --json r.json --svg r.svg
  ringroute bench --redis redis://127.0.0.1 --nodes 2,4,8 --baseline socket.io
  ringroute bench --nats nats://127.0.0.1:4222 --nodes 2,4,8
`;

const FLAGS = new Set([
  'nodes', 'users', 'messages', 'group-size', 'group-share', 'payload', 'transport', 'sockets', 'baseline',
  'redis', 'nats', 'rate', 'rounds', 'seed', 'json', 'svg', 'quiet', 'help', 'version',
]);

/**
 * Parses `argv` (without the node binary and script).
 * @throws UsageError for anything that cannot run.
 */
export function parseCommand(argv: readonly string[]): Command {
  const [command, ...rest] = argv;
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    if (command === 'help' && rest[0] === 'bench') return { kind: 'bench-help' };
    return { kind: 'help' };
  }
  if (command === '-v' || command === '--version' || command === 'version') return { kind: 'version' };
  if (command.startsWith('-')) throw new UsageError(`unknown flag ${JSON.stringify(command)}: flags go after the command, as in "ringroute bench --nodes 2,4"`);
  if (command !== 'bench') throw new UsageError(`unknown command ${JSON.stringify(command)}: the only command is "bench"`);
  const flags = readFlags(rest);
  if (flags.has('help')) return { kind: 'bench-help' };
  if (flags.has('version')) return { kind: 'version' };
  return { kind: 'bench', options: benchOptions(flags) };
}

/** Flag name -> value (`''` for `--quiet`), checking names, repeats and missing values. */
function readFlags(args: readonly string[]): Map<string, string> {
  const flags = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '-h' || arg === '-v') {
      flags.set(arg === '-h' ? 'help' : 'version', '');
      continue;
    }
    if (!arg.startsWith('--')) throw new UsageError(`unexpected argument ${JSON.stringify(arg)}: flags start with "--"`);
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    if (!FLAGS.has(name)) throw new UsageError(`unknown flag --${name}`);
    if (flags.has(name)) throw new UsageError(`--${name} is given more than once`);
    if (name === 'quiet' || name === 'help' || name === 'version') {
      if (eq !== -1) throw new UsageError(`--${name} takes no value`);
      flags.set(name, '');
      continue;
    }
    let value: string | undefined;
    if (eq !== -1) value = arg.slice(eq + 1);
    else {
      value = args[i + 1];
      if (value === undefined || value.startsWith('--')) throw new UsageError(`--${name} needs a value`);
      i++;
    }
    flags.set(name, value);
  }
  return flags;
}

function benchOptions(flags: ReadonlyMap<string, string>): BenchOptions {
  const transportFlag = flags.get('transport');
  if (transportFlag !== undefined && transportFlag !== 'memory' && transportFlag !== 'redis' && transportFlag !== 'nats') {
    throw new UsageError(`--transport must be "memory", "redis" or "nats", got ${JSON.stringify(transportFlag)}`);
  }
  const redisFlag = flags.get('redis');
  const natsFlag = flags.get('nats');
  if (redisFlag !== undefined && natsFlag !== undefined) throw new UsageError('--redis and --nats choose different transports: give one of them');
  if (redisFlag !== undefined && transportFlag !== undefined && transportFlag !== 'redis') throw new UsageError('--redis needs --transport redis');
  if (natsFlag !== undefined && transportFlag !== undefined && transportFlag !== 'nats') throw new UsageError('--nats needs --transport nats');
  const transport: TransportName = transportFlag ?? (redisFlag !== undefined ? 'redis' : natsFlag !== undefined ? 'nats' : DEFAULTS.transport);
  if (transport === 'memory' && flags.has('rate')) throw new UsageError('--rate applies to --transport redis or nats only');
  const sockets = flags.get('sockets') ?? 'memory';
  if (sockets !== 'memory' && sockets !== 'ws') throw new UsageError(`--sockets must be "memory" or "ws", got ${JSON.stringify(sockets)}`);
  const baseline = flags.get('baseline') ?? null;
  if (baseline !== null && baseline !== 'socket.io') throw new UsageError(`--baseline must be "socket.io", got ${JSON.stringify(baseline)}`);
  if (baseline !== null && transport !== 'redis') throw new UsageError('--baseline socket.io runs on Redis beside ringroute: give --transport redis (and --redis URL)');

  const maxNodes = transport === 'redis' ? LIMITS.nodesRedis : transport === 'nats' ? LIMITS.nodesNats : LIMITS.nodesMemory;
  const nodes = nodeList(flags.get('nodes'), maxNodes, transport);
  const users = integer(flags, 'users', DEFAULTS.users, 1, LIMITS.users);
  const messages = integer(flags, 'messages', DEFAULTS.messages[transport], 1, LIMITS.messages);
  const groupSize = integer(flags, 'group-size', DEFAULTS.groupSize, 0, LIMITS.users);
  if (groupSize === 1) throw new UsageError('--group-size must be 0 (one-to-one only) or at least 2');
  if (groupSize > users) throw new UsageError(`--group-size ${groupSize} is larger than --users ${users}`);
  const shareText = flags.get('group-share');
  if (shareText !== undefined && groupSize === 0) throw new UsageError('--group-share needs --group-size > 0');
  const groupShare = shareText === undefined ? DEFAULTS.groupShare : share(shareText);
  const redisUrl = redisFlag ?? DEFAULTS.redisUrl;
  if (!/^rediss?:\/\/\S+$/.test(redisUrl)) throw new UsageError(`--redis must be a redis:// or rediss:// URL, got ${JSON.stringify(redisUrl)}`);
  const natsUrl = natsFlag ?? DEFAULTS.natsUrl;
  if (!/^(nats|tls):\/\/\S+$/.test(natsUrl)) throw new UsageError(`--nats must be a nats:// or tls:// URL, got ${JSON.stringify(natsUrl)}`);

  return {
    nodes,
    users,
    messages,
    groupSize,
    groupShare,
    payloadBytes: integer(flags, 'payload', DEFAULTS.payloadBytes, 0, LIMITS.payloadBytes),
    transport,
    sockets,
    baseline,
    redisUrl,
    natsUrl,
    rate: integer(flags, 'rate', DEFAULTS.rate, 0, LIMITS.rate),
    rounds: integer(flags, 'rounds', DEFAULTS.rounds[transport], 1, LIMITS.rounds),
    seed: integer(flags, 'seed', DEFAULTS.seed, 0, 0xffffffff),
    json: path(flags, 'json'),
    svg: path(flags, 'svg'),
    quiet: flags.has('quiet'),
  };
}

function integer(flags: ReadonlyMap<string, string>, name: string, fallback: number, min: number, max: number): number {
  const text = flags.get(name);
  if (text === undefined) return fallback;
  return parseInteger(text, `--${name}`, min, max);
}

function parseInteger(text: string, what: string, min: number, max: number): number {
  const value = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new UsageError(`${what} must be an integer in [${min}, ${max}], got ${JSON.stringify(text)}`);
  }
  return value;
}

function nodeList(text: string | undefined, max: number, transport: string): number[] {
  if (text === undefined) return [...DEFAULTS.nodes];
  const parts = text.split(',');
  const counts = parts.map((part) => {
    const value = /^\d+$/.test(part.trim()) ? Number(part.trim()) : NaN;
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new UsageError(`--nodes takes comma-separated integers >= 1, such as 2,4,8,16; got ${JSON.stringify(text)}`);
    }
    if (value > max) throw new UsageError(`--nodes ${value} is over the limit of ${max} nodes with --transport ${transport}`);
    return value;
  });
  if (new Set(counts).size !== counts.length) throw new UsageError(`--nodes lists a count twice: ${JSON.stringify(text)}`);
  return counts.sort((a, b) => a - b);
}

function share(text: string): number {
  const value = /^(\d+(\.\d*)?|\.\d+)$/.test(text) ? Number(text) : NaN;
  if (!(value > 0 && value <= 1)) throw new UsageError(`--group-share must be a number in (0, 1], got ${JSON.stringify(text)}`);
  return value;
}

function path(flags: ReadonlyMap<string, string>, name: string): string | null {
  const value = flags.get(name);
  if (value === undefined) return null;
  if (value.trim() === '') throw new UsageError(`--${name} needs a file name`);
  return value;
}
