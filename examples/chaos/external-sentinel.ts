/**
 * `--sentinel host:port[,host:port...] --sentinel-name NAME`: the chaos run
 * on a Sentinel set the user already runs, instead of its own. The parts
 * live in network namespaces that cannot reach the addresses the Sentinels
 * name (loopback, or anything only this host routes to), so the runner
 * relays (relay.ts): one port on the store's address per Sentinel and per
 * Redis server, and the parts connect through ioredis's `sentinels` (the
 * relays of the given Sentinels) with a `natMap` from each real
 * `host:port` to its relay. The runner re-reads the set every second and
 * relays any address that shows up (a replica added, the old primary named
 * by another address after a fail-over); the parts read the map from a file
 * again whenever an address is missing from it (examples/cluster/process.ts,
 * `RINGROUTE_SENTINEL_NATMAP`).
 *
 * Faults: a pause is `CLIENT PAUSE <ms> ALL` on the current primary; a
 * fail-over is `SENTINEL FAILOVER <name>` on a Sentinel: a real promotion,
 * with nothing killed (the runner owns none of these processes). Sentinel
 * turns the old primary into a replica of the new one by itself, 8 s or more
 * later; the next fail-over, and the end of the run, wait for that. A
 * partition from the store cuts the store's address, and with it every
 * relay. The run's keys are deleted at the end, on the primary of the moment.
 */
import { type SentinelCredentials, definedCredentials, redisAuth, sentinelAuth } from '../cluster/sentinel-credentials.js';
import { renameSync, writeFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { deleteKeys } from '../cluster/redis-engine.js';
import { type Address, Relays, addressKey } from './relay.js';
import type { FailoverOptions, FailoverReport } from './store.js';

/** The `--sentinel` options. */
export interface SentinelSetOptions {
  /** The Sentinels as given: at least one must answer. */
  readonly sentinels: readonly Address[];
  /** The primary's name in the Sentinels' config. @default 'mymaster' */
  readonly name: string;
  /** The Sentinels' ACL user, if not `default`. */
  readonly sentinelUsername?: string;
  /** The Sentinels' password (`requirepass` in sentinel.conf, or the ACL user's), if they need one. */
  readonly sentinelPassword?: string;
  /** The Redis servers' ACL user, if not `default`. */
  readonly redisUsername?: string;
  /** The Redis servers' password (`requirepass`, or the ACL user's), if they need one. */
  readonly redisPassword?: string;
}

/** `host:port[,host:port...]` (an IPv6 host in brackets) as addresses, or why it cannot be, in one line. */
export function parseSentinelList(value: string): Address[] | string {
  const out: Address[] = [];
  for (const item of value.split(',').map((s) => s.trim())) {
    const match = /^(\[[^\]]+\]|[^:\s[\]]+):(\d{1,5})$/.exec(item);
    const port = match === null ? NaN : Number(match[2]);
    if (match === null || port < 1 || port > 65_535) return `--sentinel takes host:port[,host:port...], got ${JSON.stringify(item)}`;
    out.push({ host: match[1]!.replace(/^\[|\]$/g, ''), port });
  }
  return out;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** How a connection authenticates: an ACL user and its password, either optional. */
type Auth = { username?: string; password?: string };

/** The credentials of `options` under ioredis's names. */
function credentialsOf(o: SentinelSetOptions): SentinelCredentials {
  return definedCredentials({ sentinelUsername: o.sentinelUsername, sentinelPassword: o.sentinelPassword, username: o.redisUsername, password: o.redisPassword });
}

/** One command on a fresh connection (short timeouts, no retries). */
async function ask(to: Address, auth: Auth, command: readonly string[]): Promise<unknown> {
  const redis = new Redis({
    host: to.host, port: to.port, ...auth,
    lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 1000, commandTimeout: 1000, retryStrategy: () => null, enableReadyCheck: false,
  });
  let failure: Error | null = null;
  redis.on('error', (error: Error) => void (failure = error));
  try {
    await redis.connect();
    return await redis.call(command[0]!, ...command.slice(1));
  } catch (error) {
    // A refused connection surfaces as "Connection is closed."; the error event said why.
    throw failure ?? error;
  } finally {
    redis.disconnect();
  }
}

/** An error of `what` (a Sentinel or a server) in one line, naming the option a password problem needs. */
export function explain(error: unknown, what: string, option: string): string {
  const message = (error as Error).message ?? String(error);
  if (/NOAUTH|Authentication required/i.test(message)) return `${what} requires a password (${option})`;
  if (/WRONGPASS|invalid password|invalid username-password/i.test(message)) return `${what} refused the password (${option})`;
  return `${what}: ${message.split('\n')[0]}`;
}

/** Sentinel's flat [key, value, ...] replies as an object. */
function flat(reply: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < reply.length; i += 2) out[reply[i]!] = reply[i + 1]!;
  return out;
}

