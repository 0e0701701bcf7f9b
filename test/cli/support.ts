import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { BenchOptions } from '../../src/cli/args.js';

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

/** The schema the package ships as `ringroute/report.schema.json`. */
export const REPORT_SCHEMA = JSON.parse(readFileSync(new URL('../../src/cli/report.schema.json', import.meta.url), 'utf8')) as Record<string, unknown>;

// strict: unknown keywords and ambiguous types in the schema are errors, not silently ignored.
const validateReport = new Ajv2020({ strict: true, allErrors: true, allowUnionTypes: true }).compile(REPORT_SCHEMA);

/** Violations of the report schema, as "path: problem" lines; empty when the report is valid. */
export function reportErrors(report: unknown): string[] {
  if (validateReport(JSON.parse(JSON.stringify(report)))) return [];
  return (validateReport.errors ?? []).map((e) => `${e.instancePath || '/'}: ${e.message ?? e.keyword}${e.keyword === 'additionalProperties' ? ` (${JSON.stringify(e.params)})` : ''}`);
}
