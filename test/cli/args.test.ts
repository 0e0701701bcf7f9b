import { describe, expect, it } from 'vitest';
import { DEFAULTS, HELP, LIMITS, USAGE, UsageError, parseCommand, type BenchOptions } from '../../src/cli/args.js';

function bench(...args: string[]): BenchOptions {
  const command = parseCommand(['bench', ...args]);
  if (command.kind !== 'bench') throw new Error('expected a bench command');
  return command.options;
}

function usageError(args: string[]): string {
  try {
    parseCommand(args);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error(`${args.join(' ')} was accepted`);
}

describe('parseCommand', () => {
  it('fills in the documented defaults', () => {
    expect(bench()).toEqual({
      nodes: [2, 4, 8, 16],
      users: DEFAULTS.users,
      messages: DEFAULTS.messages.memory,
      groupSize: DEFAULTS.groupSize,
      groupShare: DEFAULTS.groupShare,
      payloadBytes: DEFAULTS.payloadBytes,
      transport: 'memory',
      sockets: 'memory',
      baseline: null,
      redisUrl: DEFAULTS.redisUrl,
      natsUrl: DEFAULTS.natsUrl,
      rate: DEFAULTS.rate,
      rounds: DEFAULTS.rounds.memory,
      seed: DEFAULTS.seed,
      json: null,
      svg: null,
      quiet: false,
    });
  });

  it('reads every flag, in both --flag value and --flag=value forms', () => {
    const options = bench(
      '--nodes', '8,2,4', '--users=500', '--messages', '900', '--group-size', '0', '--payload=10',
      '--transport', 'redis', '--redis', 'redis://127.0.0.1:7000', '--rate', '0', '--rounds', '2',
      '--seed', '4294967295', '--json', 'out.json', '--svg=out.svg', '--quiet', '--sockets', 'ws', '--baseline=socket.io',
    );
    expect(options).toMatchObject({
      nodes: [2, 4, 8], users: 500, messages: 900, groupSize: 0, payloadBytes: 10, transport: 'redis', sockets: 'ws', baseline: 'socket.io',
      redisUrl: 'redis://127.0.0.1:7000', rate: 0, rounds: 2, seed: 4294967295, json: 'out.json', svg: 'out.svg', quiet: true,
    });
  });

  it('takes transport-dependent defaults from the transport, and --redis implies redis', () => {
    const options = bench('--redis', 'redis://localhost:6380');
    expect(options.transport).toBe('redis');
    expect(options.messages).toBe(DEFAULTS.messages.redis);
    expect(options.rounds).toBe(DEFAULTS.rounds.redis);
  });

  it('reads --transport nats and --nats, and --nats implies nats as --redis implies redis', () => {
    const explicit = bench('--transport', 'nats', '--nats', 'nats://127.0.0.1:4333', '--nodes', '2,4', '--rate', '0');
    expect(explicit).toMatchObject({ transport: 'nats', natsUrl: 'nats://127.0.0.1:4333', nodes: [2, 4], rate: 0 });
    expect(bench('--transport', 'nats').natsUrl).toBe('nats://127.0.0.1:4222');
    const implied = bench('--nats=tls://nats.example:4222');
    expect(implied).toMatchObject({ transport: 'nats', natsUrl: 'tls://nats.example:4222', messages: DEFAULTS.messages.nats, rounds: DEFAULTS.rounds.nats });
    expect(bench('--nats', 'nats://h:1', '--nodes', String(LIMITS.nodesNats)).nodes).toEqual([LIMITS.nodesNats]);
    // Either server flag alone keeps the other's default, which the report still records.
    expect(bench('--redis', 'redis://h:1').natsUrl).toBe(DEFAULTS.natsUrl);
  });

  it('reads --sockets and --baseline, the baseline beside the redis transport only', () => {
    expect(bench('--sockets', 'ws').sockets).toBe('ws');
    expect(bench('--sockets=memory').sockets).toBe('memory');
    expect(bench('--nats', 'nats://h:1', '--sockets', 'ws')).toMatchObject({ transport: 'nats', sockets: 'ws' });
    expect(bench('--redis', 'redis://h:1', '--baseline', 'socket.io')).toMatchObject({ transport: 'redis', baseline: 'socket.io', redisUrl: 'redis://h:1' });
    expect(bench('--transport', 'redis', '--baseline=socket.io', '--sockets', 'ws')).toMatchObject({ transport: 'redis', baseline: 'socket.io', sockets: 'ws' });
  });

  it('asks for the help with no command, --help, -h and the help command', () => {
    expect(parseCommand([])).toEqual({ kind: 'help' });
    expect(parseCommand(['--help'])).toEqual({ kind: 'help' });
    expect(parseCommand(['-h'])).toEqual({ kind: 'help' });
    expect(parseCommand(['help'])).toEqual({ kind: 'help' });
    expect(parseCommand(['help', 'bench'])).toEqual({ kind: 'bench-help' });
    expect(parseCommand(['bench', '--nodes', '2', '-h'])).toEqual({ kind: 'bench-help' });
    expect(parseCommand(['bench', '--help'])).toEqual({ kind: 'bench-help' });
  });

  it('asks for the version with --version, -v and the version command, also after bench', () => {
    for (const args of [['--version'], ['-v'], ['version'], ['bench', '--version'], ['bench', '-v']]) expect(parseCommand(args)).toEqual({ kind: 'version' });
  });

  it.each([
    [['--bogus'], /unknown flag "--bogus": flags go after the command/],
    [['bench', '--version=2'], /--version takes no value/],
    [['serve'], /unknown command "serve"/],
    [['bench', '--nodes'], /--nodes needs a value/],
    [['bench', '--nodes', '--users', '3'], /--nodes needs a value/],
    [['bench', '--nodes', '2,x'], /--nodes takes comma-separated integers/],
    [['bench', '--nodes', '0'], /--nodes takes comma-separated integers >= 1/],
    [['bench', '--nodes', '2,2'], /lists a count twice/],
    [['bench', '--nodes', '65', '--transport', 'redis'], /over the limit of 64/],
    [['bench', '--users', '-3'], /--users must be an integer/],
    [['bench', '--users', '1.5'], /--users must be an integer/],
    [['bench', '--messages', '0'], /--messages must be an integer in \[1,/],
    [['bench', '--group-size', '1'], /0 \(one-to-one only\) or at least 2/],
    [['bench', '--users', '5', '--group-size', '6'], /larger than --users 5/],
    [['bench', '--group-size', '0', '--group-share', '0.5'], /--group-share needs --group-size > 0/],
    [['bench', '--group-share', '0'], /--group-share must be a number in \(0, 1\]/],
    [['bench', '--group-share', '1.5'], /--group-share must be a number in \(0, 1\]/],
    [['bench', '--transport', 'tcp'], /--transport must be "memory", "redis" or "nats"/],
    [['bench', '--transport', 'memory', '--redis', 'redis://x'], /--redis needs --transport redis/],
    [['bench', '--transport', 'nats', '--redis', 'redis://x'], /--redis needs --transport redis/],
    [['bench', '--transport', 'memory', '--nats', 'nats://x:4222'], /--nats needs --transport nats/],
    [['bench', '--transport', 'redis', '--nats', 'nats://x:4222'], /--nats needs --transport nats/],
    [['bench', '--redis', 'redis://x', '--nats', 'nats://x:4222'], /--redis and --nats choose different transports/],
    [['bench', '--nats', 'redis://x'], /--nats must be a nats:\/\/ or tls:\/\/ URL/],
    [['bench', '--nats'], /--nats needs a value/],
    [['bench', '--nodes', '65', '--transport', 'nats'], /over the limit of 64 nodes with --transport nats/],
    [['bench', '--redis', 'http://x'], /--redis must be a redis:\/\/ or rediss:\/\/ URL/],
    [['bench', '--rate', '100'], /--rate applies to --transport redis or nats only/],
    [['bench', '--seed', '4294967296'], /--seed must be an integer in \[0, 4294967295\]/],
    [['bench', '--rounds', '0'], /--rounds must be an integer/],
    [['bench', '--json', ''], /--json needs a file name/],
    [['bench', '--quiet=yes'], /--quiet takes no value/],
    [['bench', '--users', '3', '--users', '4'], /--users is given more than once/],
    [['bench', '--colour'], /unknown flag --colour/],
    [['bench', 'extra'], /unexpected argument "extra"/],
    [['bench', '--sockets', 'tcp'], /^--sockets must be "memory" or "ws", got "tcp"$/],
    [['bench', '--sockets'], /--sockets needs a value/],
    [['bench', '--baseline', 'ws'], /^--baseline must be "socket\.io", got "ws"$/],
    [['bench', '--baseline', 'socket.io'], /^--baseline socket\.io runs on Redis beside ringroute: give --transport redis/],
    [['bench', '--nats', 'nats://x:4222', '--baseline', 'socket.io'], /^--baseline socket\.io runs on Redis/],
    [['bench', '--transport', 'memory', '--baseline', 'socket.io'], /^--baseline socket\.io runs on Redis/],
  ])('rejects %j', (args, message) => {
    expect(usageError(args)).toMatch(message);
  });

  it('documents every flag in the help', () => {
    for (const flag of ['--nodes', '--users', '--messages', '--group-size', '--group-share', '--payload', '--transport', '--sockets', '--baseline', '--redis', '--nats', '--rate', '--rounds', '--seed', '--json', '--svg', '--quiet', '--help', '--version']) {
      expect(HELP).toContain(flag);
    }
    for (const text of ['bench', '--help', '--version', '-v']) expect(USAGE).toContain(text);
    // The servers' defaults, so that nobody has to guess which one a bare --transport uses.
    expect(HELP).toContain(DEFAULTS.redisUrl);
    expect(HELP).toContain(DEFAULTS.natsUrl);
  });

  it('keeps both helps within 80 columns', () => {
    for (const line of [...HELP.split('\n'), ...USAGE.split('\n')]) expect(line.length, line).toBeLessThanOrEqual(80);
  });
});
