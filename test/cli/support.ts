import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { BenchOptions } from '../../src/cli/args.js';
import { type BenchReport, runRoutingBench } from '../../src/cli/bench.js';
import { defaultWorkerCommand } from '../../src/harness/worker-pool.js';

/** Small options for tests: a few hundred users and messages, one round. */
export function smallOptions(overrides: Partial<BenchOptions> = {}): BenchOptions {
  return {
    nodes: [1, 2, 3, 5],
    users: 300,
    messages: 400,
    groupSize: 6,
    groupShare: 0.5,
    payloadBytes: 16,
    transport: 'memory',
    sockets: 'memory',
    baseline: null,
    redisUrl: 'redis://127.0.0.1:6379',
    natsUrl: 'nats://127.0.0.1:4222',
    rate: 0,
    rounds: 1,
    seed: 7,
    json: null,
    svg: null,
    quiet: true,
    ...overrides,
  };
}

/** Runs the benchmark in this process (the memory transport needs no worker processes). */
export function runSmall(overrides: Partial<BenchOptions> = {}): Promise<BenchReport> {
  return runRoutingBench(smallOptions(overrides), { worker: defaultWorkerCommand() });
}

/** The schema the package ships as `ringroute/report.schema.json`. */
export const REPORT_SCHEMA = JSON.parse(readFileSync(new URL('../../src/cli/report.schema.json', import.meta.url), 'utf8')) as Record<string, unknown>;

// strict: unknown keywords and ambiguous types in the schema are errors, not silently ignored.
const validateReport = new Ajv2020({ strict: true, allErrors: true, allowUnionTypes: true }).compile(REPORT_SCHEMA);

/** Violations of the report schema, as "path: problem" lines; empty when the report is valid. */
export function reportErrors(report: unknown): string[] {
  if (validateReport(JSON.parse(JSON.stringify(report)))) return [];
  return (validateReport.errors ?? []).map((e) => `${e.instancePath || '/'}: ${e.message ?? e.keyword}${e.keyword === 'additionalProperties' ? ` (${JSON.stringify(e.params)})` : ''}`);
}

/** The soft limit of open files of this process (children inherit it), or null when unlimited or unknown. */
export function openFilesLimit(): number | null {
  try {
    const match = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return match === null || match[1] === 'unlimited' ? null : Number(match[1]);
  } catch {
    return null;
  }
}
