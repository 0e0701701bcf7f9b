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

export async function sendAll(
  dispatcher: Dispatcher,
  transport: CountingTransport,
  messages: readonly BenchMessage[],
  round: number,
  progress: Progress,
  clock: CategoryClock | null,
  onRefused?: (error: unknown) => void,
  window = SEND_WINDOW,
): Promise<SendResult> {
  const latencies = new Float64Array(messages.length);
  let notDelivered = 0;
  let direct = 0;
  let group = 0;
  let next = 0;
  let done = 0;
  await new Promise<void>((resolve) => {
    if (messages.length === 0) return resolve();
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
        latencies[i] = performance.now() - start;
        for (const outcome of outcomes) if (outcome.status !== 'delivered') notDelivered++;
        done++;
        progress(done);
        if (done === messages.length) resolve();
        else if (next < messages.length) sendOne();
      });
    };
    for (let k = 0; k < Math.min(window, messages.length); k++) sendOne();
  });
  return { latenciesMs: latencies, notDelivered, directPublications: direct, groupPublications: group };
}
