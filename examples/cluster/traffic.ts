/**
 * The load generator's senders and its ground truth. It posts one-to-one and
 * group messages to the gateways at a steady rate and records, per message
 * and recipient, what the sender was told (the gateway's answer) and what
 * the recipient's client actually received (first receipt time; later
 * copies are counted as duplicates). report.ts turns this into figures.
 */
import { type Agent } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { MessageFrame } from './client.js';
import { requestJson } from './http.js';
import type { Mode, TrafficKind } from './protocol.js';
import type { Result } from './gateway.js';

/**
 * What the sender was told about one recipient: `delivered` (acknowledged),
 * `failed` (certainly never reached a socket) or `unknown` (written or handed
 * over, no acknowledgement in time: the truthful answer during an outage).
 */
export type Told = 'delivered' | 'failed' | 'unknown';

export interface RecipientRecord {
  receivedAt?: number;
  told?: Told;
  reason?: string;
  copies: number;
}

export interface MessageRecord {
  readonly id: string;
  readonly mode: Mode;
  readonly kind: TrafficKind;
  /** Sent in a steady window (all nodes up, no change running)? */
  readonly steady: boolean;
  /** The phase it was sent in, when the scenario named one (e.g. `outage`). */
  readonly phase?: string;
  readonly sentAt: number;
  readonly recipients: Map<string, RecipientRecord>;
}

export interface TrafficOptions {
  readonly users: number;
  readonly gateways: readonly string[];
  /** One-to-one messages per second. */
  readonly oneToOneRate: number;
  /** Group messages per second. */
  readonly groupRate: number;
  readonly groups: number;
  readonly groupSize: number;
  readonly agent?: Agent;
  /** The sender's token (null for an insecure cluster). */
  readonly token: (user: string) => Promise<string | null>;
  /** @default 2000 */
  readonly maxOutstanding?: number;
  readonly random?: () => number;
  /**
   * Retry a post that got no answer (connection refused or reset) on the
   * next gateway, with the same message id, as a sender behind a load
   * balancer would, instead of the same one. @default false
   */
  readonly retryOtherGateway?: boolean;
}

const TICK_MS = 20;
/** What a post that every gateway tried refused the connection of (ECONNREFUSED) fails with: certainly not sent. */
const REFUSED_EVERY_TIME = 'connection refused on every attempt';
/** requestJson's message for an answer the gateway gives before dispatching anything. */
const REFUSED = /^POST \S+: (4\d\d|503) /;

