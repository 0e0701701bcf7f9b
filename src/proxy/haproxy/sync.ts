import { EventEmitter } from 'eventemitter3';
import { RingError, describe } from '../../errors.js';
import type { RingRouter } from '../../live/router.js';
import type { RingNode } from '../../ring/types.js';
import { writeAtomic } from '../exec.js';
import { SyncLoop } from '../sync-loop.js';
import { haproxyIdOf } from './placement.js';
import { haproxyAddressOf, haproxyServerName, renderHaproxyBackend, type HaproxyBackendOptions } from './render.js';
import { haproxyCommand } from './runtime.js';
import { delServerNeedsDrain, haproxyVersion, streamsOn } from './streams.js';

/**
 * How {@link HaproxySync} removes a server:
 * - `'auto'`: learns HAProxy's version once (`show info`); before 2.9 as `'drain'`, from 2.9 on as `'runtime'`.
 * - `'drain'`: `set server ... state maint`, then waits until no stream points at the server (`show sess`), then `del server`; reloads when it does not drain within `drainTimeoutMs`.
 * - `'runtime'`: `set server ... state maint` then `del server` at once. Safe from HAProxy 2.9 on, which refuses (then: a reload) a server that still has streams; **HAProxy 2.6 to 2.8 can crash** on it (haproxy/haproxy#2323).
 * - `'reload'`: every removal reloads HAProxy, after the same wait for streams as `'auto'` (on HAProxy 2.6.12 a reload while streams retried a dead server added at runtime could crash the old worker).
 */
export type HaproxyRemoval = 'auto' | 'drain' | 'runtime' | 'reload';

const REMOVALS: readonly HaproxyRemoval[] = ['auto', 'drain', 'runtime', 'reload'];
/** Between two `show sess` while waiting for servers to drain. */
const DRAIN_POLL_MS = 100;

/** Options of {@link HaproxySync.start}. */
export interface HaproxySyncOptions {
  /** The router whose ring HAProxy must follow; its ring must be on `haproxyPlacement()`. */
  readonly router: RingRouter;
  /** What to render: the backend's name and the query parameter. */
  readonly backend: HaproxyBackendOptions;
  /** The stats socket (`level admin`): a unix socket path, or `host:port`. */
  readonly socket: string;
  /**
   * A config file holding only the rendered `backend` section, loaded by
   * HAProxy (`-f main.cfg -f <file>`). Rewritten atomically on every change,
   * so a restart or reload starts from the current membership.
   */
  readonly file: string;
  /**
   * Reloads HAProxy with `file`, for the changes the runtime API cannot make
   * (a server that still has connections cannot be deleted; a server whose
   * id or address changed). In master-worker mode (`-W`), send `SIGUSR2` to
   * the master, e.g. `() => process.kill(masterPid, 'SIGUSR2')`.
   */
  readonly reload: () => void | Promise<void>;
  /** Longest wait for one stats socket command, in ms. @default 5000 */
  readonly timeoutMs?: number;
  /**
   * How servers are removed; see {@link HaproxyRemoval}. The default keeps
   * HAProxy 2.6 to 2.8 from crashing on `del server` (haproxy/haproxy#2323).
   * @default 'auto'
   */
  readonly removal?: HaproxyRemoval;
  /**
   * Longest wait, in ms, for a removed server to have no stream left (in
   * maintenance, no new request goes to it; streams retrying a dead server
   * end after `retries` x 1 s, an open WebSocket when it closes). Past it,
   * the removal is done by reload. A sync waits this long at most once, for
   * all the servers it removes; later changes are applied after it.
   * @default 10000
   */
  readonly drainTimeoutMs?: number;
}

/** What one sync did. */
export interface HaproxySyncInfo {
  /** Runtime API commands sent (`add server`, `set server ... weight`, `del server`, ...). */
  readonly commands: number;
  /** Whether HAProxy had to be reloaded, and why. */
  readonly reloaded: string | false;
  /** Duration of the sync, in ms. */
  readonly ms: number;
  /** Of `ms`, the time spent waiting for removed servers to drain (0 when none was removed, or without draining). */
  readonly drainMs: number;
}

/** Events of a {@link HaproxySync}. */
export interface HaproxySyncEvents {
  /** HAProxy was brought in step with the ring. */
  synced: [info: HaproxySyncInfo];
  /** A sync failed (socket unreachable, reload failed); the next change or {@link HaproxySync.sync} retries. */
  error: [error: Error];
}

/** Answers the runtime API gives on success (other commands answer nothing). */
const OK = /^(New server registered\.|Server deleted\.)?$/;

