// Exchange federation between two Warrens in this process, over real sockets: what the
// upstream gets (RabbitMQ's names and arguments), messages with x-received-from, bindings
// following, and everything removed again when the policy goes.
import amqp, { type Channel, type ChannelModel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Typed, type FieldTable, type FieldValue } from '../../../amqp/table.js';
import { startBroker, type RunningBroker } from '../../../server/index.js';
import { drain, federate, getWithin, linksRunning, waitUntil } from '../../helpers/federation.js';

/** A field table with each value's type dropped, for comparisons. */
function plainTable(t: FieldTable): unknown {
  const v = (x: FieldValue): unknown => (x instanceof Typed ? x.value : Array.isArray(x) ? x.map(v) : x !== null && typeof x === 'object' && !Buffer.isBuffer(x) ? plainTable(x as FieldTable) : x);
  return Object.fromEntries(Object.entries(t).map(([k, x]) => [k, v(x)]));
}

let up: RunningBroker;
let down: RunningBroker;
let upConn: ChannelModel;
let downConn: ChannelModel;
let uch: Channel;
let dch: Channel;

beforeAll(async () => {
  up = await startBroker({ port: 0, clusterName: 'up-cluster' });
  down = await startBroker({ port: 0, clusterName: 'down-cluster' });
  upConn = await amqp.connect(up.url);
  downConn = await amqp.connect(down.url);
  uch = await upConn.createChannel();
  dch = await downConn.createChannel();
});

afterAll(async () => {
  await upConn.close();
  await downConn.close();
  await down.close();
  await up.close();
});

const upVhost = () => up.broker.vhosts.get('/')!;

