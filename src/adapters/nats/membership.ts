import { randomUUID } from 'node:crypto';
import type { JetStreamManager } from '@nats-io/jetstream';
import type { KV, KvEntry } from '@nats-io/kv';
import type { Membership, MembershipAdapter, MembershipEvent } from '../../live/contracts.js';
import {
  DEFAULT_MEMBER_HEARTBEAT_MS,
  DEFAULT_MEMBER_TTL_MS,
  MAX_MEMBER_TTL_MS,
  MIN_MEMBER_HEARTBEAT_MS,
  resolveMembershipTiming,
} from '../../live/membership-timing.js';
import { SingleFlight } from '../../live/single-flight.js';
import { RingError, describe } from '../../errors.js';
import { compareIds, normalizeNode } from '../../ring/node.js';
import type { RingNode } from '../../ring/types.js';
import {
  DEFAULT_NATS_TIMEOUT_MS,
  KvBucket,
  checkConnection,
  checkReplicas,
  connectionClosed,
  isClosed,
  managerFor,
  wrongRevision,
  type NatsConnection,
} from './bucket.js';
import { Fanout } from './fanout.js';
import { KvWatchLoop } from './kv-watch.js';
import { DEFAULT_NATS_PREFIX, memberKey, natsNames, type NatsNames } from './names.js';
import { parseMemberRecord, type MemberRecord } from './state.js';

/** Default time a member stays alive without a heartbeat (the same for every adapter). */
export const DEFAULT_NATS_TTL_MS = DEFAULT_MEMBER_TTL_MS;
/** Default interval of heartbeats and expiry scans. */
export const DEFAULT_NATS_HEARTBEAT_MS = DEFAULT_MEMBER_HEARTBEAT_MS;
/** Smallest accepted `heartbeatMs`. */
export const MIN_NATS_HEARTBEAT_MS = MIN_MEMBER_HEARTBEAT_MS;
/** Largest accepted `ttlMs`: one day. */
export const MAX_NATS_TTL_MS = MAX_MEMBER_TTL_MS;

/** Options of a {@link NatsMembership}. */
export interface NatsMembershipOptions {
  /** Your NATS connection, with JetStream enabled on the server; never closed by the adapter. */
  readonly nats: NatsConnection;
  /**
   * Namespace: members live in the KV bucket `<prefix>-members`. 1 to 64
   * letters, digits, `_` or `-`.
   * @default "ringroute"
   */
  readonly prefix?: string;
  /**
   * How long a member stays alive after its last heartbeat, in ms: the max
   * age of the bucket, so the server itself removes a member nobody renews.
   * Set when the bucket is created; every process of one prefix must use the
   * same value (an adapter refuses to work on a bucket with another max age).
   * An integer in [2 x heartbeatMs, 86400000].
   * @default 3000, or 3 x heartbeatMs when that is larger
   */
  readonly ttlMs?: number;
  /**
   * Interval of heartbeats (for members this adapter joined) and of the scan
   * that reports expired members to watchers, in ms. An integer in
   * [10, ttlMs / 2].
   * @default 1000, or ttlMs / 3 (rounded down) when that is smaller
   */
  readonly heartbeatMs?: number;
  /** Replicas of the bucket when this adapter creates it (1, 3 or 5). @default 1 */
  readonly replicas?: number;
  /** Longest wait for one heartbeat-and-scan pass, in ms; a slower one is reported and abandoned. @default ttlMs */
  readonly timeoutMs?: number;
  /** Hears background failures (heartbeats, scans, take-overs, bad records). Watchers' `onError` hear the same. */
  readonly onError?: (error: Error) => void;
}

/** The membership returned by {@link NatsMembership.join}. */
export interface NatsMembershipHandle extends Membership {
  /** The node as registered (normalized). */
  readonly node: RingNode;
  /** Removes the member now (watchers see `leave`) and stops its heartbeats. Idempotent; leaves alone an id another process joined since. */
  leave(): Promise<void>;
  /** Stops heartbeating WITHOUT leaving, as a crashed process would: the member expires after `ttlMs`. Idempotent. */
  abandon(): void;
}