const same = (a: Address | null, b: Address | null) => a !== null && b !== null && a.host === b.host && a.port === b.port;

/** What one Sentinel knows of the set. */
interface View {
  readonly sentinel: Address;
  readonly primary: Address;
  readonly flags: string;
  readonly downAfterMs: number;
  readonly replicas: ReadonlyArray<Address & { flags: string; link: string; of: Address }>;
  readonly sentinels: readonly Address[];
}

async function view(sentinel: Address, name: string, auth: Auth): Promise<View> {
  const master = flat((await ask(sentinel, auth, ['SENTINEL', 'MASTER', name])) as string[]);
  const replicas = ((await ask(sentinel, auth, ['SENTINEL', 'REPLICAS', name])) as string[][]).map(flat);
  const others = ((await ask(sentinel, auth, ['SENTINEL', 'SENTINELS', name])) as string[][]).map(flat);
  return {
    sentinel, primary: { host: master.ip!, port: Number(master.port) }, flags: master.flags ?? '', downAfterMs: Number(master['down-after-milliseconds']),
    replicas: replicas.map((r) => ({
      host: r.ip!, port: Number(r.port), flags: r.flags ?? '', link: r['master-link-status'] ?? '', of: { host: r['master-host'] ?? '', port: Number(r['master-port']) },
    })),
    sentinels: others.filter((s) => !(s.flags ?? '').includes('disconnected')).map((s) => ({ host: s.ip!, port: Number(s.port) })),
  };
}

/**
 * Why the run cannot use this Sentinel set, in one line, or null when it can:
 * no Sentinel answers, none knows the name, a password is missing or wrong,
 * or the primary does not answer.
 */
export async function sentinelSetProblem(options: SentinelSetOptions): Promise<string | null> {
  try {
    await firstView(options, [...options.sentinels]);
    return null;
  } catch (error) {
    return (error as Error).message;
  }
}

/** The view of the first given Sentinel that answers, with the primary checked to answer too. */
async function firstView(options: SentinelSetOptions, sentinels: readonly Address[]): Promise<View> {
  const problems: string[] = [];
  let unknownName = false;
  for (const s of sentinels) {
    let primary: [string, string] | null;
    try {
      primary = (await ask(s, sentinelAuth(credentialsOf(options)), ['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', options.name])) as [string, string] | null;
    } catch (error) {
      problems.push(explain(error, `Sentinel ${addressKey(s)}`, '--sentinel-username, --sentinel-password'));
      continue;
    }
    if (primary === null) {
      unknownName = true;
      continue;
    }
    let v: View;
    try {
      v = await view(s, options.name, sentinelAuth(credentialsOf(options)));
    } catch (error) {
      problems.push(explain(error, `Sentinel ${addressKey(s)}`, '--sentinel-username, --sentinel-password'));
      continue;
    }
    try {
      if ((await ask(v.primary, redisAuth(credentialsOf(options)), ['PING'])) !== 'PONG') throw new Error('no PONG');
    } catch (error) {
      throw new Error(explain(error, `the primary ${addressKey(v.primary)} that Sentinel ${addressKey(s)} names`, '--redis-username, --redis-password'));
    }
    return v;
  }
  const list = sentinels.map(addressKey).join(', ');
  if (unknownName) throw new Error(`the Sentinels (${list}) know no primary named ${JSON.stringify(options.name)} (--sentinel-name)`);
  throw new Error(`no Sentinel answered (${problems.join('; ')})`);
}

export class ExternalSentinels {
  readonly name: string;
  readonly #options: SentinelSetOptions;
  readonly #relays: Relays;
  readonly #natMapFile: string;
  /** Every Sentinel known: the given ones, then those they named. */
  readonly #sentinels: Address[];
  #view: View;
  #written = '';
  #timer: NodeJS.Timeout | null = null;
  #refreshing: Promise<void> | null = null;
  /** The old primary of the last fail-over, until a Sentinel names it a replica in sync again. */
  #returning: Address | null = null;

  private constructor(options: SentinelSetOptions, relays: Relays, natMapFile: string, first: View) {
    this.name = options.name;
    this.#options = options;
    this.#relays = relays;
    this.#natMapFile = natMapFile;
    this.#view = first;
    this.#sentinels = [...options.sentinels];
  }

