/**
 * The traffic both routing modes carry: users, chat groups and messages,
 * all drawn from one seed so that every node count and both modes route
 * exactly the same messages to exactly the same users.
 */
import { DeliveryChecksum } from '../harness/checksum.js';
import type { BenchMessage } from '../harness/types.js';
import { userId, userIndex } from '../harness/users.js';
import type { BenchOptions } from './args.js';
import { sampleDistinct, seededRandom } from './prng.js';

/** What to generate: the flags of the same names (`users` sessions, one on each user's owner; `groupSize` 0 for one-to-one only). */
export type WorkloadOptions = Pick<BenchOptions, 'users' | 'messages' | 'groupSize' | 'groupShare' | 'payloadBytes' | 'seed'>;

/** One message as the sender gets it. */
export type Message = BenchMessage;

/** The generated traffic, with what a correct run must deliver. */
export interface Workload {
  /** User ids; a user's index in this array is its session index on every node. */
  readonly users: readonly string[];
  readonly messages: readonly Message[];
  readonly directMessages: number;
  readonly groupMessages: number;
  /** Number of (message, recipient) pairs: what each mode must deliver. */
  readonly expectedDelivered: number;
  /** Order-independent checksum of those pairs (see `DeliveryChecksum`). */
  readonly expectedChecksum: string;
}

const ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ';

/**
 * Generates the workload. Groups are fixed chat rooms (about one per
 * `groupSize` users, members drawn at random, a user may sit in several);
 * a group message goes to every member of a random room, the sender's
 * other devices included, as chat apps echo it.
 */
export function generateWorkload(options: WorkloadOptions): Workload {
  const { users: userCount, messages: messageCount, groupSize, groupShare, payloadBytes, seed } = options;
  const random = seededRandom(seed);
  const users = Array.from({ length: userCount }, (_, i) => userId(i));

  const groups: string[][] = [];
  if (groupSize > 0) {
    const roomCount = Math.max(1, Math.ceil(userCount / groupSize));
    for (let g = 0; g < roomCount; g++) groups.push(sampleDistinct(random, userCount, groupSize).map(userId));
  }

  // One pool of text; each message takes a slice at a random offset.
  let pool = '';
  for (let i = 0; i < payloadBytes * 2 + 1024; i++) pool += ALPHABET[random.int(ALPHABET.length)];

  const messages: Message[] = [];
  let directMessages = 0;
  let groupMessages = 0;
  let expectedDelivered = 0;
  const checksum = new DeliveryChecksum();
  for (let id = 0; id < messageCount; id++) {
    const offset = random.int(pool.length - payloadBytes);
    const text = pool.slice(offset, offset + payloadBytes);
    let message: Message;
    if (groups.length > 0 && random.next() < groupShare) {
      const members = groups[random.int(groups.length)]!;
      message = { id, kind: 'group', from: members[random.int(members.length)]!, to: members, text };
      groupMessages++;
    } else {
      const from = random.int(userCount);
      // Anyone but the sender, when there is anyone else.
      let to = userCount > 1 ? random.int(userCount - 1) : 0;
      if (userCount > 1 && to >= from) to++;
      message = { id, kind: 'direct', from: userId(from), to: [userId(to)], text };
      directMessages++;
    }
    for (const user of message.to) checksum.add(id, userIndex(user));
    expectedDelivered += message.to.length;
    messages.push(message);
  }
  return { users, messages, directMessages, groupMessages, expectedDelivered, expectedChecksum: checksum.toString() };
}
