#!/usr/bin/env node
/**
 * The `ringroute` command. `ringroute bench` measures broadcast routing
 * against hash routing as the cluster grows (see `--help`); `ringroute`
 * alone prints the help, `--version` the version. Exit codes: 0 done, 1 the
 * run failed, 2 invalid arguments, a missing package or a setup that cannot run.
 */
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { type BenchOptions, HELP, USAGE, UsageError, parseCommand } from './args.js';
import { runRoutingBench } from './bench.js';
import { createProgress } from './progress.js';
import { formatReport, formatVerdict } from './report.js';
import { renderSvg } from './svg.js';
import { readVersion } from './version.js';
import { runNodeWorker } from '../harness/node-worker.js';
import { SetupError } from '../harness/setup-error.js';
import { isSocketIoUsersProcess, runSocketIoUsers } from '../harness/socketio.js';
import { WORKER_ARG } from '../harness/worker-pool.js';

async function main(argv: readonly string[]): Promise<number> {
  // Usage errors of `ringroute bench ...` point at its flags, others at the commands.
  const hint = argv[0] === 'bench' ? 'Run "ringroute bench --help" for the flags.' : 'Run "ringroute --help" for the commands.';
  let options: BenchOptions;
  try {
    const command = parseCommand(argv);
    if (command.kind === 'help' || command.kind === 'bench-help') {
      process.stdout.write(command.kind === 'help' ? USAGE : HELP);
      return 0;
    }
    if (command.kind === 'version') {
      const version = readVersion();
      if (version === null) return fail(new Error('cannot tell the version: the package.json of ringroute is not beside this build'));
      process.stdout.write(`${version}\n`);
      return 0;
    }
    options = command.options;
    for (const file of [options.json, options.svg]) if (file !== null) checkWritable(file);
  } catch (error) {
    return fail(error, undefined, hint);
  }

  const progress = createProgress(process.stderr, options.quiet);
  let report;
  try {
    // Workers run this same entry: the built dist/cli.js, or main.ts under tsx.
    const worker = { script: resolve(process.argv[1]!), execArgv: process.execArgv };
    report = await runRoutingBench(options, { worker }, (fraction, label) => progress.update(fraction, label));
  } catch (error) {
    progress.done();
    return fail(error, 'ringroute bench failed', hint);
  }
  progress.done();

  process.stdout.write(formatReport(report));
  const args = report.args;
  const saved = { ...report, args: { ...args, redisUrl: redactUrl(args.redisUrl), natsUrl: redactUrl(args.natsUrl) } };
  try {
    if (options.json !== null) writeFileSync(options.json, `${JSON.stringify(saved, null, 2)}\n`);
    if (options.svg !== null) writeFileSync(options.svg, renderSvg(report));
  } catch (error) {
    return fail(error, 'could not write the report');
  }
  if (!report.complete) {
    process.stderr.write(`ringroute bench: the run ended early (${report.incomplete}); the report holds the node counts finished before\n`);
    return 1;
  }
  if (!report.correct) {
    process.stderr.write(`ringroute bench: ${formatVerdict(report)}\n`);
    return 1;
  }
  return 0;
}

/** Prints why and returns the exit code: 2 for usage and setup errors (usage errors with the hint), 1 otherwise. */
function fail(error: unknown, context?: string, hint = ''): number {
  if (error instanceof SetupError) {
    process.stderr.write(`ringroute: ${error.message}\n${error instanceof UsageError && hint !== '' ? `${hint}\n` : ''}`);
    return 2;
  }
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`ringroute: ${context === undefined ? '' : `${context}: `}${message}\n`);
  return 1;
}

/** Fails before a long run, not after it, when an output file cannot be written. */
function checkWritable(file: string): void {
  const dir = dirname(resolve(file));
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`cannot write ${file}: directory ${dir} does not exist`);
  if (existsSync(file) && statSync(file).isDirectory()) throw new UsageError(`cannot write ${file}: it is a directory`);
}

/** The URL without its password, for the saved report. */
function redactUrl(url: string): string {
  return url.replace(/^((?:rediss?|nats|tls):\/\/[^:@/]*:)[^@/]*@/, '$1***@');
}

if (isSocketIoUsersProcess()) {
  runSocketIoUsers();
} else if (process.argv[2] === WORKER_ARG) {
  runNodeWorker();
} else {
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
    // Exit even if a client left a handle open: @nats-io/transport-node 3.4 keeps the socket of a connect()
    // that timed out (a server that accepts but never answers) open until the peer closes it.
    setTimeout(() => process.exit(code), 500).unref();
  });
}
