/**
 * `--trace DIR`: every publication a part makes and every message it hears,
 * one line each in `DIR/<part>.trace` (`<ms since the epoch> pub|hear
 * <address> <message> [-> receivers | error]`), written synchronously so a
 * SIGKILL loses nothing. For finding out, after a run, which hops a message
 * the report flags took: the delivery and outcome messages carry its id.
 */
import { appendFileSync } from 'node:fs';
import type { Transport } from 'ringroute';

export class TracingTransport implements Transport {
  readonly #inner: Transport;
  readonly #file: string;

  constructor(inner: Transport, file: string) {
    this.#inner = inner;
    this.#file = file;
  }

  publish(address: string, message: string): Promise<number> {
    const at = now();
    return this.#inner.publish(address, message).then(
      (receivers) => {
        this.#line(`${at} pub ${address} ${message.slice(0, 300)} -> ${receivers} (${(now() - at).toFixed(0)} ms)`);
        return receivers;
      },
      (error: unknown) => {
        this.#line(`${at} pub ${address} ${message.slice(0, 300)} -> ${(error as Error).name}: ${(error as Error).message}`);
        throw error;
      },
    );
  }

  listen(address: string, listener: (message: string) => void, onError?: (error: Error) => void): Promise<() => Promise<void>> {
    return this.#inner.listen(
      address,
      (message) => {
        this.#line(`${now()} hear ${address} ${message.slice(0, 300)}`);
        listener(message);
      },
      onError,
    );
  }

  close(): Promise<void> {
    return this.#inner.close();
  }

  #line(text: string): void {
    appendFileSync(this.#file, `${text}\n`);
  }
}

function now(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 10) / 10;
}
