import { randomBytes, randomFillSync } from 'node:crypto';
import type { Transport } from '../../live/transport.js';
import { RingError, describe } from '../../errors.js';
import { checkConnection, checkTimeout, connectionClosed, isClosed, type NatsConnection } from './bucket.js';
import { DEFAULT_NATS_PREFIX, addressToken, natsNames } from './names.js';

/** Bytes of randomness drawn at once for reply-subject secrets (512 publishes' worth). */
const SECRET_POOL_BYTES = 4096;

/** Options of {@link NatsTransport}. */
export interface NatsTransportOptions {
  /** Your NATS connection; the transport publishes and subscribes on it and never closes it. */
  readonly nats: NatsConnection;
  /** Namespace shared by the cluster: an address is the subject `<prefix>.sessions.<token>`. @default "ringroute" */
  readonly prefix?: string;
  /**
   * Longest wait for the server to confirm a publish or a subscription, in
   * ms; a slower publish rejects as "maybe sent" (not a `RingError`).
   * @default 5000
   */
  readonly timeoutMs?: number;
  /**
   * Subject prefix of the reply subjects that carry the server's
   * no-responders statuses back (your connection's `inboxPrefix`, if your
   * permissions need another one).
   * @default "_INBOX"
   */
  readonly inboxPrefix?: string;
}

/**
 * A {@link Transport} over core NATS: one subject per address,
 * `<prefix>.sessions.<token>` (see {@link addressToken} for the encoding).
 *
 * NATS does not count receivers. Each publish carries a reply subject of this
 * transport's own, and is followed by a round trip to the server (one
 * `flush()` for all publishes of the same tick): when no subscription matched
 * the subject, the server answers the reply subject with a no-responders
 * status (503) before that round trip completes, so `publish` resolves to
 * `0` ("nobody listens": certain), and otherwise to `1` ("at least one
 * listener was handed the message"), never to the exact count. Delivery is at
 * most once: a listener reconnecting, or too slow for its client's buffer,
 * loses messages, which senders' timeouts and retries cover. On a NATS
 * cluster a subscription made on one server takes a moment to be known to the
 * others, so a publish right after a `listen` elsewhere may still resolve 0.
 *
 * Trust: every client of the NATS account can publish to any subject. Each
 * publish's reply subject carries 64 random bits, so a client that cannot
 * read the address's subject cannot forge a "nobody listens" (tested with
 * forged no-responders statuses on the whole reply inbox); one that can read
 * it can also read and forge the messages themselves. Give the cluster's
 * processes a NATS account (or permissions) of their own.
 */
export class NatsTransport implements Transport {
  readonly #nc: NatsConnection;
  readonly #subjectPrefix: string;
  readonly #timeoutMs: number;
  readonly #inboxPrefix: string;
  readonly #subscriptions = new Map<string, { unsubscribe(): void }>();
  /**
   * Publishes waiting for their round trip, by id: the secret in their reply
   * subject and whether a no-responders status came back for it.
   */
  readonly #pending = new Map<number, { readonly secret: string; nobody: boolean }>();
  /** Random bytes for the reply subjects' secrets, drawn 8 at a time and refilled when used up. */
  readonly #secrets = Buffer.alloc(SECRET_POOL_BYTES);
  #secretOffset = SECRET_POOL_BYTES;
  #inbox: { prefix: string; sub: { unsubscribe(): void } } | null = null;
  #sequence = 0;
  #flush: Promise<void> | null = null;
  #closed = false;

  constructor(options: NatsTransportOptions) {
    if (typeof options !== 'object' || options === null) throw new RingError('INVALID_OPTION', `NatsTransport needs { nats }, got ${describe(options)}`);
    checkConnection(options.nats, 'NatsTransport');
    const timeoutMs = options.timeoutMs ?? 5000;
    checkTimeout(timeoutMs);
    const inboxPrefix = options.inboxPrefix ?? '_INBOX';
    if (typeof inboxPrefix !== 'string' || !/^[A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+)*$/.test(inboxPrefix)) {
      throw new RingError('INVALID_OPTION', `inboxPrefix must be a subject without wildcards or whitespace, got ${describe(inboxPrefix)}`);
    }
    this.#nc = options.nats;
    this.#subjectPrefix = natsNames(options.prefix ?? DEFAULT_NATS_PREFIX).sessions;
    this.#timeoutMs = timeoutMs;
    this.#inboxPrefix = inboxPrefix;
  }

