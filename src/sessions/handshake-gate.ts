/**
 * Admission for an app node's WebSocket handshakes. A handshake (token
 * check, `ws`'s upgrade, attach) costs far more CPU than holding a session,
 * and a node that starts every handshake of a reconnect storm at once
 * finishes none in time: clients time out and retry, and the retries crowd
 * out the handshakes in progress. The gate works on at most
 * `maxInProgress` at once, lets `maxQueued` wait their turn for at most
 * `queueTimeoutMs`, and answers the rest at once with a cheap `503` and
 * `Retry-After`, before any expensive work. It also keeps the node's open
 * connections inside its descriptor budget.
 */
import { EventEmitter } from 'eventemitter3';
import { RingError, describe } from '../errors.js';
import { Admission, type AdmissionTicket } from './admission.js';
import { type DescriptorBudget, type DescriptorOptions, isDescriptorExhaustion, resolveDescriptorBudget } from './descriptors.js';
import { type RefusableSocket, refuseUpgrade } from './refusal.js';

/** What the gate needs of an upgrade's socket (a `node:net` socket fits). */
export interface GatedSocket extends RefusableSocket {
  once(event: 'close', listener: () => void): unknown;
}

/** What {@link HandshakeGate.watch} needs of a server (a `node:http` or `node:net` server fits). */
export interface ErrorSource {
  on(event: 'error', listener: (error: Error) => void): unknown;
}

/** Report once when the open connections pass this share of `maxConnections`; again after they fell under the lower one. */
const NEAR = 0.9;
const REARM = 0.8;

/** Options of a {@link HandshakeGate}. */
export interface HandshakeGateOptions extends DescriptorOptions {
  /** Handshakes worked on at once. @default 64 */
  readonly maxInProgress?: number;
  /** Handshakes waiting for a slot; one more is answered 503 at once. @default 1024 */
  readonly maxQueued?: number;
  /** A handshake that waited this long is answered 503. @default 3000 */
  readonly queueTimeoutMs?: number;
  /** A handshake must end (call `done`) within this, or its socket is destroyed and its slot freed. @default 10000 */
  readonly timeoutMs?: number;
  /** Connections admitted and still open (sessions and handshakes): past it, 503 at once. @default the descriptor budget: `maxDescriptors - reservedDescriptors` */
  readonly maxConnections?: number;
}

/** Why a {@link HandshakeGate} answered 503. */
export type HandshakeRefusal = 'queue-full' | 'queue-timeout' | 'connections';

/** Counters of a {@link HandshakeGate}, from {@link HandshakeGate.stats}. */
export interface HandshakeGateStats {
  /** Handshakes in progress, and waiting. */
  readonly inProgress: number;
  readonly queued: number;
  /** Connections admitted and still open. */
  readonly connections: number;
  /** Handshakes admitted so far; of those, after waiting. */
  readonly admitted: number;
  readonly waited: number;
  /** Refusals (503), by reason. */
  readonly refused: Readonly<Record<HandshakeRefusal, number>>;
  /** Handshakes whose client left while they waited or ran, and handshakes cut at `timeoutMs`. */
  readonly abandoned: number;
  readonly timedOut: number;
  /** Accepts that failed because the process was out of descriptors (servers given to {@link HandshakeGate.watch}). */
  readonly acceptFailures: number;
  readonly budget: DescriptorBudget;
}

/** Events of a {@link HandshakeGate}. */
export interface HandshakeGateEvents {
  /** Accepts failing for lack of descriptors (at most one event a second, with the count), open connections passing 90% of `maxConnections` (once, until they fall under 80%), and other server errors: `RingError` `OVERLOADED`. */
  error: [error: Error];
}

/**
 * Bounds the handshakes a node works on at once. Give it every upgrade
 * first; it calls your handshake when a slot is free, or answers 503 with
 * `Retry-After` and closes the socket.
 *
 * @example
 * ```ts
 * const gate = new HandshakeGate({ maxInProgress: 64 });
 * gate.watch(server); // counts and reports accepts that fail with EMFILE
 * server.on('upgrade', (req, socket, head) => {
 *   gate.admit(socket, async (done) => {
 *     try {
 *       const user = await authenticate(req); // the expensive part, now bounded
 *       wss.handleUpgrade(req, socket, head, (ws) => { node.attach(user, ws); done(); });
 *     } catch {
 *       socket.destroy();
 *       done();
 *     }
 *   });
 * });
 * ```
 */
export class HandshakeGate extends EventEmitter<HandshakeGateEvents> {
  readonly #admission: Admission;
  readonly #timeoutMs: number;
  readonly #maxConnections: number;
  readonly #budget: DescriptorBudget;
  #connections = 0;
  readonly #counts = { abandoned: 0, timedOut: 0, acceptFailures: 0, connections: 0 };
  #acceptReported = 0;
  #near = false;

