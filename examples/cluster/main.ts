/**
 * The cluster example's command line.
 *
 *   npm start                                    # memory adapters, one process
 *   npm start -- --redis redis://127.0.0.1:6379  # one process per node and gateway
 *   npm start -- --users 500 --json report.json
 *
 * Prints the report as a table (progress goes to stderr, on a terminal
 * only) and exits with 1 when a message was lost.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { formatReport } from './report.js';
import { type ScenarioOptions, runScenario } from './scenario.js';

const HELP = `Usage: npm start -- [options]

  --redis URL         run on Redis, one OS process per gateway and app node
  --json FILE         also write the report as JSON
  --users N           simulated users (default 2000)
  --nodes N           app nodes at the start; one more joins (default 3)
  --rate N            one-to-one messages per second (default 250)
  --group-rate N      group messages per second (default 25)
  --group-size N      members per group (default 8)
  --steady-ms N       length of each mode's steady window (default 2000)
  --grace-ms N        how long a message waits for a moving user (default 10000)
  --ttl-ms N          membership ttl: how soon a dead node expires (default 2000)
  --via MODE          proxy | route | mixed: how users connect (default mixed)
  --progress          show progress even when stderr is not a terminal
  --verbose           print the parts' diagnostics
  -h, --help          this text
`;

const { values } = parseArgs({
  options: {
    redis: { type: 'string' },
    json: { type: 'string' },
    users: { type: 'string' },
    nodes: { type: 'string' },
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

if (values.help) {
  process.stdout.write(HELP);
  process.exit(0);
}

function int(name: string, value: string | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) {
    process.stderr.write(`--${name} must be an integer >= ${min}, got ${value}\n`);
    process.exit(2);
  }
  return n;
}

const via = values.via;
if (via !== undefined && via !== 'proxy' && via !== 'route' && via !== 'mixed') {
  process.stderr.write(`--via must be proxy, route or mixed, got ${via}\n`);
  process.exit(2);
}

const tty = process.stderr.isTTY === true || values.progress === true;
const started = Date.now();
const numbers = {
  users: int('users', values.users, 2),
  nodes: int('nodes', values.nodes, 2),
  oneToOneRate: int('rate', values.rate, 0),
  groupRate: int('group-rate', values['group-rate'], 0),
  groupSize: int('group-size', values['group-size'], 2),
  steadyMs: int('steady-ms', values['steady-ms'], 100),
  graceMs: int('grace-ms', values['grace-ms'], 1000),
  ttlMs: int('ttl-ms', values['ttl-ms'], 100),
};
const options: ScenarioOptions = {
  // Only the options given: the scenario has the defaults.
  ...(Object.fromEntries(Object.entries(numbers).filter(([, v]) => v !== undefined)) as Partial<Record<keyof typeof numbers, number>>),
  ...(values.redis !== undefined ? { redisUrl: values.redis } : {}),
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
  const t = report.totals;
  process.exitCode = t.lost === 0 && t.sent === t.delivered + t.failed ? 0 : 1;
} catch (error) {
  process.stderr.write(`cluster example failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
}
