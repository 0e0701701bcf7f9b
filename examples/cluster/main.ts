/**
 * The cluster example's command line.
 *
 *   npm start                                    # memory adapters, one process
 *   npm start -- --redis redis://127.0.0.1:6379  # one process per node and gateway
 *   npm start -- --redis redis://127.0.0.1:7000,redis://127.0.0.1:7001,redis://127.0.0.1:7002  # a Redis Cluster
 *   npm start -- --nats nats://127.0.0.1:4222    # NATS with JetStream, one process per part
 *   npm start -- --redis redis://127.0.0.1:6379 --outage-ms 14000
 *   npm start -- --users 500 --json report.json
 *   npm start -- serve [--redis URL | --nats URL] [--nodes N] [--port P] [--admin-port Q] [--secret S]
 *
 * Prints the report as tables and a one-line verdict (progress goes to
 * stderr, on a terminal only) and exits with 1 when a message was lost, 2
 * (after one line on stderr) for an unknown or bad option.
 */
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { MIN_SECRET_LENGTH } from './auth.js';
import { planProcesses } from './capacity.js';
import { formatReport, passed } from './report.js';
import { clientPauseOutage } from './redis-outage.js';
import { natsUrlProblem } from './nats-engine.js';
import { redisClusterTarget } from './redis-url.js';
import { serve } from './serve.js';
import { type ScenarioOptions, runScenario } from './scenario.js';

// `--gateway nginx|haproxy`: a real proxy as the gateway, with its own options (examples/proxy-gateway).
if (process.argv.includes('--gateway') || process.argv.some((a) => a.startsWith('--gateway='))) {
  const { main } = await import('../proxy-gateway/main.js');
  process.exit(await main(process.argv.slice(2)));
}

const HELP = `Usage: npm start -- [options]          the scripted scenario, with its report
       npm start -- serve [options]    a long-running cluster, until Ctrl-C
       npm start -- --gateway nginx|haproxy [options]
                                       nginx or HAProxy as the gateway
                                       (its options: --gateway nginx --help)

  --secret S          HS256 secret of the user tokens, at least 32
                      characters (or RINGROUTE_SECRET; default: random,
                      printed by serve)

  --redis URL         run on Redis, one OS process per gateway and app node
                      (and as many gateways as the users' descriptors need);
                      URL,URL,...: the nodes of a Redis Cluster (sharded
                      pub/sub, SPUBLISH)
  --nats URL          run on NATS with JetStream (nats-server 2.9+), one OS
                      process per part as with --redis; URL,URL,...: the
                      servers of one NATS cluster
  --outage-ms N       with --redis and one URL: pause Redis for N ms (CLIENT
                      PAUSE ALL) with hash traffic running, and report what
                      the senders were told about the messages sent meanwhile
  --json FILE         also write the report as JSON
  --users N           simulated users (default 2000), in processes of their
                      own; in memory mode at most what one process's
                      descriptor limit holds (ulimit -n)
  --nodes N           app nodes at the start; one more joins (default 3)
  --connect-rate N    users started per second (default 1000); the nodes
                      close moved sessions at N / nodes each, or slower:
                      at most 80% of the rate the users really connected
  --rate N            one-to-one messages per second (default 250)
  --group-rate N      group messages per second (default 25)
  --group-size N      members per group (default 8)
  --steady-ms N       length of each mode's steady window (default 2000)
  --grace-ms N        how long a message waits for a moving user
                      (default 10000)
  --ttl-ms N          membership ttl: how soon a dead node expires
                      (default 2000; users / 10 past 20,000 users, at
                      most 10000, as a loaded machine's heartbeats lag)
  --via MODE          proxy | route | mixed: how users connect (default mixed)
  --port P            serve: the gateway's public port (default 8080)
  --admin-port Q      serve: the gateway's admin port (default 8081);
                      RINGROUTE_ADMIN_TOKEN sets its token (default random)
  --progress          show progress even when stderr is not a terminal
  --verbose           print the parts' diagnostics
  -h, --help          this text
`;

/** Prints one line and exits 2: the answer to any option that cannot run. */
function usage(message: string): never {
  process.stderr.write(`cluster example: ${message} ("npm start -- --help" lists the options)\n`);
  process.exit(2);
}

