import { EventEmitter } from 'eventemitter3';
import { RingError, describe } from '../errors.js';
import type { MembershipAdapter, MembershipEvent, RingState } from '../live/contracts.js';
import type { RingCoordinator } from '../live/coordinator.js';
import type { RingRouter } from '../live/router.js';
import type { RingDiff } from '../ring/types.js';
import type { HandoffReport, SessionNode } from '../sessions/session-node.js';
import { ringArcs } from './ring-arcs.js';

/** One node's figures, from {@link StatusBoardOptions.nodes}. */
export interface NodeStatus {
  readonly id: string;
  /** Sessions attached. */
  readonly sessions: number;
  /** Messages held for users not connected (yet). */
  readonly held: number;
  /** Messages delivered so far (a counter): the page shows its rate. */
  readonly delivered?: number;
  /** Sessions handed over so far (a counter): a rise is logged as a handoff. */
  readonly moved?: number;
  /** Sessions waiting for their paced close. */
  readonly pendingCloses?: number;
}

/** One gateway's view of the ring, from {@link StatusBoardOptions.gateways}. */
export interface GatewayStatus {
  readonly id: string;
  readonly version: number;
  readonly epoch?: string;
  /** Anything that identifies its routing table (equal means it routes identically). */
  readonly checksum?: string;
  /** Set when the gateway could not be asked: it then counts as disagreeing. */
  readonly error?: string;
}

/** A line of the event log. */
export interface StatusEvent {
  /** ms since the epoch. */
  readonly at: number;
  readonly kind: 'join' | 'leave' | 'expire' | 'update' | 'change' | 'resync' | 'handoff' | 'error' | 'info';
  readonly text: string;
  /** How many identical events in a row this line stands for. */
  readonly count: number;
}

/** Options of {@link StatusBoard}. */
export interface StatusBoardOptions {
  /** The ring to draw: a router of its own, or a gateway's. The board never closes it. */
  readonly router: RingRouter;
  /** Logged: join, leave, expire, update. The board only watches it. */
  readonly membership?: MembershipAdapter;
  /** Logged: its errors. */
  readonly coordinator?: RingCoordinator;
  /** Session nodes in this process: their figures and handoffs. */
  readonly sessions?: SessionNode | readonly SessionNode[];
  /** Figures of nodes elsewhere (over HTTP, say), polled every `pollMs`; a rejection is logged as an error. */
  readonly nodes?: () => Promise<Iterable<NodeStatus>> | Iterable<NodeStatus>;
  /** Every gateway's ring version, polled every `pollMs`: the page says whether they agree. */
  readonly gateways?: () => Promise<Iterable<GatewayStatus>> | Iterable<GatewayStatus>;
  /** @default 1000 */
  readonly pollMs?: number;
  /** Longest wait for one poll of `nodes` and `gateways`. @default 2000 */
  readonly pollTimeoutMs?: number;
  /** Lines kept in the event log; the oldest go first. @default 200 */
  readonly maxEvents?: number;
  /** Shown in the page's title. @default 'ringroute' */
  readonly title?: string;
}

/** What the page draws; also `GET /status.json`. */
export interface StatusSnapshot {
  readonly title: string;
  readonly at: number;
  readonly ring: {
    readonly epoch: string;
    readonly version: number;
    readonly points: number;
    readonly nodes: ReadonlyArray<{ readonly id: string; readonly weight: number; readonly share: number; readonly color: string }>;
    /** `[start, end, node index]` triples, fractions of the hash space (see `ringArcs`). */
    readonly arcs: readonly number[];
  };
  readonly nodes: ReadonlyArray<NodeStatus & { readonly perSecond: number | null; readonly color: string; readonly onRing: boolean }>;
  readonly gateways: ReadonlyArray<GatewayStatus & { readonly agrees: boolean }>;
  /** Whether every gateway (and this board's router) is on the same epoch and version; `null` without `gateways`. */
  readonly agree: boolean | null;
  /** Newest last. */
  readonly events: readonly StatusEvent[];
  /** The last poll's problem, if it failed. */
  readonly stale: string | null;
}

/** Events of a {@link StatusBoard}. */
export interface StatusBoardEvents {
  /** The state changed (a poll, a ring change, a new log line). */
  update: [];
  /** A new line in the event log. */
  event: [event: StatusEvent];
}

/** Distinct at a glance (and for most colour-blind readers), then golden-angle hues. */
const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#b07aa1', '#76b7b2', '#edc948', '#ff9da7', '#9c755f', '#bab0ac'];
/** Colours remembered per node id; past it the assignment starts over. */
const MAX_COLORS = 4096;

/**
 * Collects what an on-call engineer looks at first: the ring (who owns what,
 * how balanced), each node's load, whether every gateway agrees on the ring,
 * and a log of what happened. {@link statusHandler} serves it as a live page.
 */
