import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { RingError } from '../errors.js';
import type { RingState } from '../live/contracts.js';
import type { RingCoordinator } from '../live/coordinator.js';
import type { RingRouter } from '../live/router.js';
import type { RingDiff } from '../ring/types.js';
import type { Dispatcher } from '../sessions/dispatcher.js';
import type { HandshakeGate } from '../sessions/handshake-gate.js';
import { type GatewayLike, instrumentAdmission } from './admission-metrics.js';
import type { DeliveryOutcome } from '../sessions/outcome.js';
import type { HandoffReport, SessionNode, SessionNodeStats } from '../sessions/session-node.js';

/** Options of {@link instrument}. Every part is optional: instrument what runs in this process. */
export interface InstrumentOptions {
  /** The prom-client registry to register the metrics on (yours: ringroute never uses the global one). */
  readonly registry: Registry;
  /** This process's router: ring gauges, changes, resyncs, moved share, convergence. */
  readonly router?: RingRouter;
  /** This process's coordinator: writes, errors, and (with `router`) convergence from a write to the router applying it. */
  readonly coordinator?: RingCoordinator;
  /** Session nodes in this process: sessions, held messages, closes and deliveries per node, handoff duration. */
  readonly sessions?: SessionNode | readonly SessionNode[];
  /** Dispatchers in this process: outcomes by status and reason, delivery latency. */
  readonly dispatcher?: Dispatcher | readonly Dispatcher[];
  /** Gateway handlers in this process: upgrades and route requests in progress and queued, tunnels, refusals by reason, descriptors. */
  readonly gateway?: GatewayLike | readonly GatewayLike[];
  /** An app node's handshake gates: handshakes in progress and queued, refusals, open connections, descriptors. */
  readonly handshakeGate?: HandshakeGate | readonly HandshakeGate[];
  /** Prefix of every metric name. @default 'ringroute_' */
  readonly prefix?: string;
}

/** What {@link instrument} returns. */
export interface Instrumentation {
  /** Stops listening to the parts and removes the metrics from the registry. Idempotent. */
  close(): void;
}

/** Write times remembered for convergence; older ones are forgotten first. */
const MAX_WRITES = 64;
const LATENCY_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const HANDOFF_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

/** Node counters exposed as `_total` counters, from `SessionNode.stats()`: field, metric, label. */
const CLOSE_REASONS = [['moved', 'moved'], ['slowConsumers', 'slow_consumer'], ['timeouts', 'timeout'], ['fencedCloses', 'fenced']] as const;
const NODE_OUTCOMES = ['delivered', 'failed', 'unknown'] as const;

/**
 * Registers ringroute's Prometheus metrics on `registry` and keeps them
 * current from the parts' events; gauges are read when the registry is
 * scraped. Names, labels and meanings are in docs/metrics.md.
 *
 * @throws RingError `INVALID_OPTION` without a registry, or when the registry already holds a metric of the same name (instrument once per registry and prefix).
 * @example
 * ```ts
 * import { Registry } from 'prom-client';
 * const registry = new Registry();
 * const metrics = instrument({ registry, router, coordinator, sessions: node });
 * http.createServer(async (req, res) => res.end(await registry.metrics()));
 * ```
 */
