import { EventEmitter } from 'eventemitter3';
import { RingError, describe } from '../../errors.js';
import type { RingRouter } from '../../live/router.js';
import type { RingNode } from '../../ring/types.js';
import { writeAtomic } from '../exec.js';
import { SyncLoop } from '../sync-loop.js';
import { haproxyIdOf } from './placement.js';
import { haproxyAddressOf, haproxyServerName, renderHaproxyBackend, type HaproxyBackendOptions } from './render.js';
import { haproxyCommand } from './runtime.js';

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
}

/** What one sync did. */
export interface HaproxySyncInfo {
  /** Runtime API commands sent (`add server`, `set server ... weight`, `del server`, ...). */
  readonly commands: number;
  /** Whether HAProxy had to be reloaded, and why. */
  readonly reloaded: string | false;
  /** Duration of the sync, in ms. */
  readonly ms: number;
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
 * `del server`. HAProxy refuses to delete a server that still has
 * connections (an open WebSocket): then, and for a changed id or address,
 * it reloads through `reload`. The backend file is rewritten on every change
 * either way.
 */
export class HaproxySync extends EventEmitter<HaproxySyncEvents> {
  readonly #options: HaproxySyncOptions;
  readonly #timeoutMs: number;
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

  /** Stops following the router; waits for a sync in progress. */
  async close(): Promise<void> {
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
      for (const [id, old] of reload === false ? [...this.#applied] : []) {
        if (target.has(id)) continue;
        const name = haproxyServerName(old);
        // In maintenance at once, so no new request goes there even if the delete is refused.
        await send(`set server ${be}/${name} state maint`);
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
    this.emit('synced', { commands, reloaded: reload, ms: performance.now() - started });
  }
}
