/**
 * Double ownership, measured from the nodes' side: every app node logs when
 * a user's session attached and when its socket closed, and when the node
 * fenced and unfenced itself (process.ts `ownershipLog`). A node *serves* a
 * user while a session of that user is attached there, except while the
 * node is fenced (it delivers nothing) or stopped by SIGSTOP (it runs
 * nothing, and the first thing it does when it resumes is check its lease).
 * A user has two owners while two node incarnations serve it at once.
 *
 * The close is logged when the socket closed, not when the node decided to
 * close it, so the measure errs on the long side.
 */

/** One line of a node's log. */
export interface OwnershipLine {
  readonly at: number;
  readonly kind: 'a' | 'c' | 'f' | 'u';
  readonly user?: string;
}

/** One run of one node process. */
export interface Incarnation {
  /** e.g. `n3#2`. */
  readonly name: string;
  readonly lines: readonly OwnershipLine[];
  /** When the process ended (killed, or the run's end): sessions still attached end there. */
  readonly endedAt: number;
  /** Times the node was stopped (SIGSTOP to SIGCONT). */
  readonly frozen: ReadonlyArray<readonly [number, number]>;
}

/** A stretch of time during which one user had two owners or more. */
export interface Overlap {
  readonly user: string;
  readonly from: number;
  readonly ms: number;
  readonly owners: readonly string[];
}

export interface OwnershipSummary {
  /** Sessions attached, over all nodes. */
  readonly attaches: number;
  readonly overlaps: readonly Overlap[];
  readonly usersAffected: number;
  readonly totalMs: number;
  readonly maxMs: number;
}

/** Parses a log file's text; a torn last line (the process was killed mid-write) is skipped. */
export function parseOwnershipLog(text: string): OwnershipLine[] {
  const lines: OwnershipLine[] = [];
  for (const raw of text.split('\n')) {
    const match = /^(\d+(?:\.\d+)?) ([acfu])(?: (\S+))?$/.exec(raw);
    if (match === null) continue;
    lines.push({ at: Number(match[1]), kind: match[2] as OwnershipLine['kind'], ...(match[3] !== undefined ? { user: match[3] } : {}) });
  }
  return lines;
}

type Span = readonly [number, number];

/** `spans` minus `holes` (both sorted or not), as sorted disjoint spans. */
export function subtract(spans: readonly Span[], holes: readonly Span[]): Span[] {
  const sortedHoles = [...holes].sort((a, b) => a[0] - b[0]);
  const out: Span[] = [];
  for (const [from, to] of spans) {
    let start = from;
    for (const [hFrom, hTo] of sortedHoles) {
      if (hTo <= start || hFrom >= to) continue;
      if (hFrom > start) out.push([start, hFrom]);
      start = Math.max(start, hTo);
      if (start >= to) break;
    }
    if (start < to) out.push([start, to]);
  }
  return out.sort((a, b) => a[0] - b[0]);
}

/** The spans during which each user was served by this incarnation. */
function servingSpans(incarnation: Incarnation): Map<string, Span[]> {
  const fenced: Span[] = [];
  let fencedSince: number | null = null;
  const open = new Map<string, { since: number; count: number }>();
  const attached = new Map<string, Span[]>();
  const lines = [...incarnation.lines].sort((a, b) => a.at - b.at);
  for (const line of lines) {
    if (line.kind === 'f') fencedSince ??= line.at;
    else if (line.kind === 'u') {
      if (fencedSince !== null) fenced.push([fencedSince, line.at]);
      fencedSince = null;
    } else if (line.user !== undefined) {
      const state = open.get(line.user);
      if (line.kind === 'a') {
        if (state === undefined) open.set(line.user, { since: line.at, count: 1 });
        else state.count++;
      } else if (state !== undefined && --state.count === 0) {
        open.delete(line.user);
        push(attached, line.user, [state.since, line.at]);
      }
    }
  }
  for (const [user, state] of open) push(attached, user, [state.since, Math.max(state.since, incarnation.endedAt)]);
  if (fencedSince !== null) fenced.push([fencedSince, Math.max(fencedSince, incarnation.endedAt)]);
  const holes = [...fenced, ...incarnation.frozen];
  const serving = new Map<string, Span[]>();
  for (const [user, spans] of attached) serving.set(user, subtract(spans, holes));
  return serving;
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}

/** Every stretch during which a user was served by two incarnations or more. */
export function measureOwnership(incarnations: readonly Incarnation[]): OwnershipSummary {
  const byUser = new Map<string, Array<{ owner: string; span: Span }>>();
  let attaches = 0;
  for (const incarnation of incarnations) {
    attaches += incarnation.lines.filter((l) => l.kind === 'a').length;
    for (const [user, spans] of servingSpans(incarnation)) {
      for (const span of spans) push(byUser, user, { owner: incarnation.name, span });
    }
  }
  const overlaps: Overlap[] = [];
  for (const [user, entries] of byUser) {
    if (new Set(entries.map((e) => e.owner)).size < 2) continue;
    // Sweep: +1 at a start, -1 at an end (ends first at equal times: touching spans do not overlap).
    const events = entries.flatMap(({ owner, span }) => [{ at: span[0], d: 1, owner }, { at: span[1], d: -1, owner }]);
    events.sort((a, b) => a.at - b.at || a.d - b.d);
    const active = new Map<string, number>();
    let since: number | null = null;
    let owners = new Set<string>();
    for (const e of events) {
      active.set(e.owner, (active.get(e.owner) ?? 0) + e.d);
      if (active.get(e.owner) === 0) active.delete(e.owner);
      if (active.size >= 2) {
        since ??= e.at;
        for (const o of active.keys()) owners.add(o);
      } else if (since !== null) {
        if (e.at > since) overlaps.push({ user, from: since, ms: e.at - since, owners: [...owners] });
        since = null;
        owners = new Set();
      }
    }
  }
  overlaps.sort((a, b) => b.ms - a.ms);
  return {
    attaches,
    overlaps,
    usersAffected: new Set(overlaps.map((o) => o.user)).size,
    totalMs: overlaps.reduce((n, o) => n + o.ms, 0),
    maxMs: overlaps[0]?.ms ?? 0,
  };
}
