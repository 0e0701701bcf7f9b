import { MAX_ADDRESS_LENGTH, type Transport } from '../../live/transport.js';
import { RingError, describe } from '../../errors.js';

interface Listener {
  readonly listener: (message: string) => void;
  readonly onError: ((error: Error) => void) | undefined;
}

/**
 * The reference {@link Transport}: a bus in this process's memory.
 *
 * {@link MemoryTransport.connect} gives further handles on the same bus, as
 * separate processes would have. Messages reach listeners on a later tick,
 * as over a network, so no part can rely on synchronous delivery; a handle
 * that stopped listening before that tick does not hear it.
 */
export class MemoryTransport implements Transport {
  #bus = new Map<string, Set<Listener>>();
  readonly #mine = new Map<string, Listener>();
  #closed = false;

  /** Another handle on the same bus; closing it leaves the others working. */
  connect(): MemoryTransport {
    this.#check();
    const handle = new MemoryTransport();
    handle.#bus = this.#bus;
    return handle;
  }

  async publish(address: string, message: string): Promise<number> {
    this.#check();
    checkAddress(address);
    if (typeof message !== 'string') throw new RingError('INVALID_OPTION', `publish() needs a string message, got ${describe(message)}`);
    const listeners = this.#bus.get(address);
    if (listeners === undefined || listeners.size === 0) return 0;
    for (const entry of listeners) {
      setImmediate(() => {
        if (!this.#bus.get(address)?.has(entry)) return;
        try {
          entry.listener(message);
        } catch (error) {
          entry.onError?.(error instanceof Error ? error : new Error(String(error)));
        }
      });
    }
    return listeners.size;
  }

  async listen(address: string, listener: (message: string) => void, onError?: (error: Error) => void): Promise<() => Promise<void>> {
    this.#check();
    checkAddress(address);
    if (typeof listener !== 'function') throw new RingError('INVALID_OPTION', `listen() needs a listener function, got ${describe(listener)}`);
    if (this.#mine.has(address)) throw new RingError('INVALID_OPTION', `this transport already listens at ${describe(address)}`);
    const entry: Listener = { listener, onError };
    this.#mine.set(address, entry);
    let set = this.#bus.get(address);
    if (set === undefined) this.#bus.set(address, (set = new Set()));
    set.add(entry);
    return async () => this.#unlisten(address, entry);
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const [address, entry] of [...this.#mine]) this.#unlisten(address, entry);
  }

  #unlisten(address: string, entry: Listener): void {
    if (this.#mine.get(address) !== entry) return;
    this.#mine.delete(address);
    const set = this.#bus.get(address);
    set?.delete(entry);
    if (set?.size === 0) this.#bus.delete(address);
  }

  #check(): void {
    if (this.#closed) throw new RingError('CLOSED', 'this MemoryTransport is closed');
  }
}

/** Throws `INVALID_OPTION` unless `address` is a non-empty string of at most {@link MAX_ADDRESS_LENGTH} characters. */
export function checkAddress(address: unknown): asserts address is string {
  if (typeof address !== 'string' || address.length === 0 || address.length > MAX_ADDRESS_LENGTH) {
    throw new RingError('INVALID_OPTION', `a transport address must be a string of 1 to ${MAX_ADDRESS_LENGTH} characters, got ${describe(address)}`);
  }
}
