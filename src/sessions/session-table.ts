import type { MovedRange } from '../ring/types.js';
import { HashIndex } from './hash-index.js';
import type { Session } from './session.js';

/** The sessions of one key, indexed by the key's ring hash. */
export interface KeyEntry {
  readonly key: string;
  readonly hash: number;
  /** Usually one; several when the user has several connections. */
  readonly sessions: Session[];
}

/**
 * A node's sessions by routing key, with the keys also indexed by ring hash
 * ({@link HashIndex}), so the keys a ring change moves are found from the
 * diff's ranges without looking at the others.
 */
export class SessionTable {
  readonly #byKey = new Map<string, KeyEntry>();
  readonly #index = new HashIndex<KeyEntry>();
  #sessions = 0;

  /** Attached sessions. */
  get sessions(): number {
    return this.#sessions;
  }

  /** Distinct keys with a session. */
  get keys(): number {
    return this.#byKey.size;
  }

  get(key: string): KeyEntry | undefined {
    return this.#byKey.get(key);
  }

  has(key: string): boolean {
    return this.#byKey.has(key);
  }

  /** Adds `session` under its key; `hash` is called only for a key not in the table yet. */
  add(session: Session, hash: (key: string) => number): void {
    let entry = this.#byKey.get(session.key);
    if (entry === undefined) {
      entry = { key: session.key, hash: hash(session.key), sessions: [] };
      this.#byKey.set(session.key, entry);
      this.#index.add(entry);
    }
    entry.sessions.push(session);
    this.#sessions++;
  }

  /** Removes `session`; a key with no session left leaves the table and the index. */
  remove(session: Session): void {
    const entry = this.#byKey.get(session.key);
    const i = entry?.sessions.indexOf(session) ?? -1;
    if (entry === undefined || i < 0) return;
    entry.sessions.splice(i, 1);
    this.#sessions--;
    if (entry.sessions.length === 0) {
      this.#byKey.delete(entry.key);
      this.#index.remove(entry);
    }
  }

  /**
   * The entries whose key hash lies in `ranges`; at the coordinates of
   * ranges with `low` (64-bit table placements), only the keys `moved`
   * accepts (pass `(key) => diff.owner(key) !== undefined`).
   */
  inRanges(ranges: readonly MovedRange[], moved?: (key: string) => boolean): KeyEntry[] {
    return this.#index.inRanges(ranges, [], moved === undefined ? undefined : (e) => moved(e.key));
  }

  /** Every entry (a copy: safe to close sessions while iterating). */
  all(): KeyEntry[] {
    return [...this.#byKey.values()];
  }
}