export class StatusBoard extends EventEmitter<StatusBoardEvents> {
  readonly #o: StatusBoardOptions;
  readonly #router: RingRouter;
  readonly #sessions: readonly SessionNode[];
  readonly #maxEvents: number;
  readonly #pollMs: number;
  readonly #pollTimeoutMs: number;
  readonly #events: StatusEvent[] = [];
  readonly #colors = new Map<string, string>();
  readonly #cleanups: Array<() => void> = [];
  #nodes: NodeStatus[] = [];
  #rates = new Map<string, number | null>();
  #last = new Map<string, { at: number; delivered: number | undefined; moved: number | undefined }>();
  #gateways: GatewayStatus[] | null = null;
  #stale: string | null = null;
  #arcs: { version: number; epoch: string; arcs: number[] } | null = null;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  constructor(options: StatusBoardOptions) {
    super();
    if (typeof options !== 'object' || options === null || typeof options.router?.on !== 'function') throw new RingError('INVALID_OPTION', 'StatusBoard needs { router }');
    for (const [name, value, fallback] of [['pollMs', options.pollMs, 1000], ['pollTimeoutMs', options.pollTimeoutMs, 2000], ['maxEvents', options.maxEvents, 200]] as const) {
      if (value !== undefined && (typeof value !== 'number' || !Number.isFinite(value) || value < 1)) throw new RingError('INVALID_OPTION', `${name} must be a number >= 1, got ${describe(value)} (default ${fallback})`);
    }
    for (const name of ['nodes', 'gateways'] as const) {
      if (options[name] !== undefined && typeof options[name] !== 'function') throw new RingError('INVALID_OPTION', `${name} must be a function, got ${describe(options[name])}`);
    }
    this.#o = options;
    this.#router = options.router;
    this.#sessions = options.sessions === undefined ? [] : Array.isArray(options.sessions) ? (options.sessions as readonly SessionNode[]) : [options.sessions as SessionNode];
    this.#pollMs = options.pollMs ?? 1000;
    this.#pollTimeoutMs = options.pollTimeoutMs ?? 2000;
    this.#maxEvents = Math.floor(options.maxEvents ?? 200);
    const r = this.#router;
    const onChange = (diff: RingDiff, state: RingState): void => this.#changed(diff, state);
    const onResync = (state: RingState): void => this.record('resync', `read ring ${state.epoch} version ${state.version} without a push (a lost push or a new epoch)`);
    const onError = (source: string) => (error: Error) => this.record('error', `${source}: ${error.message}`);
    const routerError = onError('router');
    r.on('change', onChange);
    r.on('resync', onResync);
    r.on('error', routerError);
    this.#cleanups.push(() => {
      r.off('change', onChange);
      r.off('resync', onResync);
      r.off('error', routerError);
    });
    const c = options.coordinator;
    if (c !== undefined) {
      const coordinatorError = onError('coordinator');
      c.on('error', coordinatorError);
      this.#cleanups.push(() => c.off('error', coordinatorError));
    }
    if (options.membership !== undefined) {
      const stop = options.membership.watch(
        (event: MembershipEvent) => this.record(event.type, `${event.node.id} ${event.type === 'join' ? 'joined' : event.type === 'leave' ? 'left' : event.type === 'expire' ? 'expired (stopped heartbeating)' : 'changed weight or meta'}`),
        (error) => this.record('error', `membership: ${error.message}`),
      );
      this.#cleanups.push(stop);
    }
    for (const node of this.#sessions) {
      const onHandoff = (h: HandoffReport): void => this.record('handoff', `${node.id} handed over ${h.sessions} sessions (${h.keys} keys) in ${(h.durationMs / 1000).toFixed(1)} s`);
      const nodeError = onError(node.id);
      node.on('handoff', onHandoff);
      node.on('error', nodeError);
      this.#cleanups.push(() => {
        node.off('handoff', onHandoff);
        node.off('error', nodeError);
      });
    }
    for (const node of r.ring.nodes()) this.#color(node.id);
    void this.#poll();
  }

  /** Adds a line to the event log (an identical line right after the last one only bumps its count). */
  record(kind: StatusEvent['kind'], text: string): void {
    if (this.#closed) return;
    const last = this.#events[this.#events.length - 1];
    let event: StatusEvent;
    if (last !== undefined && last.kind === kind && last.text === text) {
      event = { ...last, at: Date.now(), count: last.count + 1 };
      this.#events[this.#events.length - 1] = event;
    } else {
      event = { at: Date.now(), kind, text, count: 1 };
      this.#events.push(event);
      if (this.#events.length > this.#maxEvents) this.#events.shift();
    }
    this.emit('event', event);
    this.emit('update');
  }

  /** The state now. */
  snapshot(): StatusSnapshot {
    const r = this.#router;
    const ring = r.ring;
    if (this.#arcs === null || this.#arcs.version !== r.version || this.#arcs.epoch !== r.epoch) {
      // Six digits are a 1/1,000,000 of the circle: finer than any screen, and a third of the bytes.
      this.#arcs = { version: r.version, epoch: r.epoch, arcs: ringArcs(ring).map((x, i) => (i % 3 === 2 ? x : Math.round(x * 1e6) / 1e6)) };
    }
    const shares = ring.ownership();
    const ringNodes = ring.nodes().map((n) => ({ id: n.id, weight: n.weight ?? 1, share: shares.get(n.id) ?? 0, color: this.#color(n.id) }));
    const figures = this.#sessions.length > 0 ? this.#sessions.map((s) => fromStats(s)) : this.#nodes;
    const nodes = figures.map((n) => ({ ...n, perSecond: this.#rates.get(n.id) ?? null, color: this.#color(n.id), onRing: ring.has(n.id) }));
    const gateways = (this.#gateways ?? []).map((g) => ({ ...g, agrees: g.error === undefined && g.version === r.version && (g.epoch === undefined || g.epoch === r.epoch) }));
    return {
      title: this.#o.title ?? 'ringroute',
      at: Date.now(),
      ring: { epoch: r.epoch, version: r.version, points: ring.points, nodes: ringNodes, arcs: this.#arcs.arcs },
      nodes,
      gateways,
      agree: this.#gateways === null ? null : gateways.every((g) => g.agrees),
      events: this.#events.slice(),
      stale: this.#stale,
    };
  }

  /** Stops polling and listening. Closes nothing it was given. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    for (const cleanup of this.#cleanups) cleanup();
    this.removeAllListeners();
  }

  #changed(diff: RingDiff, state: RingState): void {
    for (const id of diff.added) this.#color(id);
    const parts = [
      ...diff.added.map((id) => `+${id}`),
      ...diff.removed.map((id) => `-${id}`),
      ...diff.reweighted.map((id) => `~${id}`),
    ];
    this.record('change', `ring version ${state.version}${parts.length > 0 ? ` (${parts.join(' ')})` : ''}: ${(diff.movedFraction * 100).toFixed(1)}% of keys moved; ${state.nodes.length} nodes`);
  }

  #color(id: string): string {
    let color = this.#colors.get(id);
    if (color === undefined) {
      if (this.#colors.size >= MAX_COLORS) this.#colors.clear();
      const i = this.#colors.size;
      color = i < PALETTE.length ? PALETTE[i]! : `hsl(${Math.round((i * 137.508) % 360)} 65% 50%)`;
      this.#colors.set(id, color);
    }
    return color;
  }

  async #poll(): Promise<void> {
    if (this.#closed) return;
    const problems: string[] = [];
    const ask = async <T>(what: string, source: (() => Promise<Iterable<T>> | Iterable<T>) | undefined): Promise<T[] | undefined> => {
      if (source === undefined) return undefined;
      let timer: ReturnType<typeof setTimeout> | undefined;
      try {
        const timeout = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${this.#pollTimeoutMs} ms`)), this.#pollTimeoutMs);
        });
        return [...(await Promise.race([Promise.resolve(source()), timeout]))];
      } catch (error) {
        problems.push(`${what}: ${(error as Error)?.message ?? String(error)}`);
        return undefined;
      } finally {
        clearTimeout(timer);
      }
    };
    const [nodes, gateways] = await Promise.all([ask('nodes', this.#o.nodes), ask('gateways', this.#o.gateways)]);
    if (this.#closed) return;
    const now = Date.now();
    if (nodes !== undefined) this.#nodes = nodes;
    if (gateways !== undefined) this.#gateways = gateways;
    const figures = this.#sessions.length > 0 ? this.#sessions.map((s) => fromStats(s)) : this.#nodes;
    const rates = new Map<string, number | null>();
    const last = new Map<string, { at: number; delivered: number | undefined; moved: number | undefined }>();
    for (const n of figures) {
      const before = this.#last.get(n.id);
      const dt = before === undefined ? 0 : (now - before.at) / 1000;
      rates.set(n.id, before?.delivered !== undefined && n.delivered !== undefined && dt > 0 ? Math.max(0, n.delivered - before.delivered) / dt : null);
      // Nodes elsewhere: a rise of their moved counter is their handoff (in-process nodes report it themselves).
      if (this.#sessions.length === 0 && before?.moved !== undefined && n.moved !== undefined && n.moved > before.moved) {
        this.record('handoff', `${n.id} handed over ${n.moved - before.moved} sessions`);
      }
      last.set(n.id, { at: now, delivered: n.delivered, moved: n.moved });
    }
    this.#rates = rates;
    this.#last = last;
    const stale = problems.length > 0 ? problems.join('; ') : null;
    if (stale !== null && stale !== this.#stale) this.record('error', `status poll failed: ${stale}`);
    this.#stale = stale;
    this.emit('update');
    this.#timer = setTimeout(() => void this.#poll(), this.#pollMs);
    this.#timer.unref?.();
  }
}

function fromStats(node: SessionNode): NodeStatus {
  const s = node.stats();
  return { id: s.id, sessions: s.sessions, held: s.held, delivered: s.delivered, moved: s.moved, pendingCloses: s.pendingCloses };
}