export class Traffic {
  readonly records = new Map<string, MessageRecord>();
  /** Frames for a message id never sent, or delivered to a user who is not a recipient: both must stay 0. */
  misrouted = 0;
  /** Sends skipped because too many requests were outstanding. */
  skipped = 0;
  readonly #o: TrafficOptions;
  readonly #groups: string[][];
  readonly #random: () => number;
  readonly #sent = { oneToOne: 0, group: 0 };
  #outstanding = 0;
  #seq = 0;
  #steady = false;
  #phase: string | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(options: TrafficOptions) {
    this.#o = options;
    this.#random = options.random ?? Math.random;
    this.#groups = Array.from({ length: options.groups }, () => {
      const members = new Set<string>();
      while (members.size < Math.min(options.groupSize, options.users)) members.add(this.#user());
      return [...members];
    });
  }

  /** Messages sent so far, by kind. */
  get sent(): Readonly<Record<TrafficKind, number>> {
    return { ...this.#sent };
  }

  /** Posts whose answer has not come back yet. */
  get outstanding(): number {
    return this.#outstanding;
  }

  /** Give this to the users: it records receipts, at `at` on this process's `performance.now()` clock (users in another process tell when they received it). */
  readonly onMessage = (user: string, frame: MessageFrame, at: number = performance.now()): void => {
    const recipient = this.records.get(frame.id)?.recipients.get(user);
    if (recipient === undefined || frame.to !== user) {
      this.misrouted++;
      return;
    }
    recipient.copies++;
    recipient.receivedAt ??= at;
  };

  /** Starts sending at the configured rates, tagging messages with `mode` and whether the window is steady. */
  start(mode: Mode, steady = false): void {
    this.stop();
    this.#steady = steady;
    this.#phase = undefined;
    let oneToOne = 0;
    let group = 0;
    this.#timer = setInterval(() => {
      oneToOne += (this.#o.oneToOneRate * TICK_MS) / 1000;
      group += (this.#o.groupRate * TICK_MS) / 1000;
      for (; oneToOne >= 1; oneToOne--) this.#sendOne(mode);
      for (; group >= 1; group--) this.#sendGroup(mode);
    }, TICK_MS);
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Tags the messages sent from now on with `phase` (undefined: none), without stopping the traffic. */
  setPhase(phase: string | undefined): void {
    this.#phase = phase;
  }

  /** Waits until every post has its answer. */
  async drain(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.#outstanding > 0) {
      if (Date.now() > deadline) throw new Error(`${this.#outstanding} sends still unanswered after ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  #sendOne(mode: Mode): void {
    const from = this.#user();
    let to = this.#user();
    while (to === from && this.#o.users > 1) to = this.#user();
    this.#post(mode, 'oneToOne', from, [to], '/send', { to });
  }

  #sendGroup(mode: Mode): void {
    const index = Math.floor(this.#random() * this.#groups.length);
    const members = this.#groups[index]!;
    const from = members[Math.floor(this.#random() * members.length)]!;
    const to = members.filter((m) => m !== from);
    this.#post(mode, 'group', from, to, `/groups/g${index}/send`, { members });
  }

  #post(mode: Mode, kind: TrafficKind, from: string, to: readonly string[], path: string, body: Record<string, unknown>): void {
    if (this.#outstanding >= (this.#o.maxOutstanding ?? 2000)) {
      this.skipped++;
      return;
    }
    const clientId = `m${++this.#seq}`;
    const id = `${from}/${clientId}`; // the gateway scopes message ids per sender: this is what recipients see
    const record: MessageRecord = { id, mode, kind, steady: this.#steady, ...(this.#phase !== undefined ? { phase: this.#phase } : {}), sentAt: performance.now(), recipients: new Map(to.map((u) => [u, { copies: 0 }])) };
    this.records.set(id, record);
    this.#sent[kind]++;
    this.#outstanding++;
    const gateways = this.#o.gateways;
    const first = Number(from.slice(from.indexOf('-') + 1)) % gateways.length;
    const url = (attempt: number) => `${gateways[this.#o.retryOtherGateway === true ? (first + attempt - 1) % gateways.length : first]}${path}`;
    this.#o.token(from)
      .then((token) => postWithRetry(url, { ...body, id: clientId, text: `hello from ${from}`, ...(token === null ? { from } : {}) }, this.#o.agent, token))
      .then((result) => {
        for (const user of result.delivered) tell(record, user, 'delivered');
        for (const { user, reason } of result.failed) tell(record, user, 'failed', reason);
        for (const { user, reason } of result.unknown) tell(record, user, 'unknown', reason);
      })
      .catch((error: unknown) => {
        // A refusal (4xx, 503, or every connection refused) comes before anything is sent: the whole send failed. Without an answer
        // (network error, timeout, 500) the gateway may have sent it: the sender cannot know.
        const message = (error as Error).message;
        const told: Told = REFUSED.test(message) || message.startsWith(REFUSED_EVERY_TIME) ? 'failed' : 'unknown';
        for (const user of record.recipients.keys()) tell(record, user, told, `http: ${message.slice(0, 80)}`);
      })
      .finally(() => this.#outstanding--);
  }

  #user(): string {
    return `user-${Math.floor(this.#random() * this.#o.users)}`;
  }
}

/**
 * Posts, retrying (same message id, so the gateway does not send twice) when
 * the connection failed before an answer; HTTP error answers are final.
 *
 * A retry after a connection that broke once the request was out (reset,
 * hang-up: not a refusal) cannot know whether that attempt was dispatched:
 * on another gateway, or on a restarted one, nothing remembers the id, and
 * the first attempt may have reached the user. A `failed` from the retry
 * then means only "this attempt failed", so it is reported as `unknown`
 * (and so is a refusal of the retry), never as a certain failure.
 */
async function postWithRetry(url: (attempt: number) => string, body: Record<string, unknown>, agent: Agent | undefined, token: string | null, attempts = 3): Promise<Result> {
  let mayHaveGone = false;
  for (let attempt = 1; ; attempt++) {
    let result: Result;
    try {
      result = await requestJson<Result>('POST', url(attempt), body, { timeoutMs: 60_000, ...(agent ? { agent } : {}), ...(token !== null ? { token } : {}) });
    } catch (error) {
      const message = (error as Error).message;
      const network = /ECONNRESET|ECONNREFUSED|EPIPE|socket hang up/.test(message);
      if (mayHaveGone && REFUSED.test(message)) throw new Error(`retried after a lost answer, then ${message}`);
      if (!network) throw error;
      if (attempt >= attempts) {
        // Refused every time: no gateway ever had the request, so nothing was sent.
        if (!mayHaveGone && message.includes('ECONNREFUSED')) throw new Error(`${REFUSED_EVERY_TIME}: ${message}`);
        throw error;
      }
      if (!message.includes('ECONNREFUSED')) mayHaveGone = true;
      await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
      continue;
    }
    if (!mayHaveGone || result.failed.length === 0) return result;
    return { ...result, failed: [], unknown: [...result.unknown, ...result.failed.map(({ user, reason }) => ({ user, reason: `retried after a lost answer, then ${reason}` }))] };
  }
}

function tell(record: MessageRecord, user: string, told: Told, reason?: string): void {
  const recipient = record.recipients.get(user);
  if (recipient === undefined || recipient.told !== undefined) return;
  recipient.told = told;
  if (reason !== undefined) recipient.reason = reason;
}