  /**
   * Asks the Sentinels for the set (refusing in one line if none answers,
   * none knows the name, or a password is missing), relays every Sentinel and
   * server on `storeAddress`, writes the parts' `natMap` to `natMapFile` and
   * keeps both up to date, every second, until {@link destroy}.
   */
  static async start(options: SentinelSetOptions, storeAddress: string, natMapFile: string): Promise<ExternalSentinels> {
    const first = await firstView(options, options.sentinels);
    const relays = new Relays(storeAddress);
    const set = new ExternalSentinels(options, relays, natMapFile, first);
    try {
      for (const s of options.sentinels) await relays.add(s);
      await set.#take(first);
      set.#timer = setInterval(() => void set.#refresh(), 1000);
    } catch (error) {
      await relays.close();
      throw error;
    }
    return set;
  }

  /** The relays of the given Sentinels, as `host:port`: the parts' `sentinels`. */
  get relayedSentinels(): string[] {
    return this.#options.sentinels.map((s) => addressKey(this.#relays.get(s)!));
  }

  /** The file holding the parts' `natMap` (real `host:port` to relay), rewritten as addresses show up. */
  get natMapFile(): string {
    return this.#natMapFile;
  }

  /** The primary, its replicas and the Sentinels as last read, for the log. */
  describe(): string {
    const v = this.#view;
    return `primary ${JSON.stringify(this.name)} at ${addressKey(v.primary)}, ${v.replicas.length} replicas (${v.replicas.map(addressKey).join(', ') || 'none'}), `
      + `Sentinels ${this.#sentinels.map(addressKey).join(', ')}`;
  }

  /** The Sentinels' `down-after-milliseconds`: a pause at least this long would be taken for a dead primary. */
  get downAfterMs(): number {
    return this.#view.downAfterMs;
  }

  /** Whether a replica is there to promote: without one, the run leaves fail-overs out. */
  get canFailover(): boolean {
    return this.#view.replicas.length > 0;
  }

