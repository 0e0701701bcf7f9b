/**
 * `npm run chaos -- --seed S --minutes M`: the example cluster under a
 * seeded schedule of faults (docs/chaos.md). Prints the schedule, a table
 * per fault kind and a verdict; exits 0 when every check held, 1 when one
 * broke, 2 for a bad option or a machine that cannot run it.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { redisUrlProblem } from '../cluster/redis-url.js';
import { credentialsFromEnv, definedCredentials } from '../cluster/sentinel-credentials.js';
import { networkProblem } from './network.js';
import { formatReport, failures } from './report.js';
import { runChaos } from './run.js';
import { FAULT_KINDS, type FaultKind } from './schedule.js';
import { type SentinelSetOptions, parseSentinelList, sentinelSetProblem } from './external-sentinel.js';
import { storeProblem } from './store.js';
import { redisProblem } from './external-store.js';

const HELP = `Usage: npm run chaos -- [options]

  --seed S          the schedule's seed (default: random, printed)
  --minutes M       length of the fault phase, 0.25 to 60 (default 1)
  --users N         simulated users, 10 to 2000 (default 200)
  --nodes N         app nodes, 3 to 12 (default 6)
  --gateways N      gateways, 2 to 8 (default 4)
  --rate N          one-to-one messages per second (default 40)
  --redis URL       run on this Redis instead of the run's own primary,
                    replica and Sentinels: no fail-overs then, pauses by
                    CLIENT PAUSE; the run's keys are deleted at the end
  --sentinel H:P,H:P
                    run on the Sentinel set you run (these Sentinels)
                    instead of the run's own: pauses by CLIENT PAUSE on the
                    primary, fail-overs by SENTINEL FAILOVER; the run's keys
                    are deleted at the end
  --sentinel-name NAME
                    the primary's name in the Sentinels (default mymaster)
  --sentinel-username U
                    the Sentinels' ACL user (or RINGROUTE_SENTINEL_USERNAME;
                    default: the default user)
  --sentinel-password P
                    the Sentinels' password (or RINGROUTE_SENTINEL_PASSWORD)
  --redis-username U
                    the Redis servers' ACL user, with --sentinel (or
                    RINGROUTE_REDIS_USERNAME; default: the default user)
  --redis-password P
                    the Redis servers' password, with --sentinel (or
                    RINGROUTE_REDIS_PASSWORD)
  --kinds K,K       only these fault kinds (${FAULT_KINDS.join(', ')})
  --min-per-kind N  the verdict also wants at least N faults of each kind
  --json FILE       also write the report as JSON
  --trace DIR       write every transport message of every part to DIR
                    (DIR/<part>.trace), to follow a flagged message's hops
  --verbose         print the parts' diagnostics
  -h, --help        this text

Runs as root on Linux: each gateway and app node is a host of its own
(ip netns), partitions drop packets with tc; Redis is the run's own
primary, replica and three Sentinels (redis-server, redis-sentinel),
unless --redis or --sentinel names one you run.
`;

function usage(message: string): never {
  process.stderr.write(`chaos: ${message} ("npm run chaos -- --help" lists the options)\n`);
  process.exit(2);
}

let values: ReturnType<typeof parse>['values'];
function parse() {
  return parseArgs({
    options: {
      seed: { type: 'string' }, minutes: { type: 'string' }, users: { type: 'string' }, nodes: { type: 'string' }, gateways: { type: 'string' },
      rate: { type: 'string' }, redis: { type: 'string' }, sentinel: { type: 'string' }, 'sentinel-name': { type: 'string' },
      'sentinel-username': { type: 'string' }, 'sentinel-password': { type: 'string' }, 'redis-username': { type: 'string' }, 'redis-password': { type: 'string' }, kinds: { type: 'string' }, 'min-per-kind': { type: 'string' }, json: { type: 'string' }, trace: { type: 'string' },
      verbose: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    },
  });
}
try {
  values = parse().values;
} catch (error) {
  usage((error as Error).message.split('\n')[0]!);
}
if (values.help) {
  process.stdout.write(HELP);
  process.exit(0);
}

function number(name: string, value: string | undefined, min: number, max: number, fallback: number, integer = true): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    usage(`--${name} must be ${integer ? 'an integer' : 'a number'} in [${min}, ${max}], got ${JSON.stringify(value)}`);
  }
  return n;
}

const seed = number('seed', values.seed, 0, 2 ** 32 - 1, Math.floor(Math.random() * 2 ** 31));
const minutes = number('minutes', values.minutes, 0.25, 60, 1, false);
const kinds = values.kinds?.split(',').map((k) => k.trim());
const unknownKind = kinds?.find((k) => !FAULT_KINDS.includes(k as FaultKind));
if (unknownKind !== undefined) usage(`unknown fault kind ${JSON.stringify(unknownKind)}: the kinds are ${FAULT_KINDS.join(', ')}`);
if (values.redis !== undefined && values.sentinel !== undefined) usage('--redis and --sentinel exclude each other: give one store');
for (const option of ['sentinel-name', 'sentinel-username', 'sentinel-password', 'redis-username', 'redis-password'] as const) {
  const inUrl = option === 'redis-password' ? 'the password rides' : option === 'redis-username' ? 'the user rides' : null;
  if (values[option] !== undefined && values.sentinel === undefined) usage(`--${option} goes with --sentinel${inUrl !== null && values.redis !== undefined ? ` (with --redis, ${inUrl} in the URL)` : ''}`);
}
let sentinel: SentinelSetOptions | undefined;
if (values.sentinel !== undefined) {
  const sentinels = parseSentinelList(values.sentinel);
  if (typeof sentinels === 'string') usage(sentinels);
  const name = values['sentinel-name'] ?? 'mymaster';
  if (!/^\S+$/.test(name)) usage(`--sentinel-name must be a name without spaces, got ${JSON.stringify(name)}`);
  // The environment keeps a password off the command line (which every local user can read in ps).
  const fromEnv = credentialsFromEnv(process.env);
  const credentials = definedCredentials({
    sentinelUsername: values['sentinel-username'] ?? fromEnv.sentinelUsername,
    sentinelPassword: values['sentinel-password'] ?? fromEnv.sentinelPassword,
    redisUsername: values['redis-username'] ?? fromEnv.username,
    redisPassword: values['redis-password'] ?? fromEnv.password,
  });
  sentinel = { sentinels, name, ...credentials };
}
const options = {
  seed, durationMs: Math.round(minutes * 60_000),
  users: number('users', values.users, 10, 2000, 200), nodes: number('nodes', values.nodes, 3, 12, 6), gateways: number('gateways', values.gateways, 2, 8, 4),
  oneToOneRate: number('rate', values.rate, 0, 1000, 40), ...(kinds !== undefined ? { kinds: kinds as FaultKind[] } : {}),
  ...(values.trace !== undefined ? { traceDir: resolve(values.trace) } : {}),
  ...(values.redis !== undefined ? { redisUrl: values.redis } : {}),
  ...(sentinel !== undefined ? { sentinel } : {}),
};
if (values.trace !== undefined && !existsSync(values.trace)) mkdirSync(values.trace, { recursive: true });
const minPerKind = number('min-per-kind', values['min-per-kind'], 0, 10_000, 0);
if (values.redis !== undefined && redisUrlProblem(values.redis) !== null) usage(redisUrlProblem(values.redis)!);
// A store that cannot serve the run is refused in one line before anything starts, the same way for both options.
const givenStoreProblem =
  sentinel !== undefined ? await sentinelSetProblem(sentinel) : values.redis !== undefined ? await redisProblem(values.redis) : null;
if (givenStoreProblem !== null) {
  process.stderr.write(`chaos: ${sentinel !== undefined ? '--sentinel' : '--redis'}: ${givenStoreProblem}\n`);
  process.exit(2);
}
const problem = networkProblem() ?? (values.redis === undefined && sentinel === undefined ? storeProblem() : null);
if (problem !== null) {
  process.stderr.write(`chaos: cannot run here: ${problem}\n`);
  process.exit(2);
}

const started = Date.now();
process.stderr.write(`chaos: seed ${seed}, ${minutes} minutes of faults\n`);
try {
  const report = await runChaos({
    ...options,
    progress: (line) => void process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(0)}s] ${line}\n`),
    ...(values.verbose ? { log: (line: string) => void process.stderr.write(`${line}\n`) } : {}),
  });
  process.stdout.write(`${formatReport(report, minPerKind)}\n`);
  if (values.json !== undefined) writeFileSync(values.json, `${JSON.stringify(report, null, 2)}\n`);
  process.exitCode = failures(report, minPerKind).length === 0 ? 0 : 1;
} catch (error) {
  process.stderr.write(`chaos run failed: ${error instanceof Error ? (values.verbose ? error.stack : error.message) : String(error)}\n`);
  process.exitCode = 1;
}
setTimeout(() => {
  process.stderr.write('chaos: still running 10 s after the run ended (a handle was left open): exiting\n');
  process.exit(process.exitCode ?? 1);
}, 10_000).unref();
