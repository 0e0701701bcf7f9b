/**
 * Node visits, counted where they happen: a wrapper around a ringroute
 * Transport that counts, by traffic kind, the deliveries that reach this
 * node (one per publication it hears: its own channel and the broadcast one).
 * The report divides them by the messages sent to get "node visits per
 * message". Everything else passes through.
 */
import type { Transport } from 'ringroute';
import type { ChatPayload, TrafficKind } from './protocol.js';

export class CountingTransport implements Transport {
  readonly visits: Record<TrafficKind, number> = { oneToOne: 0, group: 0 };
  readonly #inner: Transport;

  constructor(inner: Transport) {
    this.#inner = inner;
  }

  publish(address: string, message: string): Promise<number> {
    return this.#inner.publish(address, message);
  }

  listen(address: string, listener: (message: string) => void, onError?: (error: Error) => void): Promise<() => Promise<void>> {
    return this.#inner.listen(
      address,
      (message) => {
        this.#count(message);
        listener(message);
      },
      onError,
    );
  }

  close(): Promise<void> {
    return this.#inner.close();
  }

  #count(message: string): void {
    try {
      const wire = JSON.parse(message) as { t?: string; data?: string };
      if (wire.t !== 'd' || typeof wire.data !== 'string') return;
      const kind = (JSON.parse(wire.data) as ChatPayload).kind;
      if (kind === 'oneToOne' || kind === 'group') this.visits[kind]++;
    } catch {
      // not a delivery of this example: the node reports it
    }
  }
}
