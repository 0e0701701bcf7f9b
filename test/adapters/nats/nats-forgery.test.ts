/**
 * Forged messages against the NATS adapters on a private nats-server: a
 * stranger on the same NATS account publishes fake ring states, garbage and
 * fake JetStream deliveries to every subject the adapters subscribe to (the
 * transport's address subjects, its reply inbox, the KV watches' delivery
 * inboxes, all read from the server's own monitoring endpoint). No router
 * ever adopts a forged state (they apply only what they read from the
 * bucket), nothing crashes, and the cluster still follows a real change.
 */
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NatsMembership, NatsRingStore, NatsTransport } from '../../../src/adapters/nats/index.js';
import { RingCoordinator, RingRouter, type RingState } from '../../../src/index.js';
import { freePort, NatsServer, randomNatsPrefix, skipWithoutNats } from '../../support/nats-server.js';
import { sleep, waitFor } from '../../support/wait.js';

interface Connz {
  connections: Array<{ cid: number; subscriptions_list?: string[] }>;
}

/** Every subject any client subscribes to, from the server's `/connz?subs=1`. */
async function subscribedSubjects(monitorPort: number): Promise<string[]> {
  const response = await fetch(`http://127.0.0.1:${monitorPort}/connz?subs=1&limit=1000`);
  const connz = (await response.json()) as Connz;
  return [...new Set(connz.connections.flatMap((c) => c.subscriptions_list ?? []))];
}

/** A concrete subject for a subscription: wildcards become tokens a real message could carry. */
function concrete(subject: string): string[] {
  if (subject.endsWith('.>')) return [`${subject.slice(0, -2)}.1`, `${subject.slice(0, -2)}.ring`];
  if (subject.includes('*')) return [subject.replaceAll('*', '1'), subject.replaceAll('*', '999999')];
  return [subject];
}