/**
 * Keeps a HAProxy backend in step with a {@link RingRouter}'s ring, through
 * the runtime API on the stats socket without a reload where it can:
 * `add server <b>/<s> <addr> id <id> weight <w>` then `enable server`, `set
 * server <b>/<s> weight <w>`, and `set server <b>/<s> state maint` then
 * `del server`. Before deleting, it waits (on HAProxy before 2.9, see
 * {@link HaproxySyncOptions.removal}) until no stream points at the server.
 * HAProxy refuses to delete a server that still has connections (an open
 * WebSocket): then, when the server does not drain in time, and for a
 * changed id or address, it reloads through `reload`. The backend file is
 * rewritten on every change either way.
 */
export class HaproxySync extends EventEmitter<HaproxySyncEvents> {
  readonly #options: HaproxySyncOptions;
  readonly #timeoutMs: number;
  readonly #removal: HaproxyRemoval;
  readonly #drainTimeoutMs: number;
  /** Whether removals must drain first, once learnt from HAProxy's version. */
  #drain: boolean | undefined;
  #closed = false;
  readonly #loop: SyncLoop;
  readonly #onChange = (): void => void this.#loop.request();
  /** Servers as HAProxy has them now, by node id. */
  #applied = new Map<string, RingNode>();

  private constructor(options: HaproxySyncOptions) {
    super();
    this.#options = options;
    this.#timeoutMs = options.timeoutMs ?? 5000;
    if (!Number.isFinite(this.#timeoutMs) || this.#timeoutMs <= 0) {
      throw new RingError('INVALID_OPTION', `timeoutMs must be a positive number, got ${describe(options.timeoutMs)}`);
    }
    this.#removal = options.removal ?? 'auto';
    if (!REMOVALS.includes(this.#removal)) {
      throw new RingError('INVALID_OPTION', `removal must be one of ${REMOVALS.map((r) => `'${r}'`).join(', ')}, got ${describe(options.removal)}`);
    }
    this.#drainTimeoutMs = options.drainTimeoutMs ?? 10_000;
    if (!Number.isFinite(this.#drainTimeoutMs) || this.#drainTimeoutMs < 0) {
      throw new RingError('INVALID_OPTION', `drainTimeoutMs must be a number >= 0, got ${describe(options.drainTimeoutMs)}`);
    }
    if (this.#removal === 'drain' || this.#removal === 'runtime') this.#drain = this.#removal === 'drain';
    this.#loop = new SyncLoop(() => this.#sync(), (error) => this.emit('error', error));
  }

  /**
   * Writes the current ring into `file` and reloads HAProxy once (so its
   * servers are exactly the ring's, whatever it ran before), then follows
   * the router's changes.
   * @throws RingError when the first sync fails.
   */
  static async start(options: HaproxySyncOptions): Promise<HaproxySync> {
    if (typeof options !== 'object' || options === null || options.router == null || typeof options.socket !== 'string' || typeof options.file !== 'string' || typeof options.reload !== 'function') {
      throw new RingError('INVALID_OPTION', 'HaproxySync.start() needs { router, backend, socket, file, reload }');
    }
    const sync = new HaproxySync(options);
    const ring = options.router.ring;
    await writeAtomic(options.file, renderHaproxyBackend(ring, options.backend));
    await options.reload();
    sync.#applied = new Map(ring.nodes().map((n) => [n.id, n]));
    options.router.on('change', sync.#onChange);
    return sync;
  }

  /** Brings HAProxy in step with the ring now; resolves when done or reported. */
  sync(): Promise<void> {
    return this.#loop.request();
  }

  /** Stops following the router; waits for a sync in progress (cutting short a wait for servers to drain). */
  async close(): Promise<void> {
    this.#closed = true;
    this.#options.router.off('change', this.#onChange);
    await this.#loop.close();
  }

  async #sync(): Promise<void> {
    const started = performance.now();
    const ring = this.#options.router.ring;
    const text = renderHaproxyBackend(ring, this.#options.backend);
    await writeAtomic(this.#options.file, text);
    const target = new Map(ring.nodes().map((n) => [n.id, n]));
    const be = this.#options.backend.name;
    let commands = 0;
    const send = async (command: string): Promise<boolean> => {
      commands++;
      const answer = await haproxyCommand(this.#options.socket, command, this.#timeoutMs);
      return OK.test(answer);
    };
    let reload: string | false = false;
    let drainMs = 0;
    try {
      for (const [id, node] of target) {
        const old = this.#applied.get(id);
        if (old !== undefined && (haproxyIdOf(old) !== haproxyIdOf(node) || haproxyAddressOf(old) !== haproxyAddressOf(node) || haproxyServerName(old) !== haproxyServerName(node))) {
          reload = `server ${describe(id)} changed its id or address`;
          break;
        }
      }
      // Add first, then reweight, then remove: the backend never runs out of servers.
      for (const [id, node] of reload === false ? target : []) {
        if (this.#applied.has(id)) continue;
        const name = haproxyServerName(node);
        if (!(await send(`add server ${be}/${name} ${haproxyAddressOf(node)} id ${haproxyIdOf(node)} weight ${node.weight ?? 1}`)) || !(await send(`enable server ${be}/${name}`))) {
          reload = `HAProxy refused to add server ${name}`;
          break;
        }
        this.#applied.set(id, node);
      }
      for (const [id, node] of reload === false ? target : []) {
        const old = this.#applied.get(id)!;
        if ((old.weight ?? 1) === (node.weight ?? 1)) continue;
        if (!(await send(`set server ${be}/${haproxyServerName(node)} weight ${node.weight ?? 1}`))) {
          reload = `HAProxy refused the weight of ${haproxyServerName(node)}`;
          break;
        }
        this.#applied.set(id, node);
      }
      const gone = reload === false ? [...this.#applied].filter(([id]) => !target.has(id)) : [];
      // In maintenance at once, so no new request goes there even if the delete is refused.
      for (const [, old] of gone) await send(`set server ${be}/${haproxyServerName(old)} state maint`);
      // Drained first even when removing by reload: on 2.6 a reload while streams retried a dead
      // runtime-added server also crashed the old worker (exit 139), in 4 of 30 tries.
      if (gone.length > 0 && reload === false && (await this.#mustDrain())) {
        const drainStarted = performance.now();
        const left = await this.#waitForDrain(new Set(gone.map(([, n]) => haproxyServerName(n))));
        drainMs = performance.now() - drainStarted;
        if (left === null) return; // closed while waiting
        if (left.size > 0) {
          const [name, streams] = [...left][0]!;
          reload = `server ${name} still had ${streams} stream${streams === 1 ? '' : 's'} after ${this.#drainTimeoutMs} ms in maintenance${left.size > 1 ? ` (and ${left.size - 1} more server${left.size > 2 ? 's' : ''})` : ''}`;
        }
      }
      if (gone.length > 0 && reload === false && this.#removal === 'reload') reload = `removal: 'reload' (${gone.map(([, n]) => haproxyServerName(n)).join(', ')})`;
      for (const [id, old] of reload === false ? gone : []) {
        const name = haproxyServerName(old);
        if (!(await send(`del server ${be}/${name}`))) {
          reload = `HAProxy kept server ${name}: it still has connections`;
          break;
        }
        this.#applied.delete(id);
      }
    } catch (error) {
      // The socket failed mid-way: what HAProxy holds is unknown, so reload from the file.
      reload = `the stats socket failed: ${(error as Error).message}`;
    }
    if (reload !== false) {
      await this.#options.reload();
      this.#applied = target;
    }
    this.emit('synced', { commands, reloaded: reload, ms: performance.now() - started, drainMs });
  }

  /** Whether removals wait for streams to end first: learnt once from HAProxy's version under `'auto'`. */
  async #mustDrain(): Promise<boolean> {
    if (this.#drain === undefined) {
      // A failed `show info` throws: the sync falls back to a reload and asks again next time.
      this.#drain = delServerNeedsDrain(await haproxyVersion(this.#options.socket, this.#timeoutMs));
    }
    return this.#drain;
  }

  /**
   * Polls `show sess` until no stream of the backend points at `servers`, or
   * `drainTimeoutMs` passed; returns the servers still holding streams (empty
   * when all drained), or null when the sync was closed meanwhile.
   */
  async #waitForDrain(servers: ReadonlySet<string>): Promise<Map<string, number> | null> {
    const deadline = performance.now() + this.#drainTimeoutMs;
    for (;;) {
      const counts = await streamsOn(this.#options.socket, this.#options.backend.name, servers, this.#timeoutMs);
      const left = new Map([...counts].filter(([, n]) => n > 0));
      if (left.size === 0 || performance.now() >= deadline) return left;
      await new Promise((resolve) => setTimeout(resolve, Math.min(DRAIN_POLL_MS, Math.max(0, deadline - performance.now()))));
      if (this.#closed) return null;
    }
  }
}