interface Held {
  readonly node: RingNode;
  readonly key: string;
  readonly value: string;
  readonly token: string;
  /** Revision of this adapter's last write of the key. */
  revision: number;
  joining: boolean;
  stopped: boolean;
  leaving: Promise<void> | null;
  /** The heartbeat of this member in flight, if any. */
  beating: Promise<void> | null;
  /** performance.now() when the last two writes the server confirmed were sent: [previous, last]. */
  confirmed: [number, number];
  leaseOverride: number | null;
  /** Another join holds the id: the lease is over; heartbeats register the id again once it is free. */
  displaced: boolean;
}

interface Known {
  readonly record: MemberRecord;
  readonly revision: number;
}

/**
 * A {@link MembershipAdapter} in a NATS JetStream KV bucket.
 *
 * Each member is one key of the bucket `<prefix>-members` (history 1, max age
 * `ttlMs`), holding `{"node":{...},"owner":"<token of the join>"}`. A join
 * writes the key; every `heartbeatMs` the adapter rewrites it with the
 * revision of its own last write as the expected one, so a newer join of the
 * id elsewhere is never overwritten (this adapter's lease ends instead). The
 * server removes a key nobody rewrote for `ttlMs`. NATS 2.9 sends nothing when
 * it removes an aged entry, so expiry is found by a scan: every adapter with
 * watchers lists the bucket every `heartbeatMs` and reports members that
 * vanished without a delete as `expire`; joins, updates and leaves arrive as
 * KV watch pushes (and the scan catches any push a reconnect lost).
 */
export class NatsMembership implements MembershipAdapter {
  readonly #nc: NatsConnection;
  readonly #names: NatsNames;
  readonly #ttlMs: number;
  readonly #heartbeatMs: number;
  readonly #timeoutMs: number;
  readonly #bucket: KvBucket;
  readonly #flight = new SingleFlight();
  readonly #held = new Map<string, Held>();
  readonly #watchers: Fanout<MembershipEvent>;
  /** The watchers' view: member id to record, null before the first scan. */
  #known: Map<string, Known> | null = null;
  #loop: KvWatchLoop | null = null;
  #jsm: Promise<JetStreamManager> | null = null;
  #checked: Promise<void> | null = null;
  #timer: NodeJS.Timeout | null = null;
  /** performance.now() until which the adapter recovers from a server that stopped answering (see #answered). */
  #stalledUntil = 0;
  /** performance.now() of the server's last answer while heartbeats or scans ran (0: none yet). */
  #lastAnswer = 0;
  #ticking = false;
  #closed = false;
  #reportedClosed = false;

  constructor(options: NatsMembershipOptions) {
    if (typeof options !== 'object' || options === null) {
      throw new RingError('INVALID_OPTION', `NatsMembership options must be an object like { nats, prefix }, got ${describe(options)}`);
    }
    checkConnection(options.nats, 'NatsMembership');
    const { ttlMs, heartbeatMs, timeoutMs } = resolveMembershipTiming(options);
    const replicas = options.replicas ?? 1;
    checkReplicas(replicas);
    this.#nc = options.nats;
    this.#names = natsNames(options.prefix ?? DEFAULT_NATS_PREFIX);
    this.#ttlMs = ttlMs;
    this.#heartbeatMs = heartbeatMs;
    this.#timeoutMs = timeoutMs;
    this.#watchers = new Fanout('membership event', options.onError);
    this.#bucket = new KvBucket(this.#nc, this.#names.membersBucket, { ttlMs, history: 1, replicas, timeoutMs: Math.min(timeoutMs, DEFAULT_NATS_TIMEOUT_MS) }, 'NatsMembership');
  }

  /** How long a member stays alive without a heartbeat, in ms. */
  get ttlMs(): number {
    return this.#ttlMs;
  }

  /** The bucket and subject names of this adapter's prefix. */
  get names(): NatsNames {
    return this.#names;
  }

