/**
 * The proxy-gateway example's command line (reached from `npm start -- --gateway ...`).
 *
 *   npm start -- --gateway nginx
 *   npm start -- --gateway haproxy --users 500
 *   npm start -- --gateway nginx --redis redis://127.0.0.1:6379
 *
 * Starts a real nginx or HAProxy (own config, pid and log files in a temp
 * folder, a free 127.0.0.1 port; stopped on exit, on error and on SIGINT)
 * in front of app nodes on memory adapters or on Redis, runs the scenario (3 nodes, a
 * node joins, a node dies), prints the report and a one-line verdict, and
 * exits 0 when it passed, 1 when not, 2 for a bad option.
 *
 * INSECURE LOCAL DEMO: everything listens on 127.0.0.1 and trusts `?user=`.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { redisUrlProblem } from '../cluster/redis-url.js';
import type { ProxyGateway } from './proxy.js';
import { formatReport, passed } from './report.js';
import { runProxyScenario } from './scenario.js';

const HELP = `Usage: npm start -- --gateway nginx|haproxy [options]

  --gateway KIND      nginx or haproxy: the real proxy in front of the nodes
  --users N           simulated users, 10 to 5000 (default 2000)
  --nodes N           app nodes at the start, 2 to 8; one joins, one dies (default 3)
  --rate N            messages per second sent during the run, 0 to 2000 (default 200)
  --redis URL         ring, membership and messages on this Redis (redis:// or
                      rediss://; a password or ACL user rides in the URL,
                      RINGROUTE_REDIS_CA names a CA file): nodes join a
                      membership, a dead node leaves by ttl (default: memory)
  --json FILE         also write the report as JSON
  --progress          show progress even when stderr is not a terminal
  -h, --help          this text

An insecure local demo: the proxy and the nodes listen on 127.0.0.1 only,
and the nodes trust ?user=ID without authentication.
`;

function usage(message: string): never {
  process.stderr.write(`proxy-gateway example: ${message} ("npm start -- --gateway nginx --help" lists the options)\n`);
  process.exit(2);
}

/** Runs the example with `argv` (the arguments after `npm start --`). */
export async function main(argv: readonly string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        gateway: { type: 'string' },
        users: { type: 'string' },
        nodes: { type: 'string' },
        rate: { type: 'string' },
        redis: { type: 'string' },
        json: { type: 'string' },
        progress: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    usage((error instanceof Error ? error.message : String(error)).split('\n')[0]!);
  }
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const gateway = values.gateway;
  if (gateway !== 'nginx' && gateway !== 'haproxy') usage(`--gateway must be nginx or haproxy, got ${JSON.stringify(gateway ?? '')}`);
  const int = (name: string, value: string | undefined, min: number, max: number): number | undefined => {
    if (value === undefined) return undefined;
    const n = /^\d+$/.test(value) ? Number(value) : NaN;
    if (!(n >= min && n <= max)) usage(`--${name} must be an integer in [${min}, ${max}], got ${JSON.stringify(value)}`);
    return n;
  };
  const users = int('users', values.users, 10, 5000);
  const nodes = int('nodes', values.nodes, 2, 8);
  const rate = int('rate', values.rate, 0, 2000);
  const redisProblem = values.redis === undefined ? null : redisUrlProblem(values.redis);
  if (redisProblem !== null) usage(redisProblem);
  const tty = process.stderr.isTTY === true || values.progress === true;
  const started = Date.now();

  const cleanup: { proxy?: ProxyGateway } = {};
  // The proxy is a child process: never leave it behind, whatever ends this one.
  const onExit = (): void => cleanup.proxy?.killNow();
  const onSignal = (signal: NodeJS.Signals): void => {
    process.stderr.write(`proxy-gateway example: ${signal}, stopping ${gateway}\n`);
    void (cleanup.proxy?.stop() ?? Promise.resolve()).finally(() => process.exit(130));
  };
  process.once('exit', onExit);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const report = await runProxyScenario(
      {
        gateway,
        ...(users !== undefined ? { users } : {}),
        ...(nodes !== undefined ? { nodes } : {}),
        ...(rate !== undefined ? { rate } : {}),
        ...(values.redis !== undefined ? { redisUrl: values.redis } : {}),
        ...(tty ? { progress: (line: string) => void process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(1)}s] ${line}\n`) } : {}),
      },
      cleanup,
    );
    process.stdout.write(`${formatReport(report)}\n`);
    if (values.json !== undefined) writeFileSync(values.json, `${JSON.stringify(report, null, 2)}\n`);
    return passed(report) ? 0 : 1;
  } catch (error) {
    process.stderr.write(`proxy-gateway example failed: ${error instanceof Error ? error.message : String(error)}\n`);
    const log = cleanup.proxy?.log().trim().split('\n').slice(-8).join('\n  ');
    if (log) process.stderr.write(`${gateway}'s last log lines:\n  ${log}\n`);
    return 1;
  } finally {
    await cleanup.proxy?.stop();
  }
}
