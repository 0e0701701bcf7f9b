/**
 * The sending side of a ringroute run: the library's `Dispatcher` sends
 * every message of the workload, with at most `window` messages waiting for
 * their outcomes, and the loop records each message's latency (send to the
 * last recipient's outcome, which a node reports on the client's ack) and
 * the recipients that did not end `delivered`.
 */
import type { Dispatcher } from '../sessions/dispatcher.js';
import type { CategoryClock } from './category-clock.js';
import { wireId } from './clients.js';
import type { CountingTransport } from './counting-transport.js';
import type { BenchMessage, Progress } from './types.js';

/** Messages waiting for their outcomes at once. @default 256 */
export const SEND_WINDOW = 256;

export interface SendResult {
  readonly latenciesMs: Float64Array;
  readonly notDelivered: number;
  /** Publications made for direct and for group messages (each reaches one node, or every node in broadcast). */
  readonly directPublications: number;
  readonly groupPublications: number;
}

/** The body each recipient's client gets: what a chat server forwards. */
export function messageBody(message: BenchMessage): string {
  return `{"from":${JSON.stringify(message.from)},"text":${JSON.stringify(message.text)}}`;
}

/** How {@link sendAll} paces itself. */
export interface SendPace {
  /** Messages per second at most; 0 = as fast as the window allows. @default 0 */
  readonly rate?: number;
  /** Ends the loop at once (what was not answered yet is left out). */
  readonly signal?: AbortSignal;
  /** A send the dispatcher refused (OVERLOADED, CLOSED); its recipients count as not delivered. */
  readonly onRefused?: (error: unknown) => void;
  /** @default {@link SEND_WINDOW} */
  readonly window?: number;
}

export async function sendAll(
  dispatcher: Dispatcher,
  transport: CountingTransport,
  messages: readonly BenchMessage[],
  round: number,
  progress: Progress,
  clock: CategoryClock | null,
  pace: SendPace = {},
): Promise<SendResult> {
  const { rate = 0, signal, onRefused, window = SEND_WINDOW } = pace;
  const latencies = new Float64Array(messages.length);
  let notDelivered = 0;
  let direct = 0;
  let group = 0;
  let next = 0;
  let done = 0;
  const began = performance.now();
  await new Promise<void>((resolve) => {
    if (messages.length === 0 || signal?.aborted === true) return resolve();
    signal?.addEventListener('abort', () => resolve(), { once: true });
    // One timer at most waits for the next paced slot (a timer per free place of the window would
    // each send one more message when they fire, past the end of the workload).
    let armed = false;
    /** Sends while the window has room and the pace allows. */
    const fill = (): void => {
      while (signal?.aborted !== true && next < messages.length && next - done < window) {
        // Paced: message i leaves no earlier than i / rate seconds after the first.
        const due = rate > 0 ? began + (next * 1000) / rate - performance.now() : 0;
        if (due > 1) {
          if (!armed) {
            armed = true;
            setTimeout(() => {
              armed = false;
              fill();
            }, due);
          }
          return;
        }
        sendOne();
      }
    };
    const sendOne = (): void => {
      const i = next++;
      const message = messages[i]!;
      const previous = clock?.enter('sender') ?? 'rest';
      const before = transport.counts.published;
      const start = performance.now();
      let sent: Promise<Array<{ readonly status: string }>>;
      try {
        sent = dispatcher.sendGroup(message.to, messageBody(message), { id: wireId(round, message.id) });
      } catch (error) {
        // Refused before sending (OVERLOADED, CLOSED): every recipient counts as not delivered.
        sent = Promise.resolve(message.to.map(() => ({ status: 'refused' })));
        onRefused?.(error);
      }
      const publications = transport.counts.published - before;
      if (message.kind === 'direct') direct += publications;
      else group += publications;
      clock?.exit(previous);
      void sent.then((outcomes) => {
        if (signal?.aborted === true) return;
        latencies[i] = performance.now() - start;
        for (const outcome of outcomes) if (outcome.status !== 'delivered') notDelivered++;
        done++;
        progress(done);
        if (done === messages.length) resolve();
        else fill();
      });
    };
    fill();
  });
  return { latenciesMs: latencies, notDelivered, directPublications: direct, groupPublications: group };
}