describe.skipIf(skipWithoutNats('forged messages on NATS'))('forged messages on NATS', () => {
  let server: NatsServer | null = null;
  let monitorPort = 0;
  beforeAll(async () => {
    monitorPort = await freePort();
    server = await NatsServer.start({ extraArgs: ['-m', String(monitorPort)] });
  });
  afterAll(async () => server?.destroy());

  it('never adopts a forged ring state from any subscribed subject; no crash; real changes still arrive', async () => {
    const prefix = randomNatsPrefix('forge');
    const timing = { ttlMs: 600, heartbeatMs: 150 };
    const connections: NatsConnection[] = [];
    const open = async () => {
      const nc = await connect({ servers: server!.url });
      connections.push(nc);
      return nc;
    };
    const closers: Array<() => Promise<void>> = [];
    const errors: string[] = [];
    try {
      const members = new NatsMembership({ nats: await open(), prefix, ...timing });
      closers.push(() => members.close());
      for (const id of ['node-a', 'node-b', 'node-c']) await members.join({ id });
      const coordinator = await RingCoordinator.start({
        membership: new NatsMembership({ nats: await open(), prefix, ...timing }),
        store: new NatsRingStore({ nats: await open(), prefix }),
        settleMs: 20,
      });
      coordinator.on('error', (e) => errors.push(`coordinator: ${e.message}`));
      closers.push(() => coordinator.close());
      const routers: RingRouter[] = [];
      const adopted: RingState[] = [];
      for (let i = 0; i < 3; i++) {
        const router = await RingRouter.start({ store: new NatsRingStore({ nats: await open(), prefix }), resyncMs: 200 });
        router.on('error', (e) => errors.push(`router: ${e.message}`));
        router.on('change', (_diff, state) => adopted.push(state));
        closers.push(() => router.close());
        routers.push(router);
      }
      await waitFor(() => routers.every((r) => r.ring.size === 3), { what: 'three members in every ring' });
      // A bare watch of the ring, as routers have: it must keep hearing real writes after the forgery.
      const watchedStore = new NatsRingStore({ nats: await open(), prefix });
      closers.push(() => watchedStore.close());
      const pushed: RingState[] = [];
      watchedStore.watch((state) => pushed.push(state), (e) => errors.push(`watch: ${e.message}`));
      await waitFor(() => pushed.length > 0, { what: 'the watch to start' });
      // A transport listener, as an app node has, so its subject and reply inbox are subscribed too.
      const transport = new NatsTransport({ nats: await open(), prefix });
      closers.push(() => transport.close());
      const heard: string[] = [];
      await transport.listen('node-a', (m) => heard.push(m));
      expect(await transport.publish('node-a', 'real')).toBe(1);
      await waitFor(() => heard.includes('real'));

      const before = routers.map((r) => `${r.epoch}/${r.version}`);
      const epoch = routers[0]!.epoch;
      const version = routers[0]!.version;
      const subjects = (await subscribedSubjects(monitorPort)).filter((s) => !s.startsWith('$SYS'));
      // The transport's address subject, its reply inbox and the KV watches' delivery inboxes.
      expect(subjects).toContain(transport.subject('node-a'));
      expect(subjects.filter((s) => s.startsWith('_INBOX.')).length).toBeGreaterThanOrEqual(4);

      const forger = await open();
      const states = [
        { epoch, version: version + 1, nodes: [{ id: 'evil' }] },
        { epoch, version: Number.MAX_SAFE_INTEGER, nodes: [{ id: 'evil' }] },
        { epoch: 'forged-epoch', version: 1, nodes: [{ id: 'evil' }] },
      ].map((s) => JSON.stringify(s));
      const bodies = [...states, 'not json', '', '\u0000\u00ff', JSON.stringify({ node: { id: 'evil' }, owner: 'x' })];
      let sent = 0;
      for (const subscribed of subjects) {
        for (const subject of concrete(subscribed)) {
          for (const body of bodies) {
            // Plain, as if from the stream (a JetStream-looking reply subject), and with a JetStream-looking header.
            forger.publish(subject, body);
            forger.publish(subject, body, { reply: `$JS.ACK.KV_${prefix}-ring.fake.1.999.999.${Date.now()}000000.0` });
            const h = headers();
            h.set('Nats-Sequence', '999');
            forger.publish(subject, body, { headers: h });
            sent += 3;
          }
        }
      }
      await forger.flush();
      await sleep(1000);
      const forgedPushes = pushed.filter((s) => s.nodes.some((n) => n.id === 'evil')).length;
      console.info(
        `[NATS forgery] ${sent} forged messages to ${subjects.length} subscribed subjects; ${adopted.length} ring states adopted; ${forgedPushes} forged states passed on by a watch; errors reported: ${errors.length} ${JSON.stringify(errors.slice(0, 3))}`,
      );

      expect(routers.map((r) => `${r.epoch}/${r.version}`)).toEqual(before);
      for (const state of adopted) expect(state.nodes.map((n) => n.id)).not.toContain('evil');
      for (const router of routers) expect(router.ring.nodes().map((n) => n.id).sort()).toEqual(['node-a', 'node-b', 'node-c']);
      // The transport hands forged messages on its address to the listener, as it must (it carries opaque messages;
      // what they say is the app node's to check): they never reach the ring.
      expect(heard.length).toBeGreaterThan(1);

      // The adapters still work: a real join reaches every router.
      await members.join({ id: 'node-d' });
      await waitFor(() => routers.every((r) => r.ring.size === 4), { timeoutMs: 5000, what: 'the real join to reach every router' });
      await waitFor(() => pushed.some((s) => s.nodes.length === 4), { timeoutMs: 5000, what: 'the watch to push the real write' });
      for (const router of routers) expect(router.ring.nodes().map((n) => n.id)).not.toContain('evil');
    } finally {
      for (const close of closers.reverse()) await close().catch(() => undefined);
      await Promise.allSettled(connections.map((nc) => nc.close()));
    }
  }, 30_000);

  it('a forged "nobody listens" on the transport\'s reply inbox never turns a delivered message into 0', async () => {
    const prefix = randomNatsPrefix('forge503');
    const [listenerNc, senderNc, forger] = await Promise.all([0, 1, 2].map(() => connect({ servers: server!.url })));
    const listener = new NatsTransport({ nats: listenerNc!, prefix });
    const sender = new NatsTransport({ nats: senderNc!, prefix });
    try {
      let heard = 0;
      await listener.listen('node-a', () => heard++);
      expect(await sender.publish('node-a', 'warm-up')).toBe(1);
      const inbox = (await subscribedSubjects(monitorPort)).find((s) => s.startsWith('_INBOX.rr'));
      expect(inbox).toMatch(/^_INBOX\.rr[0-9a-f]{16}\.\*$/);
      const results: number[] = [];
      const noResponders = headers(503, 'No Responders');
      for (let i = 0; i < 50; i++) {
        const result = sender.publish('node-a', `m${i}`);
        // Every id the sender used or will use soon, in the forms a guesser would try.
        for (let id = 1; id <= 60; id++) {
          forger!.publish(inbox!.replace('*', String(id)), '', { headers: noResponders });
          forger!.publish(inbox!.replace('*', `${id}-0000000000000000`), '', { headers: noResponders });
        }
        await forger!.flush();
        results.push(await result);
      }
      await waitFor(() => heard === 51, { what: 'every message to arrive' });
      expect(results.filter((r) => r !== 1)).toEqual([]);
      // The real status still counts: an address nobody listens at is 0.
      expect(await sender.publish('nobody', 'x')).toBe(0);
    } finally {
      await listener.close();
      await sender.close();
      await Promise.allSettled([listenerNc, senderNc, forger].map((nc) => nc!.close()));
    }
  });
});
