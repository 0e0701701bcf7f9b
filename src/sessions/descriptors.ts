/**
 * File descriptors: every socket a gateway or node holds is one, and a
 * process may hold at most its open-file limit (`ulimit -n`; in many
 * containers a hard limit that cannot be raised). At the limit `accept` and
 * `connect` fail with EMFILE, and a server that retries at once turns a
 * full process into a storm of failed attempts. These helpers read the
 * limit and the count where the platform tells them (Linux: `/proc/self`),
 * so the parts can keep their bounds inside the limit and refuse work
 * before it instead of failing at it.
 */
import { readFileSync, readdir, readdirSync } from 'node:fs';
import { RingError, describe } from '../errors.js';

/** Descriptors a part keeps for what it does besides its sockets: the store's and bus's connections, logs, admin requests, DNS. @default 512 */
export const DEFAULT_RESERVED_DESCRIPTORS = 512;

/** Used as the limit where the platform does not tell it (the common soft default of Linux and macOS shells is 1024 to 256 000; this is the usual one of a service). */
export const FALLBACK_DESCRIPTOR_LIMIT = 65_536;

/**
 * The process's open-file limit (the soft limit, the one enforced), from
 * `/proc/self/limits`, or null where that cannot be read (not Linux, or a
 * sandbox without /proc). "unlimited" reads as null too.
 */
export function descriptorLimit(): number | null {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
    const soft = line === undefined ? NaN : Number(line.slice('Max open files'.length).trim().split(/\s+/)[0]);
    return Number.isSafeInteger(soft) && soft > 0 ? soft : null;
  } catch {
    return null;
  }
}

/**
 * Descriptors this process has open now (entries of `/proc/self/fd`), or
 * null where that cannot be read. It costs about 1 µs per open descriptor
 * (a few ms at 20,000): sample it, never call it per request.
 */
export function openDescriptors(): number | null {
  try {
    return readdirSync('/proc/self/fd').length - 1; // the directory handle readdir itself opened
  } catch {
    return null;
  }
}

/** {@link openDescriptors} without blocking the event loop (the listing runs on libuv's thread pool). */
export function openDescriptorsAsync(): Promise<number | null> {
  return new Promise((resolve) => {
    readdir('/proc/self/fd', (error, names) => resolve(error ? null : names.length - 1));
  });
}

/** True for the errors of a process (EMFILE) or system (ENFILE) out of descriptors. */
export function isDescriptorExhaustion(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'EMFILE' || code === 'ENFILE';
}

/** How many descriptors a part may use: options as the gateway and {@link HandshakeGate} take them. */
export interface DescriptorOptions {
  /** The process's descriptor limit. @default the soft open-file limit from `/proc/self/limits`, else 65536 */
  readonly maxDescriptors?: number;
  /** Kept free of sockets for everything else the process opens (store and bus connections, logs, admin requests). @default 512 */
  readonly reservedDescriptors?: number;
}

/** A part's descriptor budget: the limit, what is reserved, and what is left for sockets. */
export interface DescriptorBudget {
  readonly limit: number;
  readonly reserved: number;
  /** `limit - reserved`: what the part's own sockets may use. */
  readonly sockets: number;
  /** Where `limit` came from. */
  readonly source: 'option' | 'process' | 'fallback';
}

/** Checks the options and fills in the defaults. @throws RingError `INVALID_OPTION` */
export function resolveDescriptorBudget(options: DescriptorOptions = {}, readLimit: () => number | null = descriptorLimit): DescriptorBudget {
  const { maxDescriptors, reservedDescriptors } = options;
  for (const [name, value] of [['maxDescriptors', maxDescriptors], ['reservedDescriptors', reservedDescriptors]] as const) {
    if (value !== undefined && (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1)) {
      throw new RingError('INVALID_OPTION', `${name} must be an integer >= 1, got ${describe(value)}`);
    }
  }
  const read = maxDescriptors === undefined ? readLimit() : null;
  const limit = maxDescriptors ?? read ?? FALLBACK_DESCRIPTOR_LIMIT;
  const reserved = reservedDescriptors ?? Math.min(DEFAULT_RESERVED_DESCRIPTORS, Math.floor(limit / 4));
  if (reserved >= limit) throw new RingError('INVALID_OPTION', `reservedDescriptors (${reserved}) must be below the descriptor limit (${limit})`);
  return { limit, reserved, sockets: limit - reserved, source: maxDescriptors !== undefined ? 'option' : read !== null ? 'process' : 'fallback' };
}
