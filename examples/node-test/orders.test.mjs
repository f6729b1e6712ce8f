// Routing tests for the topology in ../definitions.json, with node:test and plain ESM.
// Run: node --test
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, beforeEach, describe, it } from 'node:test';
import amqp from 'amqplib';
import fc from 'fast-check';
import { Topology } from 'warren/routing';
import { arb, checkRouting, expectRoutes, startBroker, toAmqplibTable } from 'warren/testing';

const definitions = readFileSync(new URL('../definitions.json', import.meta.url), 'utf8');
const topology = Topology.fromDefinitions(definitions);
const words = ['eu', 'us', 'apac', 'created', 'shipped'];

describe('order events', () => {
  it('go where the bindings say', () => {
    expectRoutes(topology, { exchange: 'orders', routingKey: 'eu.created', headers: { region: 'eu' } }, [
      'audit.all',
      'audit.eu',
      'orders.created',
      'orders.eu',
    ]);
    const route = topology.route({ exchange: 'orders', routingKey: 'apac' });
    assert.deepEqual(route.queues, ['orders.dead']);
    assert.equal(route.path[0].alternate?.exchange, 'orders.unrouted');
  });

  it('are never dropped', () => {
    checkRouting(topology, (route) => route.queues.length > 0, { exchanges: ['orders'], words });
  });
});

describe('on a real broker', () => {
  let broker;
  before(async () => {
    broker = await startBroker({ definitions });
  });
  after(() => broker.close());
  beforeEach(() => broker.vhost('/').reset());

  it('a fresh vhost per test, loaded with the same definitions', async () => {
    const vhost = broker.createVhost(undefined, { definitions });
    const conn = await amqp.connect(vhost.url);
    const ch = await conn.createConfirmChannel();
    ch.publish('orders', 'eu.created', Buffer.from('hello'), { headers: { region: 'eu' } });
    await ch.waitForConfirms();
    const got = await ch.get('audit.eu', { noAck: true });
    assert.equal(got && got.content.toString(), 'hello');
    await conn.close();
    vhost.delete();
  });

  it('keeps generated messages where topology.route says', async () => {
    await fc.assert(
      fc.asyncProperty(arb.message(topology, { exchanges: ['orders'], words }), async (m) => {
        const conn = await amqp.connect(broker.url);
        const ch = await conn.createConfirmChannel();
        // Generated headers carry AMQP types (byte, long, decimal…): amqplib needs them spelled out.
        ch.publish('orders', m.routingKey, Buffer.from('m'), { headers: m.headers && toAmqplibTable(m.headers) });
        await ch.waitForConfirms();
        const reached = [];
        for (const q of topology.queues()) if (await ch.get(q, { noAck: true })) reached.push(q);
        await conn.close();
        assert.deepEqual(reached.sort(), [...topology.route(m).queues]);
      }),
      { numRuns: 20 },
    );
  });
});