  /** The NATS subject of `address`. */
  subject(address: string): string {
    return `${this.#subjectPrefix}.${addressToken(address)}`;
  }

  /**
   * Publishes `message` on the address's subject. Resolves to 0 when the
   * server reported that no subscription matched it, else to 1. Rejects with
   * `INVALID_OPTION` for a bad address or message or one over the server's
   * `max_payload`, `CLOSED` for a closed transport or connection (nothing was
   * sent), and a plain `Error` when the server did not answer within
   * `timeoutMs` (maybe sent).
   */
  async publish(address: string, message: string): Promise<number> {
    this.#check();
    const subject = this.subject(address);
    if (typeof message !== 'string') throw new RingError('INVALID_OPTION', `publish() needs a string message, got ${describe(message)}`);
    const maxPayload = this.#nc.info?.max_payload;
    if (maxPayload !== undefined && message.length > maxPayload / 3) {
      const bytes = Buffer.byteLength(message, 'utf8');
      if (bytes > maxPayload) {
        throw new RingError('INVALID_OPTION', `a message of ${bytes} bytes is over the NATS server's max_payload (${maxPayload} bytes); it was not sent`);
      }
    }
    const inbox = this.#ensureInbox();
    const id = ++this.#sequence;
    const pending = { secret: this.#secret(), nobody: false };
    this.#pending.set(id, pending);
    try {
      this.#nc.publish(subject, message, { reply: `${inbox}.${id}-${pending.secret}` });
    } catch (error) {
      this.#pending.delete(id);
      if (isClosed(this.#nc)) throw connectionClosed('NatsTransport', error);
      throw new RingError('INVALID_OPTION', `NATS refused to send to ${subject}: ${(error as Error).message}`, { cause: error });
    }
    let nobody = false;
    try {
      await this.#roundTrip();
      nobody = pending.nobody;
    } catch (error) {
      // The message was handed to the connection: it may have gone out.
      throw new Error(`publish to ${subject} not confirmed (maybe sent): ${(error as Error).message}`, { cause: error });
    } finally {
      this.#pending.delete(id);
    }
    return nobody ? 0 : 1;
  }

  /**
   * Subscribes to the address's subject; resolves once the server has the
   * subscription (one round trip), so messages published from then on (on
   * this server) arrive. Rejects with `INVALID_OPTION` for a second listener
   * on one address, and `CLOSED` for a closed transport or connection.
   * Listener exceptions and subscription failures (a permission denied, the
   * connection closed under it) go to `onError`.
   */
  async listen(address: string, listener: (message: string) => void, onError?: (error: Error) => void): Promise<() => Promise<void>> {
    this.#check();
    const subject = this.subject(address);
    if (typeof listener !== 'function') throw new RingError('INVALID_OPTION', `listen() needs a listener function, got ${describe(listener)}`);
    if (this.#subscriptions.has(address)) throw new RingError('INVALID_OPTION', `this transport already listens at ${describe(address)}`);
    const report = (error: Error): void => {
      try {
        onError?.(error);
      } catch {
        // an onError that throws must not break the subscription
      }
    };
    let sub;
    try {
      sub = this.#nc.subscribe(subject, {
        callback: (error, msg) => {
          if (error !== null) return report(error);
          try {
            listener(msg.string());
          } catch (thrown) {
            report(thrown instanceof Error ? thrown : new Error(`listener of ${subject} threw: ${String(thrown)}`));
          }
        },
      });
    } catch (error) {
      if (isClosed(this.#nc)) throw connectionClosed('NatsTransport', error);
      throw error;
    }
    this.#subscriptions.set(address, sub);
    void sub.closed.then(() => {
      // Ended by the connection closing, not by us: say so once.
      if (this.#subscriptions.get(address) === sub && isClosed(this.#nc)) {
        this.#subscriptions.delete(address);
        report(connectionClosed(`NatsTransport (listening at ${address})`));
      }
    });
    try {
      await this.#withTimeout(this.#nc.flush(), `the subscription to ${subject}`);
    } catch (error) {
      this.#subscriptions.delete(address);
      sub.unsubscribe();
      throw error;
    }
    return async () => {
      if (this.#subscriptions.get(address) !== sub) return;
      this.#subscriptions.delete(address);
      sub.unsubscribe();
      if (!isClosed(this.#nc)) await this.#withTimeout(this.#nc.flush(), `the unsubscription from ${subject}`).catch(() => undefined);
    };
  }

  /** Stops every listener of this handle and its reply subscription. The caller's connection stays open. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const subs = [...this.#subscriptions.values()];
    this.#subscriptions.clear();
    if (this.#inbox !== null) subs.push(this.#inbox.sub);
    this.#inbox = null;
    if (isClosed(this.#nc)) return;
    for (const sub of subs) sub.unsubscribe();
    await this.#withTimeout(this.#nc.flush(), 'the unsubscriptions of close()').catch(() => undefined);
  }

  /** The reply subscription that hears the server's no-responders statuses, made on first publish. */
  #ensureInbox(): string {
    if (this.#inbox === null) {
      const prefix = `${this.#inboxPrefix}.rr${randomBytes(8).toString('hex')}`;
      let sub;
      try {
        sub = this.#nc.subscribe(`${prefix}.*`, {
          callback: (_error, msg) => {
            // A 503 status is the server's "no subscription matched": nothing else is ever sent here.
            if (msg?.headers?.code !== 503) return;
            // Any client of the account may publish here; only the server learnt the secret of a publish's reply
            // subject (and whoever can read the address's subject: see the class's note on trust).
            const token = msg.subject.slice(prefix.length + 1);
            const dash = token.indexOf('-');
            const pending = this.#pending.get(Number(token.slice(0, dash)));
            if (pending !== undefined && dash > 0 && token.slice(dash + 1) === pending.secret) pending.nobody = true;
          },
        });
      } catch (error) {
        if (isClosed(this.#nc)) throw connectionClosed('NatsTransport', error);
        throw error;
      }
      this.#inbox = { prefix, sub };
    }
    return this.#inbox.prefix;
  }

  /** 64 random bits, hex: makes a reply subject unguessable to a client that cannot read the publish itself. */
  #secret(): string {
    if (this.#secretOffset + 8 > SECRET_POOL_BYTES) {
      randomFillSync(this.#secrets);
      this.#secretOffset = 0;
    }
    const secret = this.#secrets.toString('hex', this.#secretOffset, this.#secretOffset + 8);
    this.#secretOffset += 8;
    return secret;
  }

  /** One flush for every publish of this tick: the server answers it after the no-responders statuses of those publishes. */
  #roundTrip(): Promise<void> {
    if (this.#flush === null) {
      const flush = Promise.resolve().then(() => {
        this.#flush = null;
        return this.#withTimeout(this.#nc.flush(), 'a publish');
      });
      this.#flush = flush;
    }
    return this.#flush;
  }

  async #withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the NATS server did not confirm ${what} within ${this.#timeoutMs} ms`)), this.#timeoutMs);
      timer.unref();
    });
    try {
      return await Promise.race([promise, deadline]);
    } catch (error) {
      if (isClosed(this.#nc)) throw connectionClosed('NatsTransport', error);
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  #check(): void {
    if (this.#closed) throw new RingError('CLOSED', 'this NatsTransport is closed');
    if (isClosed(this.#nc)) throw connectionClosed('NatsTransport');
  }
}