function readArgs() {
  try {
    return parseArgs({
      allowPositionals: true,
      options: {
        secret: { type: 'string' },
        port: { type: 'string' },
        'admin-port': { type: 'string' },
        redis: { type: 'string' },
        nats: { type: 'string' },
        'outage-ms': { type: 'string' },
        json: { type: 'string' },
        users: { type: 'string' },
        nodes: { type: 'string' },
        'connect-rate': { type: 'string' },
        rate: { type: 'string' },
        'group-rate': { type: 'string' },
        'group-size': { type: 'string' },
        'steady-ms': { type: 'string' },
        'grace-ms': { type: 'string' },
        'ttl-ms': { type: 'string' },
        via: { type: 'string' },
        progress: { type: 'boolean' },
        verbose: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    // node:util's messages are long and name internals; say what is wrong in one line.
    const code = (error as { code?: string }).code;
    const message = error instanceof Error ? error.message : String(error);
    const option = /'(-[^']*)'/.exec(message)?.[1] ?? '';
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') usage(`unknown option ${option}`);
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') usage(`option ${option.split(/[ ,]/)[0]} ${/argument missing/.test(message) ? 'needs a value' : 'takes no value'}`);
    if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') usage(`unexpected argument ${/'([^']*)'/.exec(message)?.[1] ?? ''}: options start with "--"`);
    usage(message.split('\n')[0]!);
  }
}

const { values, positionals } = readArgs();
if (positionals.length > 1 || (positionals.length === 1 && positionals[0] !== 'serve')) usage(`unexpected argument ${positionals.at(-1)}: the only command is "serve"`);
const serving = positionals[0] === 'serve';

if (values.help) {
  process.stdout.write(HELP);
  process.exit(0);
}

/** At most this many: bounds that keep a run on one machine sane. */
const MAX = { users: 100_000, nodes: 32, rate: 100_000, groupSize: 1000, ms: 600_000 } as const;

function int(name: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) usage(`--${name} must be an integer in [${min}, ${max}], got ${JSON.stringify(value)}`);
  return n;
}

const via = values.via;
if (via !== undefined && via !== 'proxy' && via !== 'route' && via !== 'mixed') usage(`--via must be proxy, route or mixed, got ${JSON.stringify(via)}`);
if (values.redis !== undefined && values.nats !== undefined) usage('--redis and --nats exclude each other: the cluster runs on one of them');
const redisTarget = values.redis === undefined ? null : redisClusterTarget(values.redis);
if (typeof redisTarget === 'string') usage(redisTarget);
const natsProblem = values.nats === undefined ? null : natsUrlProblem(values.nats);
if (natsProblem !== null) usage(natsProblem);
if (values.json !== undefined) {
  // Fail before a run of several seconds, not after it.
  const dir = dirname(resolve(values.json));
  if (values.json.trim() === '') usage('--json needs a file name');
  if (!existsSync(dir) || !statSync(dir).isDirectory()) usage(`cannot write ${values.json}: directory ${dir} does not exist`);
}

const secret = values.secret ?? process.env.RINGROUTE_SECRET;
if (secret !== undefined && secret.length < MIN_SECRET_LENGTH) usage(`--secret (or RINGROUTE_SECRET) must be at least ${MIN_SECRET_LENGTH} characters`);
const adminToken = process.env.RINGROUTE_ADMIN_TOKEN;
if (adminToken !== undefined && adminToken.length < 16) usage('RINGROUTE_ADMIN_TOKEN must be at least 16 characters');

if (serving) {
  const scenarioOnly = ['json', 'outage-ms', 'users', 'connect-rate', 'rate', 'group-rate', 'group-size', 'steady-ms', 'grace-ms', 'ttl-ms', 'via'] as const;
  const extra = scenarioOnly.find((name) => values[name] !== undefined);
  if (extra !== undefined) usage(`--${extra} is an option of the scenario, not of serve`);
  try {
    await serve({
      ...(values.redis !== undefined ? { redisUrl: values.redis } : {}),
      ...(values.nats !== undefined ? { natsUrl: values.nats } : {}),
      ...(values.nodes !== undefined ? { nodes: int('nodes', values.nodes, 1, MAX.nodes)! } : {}),
      ...(values.port !== undefined ? { port: int('port', values.port, 0, 65535)! } : {}),
      ...(values['admin-port'] !== undefined ? { adminPort: int('admin-port', values['admin-port'], 0, 65535)! } : {}),
      ...(secret !== undefined ? { secret } : {}),
      ...(adminToken !== undefined ? { adminToken } : {}),
      out: (line) => void process.stdout.write(`${line}\n`),
      ...(values.verbose ? { log: (line: string) => void process.stderr.write(`${line}\n`) } : {}),
    });
    process.exit(0);
  } catch (error) {
    process.stderr.write(`cluster example failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
}
if (values.port !== undefined || values['admin-port'] !== undefined) usage('--port and --admin-port are options of serve');

const tty = process.stderr.isTTY === true || values.progress === true;
const started = Date.now();
const numbers = {
  users: int('users', values.users, 2, MAX.users),
  nodes: int('nodes', values.nodes, 2, MAX.nodes),
  connectRate: int('connect-rate', values['connect-rate'], 1, MAX.rate),
  oneToOneRate: int('rate', values.rate, 0, MAX.rate),
  groupRate: int('group-rate', values['group-rate'], 0, MAX.rate),
  groupSize: int('group-size', values['group-size'], 2, MAX.groupSize),
  steadyMs: int('steady-ms', values['steady-ms'], 100, MAX.ms),
  graceMs: int('grace-ms', values['grace-ms'], 1000, MAX.ms),
  ttlMs: int('ttl-ms', values['ttl-ms'], 100, MAX.ms),
};
const outageMs = int('outage-ms', values['outage-ms'], 1000, 60_000);
if (outageMs !== undefined && values.nats !== undefined) usage('--outage-ms works with --redis only: it pauses Redis with CLIENT PAUSE, which NATS has no counterpart of');
if (outageMs !== undefined && values.redis === undefined) usage('--outage-ms needs --redis: it pauses the Redis the cluster runs on');
if (outageMs !== undefined && redisTarget !== null) usage('--outage-ms needs --redis with one URL: it pauses that Redis with CLIENT PAUSE, not the masters of a Redis Cluster');
// Before anything starts: a run this machine's descriptor limit cannot hold is refused in one line.
const plan = planProcesses({ users: numbers.users ?? 2000, nodes: numbers.nodes ?? 3, via: via ?? 'mixed', processes: values.redis !== undefined || values.nats !== undefined });
if (typeof plan === 'string') usage(plan);
const options: ScenarioOptions = {
  // Only the options given: the scenario has the defaults.
  ...(Object.fromEntries(Object.entries(numbers).filter(([, v]) => v !== undefined)) as Partial<Record<keyof typeof numbers, number>>),
  ...(values.redis !== undefined ? { redisUrl: values.redis } : {}),
  ...(values.nats !== undefined ? { natsUrl: values.nats } : {}),
  ...(outageMs !== undefined && values.redis !== undefined ? { outage: clientPauseOutage(values.redis, outageMs) } : {}),
  ...(secret !== undefined ? { secret } : {}),
  ...(via !== undefined ? { via } : {}),
  ...(tty ? { progress: (line: string) => void process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(1)}s] ${line}\n`) } : {}),
  ...(values.verbose ? { log: (line: string) => void process.stderr.write(`${line}\n`) } : {}),
};

try {
  const report = await runScenario(options);
  process.stdout.write(`${formatReport(report)}\n`);
  if (values.json) {
    writeFileSync(values.json, `${JSON.stringify(report, null, 2)}\n`);
    process.stdout.write(`\nJSON report written to ${values.json}\n`);
  }
  process.exitCode = passed(report) ? 0 : 1;
} catch (error) {
  // The stack is for --verbose; a user sees what failed.
  const detail = error instanceof Error ? (values.verbose ? (error.stack ?? error.message) : error.message) : String(error);
  process.stderr.write(`cluster example failed: ${detail}\n`);
  process.exitCode = 1;
}
// Everything is closed by now and the process ends by itself. Should a handle
// ever leak (a bug), say so and end rather than hang a CI job for ever.
setTimeout(() => {
  process.stderr.write('cluster example: still running 10 s after the run ended (a handle was left open): exiting\n');
  process.exit(process.exitCode ?? 1);
}, 10_000).unref();