export function instrument(options: InstrumentOptions): Instrumentation {
  const registry = options?.registry as Partial<Registry> | undefined;
  if (typeof registry !== 'object' || registry === null || typeof registry.registerMetric !== 'function' || typeof registry.getSingleMetric !== 'function') {
    throw new RingError('INVALID_OPTION', 'instrument() needs { registry }: a prom-client Registry');
  }
  const reg = options.registry;
  const p = options.prefix ?? 'ringroute_';
  if (typeof p !== 'string' || !/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(p)) throw new RingError('INVALID_OPTION', `prefix must be a valid metric name prefix, got ${JSON.stringify(p)}`);
  const { router, coordinator } = options;
  const nodes = list(options.sessions);
  const dispatchers = list(options.dispatcher);
  const made: string[] = [];
  const cleanups: Array<() => void> = [];
  const take = <T,>(name: string, create: () => T): T => {
    if (reg.getSingleMetric(name) !== undefined) {
      for (const m of made) reg.removeSingleMetric(m);
      throw new RingError('INVALID_OPTION', `the registry already has a metric named ${name}: instrument() once per registry (or give another prefix)`);
    }
    made.push(name);
    return create();
  };
  const registers = [reg];
  const errors = take(`${p}errors_total`, () => new Counter({ name: `${p}errors_total`, help: "Errors reported through the parts' error events, by part and RingError code.", labelNames: ['source', 'code'], registers }));
  const onError = (source: string) => (error: Error) => errors.inc({ source, code: error instanceof RingError ? error.code : 'OTHER' });

  if (router !== undefined) {
    const r = router;
    take(`${p}ring_version`, () => new Gauge({ name: `${p}ring_version`, help: 'Version of the ring in use within its epoch (0 before any ring).', registers, collect() { this.set(r.version); } }));
    take(`${p}ring_epoch_info`, () => new Gauge({ name: `${p}ring_epoch_info`, help: 'Always 1; the epoch label names the generation of stored ring data in use.', labelNames: ['epoch'], registers, collect() { this.reset(); if (r.epoch !== '') this.set({ epoch: r.epoch }, 1); } }));
    take(`${p}ring_nodes`, () => new Gauge({ name: `${p}ring_nodes`, help: 'Nodes on the ring.', registers, collect() { this.set(r.ring.size); } }));
    take(`${p}ring_points`, () => new Gauge({ name: `${p}ring_points`, help: 'Points (virtual nodes) on the ring.', registers, collect() { this.set(r.ring.points); } }));
    take(`${p}ring_node_share_ratio`, () => new Gauge({ name: `${p}ring_node_share_ratio`, help: 'Share of the hash space each node owns, 0 to 1.', labelNames: ['node'], registers, collect() { this.reset(); for (const [node, share] of r.ring.ownership()) this.set({ node }, share); } }));
    take(`${p}ring_node_weight`, () => new Gauge({ name: `${p}ring_node_weight`, help: 'Weight of each node on the ring.', labelNames: ['node'], registers, collect() { this.reset(); for (const n of r.ring.nodes()) this.set({ node: n.id }, n.weight ?? 1); } }));
    const changes = take(`${p}ring_changes_total`, () => new Counter({ name: `${p}ring_changes_total`, help: 'Ring versions (or epochs) the router applied.', registers }));
    const resyncs = take(`${p}ring_resyncs_total`, () => new Counter({ name: `${p}ring_resyncs_total`, help: 'Changes found by a read no push had announced (lost push, or new epoch).', registers }));
    const moved = take(`${p}ring_moved_ratio_total`, () => new Counter({ name: `${p}ring_moved_ratio_total`, help: 'Sum over changes of the share of the hash space (so of the keys) that changed owner, by reason.', labelNames: ['reason'], registers }));
    const onChange = (diff: RingDiff): void => {
      changes.inc();
      if (diff.movedFraction > 0) moved.inc({ reason: reasonOf(diff) }, diff.movedFraction);
    };
    const onResync = (): void => resyncs.inc();
    const onRouterError = onError('router');
    r.on('change', onChange);
    r.on('resync', onResync);
    r.on('error', onRouterError);
    cleanups.push(() => {
      r.off('change', onChange);
      r.off('resync', onResync);
      r.off('error', onRouterError);
    });
  }

  if (coordinator !== undefined) {
    const c = coordinator;
    const writes = take(`${p}coordinator_writes_total`, () => new Counter({ name: `${p}coordinator_writes_total`, help: 'Ring versions this coordinator wrote.', registers }));
    /** Write times not yet applied by the router; versions the router applied before the write was confirmed. */
    const written = new Map<string, number>();
    const appliedFirst = new Map<string, number>();
    let convergence: Histogram | undefined;
    const remember = (map: Map<string, number>, key: string): void => {
      map.set(key, performance.now());
      if (map.size > MAX_WRITES) map.delete(map.keys().next().value!);
    };
    const onWrite = (state: RingState): void => {
      writes.inc();
      const key = `${state.epoch}\0${state.version}`;
      // A store that pushes during the write (the memory one) lets the router apply before the write resolves: 0.
      if (appliedFirst.delete(key)) convergence?.observe(0);
      else remember(written, key);
    };
    const onCoordinatorError = onError('coordinator');
    c.on('write', onWrite);
    c.on('error', onCoordinatorError);
    cleanups.push(() => {
      c.off('write', onWrite);
      c.off('error', onCoordinatorError);
    });
    if (router !== undefined) {
      const r = router;
      const histogram = take(`${p}ring_convergence_seconds`, () => new Histogram({ name: `${p}ring_convergence_seconds`, help: "From this process's coordinator writing a ring version to this process's router applying it.", buckets: LATENCY_BUCKETS, registers }));
      convergence = histogram;
      const onApplied = (_diff: RingDiff, state: RingState): void => {
        const key = `${state.epoch}\0${state.version}`;
        const at = written.get(key);
        if (at === undefined) return remember(appliedFirst, key);
        written.delete(key);
        histogram.observe((performance.now() - at) / 1000);
      };
      r.on('change', onApplied);
      cleanups.push(() => r.off('change', onApplied));
    }
  }

  if (nodes.length > 0) {
    const stats = (): SessionNodeStats[] => nodes.map((n) => n.stats());
    const gauge = (name: string, help: string, field: 'sessions' | 'held' | 'heldBytes' | 'inFlight' | 'pendingCloses') =>
      take(`${p}${name}`, () => new Gauge({ name: `${p}${name}`, help, labelNames: ['node'], registers, collect() { for (const s of stats()) this.set({ node: s.id }, s[field]); } }));
    gauge('sessions', 'Sessions attached, per node.', 'sessions');
    gauge('held_messages', 'Messages held for users not connected (yet), per node.', 'held');
    gauge('held_bytes', 'Approximate bytes of the held messages, per node.', 'heldBytes');
    gauge('in_flight_messages', 'Messages written to a socket and not acknowledged yet, per node.', 'inFlight');
    gauge('pending_closes', 'Sessions waiting for their paced "moved" close, per node.', 'pendingCloses');
    take(`${p}node_fenced`, () => new Gauge({ name: `${p}node_fenced`, help: 'Whether the node is fenced (1): its membership lease ran out and it acts as no owner until the lease is back.', labelNames: ['node'], registers, collect() { for (const s of stats()) this.set({ node: s.id }, s.fenced ? 1 : 0); } }));
    take(`${p}node_fences_total`, () => new Counter({ name: `${p}node_fences_total`, help: 'Times the node fenced itself (its membership lease ran out).', labelNames: ['node'], registers, collect() {
      for (const s of stats()) this.inc({ node: s.id }, delta(`f\0${s.id}`, s.fences));
    } }));
    take(`${p}node_fenced_seconds_total`, () => new Counter({ name: `${p}node_fenced_seconds_total`, help: 'Time the node spent fenced.', labelNames: ['node'], registers, collect() {
      for (const s of stats()) this.inc({ node: s.id }, delta(`fs\0${s.id}`, s.fencedMs) / 1000);
    } }));
    const seen = new Map<string, number>();
    const delta = (key: string, value: number): number => {
      const last = seen.get(key) ?? 0;
      seen.set(key, value);
      return Math.max(0, value - last);
    };
    take(`${p}sessions_closed_total`, () => new Counter({ name: `${p}sessions_closed_total`, help: 'Sessions a node closed, by reason: moved (handed to the new owner), slow_consumer, timeout, fenced (fenced longer than closeAfterMs).', labelNames: ['node', 'reason'], registers, collect() {
      for (const s of stats()) for (const [field, reason] of CLOSE_REASONS) this.inc({ node: s.id, reason }, delta(`c\0${s.id}\0${field}`, s[field]));
    } }));
    take(`${p}attach_refused_total`, () => new Counter({ name: `${p}attach_refused_total`, help: 'Connections refused because another node (or nobody) owns the key, per node.', labelNames: ['node'], registers, collect() {
      for (const s of stats()) this.inc({ node: s.id }, delta(`r\0${s.id}`, s.refused));
    } }));
    take(`${p}node_deliveries_total`, () => new Counter({ name: `${p}node_deliveries_total`, help: 'Final outcomes a node reported for the messages it owned, by outcome.', labelNames: ['node', 'outcome'], registers, collect() {
      for (const s of stats()) for (const outcome of NODE_OUTCOMES) this.inc({ node: s.id, outcome }, delta(`d\0${s.id}\0${outcome}`, s[outcome]));
    } }));
    const handoff = take(`${p}handoff_duration_seconds`, () => new Histogram({ name: `${p}handoff_duration_seconds`, help: 'From a ring change to the last paced close of the sessions it moved away, per node.', labelNames: ['node'], buckets: HANDOFF_BUCKETS, registers }));
    for (const n of nodes) {
      const onHandoff = (report: HandoffReport): void => handoff.observe({ node: n.id }, report.durationMs / 1000);
      const onNodeError = onError('session-node');
      n.on('handoff', onHandoff);
      n.on('error', onNodeError);
      cleanups.push(() => {
        n.off('handoff', onHandoff);
        n.off('error', onNodeError);
      });
    }
  }

  if (dispatchers.length > 0) {
    const deliveries = take(`${p}deliveries_total`, () => new Counter({ name: `${p}deliveries_total`, help: "Dispatchers' final outcomes per recipient, by outcome and reason.", labelNames: ['outcome', 'reason'], registers }));
    const latency = take(`${p}delivery_duration_seconds`, () => new Histogram({ name: `${p}delivery_duration_seconds`, help: "From a dispatcher's send to the recipient's final outcome, by outcome.", labelNames: ['outcome'], buckets: LATENCY_BUCKETS, registers }));
    for (const d of dispatchers) {
      const onOutcome = (outcome: DeliveryOutcome, ms: number): void => {
        deliveries.inc({ outcome: outcome.status, reason: 'reason' in outcome ? outcome.reason : '' });
        latency.observe({ outcome: outcome.status }, ms / 1000);
      };
      const onDispatchError = onError('dispatcher');
      d.on('outcome', onOutcome);
      d.on('error', onDispatchError);
      cleanups.push(() => {
        d.off('outcome', onOutcome);
        d.off('error', onDispatchError);
      });
    }
  }

  instrumentAdmission({ p, registers, take, onError, cleanups }, list(options.gateway), list(options.handshakeGate));

  let closed = false;
  return {
    close() {
      if (closed) return;
      closed = true;
      for (const cleanup of cleanups) cleanup();
      for (const name of made) reg.removeSingleMetric(name);
    },
  };
}

/** Why keys moved: `join` (nodes added only), `leave` (removed only), `weight` (reweighted only), `mixed`. */
export function reasonOf(diff: RingDiff): 'join' | 'leave' | 'weight' | 'mixed' {
  const kinds = [diff.added.length > 0, diff.removed.length > 0, diff.reweighted.length > 0];
  if (kinds.filter(Boolean).length !== 1) return 'mixed';
  return kinds[0] ? 'join' : kinds[1] ? 'leave' : 'weight';
}

function list<T>(value: T | readonly T[] | undefined): readonly T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? (value as readonly T[]) : [value as T];
}
