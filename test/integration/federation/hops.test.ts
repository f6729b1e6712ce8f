// max-hops and cycles: messages and bindings travel only as far as max-hops lets them,
// and never back to a broker they have been through.
import amqp, { type Channel, type ChannelModel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Typed, type FieldTable } from '../../../amqp/table.js';
import { startBroker, type RunningBroker } from '../../../server/index.js';
import { drain, federate, linksRunning, waitUntil } from '../../helpers/federation.js';

const brokers: Record<string, RunningBroker> = {};
const conns: ChannelModel[] = [];
const chans: Record<string, Channel> = {};

beforeAll(async () => {
  for (const name of ['a', 'b', 'c']) {
    const b = await startBroker({ port: 0, clusterName: `cluster-${name}` });
    brokers[name] = b;
    const c = await amqp.connect(b.url);
    conns.push(c);
    chans[name] = await c.createChannel();
  }
});

afterAll(async () => {
  for (const c of conns) await c.close();
  for (const b of Object.values(brokers)) await b.close();
});

const url = (n: string) => `${brokers[n]!.url}/%2f`;

/** x-received-from's clusters, newest hop first. */
function hops(headers: FieldTable | undefined): unknown[] {
  const h = headers?.['x-received-from'];
  return Array.isArray(h) ? h.map((e) => (e as FieldTable)['cluster-name']) : [];
}

describe('a two-broker cycle', () => {
  it('does not loop: each side gets a message once, and bindings stop after one hop', async () => {
    const { a, b } = chans as Record<string, Channel>;
    for (const ch of [a!, b!]) await ch.assertExchange('cyc', 'fanout');
    const qa = (await a!.assertQueue('', { exclusive: true })).queue;
    const qb = (await b!.assertQueue('', { exclusive: true })).queue;
    await a!.bindQueue(qa, 'cyc', '');
    await b!.bindQueue(qb, 'cyc', '');
    // Each is the other's upstream, with room for more hops than the cycle has.
    federate(brokers['a']!.broker, 'from-b', { uri: url('b'), 'max-hops': 5 }, '^cyc$');
    federate(brokers['b']!.broker, 'from-a', { uri: url('a'), 'max-hops': 5 }, '^cyc$');
    await linksRunning(brokers['a']!.broker, 1);
    await linksRunning(brokers['b']!.broker, 1);
    // Each side's exchange has its own queue's binding and the other's link binding; the
    // latter came back once, marked, and went no further.
    const bx = brokers['b']!.broker.vhosts.get('/')!.exchanges.get('cyc')!;
    const ax = brokers['a']!.broker.vhosts.get('/')!.exchanges.get('cyc')!;
    await waitUntil(() => bx.router.bindingCount === 2 && ax.router.bindingCount === 2, 'the links\' bindings');
    expect([...ax.router.bindings()].map((x) => (x.args['x-bound-from'] as FieldTable[] | undefined)?.map((e) => e['cluster-name']) ?? [])).toEqual(expect.arrayContaining([[], ['cluster-b']]));

    a!.publish('cyc', '', Buffer.from('from a'));
    b!.publish('cyc', '', Buffer.from('from b'));
    const atA = await drain(a!, qa, 600);
    const atB = await drain(b!, qb, 0);
    expect(atA.map((m) => m.content.toString()).sort()).toEqual(['from a', 'from b']);
    expect(atB.map((m) => m.content.toString()).sort()).toEqual(['from a', 'from b']);
    const fromB = atA.find((m) => m.content.toString() === 'from b')!;
    expect(hops(fromB.properties.headers as FieldTable)).toEqual(['cluster-b']);
    expect(hops(atA.find((m) => m.content.toString() === 'from a')!.properties.headers as FieldTable)).toEqual([]);
  });
});

describe('a chain a -> b -> c', () => {
  it('carries messages as far as max-hops allows, and bindings back as far as messages could come', async () => {
    const { a, b, c } = chans as Record<string, Channel>;
    for (const ch of [a!, b!, c!]) await ch.assertExchange('chain', 'direct');
    const qb = (await b!.assertQueue('', { exclusive: true })).queue;
    const qc = (await c!.assertQueue('', { exclusive: true })).queue;
    await b!.bindQueue(qb, 'chain', 'for-b');
    await c!.bindQueue(qc, 'chain', 'for-c');
    // c federates from b with room for two hops; b from a with one.
    federate(brokers['b']!.broker, 'from-a', { uri: url('a'), 'max-hops': 1 }, '^chain$', { policy: 'chain-b' });
    federate(brokers['c']!.broker, 'from-b', { uri: url('b'), 'max-hops': 2 }, '^chain$', { policy: 'chain-c' });
    await linksRunning(brokers['b']!.broker);
    await linksRunning(brokers['c']!.broker);
    // c's binding reached a through b, with the hops it has left.
    const ax = brokers['a']!.broker.vhosts.get('/')!.exchanges.get('chain')!;
    await waitUntil(() => [...ax.router.bindings()].some((x) => x.routingKey === 'for-c'), "c's binding on a");
    const forC = [...ax.router.bindings()].find((x) => x.routingKey === 'for-c')!;
    const boundFrom = (forC.args['x-bound-from'] as FieldTable[]).map((e) => [e['cluster-name'], (e['hops'] as Typed).value]);
    expect(boundFrom).toEqual([
      ['cluster-b', 1],
      ['cluster-c', 2],
    ]);

    a!.publish('chain', 'for-c', Buffer.from('two hops'));
    a!.publish('chain', 'for-b', Buffer.from('one hop'));
    const atC = await drain(c!, qc, 600);
    expect(atC.map((m) => m.content.toString())).toEqual(['two hops']);
    expect(hops(atC[0]!.properties.headers as FieldTable)).toEqual(['cluster-b', 'cluster-a']);
    expect((await drain(b!, qb, 0)).map((m) => m.content.toString())).toEqual(['one hop']);
  });

  it('stops at max-hops: with one hop allowed on c, messages from a end at b', async () => {
    const { a, c } = chans as Record<string, Channel>;
    brokers['c']!.broker.access.setParameter('/', 'federation-upstream', 'from-b', { uri: url('b'), 'max-hops': 1 });
    await waitUntil(() => brokers['c']!.broker.federation.status('n')[0]?.['status'] === 'running', 'the restarted link');
    const ax = brokers['a']!.broker.vhosts.get('/')!.exchanges.get('chain')!;
    // c's binding no longer gets past b.
    await waitUntil(() => ![...ax.router.bindings()].some((x) => x.routingKey === 'for-c'), "c's binding gone from a");
    const qc = (await c!.assertQueue('', { exclusive: true })).queue;
    await c!.bindQueue(qc, 'chain', 'for-c');
    a!.publish('chain', 'for-c', Buffer.from('no further'));
    expect(await drain(c!, qc, 600)).toEqual([]);
  });
});
