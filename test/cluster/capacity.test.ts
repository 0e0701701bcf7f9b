/**
 * How the cluster example sizes a run from the descriptor limit
 * (examples/cluster/capacity.ts), and the command line refusing, under a
 * low `ulimit -n`, a memory-mode run it could not hold, before starting
 * anything.
 */
import { describe, expect, it } from 'vitest';
import { descriptorLimit, memoryCapacity, planProcesses } from '../../examples/cluster/capacity.js';
import { gatewayOf } from '../../examples/cluster/client.js';
import { runMain } from './run-main.js';

describe('capacity: processes from the descriptor limit', () => {
  it('reads the soft limit from /proc/self/limits, and falls back to 1024', () => {
    const limits = 'Limit                     Soft Limit           Hard Limit           Units\nMax open files            20000                20000                files\n';
    expect(descriptorLimit(() => limits)).toBe(20_000);
    expect(descriptorLimit(() => {
      throw new Error('no /proc');
    })).toBe(1024);
  });

  it('costs 3 descriptors per proxied user and 1 per routed one in memory mode, after a reserve', () => {
    expect(memoryCapacity(20_000, 'proxy')).toBe(6000);
    expect(memoryCapacity(20_000, 'route')).toBe(18_000);
    expect(memoryCapacity(20_000, 'mixed')).toBe(9000);
    expect(planProcesses({ users: 9000, nodes: 3, via: 'mixed', processes: false }, 20_000)).toMatchObject({ gateways: 2, userProcesses: 1 });
    expect(planProcesses({ users: 9001, nodes: 3, via: 'mixed', processes: false }, 20_000)).toMatch(/^--users 9001 does not fit in memory mode: .*at most 9000 users with --via mixed; run on Redis/);
  });

  it('gives a Redis run enough gateway and user processes, and refuses nodes that cannot hold their share', () => {
    const plan = planProcesses({ users: 100_000, nodes: 8, via: 'mixed', processes: true }, 20_000);
    // 50,000 proxied users x 2 descriptors over 0.9 of a gateway's 19,488: 6 gateways; 15,000 users a process: 7.
    expect(plan).toMatchObject({ gateways: 6, userProcesses: 7, usersPerProcess: 14_286, nodeShare: 12_500 });
    expect(planProcesses({ users: 20_000, nodes: 4, via: 'route', processes: true }, 20_000)).toMatchObject({ gateways: 2, userProcesses: 2 });
    expect(planProcesses({ users: 100_000, nodes: 4, via: 'mixed', processes: true }, 20_000)).toMatch(/gives each node 25000 sessions, x 1\.3 headroom > .*use at least --nodes 7$/);
  });

  it('spreads the proxied users evenly over the gateways, also with --via mixed', () => {
    for (const gateways of [2, 3, 6]) {
      const proxied = new Array<number>(gateways).fill(0);
      for (let i = 0; i < 60_000; i += 2) proxied[gatewayOf(i, 'mixed', gateways)]!++; // mixed: even users go through the proxy
      expect(Math.max(...proxied) - Math.min(...proxied), `${gateways} gateways`).toBeLessThanOrEqual(1);
    }
  });
});

describe('npm start -- under a low descriptor limit', () => {
  it('refuses more users than memory mode holds with one line naming the limit and --redis, before starting anything', async () => {
    // ulimit -n 4096: (4096 - 2000 reserved) / 2 descriptors per mixed user = 1048 users.
    const result = await runMain(['--users', '1200'], 30_000, undefined, 4096);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^cluster example: [^\n]+ \("npm start -- --help" lists the options\)\n$/);
    expect(result.stderr).toMatch(/--users 1200 does not fit in memory mode: .*limited to 4096 descriptors \(ulimit -n\), which holds at most 1048 users with --via mixed; run on Redis or NATS \(--redis URL or --nats URL/);
  });
});
