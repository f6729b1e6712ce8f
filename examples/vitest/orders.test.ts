// Routing tests for the topology in ../definitions.json, with vitest: example-based,
// property-based, and the same messages on a real broker started in-process.
import { readFileSync } from 'node:fs';
import amqp from 'amqplib';
import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Topology } from 'warren/routing';
import { arb, checkRouting, expectedOutcome, expectRoutes, routeLive, startBroker, type RunningBroker } from 'warren/testing';

const definitions = readFileSync(new URL('../definitions.json', import.meta.url), 'utf8');
const topology = Topology.fromDefinitions(definitions);
const words = ['eu', 'us', 'apac', 'created', 'shipped'];

describe('order events', () => {
  it('go where the bindings say, and the path says why', () => {
    const route = expectRoutes(topology, { exchange: 'orders', routingKey: 'eu.created', headers: { region: 'eu' } }, [
      'orders.eu',
      'orders.created',
      'audit.all',
      'audit.eu',
    ]);
    expect(route.path.map((v) => v.exchange)).toEqual(['orders', 'audit']);
    expectRoutes(topology, { exchange: 'orders', routingKey: 'apac' }, ['orders.dead']);
  });

  it('are never dropped: each reaches a queue, orders.dead only when nothing else', () => {
    checkRouting(
      topology,
      (route) => route.queues.length > 0 && (!route.queues.includes('orders.dead') || route.queues.length === 1),
      { exchanges: ['orders'], words },
    );
  });

  it('keep that property under any message fast-check can think of', () => {
    fc.assert(
      fc.property(arb.message(topology, { exchanges: ['orders'], words }), (m) => {
        const { queues } = topology.route(m);
        // Everything with a two-word key is audited.
        const keys = [m.routingKey ?? '', ...((m.headers?.['CC'] as string[] | undefined) ?? []), ...((m.headers?.['BCC'] as string[] | undefined) ?? [])];
        if (keys.some((k) => k.split('.').length === 2)) expect(queues).toContain('audit.all');
      }),
    );
  });
});

describe('on a real broker', () => {
  let broker: RunningBroker;
  beforeAll(async () => {
    broker = await startBroker({ definitions });
  });
  afterAll(async () => {
    await broker.close();
  });
  // Every test starts from the definitions again, with empty queues.
  beforeEach(() => broker.vhost('/').reset());

  it('delivers a message where topology.route says', async () => {
    const conn = await amqp.connect(broker.url);
    const ch = await conn.createConfirmChannel();
    ch.publish('orders', 'us.shipped', Buffer.from('order 42'));
    await ch.waitForConfirms();
    for (const q of topology.route({ exchange: 'orders', routingKey: 'us.shipped' }).queues) {
      const got = await ch.get(q, { noAck: true });
      expect(got && got.content.toString()).toBe('order 42');
    }
    await conn.close();
  });

  it('agrees with topology.route on generated messages', async () => {
    await fc.assert(
      fc.asyncProperty(arb.messages(topology, { words, maxLength: 5 }), async (msgs) => {
        const live = await routeLive(broker.vhost('/').url, topology, msgs, { declare: false });
        expect(live).toEqual(msgs.map((m) => expectedOutcome(topology, m)));
      }),
      { numRuns: 20 },
    );
  });
});
