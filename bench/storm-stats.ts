/**
 * The connection-storm benchmark's arithmetic (bench/storm.ts), pure: the
 * times to 50/90/99/100% connected, the connect rate per bin and its peak,
 * and the "no collapse" figure. Also the two Linux /proc readings the
 * benchmark takes of the gateway's processes: CPU seconds and open
 * descriptors.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { readdir } from 'node:fs/promises';

/** How fast a storm connected, from the arrival and first-connect times of its users (ms, one clock). */
export interface ConnectCurve {
  /** ms from the first arrival until that share of all users was connected; null when never reached. */
  readonly msTo: { readonly p50: number | null; readonly p90: number | null; readonly p99: number | null; readonly p100: number | null };
  readonly binMs: number;
  /** Connects per bin, from the bin of the first arrival. */
  readonly perBin: readonly number[];
  /** The busiest bin, as connects per second. */
  readonly peakPerSecond: number;
  /**
   * "No collapse": the lowest connect rate of a bin as a share of the peak,
   * over the bins during which arrived-but-unconnected users remained (at
   * the bin's end: users in a handshake, a retry's backoff or a refused
   * attempt all count). The first bin is ignored (the rate is still
   * climbing); bins after the arrivals ended count while users wait, and
   * are ignored once nobody does. null when no bin qualified.
   * `minRatioPeakBacklog` is the stricter reading: only bins that started
   * with at least a peak bin's worth of users waiting, until 99% of the
   * run's connects (a gateway's worst while it had plenty of work).
   */
  readonly noCollapse: { readonly minRatio: number | null; readonly bins: number; readonly minRatioPeakBacklog: number | null };
}

/**
 * The curve of one run. `arrivals`: every user's arrival (all N);
 * `connects`: the first connect of every user that connected; `endAt`: when
 * measuring stopped (bins after it are not counted).
 */
export function connectCurve(arrivals: readonly number[], connects: readonly number[], n: number, endAt: number, binMs: number): ConnectCurve {
  let t0 = Infinity;
  for (const a of arrivals) if (a < t0) t0 = a;
  if (t0 === Infinity) t0 = 0;
  const sorted = Float64Array.from(connects).sort();
  const at = (share: number): number | null => {
    const k = Math.ceil(share * n);
    return k <= sorted.length && k > 0 ? Math.round(sorted[k - 1]! - t0) : null;
  };
  const bins = Math.max(1, Math.ceil((endAt - t0) / binMs));
  const perBin = new Array<number>(bins).fill(0);
  const arrivedBin = new Array<number>(bins).fill(0);
  for (const c of sorted) {
    const b = Math.floor((c - t0) / binMs);
    if (b >= 0 && b < bins) perBin[b]!++;
  }
  for (const a of arrivals) {
    const b = Math.floor((a - t0) / binMs);
    if (b >= 0 && b < bins) arrivedBin[b]!++;
  }
  const full = Math.floor((endAt - t0) / binMs); // bins wholly before the end
  let peak = 0;
  for (let b = 0; b < Math.min(full, bins); b++) peak = Math.max(peak, perBin[b]!);
  if (full === 0) peak = perBin[0]!;
  // The window ends where 99% of the run's connects were made: past it, a full gateway's trickle (or the last
  // few users' backoff) would count as a collapse.
  const lastConnectBin = sorted.length === 0 ? -1 : Math.floor((sorted[Math.ceil(0.99 * sorted.length) - 1]! - t0) / binMs);
  let arrived = 0;
  let connected = 0;
  let minRatio: number | null = null;
  let counted = 0;
  let minStrict: number | null = null;
  for (let b = 0; b < Math.min(full, bins); b++) {
    const backlogBefore = arrived - connected;
    if (b <= lastConnectBin && peak > 0 && backlogBefore >= peak) {
      const ratio = perBin[b]! / peak;
      minStrict = minStrict === null ? ratio : Math.min(minStrict, ratio);
    }
    arrived += arrivedBin[b]!;
    connected += perBin[b]!;
    if (b >= 1 && peak > 0 && arrived - connected > 0) {
      const ratio = perBin[b]! / peak;
      minRatio = minRatio === null ? ratio : Math.min(minRatio, ratio);
      counted++;
    }
  }
  return {
    msTo: { p50: at(0.5), p90: at(0.9), p99: at(0.99), p100: at(1) },
    binMs,
    perBin,
    peakPerSecond: Math.round((peak * 1000) / binMs),
    noCollapse: { minRatio: round(minRatio), bins: counted, minRatioPeakBacklog: round(minStrict) },
  };
}

const round = (x: number | null): number | null => (x === null ? null : Math.round(x * 100) / 100);

/** The value at quantile `q` (0..1) of `values`, by nearest rank; 0 for none. */
export function quantile(values: ArrayLike<number>, q: number): number {
  if (values.length === 0) return 0;
  const sorted = Float64Array.from(values as ArrayLike<number>).sort();
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ: 100 on every Linux architecture Node runs on). */
const CLOCK_TICKS = 100;

/** CPU seconds (user + system) a process has used, from /proc/<pid>/stat; 0 once it is gone. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after "(comm)": state is the 3rd field of the line, utime the 14th, stime the 15th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

/** Open descriptors of a process (entries of /proc/<pid>/fd), without blocking the event loop; 0 once it is gone. */
export async function descriptors(pid: number): Promise<number> {
  try {
    return (await readdir(`/proc/${pid}/fd`)).length;
  } catch {
    return 0;
  }
}

/** Child pids of `pid` (Linux /proc): nginx's workers. */
export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      const text = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
      if (text !== '') out.push(...text.split(/\s+/).map(Number));
    }
  } catch {
    // the process or a thread ended
  }
  return out;
}

/** Sockets listening on 127.0.0.1:`port` (several with SO_REUSEPORT), from /proc/net/tcp. */
export function listeners(port: number): number {
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  try {
    return readFileSync('/proc/net/tcp', 'utf8').split('\n').filter((line) => {
      const f = line.trim().split(/\s+/);
      return f[1] === local && f[3] === '0A';
    }).length;
  } catch {
    return 0;
  }
}
