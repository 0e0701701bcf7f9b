/**
 * `ringroute bench`: the seeded workload sent through the library's parts
 * (src/harness), wrapped with what ran, on what, into the report that
 * `--json` saves (its schema: ringroute/report.schema.json).
 */
import { type BenchRun, type ProgressListener, type RunContext, machine, runBench } from '../harness/run.js';
import type { BenchOptions } from './args.js';
import { generateWorkload } from './workload.js';

/** The version of the JSON report's meaning; a change of meaning gets a new one. */
export const REPORT_VERSION = 2;

/** The whole report, as written by `--json`. */
export interface BenchReport extends BenchRun {
  readonly tool: 'ringroute bench';
  readonly version: typeof REPORT_VERSION;
  readonly date: string;
  readonly machine: ReturnType<typeof machine>;
  readonly args: BenchOptions;
  readonly workload: {
    readonly users: number;
    readonly messages: number;
    readonly directMessages: number;
    readonly groupMessages: number;
    readonly expectedDelivered: number;
    readonly expectedChecksum: string;
  };
}

/** Runs the benchmark. Never throws on a delivery mismatch (`correct: false`) nor for a server lost mid-run (`complete: false`). */
export async function runRoutingBench(options: BenchOptions, context: RunContext, onProgress?: ProgressListener): Promise<BenchReport> {
  const workload = generateWorkload(options);
  const run = await runBench(options, workload, context, onProgress);
  const { users, messages, directMessages, groupMessages, expectedDelivered, expectedChecksum } = workload;
  return {
    tool: 'ringroute bench',
    version: REPORT_VERSION,
    date: new Date().toISOString(),
    machine: machine(),
    args: options,
    workload: { users: users.length, messages: messages.length, directMessages, groupMessages, expectedDelivered, expectedChecksum },
    ...run,
  };
}
