import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { EventEmitter } from 'eventemitter3';
import { RingError } from '../errors.js';
import type { RingNode } from '../ring/types.js';
import type { DeliveryOutcome } from '../sessions/outcome.js';
import { AuthenticationError } from './authenticate.js';
import { HttpRefusal, readJsonBody, sendJson } from './http-errors.js';
import { MemberUrlCache } from './member-url.js';
import { type GatewayMessage, type GatewayOptions, type ResolvedGatewayOptions, resolveGatewayOptions } from './options.js';
import { RateLimiter } from './rate-limiter.js';
import { openTunnel, refuseUpgrade } from './upgrade-proxy.js';
import { ClientHold } from './client-hold.js';
import { GatewayAdmission } from './gateway-admission.js';
import type { GatewayHandlerStats, RefusalReason } from './stats.js';

export type { GatewayHandlerStats, RefusalReason } from './stats.js';
import type { AdmissionTicket } from '../sessions/admission.js';
import { isDescriptorExhaustion } from '../sessions/descriptors.js';

export interface GatewayHandlerEvents {
  /** Background failures: a member with a bad URL, an `authenticate` hook that threw, a failed send. */
  error: (error: Error) => void;
}


/** What {@link GatewayHandler.watch} needs of a server (a `node:http`, `node:https` or `node:net` server fits). */
export interface WatchedServer {
  maxConnections?: number | null;
  on(event: 'error', listener: (error: Error) => void): unknown;
  on(event: 'drop', listener: () => void): unknown;
}

/** The answer to a send: each distinct recipient once, by outcome. */
export interface SendResult {
  /** The message id the recipients see: `<sender>/<id>` (ids are per sender, so one sender cannot clash with another's). */
  readonly id: string;
  readonly delivered: string[];
  /** Certainly not delivered, with the reason. */
  readonly failed: Array<{ user: string; reason: string }>;
  /** Maybe delivered: written or handed over, no acknowledgement in time. */
  readonly unknown: Array<{ user: string; reason: string }>;
}

const CLIENT_ID = /^[\w.:-]{1,80}$/;
const GROUP_PATH = /^\/groups\/([\w.:-]{1,64})\/send$/;

/**
 * The gateway's handlers for plain `node:http`: `handleRequest(req, res)`
 * serves `GET /route`, `POST /send` and `POST /groups/:id/send` (and
 * returns false for any other path, so it plugs into a larger server), and
 * `handleUpgrade(req, socket, head)` proxies WebSocket upgrades at `wsPath`
 * to the user's owner in one step. Every request is authenticated first.
 *
 * @example
 * ```ts
 * const gateway = new GatewayHandler({ router, dispatcher, authenticate: await createJwtAuthenticator({ secret }) });
 * const server = createServer(gatewayServerOptions(), (req, res) => {
 *   if (!gateway.handleRequest(req, res)) { res.writeHead(404).end(); }
 * });
 * server.on('upgrade', gateway.handleUpgrade);
 * ```
 */
