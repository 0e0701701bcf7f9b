import { readFile } from 'node:fs/promises';
import { EventEmitter } from 'eventemitter3';
import { RingError, describe } from '../../errors.js';
import type { RingRouter } from '../../live/router.js';
import { runCommand, writeAtomic } from '../exec.js';
import { SyncLoop } from '../sync-loop.js';
import { renderNginxUpstream, type NginxUpstreamOptions } from './render.js';

/** Options of {@link NginxSync.start}. */
export interface NginxSyncOptions {
  /** The router whose ring nginx must follow; its ring must be on `nginxPlacement()`. */
  readonly router: RingRouter;
  /** The file holding the `upstream` block, which nginx's config `include`s. Replaced atomically. */
  readonly file: string;
  /** What to render: the upstream's name, the query argument, keep-alive. */
  readonly upstream: NginxUpstreamOptions;
  /** The nginx binary. @default 'nginx' */
  readonly binary?: string;
  /**
   * Arguments that select the running nginx's config and prefix, passed
   * before `-t` and `-s reload` (for example `['-p', prefix, '-c', conf]`).
   * @default []
   */
  readonly args?: readonly string[];
  /** Longest wait for `nginx -t` or `nginx -s reload`, in ms. @default 10000 */
  readonly timeoutMs?: number;
}

/** What one sync did. */
export interface NginxSyncInfo {
  /** Number of servers in the upstream now. */
  readonly servers: number;
  /** Whether nginx was reloaded (false when the rendered upstream had not changed). */
  readonly reloaded: boolean;
  /** Time from the start of the sync to the reload signal being sent, in ms. */
  readonly ms: number;
}

/** Events of an {@link NginxSync}. */
export interface NginxSyncEvents {
  /** nginx was brought in step with the ring. */
  synced: [info: NginxSyncInfo];
  /**
   * A sync failed: `nginx -t` refused the config (the previous file is put
   * back, nginx keeps its upstream), or a command failed or timed out. The
   * next ring change retries; so does {@link NginxSync.sync}.
   */
  error: [error: Error];
}

/**
 * Keeps an nginx upstream in step with a {@link RingRouter}'s ring: on every
 * `change` it renders the upstream block, writes it atomically, checks the
 * whole config with `nginx -t` and reloads (`nginx -s reload`). Changes that
 * arrive during a sync are folded into one more sync.
 *
 * A reload starts new workers with the new upstream; old workers keep their
 * established connections (WebSockets) on the old mapping until they close
 * or `worker_shutdown_timeout` ends them: the app nodes close exactly the
 * sessions the diff moves, so nothing waits for that.
 */
export class NginxSync extends EventEmitter<NginxSyncEvents> {
  readonly #options: NginxSyncOptions;
  readonly #binary: string;
  readonly #args: readonly string[];
  readonly #timeoutMs: number;
  readonly #loop: SyncLoop;
  readonly #onChange = (): void => void this.#loop.request();
  #written: string | undefined;

  private constructor(options: NginxSyncOptions) {
    super();
    this.#options = options;
    this.#binary = options.binary ?? 'nginx';
    this.#args = options.args ?? [];
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    if (!Number.isFinite(this.#timeoutMs) || this.#timeoutMs <= 0) {
      throw new RingError('INVALID_OPTION', `timeoutMs must be a positive number, got ${describe(options.timeoutMs)}`);
    }
    this.#loop = new SyncLoop(() => this.#sync(), (error) => this.emit('error', error));
  }

  /**
   * Renders the current ring into `file`, checks and reloads nginx, then
   * follows the router's changes.
   * @throws RingError when the first sync fails (nothing is left running).
   */
  static async start(options: NginxSyncOptions): Promise<NginxSync> {
    if (typeof options !== 'object' || options === null || options.router == null || typeof options.file !== 'string') {
      throw new RingError('INVALID_OPTION', 'NginxSync.start() needs { router, file, upstream }');
    }
    const sync = new NginxSync(options);
    // Fails here, before anything runs, when the ring or options cannot render.
    renderNginxUpstream(options.router.ring, options.upstream);
    try {
      sync.#written = await readFile(options.file, 'utf8');
    } catch {
      sync.#written = undefined;
    }
    await sync.#sync();
    options.router.on('change', sync.#onChange);
    return sync;
  }

  /** Brings nginx in step with the ring now (also after an `error`); resolves when done or reported. */
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
    const text = renderNginxUpstream(ring, this.#options.upstream);
    if (text === this.#written) {
      this.emit('synced', { servers: ring.size, reloaded: false, ms: performance.now() - started });
      return;
    }
    const previous = this.#written;
    await writeAtomic(this.#options.file, text);
    try {
      await runCommand(this.#binary, [...this.#args, '-t'], this.#timeoutMs);
    } catch (error) {
      // Put the last good upstream back, so a restart of nginx does not pick up a config it refused.
      if (previous !== undefined) await writeAtomic(this.#options.file, previous);
      throw error;
    }
    this.#written = text;
    await runCommand(this.#binary, [...this.#args, '-s', 'reload'], this.#timeoutMs);
    this.emit('synced', { servers: ring.size, reloaded: true, ms: performance.now() - started });
  }
}