  /**
   * Registers `node` (replacing a live member of that id: watchers see
   * `update` when its weight or meta changed, nothing when identical) and
   * heartbeats it until `leave()`, `abandon()` or `close()`. Rejects with
   * `INVALID_NODE`, `DUPLICATE_NODE` when this adapter already holds the id,
   * `CLOSED` for a closed connection, and the client's error when the server
   * cannot be reached (nothing is then held).
   */
  async join(node: RingNode): Promise<NatsMembershipHandle> {
    this.#assertOpen('join');
    const valid = normalizeNode(node);
    if (this.#held.has(valid.id)) {
      throw new RingError('DUPLICATE_NODE', `node ${describe(valid.id)} already joined through this adapter; leave() it first`);
    }
    const token = randomUUID();
    const sent = performance.now();
    const held: Held = {
      node: valid, key: memberKey(valid.id), value: JSON.stringify({ node: valid, owner: token }), token, revision: 0,
      joining: true, stopped: false, leaving: null, beating: null,
      confirmed: [sent - this.#heartbeatMs, sent], leaseOverride: null, displaced: false,
    };
    this.#held.set(valid.id, held);
    try {
      held.revision = await this.#run((kv) => kv.put(held.key, held.value));
    } catch (error) {
      if (this.#held.get(valid.id) === held) this.#held.delete(valid.id);
      throw error;
    }
    held.joining = false;
    this.#schedule();
    const ttlMs = this.#ttlMs;
    return Object.freeze({
      node: valid,
      get lease() {
        return { until: held.leaseOverride ?? held.confirmed[0] + ttlMs, ttlMs };
      },
      leave: () => this.#leave(held),
      abandon: () => this.#stop(held),
    });
  }

  /**
   * The live members, sorted by id, as the bucket holds them: the server
   * removes a member whose ttl ran out, so none is returned. A record that
   * fails validation is skipped and reported to `onError` and the watchers.
   */
  async members(): Promise<RingNode[]> {
    this.#assertOpen('members');
    const { records } = await this.#list();
    const left = this.#stalledUntil - performance.now();
    if (left > 0) {
      throw new Error(
        `the NATS server stopped answering for longer than members can renew their entries; live members may have aged out meanwhile and are re-registering: not listing members for another ${Math.ceil(left)} ms`,
      );
    }
    return [...records.values()].map((k) => k.record.node).sort((a, b) => compareIds(a.id, b.id));
  }

  /**
   * Calls `listener` with `join`, `update` and `leave` as KV watch pushes
   * bring them, and `expire` when the scan (every `heartbeatMs`) finds a
   * member gone without a delete. Members present when the watch starts are
   * not reported. Bad records, failures and listener exceptions go to
   * `onError`. Stopping the last watch stops the KV watch and the scans.
   */
  watch(listener: (event: MembershipEvent) => void, onError?: (error: Error) => void): () => void {
    this.#assertOpen('watch');
    const stop = this.#watchers.add(listener, onError, () => void this.#stopWatching());
    if (this.#loop === null) {
      this.#loop = new KvWatchLoop({
        bucket: this.#bucket,
        key: '>',
        include: 'updates',
        retryMs: Math.min(this.#heartbeatMs, 200),
        onEntry: (entry) => this.#pushed(entry),
        onError: (error) => this.#report(error),
      });
      // The first scan is the baseline: members already there are not news.
      void this.#scan().catch((error: unknown) => this.#report(error as Error));
    }
    this.#schedule();
    return stop;
  }

  /**
   * Leaves every member this adapter joined (best effort: one that cannot be
   * removed expires after `ttlMs`), stops heartbeats, scans and watches. The
   * caller's connection stays open. Idempotent.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    const leaving = [...this.#held.values()].map((held) => this.#leave(held));
    this.#closed = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    await Promise.allSettled(leaving);
    this.#watchers.clear();
    await this.#stopWatching();
  }

  // ----- the bucket -----

  /** Runs `op` on the bucket, after checking once that its max age is this adapter's ttl. */
  async #run<T>(op: (kv: KV) => Promise<T>): Promise<T> {
    if (isClosed(this.#nc)) throw connectionClosed('NatsMembership');
    this.#checked ??= this.#checkBucket();
    await this.#checked;
    return this.#bucket.run(op);
  }

  async #checkBucket(): Promise<void> {
    try {
      const status = await this.#bucket.run((kv) => kv.status());
      if (status.ttl !== this.#ttlMs) {
        throw new RingError(
          'INVALID_OPTION',
          `bucket ${this.#names.membersBucket} has a max age of ${status.ttl} ms, but this adapter's ttlMs is ${this.#ttlMs}: every process of a prefix must use the same ttlMs (or delete the bucket to change it)`,
        );
      }
    } catch (error) {
      this.#checked = null;
      throw error;
    }
  }

  /** Every member record in the bucket, and the stream's last revision when it was listed. */
  async #list(): Promise<{ records: Map<string, Known>; deleted: Set<string>; lastRevision: number }> {
    const listed = await this.#listNow();
    this.#answered();
    return listed;
  }