export class GatewayHandler extends EventEmitter<GatewayHandlerEvents> {
  readonly #o: ResolvedGatewayOptions;
  readonly #rate: RateLimiter;
  readonly #members: MemberUrlCache;
  readonly #tunnels = new Set<Duplex>();
  /** Upgrades admitted and not yet tunnels (queued, authenticating): they count against `maxTunnels` too. */
  readonly #upgrading = new Set<Duplex>();
  readonly #refused: Record<RefusalReason, number> = {
    unauthenticated: 0, forbidden: 0, 'bad-request': 0, 'too-large': 0, 'rate-limited': 0, overloaded: 0, 'bad-member': 0, unreachable: 0,
    'queue-full': 0, 'queue-timeout': 0, descriptors: 0,
  };
  readonly #admission: GatewayAdmission;
  #abandoned = 0;
  #inFlight = 0;
  #closed = false;

  /** @throws RingError `INVALID_OPTION` (notably without `authenticate` unless `insecure: true`) */
  constructor(options: GatewayOptions) {
    super();
    this.#o = resolveGatewayOptions(options);
    const l = this.#o.limits;
    this.#rate = new RateLimiter(l.ratePerSecond, l.burst, l.maxSenders, this.#o.now);
    this.#members = new MemberUrlCache((reason) => this.#report(new RingError('INVALID_NODE', `${reason}: never proxied to`)));
    this.#admission = new GatewayAdmission(l, () => this.#o.router.ring.size, (error) => this.#report(error));
  }

  stats(): GatewayHandlerStats {
    return {
      tunnels: this.#tunnels.size, inFlight: this.#inFlight, senders: this.#rate.size, refused: { ...this.#refused }, abandoned: this.#abandoned,
      ...this.#admission.stats(),
    };
  }

  /**
   * Keeps the gateway's `server` inside the descriptor budget and watches
   * it. Unless the server has a `maxConnections` already, it is set to what
   * the budget leaves besides the tunnels' hops to the nodes
   * (`maxDescriptors - reservedDescriptors - maxTunnels`): Node then closes
   * a connection past it as soon as it is accepted, the cheapest refusal
   * there is, so the process never reaches its limit (counted as
   * `descriptors.dropped`). Accepts that fail for lack of descriptors
   * anyway (Node emits them as the server's `error` event, which ends the
   * process when nobody listens) are counted (`descriptors.exhausted`) and
   * reported as an `error` event, at most one a second; other server errors
   * are reported as they are.
   */
  watch(server: WatchedServer): this {
    if (server.maxConnections === undefined || server.maxConnections === null || !Number.isFinite(server.maxConnections)) {
      const b = this.#admission.budget;
      server.maxConnections = Math.max(1, b.sockets - this.#o.limits.maxTunnels);
    }
    server.on('drop', () => this.#admission.dropped());
    server.on('error', (error: Error) => {
      if (isDescriptorExhaustion(error)) this.#admission.exhausted(error, 'accept');
      else this.#report(error);
    });
    return this;
  }

  /**
   * Refuses what comes next with 503 and closes every tunnel. Sends in flight
   * still get their answers. With `keepTunnels`, open WebSockets stay up, so
   * the nodes can close them with their own going-away code during a
   * cluster shutdown; call `close()` again to cut them.
   */
  close(options: { readonly keepTunnels?: boolean } = {}): void {
    this.#closed = true;
    this.#admission.close();
    if (options.keepTunnels === true) return;
    for (const socket of this.#tunnels) socket.destroy();
  }

  /** Serves the gateway's routes; false (nothing written) for any other path. */
  readonly handleRequest = (req: IncomingMessage, res: ServerResponse): boolean => {
    const path = pathOf(req.url);
    const method = req.method ?? '';
    let run: (() => Promise<unknown>) | null = null;
    if (path === '/route' && method === 'GET') run = () => this.#admitRoute(req, res);
    else if (path === '/send' && method === 'POST') run = () => this.#send(req, res, null);
    else {
      const group = method === 'POST' && path !== null ? GROUP_PATH.exec(path)?.[1] : undefined;
      if (group !== undefined) run = () => this.#send(req, res, group);
    }
    if (run === null) return false;
    run().catch((error: unknown) => {
      if (error instanceof HttpRefusal) return sendJson(res, error.status, { error: error.message }, error.headers);
      this.#report(error);
      sendJson(res, 500, { error: 'internal error' });
    });
    return true;
  };

  /**
   * Proxies a WebSocket upgrade at `wsPath` to the owner of its `user`;
   * anything else is answered 404 and closed. Upgrades are admitted first
   * (at most `maxPendingUpgrades` in progress, `maxPendingPerNode` to one
   * owner, `maxQueued` waiting up to `queueTimeoutMs`), before any
   * authentication: a refusal is one cheap write of a 503 with `Retry-After`.
   */
  readonly handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', () => socket.destroy());
    let owner: string;
    let claimed: string;
    try {
      ({ owner, claimed } = this.#checkUpgrade(req));
    } catch (error) {
      return this.#refuseSocket(socket, error);
    }
    this.#admission.hold(1);
    this.#upgrading.add(socket);
    socket.once('close', () => {
      this.#admission.free(1);
      this.#upgrading.delete(socket);
    });
    const hold = new ClientHold(socket, head);
    const ticket = this.#admission.upgrades.enter(
      owner,
      (granted) => void this.#upgrade(req, hold, claimed, granted),
      (reason) => {
        hold.release();
        this.#refuseSocket(socket, this.#refuse(reason, 503, reason === 'queue-full' ? 'too many connections are being set up: try again later' : 'waited too long for a connection slot: try again later', { 'retry-after': String(this.#admission.upgrades.retryAfterSeconds()) }));
      },
    );
    // Until the tunnel takes the hold over: a client that leaves while queued or authenticated frees its slot.
    hold.onAbandon(() => {
      this.#abandoned++;
      ticket.release();
    });
  };

  /** The cheap checks before admission. @throws HttpRefusal */
  #checkUpgrade(req: IncomingMessage): { owner: string; claimed: string } {
    if (this.#closed) throw this.#refuse('overloaded', 503, 'the gateway is closing');
    const url = parseUrl(req.url);
    if (url === null || url.pathname !== this.#o.wsPath) throw new HttpRefusal(404, 'not found');
    const claimed = url.searchParams.get('user');
    if (claimed === null || !this.#o.isUserId(claimed)) throw this.#refuse('bad-request', 400, 'user must be a user id');
    const l = this.#o.limits;
    if (this.#tunnels.size + this.#upgrading.size >= l.maxTunnels) {
      throw this.#refuse('overloaded', 503, `too many connections (at most ${l.maxTunnels})`, { 'retry-after': String(this.#admission.capacity.refuse()) });
    }
    if (!this.#admission.fits(2)) throw this.#refuse('descriptors', 503, 'the gateway is out of connections: try again later', { 'retry-after': String(this.#admission.capacity.refuse()) });
    // The slot's group: the claimed user's owner (checked again after authentication).
    return { owner: this.#owner(claimed).id, claimed };
  }

  async #upgrade(req: IncomingMessage, hold: ClientHold, claimed: string, ticket: AdmissionTicket): Promise<void> {
    const socket = hold.socket;
    try {
      const user = await this.#identify(req, claimed);
      if (user !== claimed) throw this.#refuse('forbidden', 403, 'the token is not for this user');
      if (hold.abandoned) return ticket.release();
      const owner = this.#owner(user);
      const target = this.#target(owner);
      this.#upgrading.delete(socket);
      this.#tunnels.add(socket);
      this.#admission.hold(1);
      openTunnel(req, hold, target, {
        connectTimeoutMs: this.#o.limits.connectTimeoutMs,
        idleTimeoutMs: this.#o.limits.idleTimeoutMs,
        headers: { 'x-forwarded-for': req.socket.remoteAddress ?? '', 'x-ringroute-node': owner.id },
        onSettled: () => ticket.release(),
        onUpstreamClosed: () => this.#admission.free(1),
        retryAfterSeconds: () => this.#admission.capacity.refuse(),
        onEnd: (how, error) => {
          this.#tunnels.delete(socket);
          this.#admission.capacity.closed();
          if (how === 'connect-failed' || how === 'connect-timeout') this.#refused.unreachable++;
          else if (how === 'abandoned') this.#abandoned++;
          else if (how === 'descriptors') {
            this.#refused.descriptors++;
            this.#admission.exhausted(error, 'connect');
          }
        },
      });
    } catch (error) {
      ticket.release();
      if (hold.abandoned) return;
      hold.release();
      this.#refuseSocket(socket, error);
    }
  }

  #refuseSocket(socket: Duplex, error: unknown): void {
    if (error instanceof HttpRefusal) return refuseUpgrade(socket, error.status, error.message, error.headers);
    this.#report(error);
    refuseUpgrade(socket, 500, 'internal error');
  }

  /** `GET /route` through its own admission: at most `maxPendingRoutes` at once, the rest wait or get a 503 with `Retry-After`. */
  #admitRoute(req: IncomingMessage, res: ServerResponse): Promise<void> {
    return new Promise((resolve, reject) => {
      if (!this.#admission.fits(1)) {
        return reject(this.#refuse('descriptors', 503, 'the gateway is out of connections: try again later', { 'retry-after': String(this.#admission.capacity.refuse()) }));
      }
      this.#admission.hold(1);
      const ticket = this.#admission.routes.enter(
        '',
        (granted) => {
          this.#route(req, res).finally(() => granted.release()).then(resolve, reject);
        },
        (reason) => reject(this.#refuse(reason, 503, reason === 'queue-full' ? 'too many requests at once: try again later' : 'waited too long: try again later', { 'retry-after': String(this.#admission.routes.retryAfterSeconds()) })),
      );
      res.once('close', () => {
        this.#admission.free(1);
        ticket.release(); // the client left, or the answer is sent
      });
    });
  }

  async #route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const claimed = parseUrl(req.url)?.searchParams.get('user') ?? null;
    if (claimed !== null && !this.#o.isUserId(claimed)) throw this.#refuse('bad-request', 400, 'user must be a user id');
    const user = await this.#identify(req, claimed);
    if (claimed !== null && user !== claimed) throw this.#refuse('forbidden', 403, 'the token is not for this user');
    const owner = this.#owner(user);
    const target = this.#target(owner);
    sendJson(res, 200, { user, node: owner.id, url: target.url, version: (this.#o.router as { version?: number }).version ?? null });
  }

  async #send(req: IncomingMessage, res: ServerResponse, group: string | null): Promise<void> {
    if (this.#closed) throw this.#refuse('overloaded', 503, 'the gateway is closing');
    const l = this.#o.limits;
    const bearer = this.#o.authenticate === null ? null : await this.#identify(req, null);
    // A sender already over its rate is refused before its body is read: a flood costs as little as possible.
    const early = bearer === null ? null : this.#rate.peek(bearer);
    if (early !== null && early.verdict === 'limited') {
      throw this.#refuse('rate-limited', 429, `too many sends from ${bearer}: at most ${l.ratePerSecond} a second`, { 'retry-after': String(early.retryAfterSeconds) });
    }
    let body: Record<string, unknown>;
    try {
      body = await readJsonBody(req, l.maxBodyBytes);
    } catch (error) {
      if (error instanceof HttpRefusal && error.status === 413) this.#refused['too-large']++;
      else if (error instanceof HttpRefusal) this.#refused['bad-request']++;
      throw error;
    }
    const from = bearer ?? (await this.#identify(req, typeof body.from === 'string' ? body.from : null));
    if (body.from !== undefined && body.from !== from) throw this.#refuse('forbidden', 403, 'from must be left out or equal the authenticated user: the sender comes from the credential');
    if (typeof body.text !== 'string') throw this.#refuse('bad-request', 400, 'text must be a string');
    if (body.text.length > l.maxTextLength) throw this.#refuse('too-large', 413, `text must be at most ${l.maxTextLength} characters`);
    if (body.id !== undefined && (typeof body.id !== 'string' || !CLIENT_ID.test(body.id))) throw this.#refuse('bad-request', 400, 'id must be 1-80 characters of [A-Za-z0-9_.:-]');
    let to: string[];
    if (group === null) {
      if (typeof body.to !== 'string' || !this.#o.isUserId(body.to)) throw this.#refuse('bad-request', 400, 'to must be a user id');
      to = [body.to];
    } else {
      if (!Array.isArray(body.members)) throw this.#refuse('bad-request', 400, 'members must be an array of user ids');
      if (body.members.length > l.maxRecipients) throw this.#refuse('too-large', 413, `a group send takes at most ${l.maxRecipients} members`);
      for (const m of body.members) if (typeof m !== 'string' || !this.#o.isUserId(m)) throw this.#refuse('bad-request', 400, 'members must be an array of user ids');
      to = [...new Set(body.members as string[])].filter((m) => m !== from); // the sender does not get its own message
    }
    // Never more than the burst, or a large group would be refused for ever under a small burst.
    const decision = this.#rate.take(from, Math.min(l.burst, 1 + Math.floor(to.length / 32)));
    if (decision.verdict === 'limited') throw this.#refuse('rate-limited', 429, `too many sends from ${from}: at most ${l.ratePerSecond} a second`, { 'retry-after': String(decision.retryAfterSeconds) });
    if (decision.verdict === 'full') throw this.#refuse('overloaded', 503, 'too many senders at once', { 'retry-after': '1' });
    if (this.#inFlight + to.length > l.maxInFlight) throw this.#refuse('overloaded', 503, `the gateway has ${this.#inFlight} deliveries in flight (at most ${l.maxInFlight})`, { 'retry-after': '1' });
    const id = `${from}/${typeof body.id === 'string' ? body.id : randomUUID()}`;
    const message: GatewayMessage = { kind: group === null ? 'oneToOne' : 'group', from, text: body.text, ...(group !== null ? { group } : {}) };
    this.#inFlight += to.length;
    let outcomes: DeliveryOutcome[];
    try {
      outcomes = to.length === 0 ? [] : await this.#o.dispatcher.sendGroup(to, this.#o.format(message), { id });
    } catch (error) {
      if (error instanceof RingError && error.code === 'OVERLOADED') throw this.#refuse('overloaded', 503, error.message, { 'retry-after': '1' });
      throw error;
    } finally {
      this.#inFlight -= to.length;
    }
    const result: SendResult = { id, delivered: [], failed: [], unknown: [] };
    for (const o of outcomes) {
      if (o.status === 'delivered') result.delivered.push(o.key);
      else if (o.status === 'failed') result.failed.push({ user: o.key, reason: o.reason });
      else result.unknown.push({ user: o.key, reason: o.reason });
    }
    sendJson(res, 200, result);
  }

  /** The caller's user id (authenticated, or in insecure mode the claimed one). @throws HttpRefusal 401/503 */
  async #identify(req: IncomingMessage, claimed: string | null): Promise<string> {
    const authenticate = this.#o.authenticate;
    if (authenticate === null) {
      if (claimed === null || !this.#o.isUserId(claimed)) throw this.#refuse('bad-request', 400, 'insecure gateway: name the user (user parameter or from)');
      return claimed;
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    let user: string | null | undefined | 'timeout';
    try {
      const answer = authenticate(req);
      if (isThenable(answer)) {
        // Only a hook that is really waiting gets a timer.
        const timeout = new Promise<'timeout'>((resolve) => {
          timer = setTimeout(() => resolve('timeout'), this.#o.limits.authTimeoutMs);
        });
        user = await Promise.race([answer, timeout]);
      } else user = answer;
    } catch (error) {
      if (!(error instanceof AuthenticationError)) this.#report(error);
      user = null;
    } finally {
      clearTimeout(timer);
    }
    if (user === 'timeout') throw this.#refuse('overloaded', 503, 'authentication timed out', { 'retry-after': '1' });
    if (user === null || user === undefined) throw this.#refuse('unauthenticated', 401, 'a valid token is required', { 'www-authenticate': 'Bearer' });
    if (typeof user !== 'string' || !this.#o.isUserId(user)) {
      this.#report(new RingError('INVALID_OPTION', `authenticate returned ${JSON.stringify(String(user).slice(0, 80))}, which is not a user id`));
      throw this.#refuse('unauthenticated', 401, 'a valid token is required', { 'www-authenticate': 'Bearer' });
    }
    return user;
  }

  #owner(user: string): RingNode {
    if (this.#o.router.ring.size === 0) throw this.#refuse('unreachable', 503, 'no node is up', { 'retry-after': '1' });
    return this.#o.router.lookup(user);
  }

  #target(owner: RingNode) {
    const check = this.#members.check(owner);
    if (!check.ok) throw this.#refuse('bad-member', 502, `the owner ${JSON.stringify(owner.id)} has no usable URL`);
    const { host, port, tls } = check.target;
    if (!this.#o.allowTarget({ host, port, tls }, owner)) {
      this.#report(new RingError('INVALID_NODE', `member ${JSON.stringify(owner.id)} at ${check.target.url} refused by allowTarget`));
      throw this.#refuse('bad-member', 502, `the owner ${JSON.stringify(owner.id)} has no usable URL`);
    }
    return check.target;
  }

  #refuse(reason: RefusalReason, status: number, message: string, headers: Readonly<Record<string, string>> = {}): HttpRefusal {
    this.#refused[reason]++;
    return new HttpRefusal(status, message, headers);
  }

  #report(error: unknown): void {
    const e = error instanceof Error ? error : new Error(String(error));
    if (this.listenerCount('error') > 0) this.emit('error', e);
  }
}

function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

function parseUrl(raw: string | undefined): URL | null {
  try {
    return new URL(raw ?? '/', 'http://gateway');
  } catch {
    return null;
  }
}

function pathOf(raw: string | undefined): string | null {
  return parseUrl(raw)?.pathname ?? null;
}