  /** @throws RingError `INVALID_OPTION` */
  constructor(options: HandshakeGateOptions = {}) {
    super();
    if (typeof options !== 'object' || options === null) throw new RingError('INVALID_OPTION', `HandshakeGate options must be an object, got ${describe(options)}`);
    const int = (value: unknown, fallback: number, name: string, min = 1) => {
      if (value === undefined) return fallback;
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) throw new RingError('INVALID_OPTION', `${name} must be an integer >= ${min}, got ${describe(value)}`);
      return value;
    };
    this.#budget = resolveDescriptorBudget(options);
    this.#timeoutMs = int(options.timeoutMs, 10_000, 'timeoutMs');
    this.#maxConnections = int(options.maxConnections, this.#budget.sockets, 'maxConnections');
    this.#admission = new Admission({
      maxActive: int(options.maxInProgress, 64, 'maxInProgress'),
      maxQueued: int(options.maxQueued, 1024, 'maxQueued', 0),
      queueTimeoutMs: int(options.queueTimeoutMs, 3000, 'queueTimeoutMs'),
    });
  }

  /**
   * Admits `socket`'s handshake: `handshake(done)` runs when a slot is
   * free (at once, or after waiting), and must call `done()` when the
   * handshake ends, however it ends. The slot is also freed when the socket
   * closes, and after `timeoutMs` (the socket is then destroyed). A socket
   * that cannot be admitted is answered `503` with `Retry-After` and closed.
   */
  admit(socket: GatedSocket, handshake: (done: () => void) => void): void {
    if (socket.destroyed) return;
    if (this.#connections >= this.#maxConnections) {
      this.#counts.connections++;
      return refuseUpgrade(socket, 503, `this node holds ${this.#connections} connections (at most ${this.#maxConnections})`, { 'retry-after': String(this.#admission.retryAfterSeconds()) });
    }
    this.#connections++;
    if (!this.#near && this.#connections >= this.#maxConnections * NEAR) {
      this.#near = true;
      this.emit('error', new RingError('OVERLOADED', `connections near the bound: ${this.#connections} of ${this.#maxConnections} (descriptor limit ${this.#budget.limit}); past it handshakes are answered 503`));
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    let state: 'waiting' | 'running' | 'finished' | 'refused' | 'timed-out' = 'waiting';
    const done = (): void => {
      clearTimeout(timer);
      if (state === 'running') state = 'finished';
      ticket?.release();
    };
    // Granted synchronously inside enter() when a slot is free: the ticket comes in the callback.
    let ticket: AdmissionTicket | undefined;
    ticket = this.#admission.enter(
      '',
      (granted) => {
        ticket = granted;
        state = 'running';
        timer = setTimeout(() => {
          state = 'timed-out';
          this.#counts.timedOut++;
          ticket?.release();
          socket.destroy();
        }, this.#timeoutMs);
        timer.unref?.();
        try {
          handshake(done);
        } catch (error) {
          done();
          socket.destroy();
          this.emit('error', error instanceof Error ? error : new Error(String(error)));
        }
      },
      (reason) => {
        state = 'refused';
        refuseUpgrade(socket, 503, reason === 'queue-full' ? 'too many handshakes at once' : 'waited too long for a handshake slot', { 'retry-after': String(this.#admission.retryAfterSeconds()) });
      },
    );
    socket.once('close', () => {
      this.#connections--;
      if (this.#near && this.#connections < this.#maxConnections * REARM) this.#near = false;
      if (state === 'waiting' || state === 'running') this.#counts.abandoned++; // the client left first
      done();
    });
  }

  /**
   * Watches `server` for accepts that fail for lack of descriptors (Node
   * emits them as the server's `error`, which would end the process with no
   * listener): they are counted and reported as an `error` event, at most
   * one a second. Other server errors are reported too.
   */
  watch(server: ErrorSource): this {
    server.on('error', (error: Error) => {
      if (!isDescriptorExhaustion(error)) return void this.emit('error', error);
      this.#counts.acceptFailures++;
      const now = Date.now();
      if (now - this.#acceptReported < 1000) return;
      this.#acceptReported = now;
      this.emit('error', new RingError('OVERLOADED', `accept failed: out of descriptors (${(error as { code?: string }).code}), ${this.#counts.acceptFailures} so far; the limit is ${this.#budget.limit}`));
    });
    return this;
  }

  stats(): HandshakeGateStats {
    const a = this.#admission.stats();
    return {
      inProgress: a.active, queued: a.queued, connections: this.#connections, admitted: a.granted, waited: a.waited,
      refused: { 'queue-full': a.refused['queue-full'], 'queue-timeout': a.refused['queue-timeout'], connections: this.#counts.connections },
      abandoned: this.#counts.abandoned, timedOut: this.#counts.timedOut, acceptFailures: this.#counts.acceptFailures, budget: this.#budget,
    };
  }

  /** Answers everything waiting with 503; handshakes in progress go on. */
  close(): void {
    this.#admission.close();
  }
}
