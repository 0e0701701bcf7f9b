import { readFileSync } from 'node:fs';
import type { BenchOptions } from '../../src/cli/args.js';
import { validate } from './json-schema.js';

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
    rate: 0,
    rounds: 1,
    seed: 7,
    json: null,
    svg: null,
    quiet: true,
    ...overrides,
  };
}

const schema = JSON.parse(readFileSync(new URL('./report.schema.json', import.meta.url), 'utf8')) as Record<string, unknown>;

/** Violations of the report schema; empty when the report is valid. */
export function reportErrors(report: unknown): string[] {
  return validate(schema, JSON.parse(JSON.stringify(report)));
}
