/**
 * Metrics of admission control and descriptors: the gateway's upgrades and
 * route requests in progress and queued, its tunnels and refusals, an app
 * node's {@link HandshakeGate}, and the process's descriptors against its
 * limit. Gauges are read at scrape time; counters follow the parts' stats.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { GatewayHandlerStats } from '../gateway/stats.js';
import type { HandshakeGate } from '../sessions/handshake-gate.js';
import { descriptorLimit, openDescriptors } from '../sessions/descriptors.js';

/** What the metrics read of a gateway: a `GatewayHandler` fits (structural, so ringroute/metrics needs no Node types). */
export interface GatewayLike {
  stats(): GatewayHandlerStats;
  on(event: 'error', listener: (error: Error) => void): unknown;
  off(event: 'error', listener: (error: Error) => void): unknown;
}

export interface AdmissionMetricsContext {
  readonly p: string;
  readonly registers: Registry[];
  readonly take: <T>(name: string, create: () => T) => T;
  readonly onError: (source: string) => (error: Error) => void;
  readonly cleanups: Array<() => void>;
}

/** Registers the gateway, handshake-gate and descriptor metrics for the parts given (nothing when both lists are empty). */
export function instrumentAdmission(ctx: AdmissionMetricsContext, gateways: readonly GatewayLike[], gates: readonly HandshakeGate[]): void {
  if (gateways.length === 0 && gates.length === 0) return;
  const { p, registers, take } = ctx;
  const seen = new Map<string, number>();
  const delta = (key: string, value: number): number => {
    const last = seen.get(key) ?? 0;
    seen.set(key, value);
    return Math.max(0, value - last);
  };
  const sum = <T>(items: readonly T[], f: (item: T) => number) => items.reduce((n, item) => n + f(item), 0);
  const gauge = (name: string, help: string, read: () => number) =>
    take(`${p}${name}`, () => new Gauge({ name: `${p}${name}`, help, registers, collect() { this.set(read()); } }));

  // The process's descriptors: read at scrape time (about 1 µs per open descriptor).
  gauge('process_descriptors_open', 'Descriptors this process has open (from /proc/self/fd; -1 where it cannot be read).', () => openDescriptors() ?? -1);
  gauge('process_descriptors_limit', 'The open-file limit of this process (-1 where it cannot be read).', () => descriptorLimit() ?? -1);
  const exhausted = () => sum(gateways, (g) => g.stats().descriptors.exhausted) + sum(gates, (g) => g.stats().acceptFailures);
  take(`${p}descriptor_exhaustion_total`, () => new Counter({ name: `${p}descriptor_exhaustion_total`, help: 'Accepts and connects that failed for lack of descriptors (EMFILE, ENFILE).', registers, collect() { this.inc(delta('exhausted', exhausted())); } }));

  if (gateways.length > 0) {
    const stats = () => gateways.map((g) => g.stats());
    gauge('gateway_upgrades_in_progress', 'WebSocket upgrades admitted and not yet answered by their owner.', () => sum(stats(), (s) => s.upgrades.active));
    gauge('gateway_upgrades_queued', 'WebSocket upgrades waiting for a slot.', () => sum(stats(), (s) => s.upgrades.queued));
    gauge('gateway_routes_in_progress', 'GET /route requests in progress.', () => sum(stats(), (s) => s.routes.active));
    gauge('gateway_routes_queued', 'GET /route requests waiting for a slot.', () => sum(stats(), (s) => s.routes.queued));
    gauge('gateway_tunnels', 'Open WebSocket tunnels.', () => sum(stats(), (s) => s.tunnels));
    gauge('gateway_descriptors_held', "Descriptors the gateway's upgrades, tunnels and route requests hold.", () => sum(stats(), (s) => s.descriptors.held));
    take(`${p}gateway_refused_total`, () => new Counter({ name: `${p}gateway_refused_total`, help: 'Requests and upgrades the gateway refused, by reason.', labelNames: ['reason'], registers, collect() {
      const totals = new Map<string, number>();
      for (const s of stats()) for (const [reason, n] of Object.entries(s.refused)) totals.set(reason, (totals.get(reason) ?? 0) + n);
      for (const [reason, n] of totals) this.inc({ reason }, delta(`g\0${reason}`, n));
    } }));
    take(`${p}gateway_upgrades_abandoned_total`, () => new Counter({ name: `${p}gateway_upgrades_abandoned_total`, help: 'Upgrades whose client left before the owner answered (their slot and hop freed at once).', registers, collect() { this.inc(delta('abandoned', sum(stats(), (s) => s.abandoned))); } }));
    take(`${p}gateway_connections_dropped_total`, () => new Counter({ name: `${p}gateway_connections_dropped_total`, help: "Connections the gateway's server closed at accept, past its maxConnections.", registers, collect() { this.inc(delta('dropped', sum(stats(), (s) => s.descriptors.dropped))); } }));
    for (const g of gateways) {
      const onGatewayError = ctx.onError('gateway');
      g.on('error', onGatewayError);
      ctx.cleanups.push(() => g.off('error', onGatewayError));
    }
  }

  if (gates.length > 0) {
    const stats = () => gates.map((g) => g.stats());
    gauge('handshakes_in_progress', "App node handshakes admitted by a HandshakeGate and not done.", () => sum(stats(), (s) => s.inProgress));
    gauge('handshakes_queued', 'App node handshakes waiting for a slot.', () => sum(stats(), (s) => s.queued));
    gauge('handshake_connections', 'Connections admitted by the HandshakeGates and still open.', () => sum(stats(), (s) => s.connections));
    take(`${p}handshakes_refused_total`, () => new Counter({ name: `${p}handshakes_refused_total`, help: 'Handshakes answered 503 by a HandshakeGate, by reason (queue-full, queue-timeout, connections).', labelNames: ['reason'], registers, collect() {
      for (const reason of ['queue-full', 'queue-timeout', 'connections'] as const) this.inc({ reason }, delta(`h\0${reason}`, sum(stats(), (s) => s.refused[reason])));
    } }));
    take(`${p}handshakes_ended_total`, () => new Counter({ name: `${p}handshakes_ended_total`, help: 'Handshakes that ended without completing, by how: abandoned (the client left), timeout.', labelNames: ['how'], registers, collect() {
      this.inc({ how: 'abandoned' }, delta('h\0abandoned', sum(stats(), (s) => s.abandoned)));
      this.inc({ how: 'timeout' }, delta('h\0timeout', sum(stats(), (s) => s.timedOut)));
    } }));
    for (const g of gates) {
      const onGateError = ctx.onError('handshake-gate');
      g.on('error', onGateError);
      ctx.cleanups.push(() => g.off('error', onGateError));
    }
  }
}