  /** ioredis options for the runner's own client, on the real addresses (the runner is on this host, outside the namespaces). */
  clientOptions(): { sentinels: Address[]; name: string } & SentinelCredentials {
    return { sentinels: this.#sentinels.map((s) => ({ host: s.host, port: s.port })), name: this.#options.name, ...this.credentials };
  }

  /** The Sentinels' and the servers' credentials, under ioredis's option names. */
  get credentials(): SentinelCredentials {
    return credentialsOf(this.#options);
  }

  /** The primary as the first Sentinel that answers names it. */
  async primary(): Promise<Address> {
    for (const s of this.#sentinels) {
      const answer = (await ask(s, sentinelAuth(this.credentials), ['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', this.name]).catch(() => null)) as [string, string] | null;
      if (answer !== null) return { host: answer[0], port: Number(answer[1]) };
    }
    throw new Error('no Sentinel answered');
  }

  /** Pauses every client of the primary for `ms` (`CLIENT PAUSE <ms> ALL`). */
  async pause(ms: number): Promise<void> {
    await ask(await this.primary(), redisAuth(this.credentials), ['CLIENT', 'PAUSE', String(ms), 'ALL']);
    await sleep(ms);
  }

  /** Resolves once the set can be failed over: {@link failover} waits for it too, but this keeps the wait out of the fault's time. */
  readyForFailover(timeoutMs = 60_000): Promise<void> {
    return this.#waitReady(timeoutMs);
  }

  /**
   * `SENTINEL FAILOVER <name>` on the first Sentinel that answers, once the
   * set has a replica in sync to promote (the previous fail-over's old
   * primary back, if it was the only replica). Resolves when every Sentinel
   * names the new primary; times are from the command.
   */
  async failover({ onPromoted, timeoutMs = 60_000 }: FailoverOptions = {}): Promise<FailoverReport> {
    await this.#waitReady(timeoutMs);
    const old = await this.primary();
    const sent = performance.now();
    let by: Address | null = null;
    const refusals: string[] = [];
    for (const s of this.#sentinels) {
      try {
        await ask(s, sentinelAuth(this.credentials), ['SENTINEL', 'FAILOVER', this.name]);
        by = s;
        break;
      } catch (error) {
        // A Sentinel that answered no (INPROG: a fail-over is under way; NOGOODSLAVE) is not asked around: that would order a second one.
        if ((error as Error).name === 'ReplyError' && !/NOAUTH|WRONGPASS/.test((error as Error).message)) {
          throw new Error(`Sentinel ${addressKey(s)} refused SENTINEL FAILOVER: ${(error as Error).message}`);
        }
        refusals.push(explain(error, `Sentinel ${addressKey(s)}`, '--sentinel-username, --sentinel-password'));
      }
    }
    if (by === null) throw new Error(`no Sentinel took SENTINEL FAILOVER (${refusals.join('; ')})`);
    const named = async (s: Address) => {
      const answer = (await ask(s, sentinelAuth(this.credentials), ['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', this.name])) as [string, string];
      return { host: answer[0], port: Number(answer[1]) };
    };
    let promoted = old;
    await until(async () => !same((promoted = await named(by)), old), `Sentinel ${addressKey(by)} did not promote a replica`, timeoutMs);
    const promotedMs = performance.now() - sent;
    onPromoted?.();
    this.#returning = old;
    await until(async () => {
      for (const s of this.#sentinels) if (!same(await named(s).catch(() => null), promoted) && (await answers(s, sentinelAuth(this.credentials)))) return false;
      return true;
    }, `the Sentinels did not all name the new primary ${addressKey(promoted)}`, timeoutMs);
    await this.#refresh();
    return { promotedMs, readyMs: performance.now() - sent };
  }

  /** Waits (up to 30 s) for the set to be whole again, deletes the run's keys on the primary, closes the relays. */
  async destroy(prefix?: string): Promise<void> {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    await this.#refreshing;
    if (this.#returning !== null) await this.#waitReady(30_000).catch(() => undefined);
    if (prefix !== undefined) {
      const redis = new Redis({ ...this.clientOptions(), maxRetriesPerRequest: 1, sentinelRetryStrategy: () => null, retryStrategy: () => null });
      redis.on('error', () => undefined);
      await deleteKeys(redis, prefix).catch(() => undefined);
      redis.disconnect();
    }
    await this.#relays.close();
  }

  /**
   * Every Sentinel that answers names the same primary, as up, and counts a
   * replica of it in sync (the last fail-over's old primary among them, if
   * there was one): the state a fail-over needs, and the one to leave behind.
   */
  async #waitReady(timeoutMs: number): Promise<void> {
    let seen = '';
    await until(async () => {
      let primary: Address | null = null;
      let answered = 0;
      for (const s of this.#sentinels) {
        const v = await view(s, this.name, sentinelAuth(this.credentials)).catch(() => null);
        if (v === null) continue;
        answered++;
        seen = `Sentinel ${addressKey(s)}: primary ${addressKey(v.primary)} ${v.flags}; replicas ${v.replicas.map((r) => `${addressKey(r)} ${r.flags} link ${r.link} of ${addressKey(r.of)}`).join(', ')}`;
        if (primary !== null && !same(primary, v.primary)) return false;
        primary = v.primary;
        if (v.flags !== 'master') return false;
        const inSync = v.replicas.filter((r) => r.flags === 'slave' && r.link === 'ok' && same(r.of, v.primary));
        if (inSync.length === 0 || (this.#returning !== null && !inSync.some((r) => same(r, this.#returning)))) return false;
      }
      if (answered === 0) return false;
      this.#returning = null;
      return true;
    }, 'the Sentinels did not all see the primary and a replica in sync', timeoutMs, 200).catch((error: Error) => {
      throw new Error(`${error.message} (${seen})`);
    });
  }

  /** Reads the set again from the first Sentinel that answers, relays what is new and rewrites the parts' map (one read at a time; never rejects). */
  #refresh(): Promise<void> {
    this.#refreshing ??= (async () => {
      for (const s of this.#sentinels) {
        const v = await view(s, this.name, sentinelAuth(this.credentials)).catch(() => null);
        if (v !== null) return this.#take(v);
      }
    })().catch(() => undefined).finally(() => (this.#refreshing = null));
    return this.#refreshing;
  }

  async #take(v: View): Promise<void> {
    this.#view = v;
    for (const s of v.sentinels) if (!this.#sentinels.some((k) => same(k, s))) this.#sentinels.push(s);
    for (const a of [...this.#sentinels, v.primary, ...v.replicas]) await this.#relays.add({ host: a.host, port: a.port });
    const json = JSON.stringify(this.#relays.natMap());
    if (json === this.#written) return;
    // Written whole, then renamed: a part reading it on a miss never sees half a file.
    writeFileSync(`${this.#natMapFile}.tmp`, json);
    renameSync(`${this.#natMapFile}.tmp`, this.#natMapFile);
    this.#written = json;
  }
}

async function answers(s: Address, auth: Auth): Promise<boolean> {
  return (await ask(s, auth, ['PING']).catch(() => null)) === 'PONG';
}

async function until(check: () => Promise<boolean>, what: string, timeoutMs: number, intervalMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs} ms`);
    await sleep(intervalMs);
  }
}