  /**
   * Called on every answer of the server. While this adapter heartbeats or
   * scans, the server answers at least every `heartbeatMs` or so; a gap longer
   * than `ttlMs - heartbeatMs` between two answers means the server stopped
   * answering (paused, stalled, cut off) for long
   * enough that no heartbeat could land: NATS then expires live members by
   * their age when it comes back (2.9 has no rule like the Redis scripts'
   * clock gap). For `ttlMs + heartbeatMs` after such an answer the adapter
   * reports no expiry and `members()` rejects, so coordinators hold their
   * writes (their grace period) while the live members' heartbeats register
   * them again; a member that really died is reported after that.
   */
  #answered(): void {
    const now = performance.now();
    const last = this.#lastAnswer;
    const active = this.#held.size > 0 || this.#watchers.size > 0;
    this.#lastAnswer = active ? now : 0;
    // A member's entry can only have aged out if no write of it landed for ttlMs, i.e. after a gap of more
    // than ttlMs - heartbeatMs in the server's answers.
    if (!active || last === 0 || now - last <= this.#ttlMs - this.#heartbeatMs) return;
    const quietBefore = now < this.#stalledUntil;
    this.#stalledUntil = now + this.#ttlMs + this.#heartbeatMs;
    if (!quietBefore) {
      this.#report(
        new Error(
          `the NATS server did not answer for ${Math.round(now - last)} ms (heartbeats every ${this.#heartbeatMs} ms, ttl ${this.#ttlMs} ms): live members may have aged out; no expiries are reported and members() waits ${this.#ttlMs + this.#heartbeatMs} ms while they re-register`,
        ),
      );
    }
  }

  async #listNow(): Promise<{ records: Map<string, Known>; deleted: Set<string>; lastRevision: number }> {
    return this.#run(async (kv) => {
      this.#jsm ??= managerFor(this.#nc, this.#bucket.timeoutMs);
      let jsm: JetStreamManager;
      try {
        jsm = await this.#jsm;
      } catch (error) {
        this.#jsm = null;
        throw error;
      }
      const subjectPrefix = `$KV.${this.#names.membersBucket}.`;
      const info = await jsm.streams.info(`KV_${this.#names.membersBucket}`, { subjects_filter: `${subjectPrefix}>` });
      const keys = Object.keys(info.state.subjects ?? {}).map((subject) => subject.slice(subjectPrefix.length));
      const entries = await Promise.all(keys.map((key) => kv.get(key)));
      const records = new Map<string, Known>();
      const deleted = new Set<string>();
      for (const entry of entries) {
        if (entry === null) continue; // aged out between the listing and the read
        if (entry.operation !== 'PUT') {
          deleted.add(entry.key);
          continue;
        }
        const record = this.#parse(entry);
        if (record !== null) records.set(record.node.id, { record, revision: entry.revision });
      }
      return { records, deleted, lastRevision: info.state.last_seq };
    });
  }

  #parse(entry: KvEntry): MemberRecord | null {
    const where = `${this.#names.membersBucket}/${entry.key}`;
    try {
      const record = parseMemberRecord(entry.value, where);
      if (memberKey(record.node.id) !== entry.key) {
        throw new RingError('INVALID_SNAPSHOT', `member record at ${where} holds node ${describe(record.node.id)}, whose key is ${describe(memberKey(record.node.id))}`);
      }
      return record;
    } catch (error) {
      this.#report(new RingError('INVALID_SNAPSHOT', `member at ${where} skipped: ${(error as Error).message}`, { cause: error }));
      return null;
    }
  }

  // ----- heartbeats -----

  #leave(held: Held): Promise<void> {
    if (held.leaving === null) {
      this.#stop(held);
      held.leaseOverride = Number.POSITIVE_INFINITY;
      held.leaving = (async () => {
        await held.beating?.catch(() => undefined); // a heartbeat landing after the delete would bring the member back
        if (held.displaced) return;
        try {
          await this.#bucket.run((kv) => kv.delete(held.key, { previousSeq: held.revision }));
        } catch (error) {
          if (!wrongRevision(error)) throw error;
          // Someone wrote the key since our last write: delete only if that was still our own record.
          const entry = await this.#bucket.run((kv) => kv.get(held.key));
          if (entry === null || entry.operation !== 'PUT') return;
          if (parseOwner(entry) !== held.token) return; // another join holds it now: leave it alone
          await this.#bucket.run((kv) => kv.delete(held.key, { previousSeq: entry.revision }));
        }
      })();
    }
    return held.leaving;
  }

  #stop(held: Held): void {
    held.stopped = true;
    if (this.#held.get(held.node.id) === held) this.#held.delete(held.node.id);
  }

  #schedule(): void {
    if (this.#closed || this.#timer !== null || this.#ticking || this.#flight.busy) return;
    if (this.#held.size === 0 && this.#watchers.size === 0) return;
    this.#timer = setTimeout(() => void this.#tick(), this.#heartbeatMs);
    this.#timer.unref();
  }

  async #tick(): Promise<void> {
    this.#timer = null;
    this.#ticking = true;
    try {
      if (isClosed(this.#nc)) {
        if (!this.#reportedClosed) this.#report(connectionClosed('NatsMembership'));
        this.#reportedClosed = true;
        return; // nothing scheduled any more: a closed connection never comes back
      }
      const batch = [...this.#held.values()].filter((held) => !held.joining && !held.stopped);
      await this.#flight.run(
        async () => {
          await Promise.all(batch.map((held) => this.#beat(held)));
          if (this.#watchers.size > 0) await this.#scan();
        },
        this.#timeoutMs,
        'membership heartbeat',
        () => this.#schedule(),
      );
    } catch (error) {
      this.#report(error instanceof Error ? error : new Error(String(error)));
    } finally {
      this.#ticking = false;
      if (!isClosed(this.#nc)) this.#schedule();
    }
  }

  #beat(held: Held): Promise<void> {
    const beat = this.#heartbeat(held).catch((error: unknown) => {
      if (!held.stopped) this.#report(new Error(`heartbeat of member ${describe(held.node.id)} failed: ${(error as Error).message}`, { cause: error }));
    });
    held.beating = beat;
    return beat.finally(() => {
      if (held.beating === beat) held.beating = null;
    });
  }

  async #heartbeat(held: Held): Promise<void> {
    const sent = performance.now();
    if (!held.displaced) {
      try {
        held.revision = await this.#run((kv) => kv.update(held.key, held.value, held.revision));
        this.#answered();
        held.confirmed = [held.confirmed[1], sent];
        return;
      } catch (error) {
        if (!wrongRevision(error)) throw error;
      }
    }
    if (held.stopped) return;
    // The key is not at our last write: it aged out (we were cut off for a ttl), vanished (a server restarted
    // empty), or another join wrote it.
    const entry = await this.#run((kv) => kv.get(held.key));
    if (held.stopped) return;
    if (entry !== null && entry.operation === 'PUT') {
      if (parseOwner(entry) === held.token) {
        held.revision = entry.revision; // our own write, whose answer we missed
        return;
      }
      if (!held.displaced) {
        held.displaced = true;
        held.leaseOverride = performance.now();
        this.#report(
          new RingError(
            'DUPLICATE_NODE',
            `member ${describe(held.node.id)} is held by another join of the same id (another process, or a restart of this node); this adapter's lease is over and it joins again once that one expires or leaves`,
          ),
        );
      }
      return;
    }
    try {
      held.revision = await this.#run((kv) => kv.put(held.key, held.value, { previousSeq: entry?.revision ?? 0 }));
    } catch (error) {
      if (wrongRevision(error)) return; // someone wrote it meanwhile: the next heartbeat sorts it out
      throw error;
    }
    const wasDisplaced = held.displaced;
    held.displaced = false;
    held.leaseOverride = null;
    held.confirmed = [sent - this.#heartbeatMs, sent];
    this.#report(
      new Error(
        wasDisplaced
          ? `member ${describe(held.node.id)} was free again (the other holder expired or left); it joined again`
          : `member ${describe(held.node.id)} had expired or vanished from the bucket; it joined again`,
      ),
    );
  }

  // ----- watching -----

  /** A KV watch push: join, update or leave, compared with what the watchers know. */
  #pushed(entry: KvEntry): void {
    const known = this.#known;
    if (known === null) return; // before the baseline scan: that scan will see it
    if (entry.operation !== 'PUT') {
      for (const [id, k] of known) {
        if (memberKey(id) === entry.key && entry.revision > k.revision) {
          known.delete(id);
          this.#watchers.deliver({ type: 'leave', node: k.record.node });
        }
      }
      return;
    }
    const record = this.#parse(entry);
    if (record !== null) this.#saw(known, record, entry.revision);
  }

  #saw(known: Map<string, Known>, record: MemberRecord, revision: number): void {
    const before = known.get(record.node.id);
    if (before !== undefined && before.revision >= revision) return; // older news
    known.set(record.node.id, { record, revision });
    if (before === undefined) this.#watchers.deliver({ type: 'join', node: record.node });
    else if (before.record.json !== record.json) this.#watchers.deliver({ type: 'update', node: record.node });
  }

  /** Lists the bucket: members gone without a delete expired; the first scan sets the baseline. */
  async #scan(): Promise<void> {
    const { records, deleted, lastRevision } = await this.#list();
    if (this.#watchers.size === 0) return;
    const known = this.#known;
    if (known === null) {
      this.#known = records;
      return;
    }
    const recovering = performance.now() < this.#stalledUntil;
    for (const [id, k] of [...known]) {
      if (records.has(id) || k.revision > lastRevision) continue; // present, or written after the listing
      if (recovering && !deleted.has(memberKey(id))) continue; // maybe aged out while the server was stalled: wait
      known.delete(id);
      this.#watchers.deliver({ type: deleted.has(memberKey(id)) ? 'leave' : 'expire', node: k.record.node });
    }
    for (const k of records.values()) this.#saw(known, k.record, k.revision);
  }

  async #stopWatching(): Promise<void> {
    const loop = this.#loop;
    this.#loop = null;
    this.#known = null;
    await loop?.stop();
  }

  #report(error: Error): void {
    if (!this.#closed) this.#watchers.fail(error);
  }

  #assertOpen(method: string): void {
    if (this.#closed) throw new RingError('CLOSED', `NatsMembership.${method}() called after close()`);
  }
}

function parseOwner(entry: KvEntry): string | null {
  try {
    const value = JSON.parse(Buffer.from(entry.value).toString('utf8')) as { owner?: unknown };
    return typeof value.owner === 'string' ? value.owner : null;
  } catch {
    return null;
  }
}