describe('exchange federation (Warren to Warren)', () => {
  it('creates the upstream queue and x-federation-upstream exchange under RabbitMQ names, and forwards messages with x-received-from', async () => {
    await dch.assertExchange('x1', 'topic', { durable: true });
    const q = (await dch.assertQueue('', { exclusive: true })).queue;
    await dch.bindQueue(q, 'x1', 'a.*');
    federate(down.broker, 'u1', { uri: `${up.url}/%2f` }, '^x1$');
    await linksRunning(down.broker, 1);

    // The upstream exchange was missing: declared like the downstream one.
    const ux = upVhost().exchanges.get('x1')!;
    expect([ux.type, ux.durable]).toEqual(['topic', true]);
    const internal = upVhost().exchanges.get('federation: x1 -> down-cluster B')!;
    expect([internal.type, internal.durable, internal.autoDelete, internal.internal]).toEqual(['x-federation-upstream', true, true, true]);
    expect(internal.args['x-max-hops']).toEqual(new Typed('l', 1));
    expect(plainTable(internal.args)).toEqual({ 'x-max-hops': 1, 'x-downstream-name': 'down-cluster', 'x-downstream-vhost': '/', 'x-internal-purpose': 'federation' });
    const uq = upVhost().queues.get('federation: x1 -> down-cluster')!;
    expect([uq.durable, uq.autoDelete, plainTable(uq.args)]).toEqual([true, false, { 'x-internal-purpose': 'federation' }]);
    expect(uq.consumerCount).toBe(1);
    // The downstream binding, mirrored with the hop it made.
    const bindings = [...ux.router.bindings()].map((b) => [b.destination.name, b.routingKey, plainTable(b.args)]);
    expect(bindings).toEqual([['federation: x1 -> down-cluster B', 'a.*', { 'x-bound-from': [{ 'cluster-name': 'down-cluster', vhost: '/', exchange: '/:x1 B', hops: 1 }] }]]);

    uch.publish('x1', 'a.b', Buffer.from('hello'), { headers: { h: 'v' }, userId: 'guest', messageId: 'm1', contentType: 'text/plain', persistent: true, priority: 3 });
    uch.publish('x1', 'b.c', Buffer.from('unbound'));
    const m = await getWithin(dch, q);
    expect(m).not.toBe(false);
    if (m === false) return;
    expect(m.content.toString()).toBe('hello');
    expect([m.fields.exchange, m.fields.routingKey]).toEqual(['x1', 'a.b']);
    expect(m.properties.headers).toEqual({
      h: 'v',
      'x-received-from': [{ uri: `${up.url.replace('guest:guest@', '')}/%2f`, exchange: 'x1', redelivered: false, 'cluster-name': 'up-cluster', vhost: '/' }],
    });
    // user_id is dropped (trust-user-id is false); the other properties stay.
    expect(m.properties.userId).toBeUndefined();
    expect([m.properties.messageId, m.properties.contentType, m.properties.deliveryMode, m.properties.priority]).toEqual(['m1', 'text/plain', 2, 3]);
    // Only what a downstream binding wants crosses: the unbound key stayed upstream (dropped there).
    expect(await drain(dch, q)).toEqual([]);
  });

  it('reports the link in RabbitMQ fields', () => {
    const [s] = down.broker.federation.status('warren@test').filter((l) => l['exchange'] === 'x1');
    expect(Object.keys(s!)).toEqual(['node', 'exchange', 'upstream_exchange', 'type', 'vhost', 'upstream', 'id', 'status', 'local_connection', 'uri', 'timestamp']);
    expect(s).toMatchObject({ node: 'warren@test', exchange: 'x1', upstream_exchange: 'x1', type: 'exchange', vhost: '/', upstream: 'u1', status: 'running', uri: `${up.url.replace('guest:guest@', '')}/%2f` });
    expect(s!['id']).toMatch(/^[0-9a-f]{8}$/);
    expect(s!['timestamp']).toMatch(/^\d{4}-\d\d-\d\d \d{1,2}:\d\d:\d\d$/);
  });

  it('follows bindings made and removed downstream, once per key and arguments', async () => {
    const q1 = (await dch.assertQueue('', { exclusive: true })).queue;
    const q2 = (await dch.assertQueue('', { exclusive: true })).queue;
    const keys = () => [...upVhost().exchanges.get('x1')!.router.bindings()].map((b) => b.routingKey).sort();
    await dch.bindQueue(q1, 'x1', 'c.#');
    await dch.bindQueue(q2, 'x1', 'c.#');
    await dch.bindQueue(q2, 'x1', 'd', { k: 1 });
    await waitUntil(() => keys().join() === 'a.*,c.#,d', 'the new bindings upstream');
    const d = [...upVhost().exchanges.get('x1')!.router.bindings()].find((b) => b.routingKey === 'd')!;
    expect(plainTable(d.args)).toEqual({ k: 1, 'x-bound-from': [{ 'cluster-name': 'down-cluster', vhost: '/', exchange: '/:x1 B', hops: 1 }] });
    uch.publish('x1', 'c.x', Buffer.from('both'));
    expect((await getWithin(dch, q1))).not.toBe(false);
    expect((await getWithin(dch, q2))).not.toBe(false);
    // One queue goes: the key stays upstream while the other still has it.
    await dch.unbindQueue(q1, 'x1', 'c.#');
    await dch.deleteQueue(q2);
    await waitUntil(() => keys().join() === 'a.*', 'the bindings removed upstream');
  });

  it('removes the upstream queue and exchange when the policy is cleared', async () => {
    down.broker.vhosts.get('/')!.clearPolicy('fed-u1');
    await waitUntil(() => !upVhost().queues.has('federation: x1 -> down-cluster'), 'the upstream queue deleted');
    expect(upVhost().exchanges.has('federation: x1 -> down-cluster B')).toBe(false);
    expect([...upVhost().exchanges.get('x1')!.router.bindings()]).toEqual([]);
    expect(down.broker.federation.status('n')).toEqual([]);
    // Published upstream now: nothing comes.
    const q = (await dch.assertQueue('', { exclusive: true })).queue;
    await dch.bindQueue(q, 'x1', '#');
    uch.publish('x1', 'a.b', Buffer.from('late'));
    expect(await drain(dch, q)).toEqual([]);
  });

  it('alternates the internal exchange (A, B) at each start, and stops with the upstream parameter', async () => {
    await dch.assertExchange('x2', 'fanout');
    const q = (await dch.assertQueue('', { exclusive: true })).queue;
    await dch.bindQueue(q, 'x2', '');
    federate(down.broker, 'u2', { uri: `${up.url}/%2f`, 'max-hops': 2, expires: 60000, 'message-ttl': 30000 }, '^x2$');
    await linksRunning(down.broker, 1);
    expect(upVhost().exchanges.has('federation: x2 -> down-cluster B')).toBe(true);
    expect(upVhost().exchanges.get('federation: x2 -> down-cluster B')!.args['x-max-hops']).toEqual(new Typed('l', 2));
    expect(plainTable(upVhost().queues.get('federation: x2 -> down-cluster')!.args)).toEqual({ 'x-expires': 60000, 'x-message-ttl': 30000, 'x-internal-purpose': 'federation' });
    // A changed upstream restarts the link on the other internal exchange; the old one goes.
    down.broker.access.setParameter('/', 'federation-upstream', 'u2', { uri: `${up.url}/%2f`, 'max-hops': 2, expires: 60000, 'message-ttl': 30000, 'prefetch-count': 10 });
    await waitUntil(() => upVhost().exchanges.has('federation: x2 -> down-cluster A') && !upVhost().exchanges.has('federation: x2 -> down-cluster B'), 'the A exchange');
    await linksRunning(down.broker, 1);
    uch.publish('x2', '', Buffer.from('via A'));
    expect(((await getWithin(dch, q)) || { content: '' }).content.toString()).toBe('via A');
    down.broker.access.clearParameter('/', 'federation-upstream', 'u2');
    await waitUntil(() => !upVhost().queues.has('federation: x2 -> down-cluster'), 'the upstream queue deleted');
    expect(down.broker.federation.status('n')).toEqual([]);
  });

  it('stops and cleans up when the downstream exchange is deleted', async () => {
    await dch.assertExchange('x3', 'direct');
    federate(down.broker, 'u3', { uri: `${up.url}/%2f` }, '^x3$');
    await linksRunning(down.broker, 1);
    expect(upVhost().queues.has('federation: x3 -> down-cluster')).toBe(true);
    await dch.deleteExchange('x3');
    await waitUntil(() => !upVhost().queues.has('federation: x3 -> down-cluster') && !upVhost().exchanges.has('federation: x3 -> down-cluster B'), 'the upstream resources deleted');
    expect(down.broker.federation.status('n')).toEqual([]);
  });

  it('federates a headers exchange: the binding arguments go upstream with x-bound-from, which matching ignores', async () => {
    await dch.assertExchange('xh', 'headers');
    const q = (await dch.assertQueue('', { exclusive: true })).queue;
    await dch.bindQueue(q, 'xh', '', { 'x-match': 'all', kind: 'order' });
    federate(down.broker, 'uh', { uri: `${up.url}/%2f` }, '^xh$');
    await linksRunning(down.broker, 1);
    const [b] = [...upVhost().exchanges.get('xh')!.router.bindings()];
    expect(Object.keys(b!.args)).toEqual(['kind', 'x-bound-from', 'x-match']);
    uch.publish('xh', '', Buffer.from('order'), { headers: { kind: 'order' } });
    uch.publish('xh', '', Buffer.from('invoice'), { headers: { kind: 'invoice' } });
    expect((await drain(dch, q, 500)).map((m) => m.content.toString())).toEqual(['order']);
    down.broker.vhosts.get('/')!.clearPolicy('fed-uh');
    await waitUntil(() => down.broker.federation.status('n').length === 0, 'the link stopped');
  });

  it('starts over when its internal exchange is deleted upstream (the periodic check)', async () => {
    down.broker.federation.internalExchangeCheckMs = 100;
    await dch.assertExchange('x5', 'fanout');
    const q = (await dch.assertQueue('', { exclusive: true })).queue;
    await dch.bindQueue(q, 'x5', '');
    federate(down.broker, 'u5', { uri: `${up.url}/%2f`, 'reconnect-delay': 0.2 }, '^x5$');
    await linksRunning(down.broker, 1);
    await uch.deleteExchange('federation: x5 -> down-cluster B');
    await waitUntil(() => upVhost().exchanges.has('federation: x5 -> down-cluster A'), 'the link to set up again');
    await linksRunning(down.broker, 1);
    uch.publish('x5', '', Buffer.from('after the restart'));
    expect(((await getWithin(dch, q)) || { content: '' }).content.toString()).toBe('after the restart');
    down.broker.vhosts.get('/')!.clearPolicy('fed-u5');
    down.broker.federation.internalExchangeCheckMs = 90_000;
    await waitUntil(() => down.broker.federation.status('n').length === 0, 'the link stopped');
  });

  it('names the queue after the downstream vhost and exchange when they differ from the upstream', async () => {
    down.broker.access.addVhost('other');
    down.broker.access.setPermissions('guest', 'other', { configure: '.*', write: '.*', read: '.*' });
    const c = await amqp.connect(`${down.url}/other`);
    const ch = await c.createChannel();
    await ch.assertExchange('x4', 'fanout');
    federate(down.broker, 'u4', { uri: `${up.url}/%2f`, exchange: 'x4-up' }, '^x4$', { vhost: 'other' });
    await linksRunning(down.broker, 1);
    expect(upVhost().queues.has('federation: x4-up -> down-cluster:other:x4')).toBe(true);
    expect(upVhost().exchanges.get('x4-up')?.type).toBe('fanout');
    const [s] = down.broker.federation.status('n', 'other');
    expect([s!['exchange'], s!['upstream_exchange'], s!['vhost']]).toEqual(['x4', 'x4-up', 'other']);
    await c.close();
    down.broker.access.deleteVhost('other');
    await waitUntil(() => !upVhost().queues.has('federation: x4-up -> down-cluster:other:x4'), 'the upstream queue deleted with the vhost');
  });
});
