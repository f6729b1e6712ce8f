// Exchange federation with the live RabbitMQ 3.10 (RABBITMQ_URL and RABBITMQ_MGMT_URL; CI
// starts one with its federation plugin), in both directions and in a cycle:
//  - RabbitMQ -> Warren: Warren's link sets up RabbitMQ's side (RabbitMQ's own
//    x-federation-upstream exchange type, its names and arguments) and carries every
//    message published there;
//  - Warren -> RabbitMQ: RabbitMQ's link sets up Warren's side (Warren's
//    x-federation-upstream type) and carries every message published on Warren;
//  - each federating the other's exchange: every message arrives once on each side, none
//    comes back.
import { randomBytes } from 'node:crypto';
import amqp, { type Channel, type ChannelModel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type RunningBroker } from '../../server/index.js';
import { federate, linksRunning, rmqApi, rmqMgmt, rmqUrl, waitUntil } from '../helpers/federation.js';
import { sleep } from '../helpers/timing.js';

const haveRabbit = rmqUrl !== '' && rmqMgmt !== '';
if (!haveRabbit) console.warn('federation-rabbitmq: RABBITMQ_URL or RABBITMQ_MGMT_URL is not set; skipped. CI sets both.');

const COUNT = Number(process.env['FEDERATION_HEAVY_COUNT'] ?? 10_000);
const token = randomBytes(3).toString('hex');
const vhost = `federation-heavy-${token}`;
const enc = encodeURIComponent;
const warrenCluster = `warren-heavy-${token}`;

let warren: RunningBroker;
let rabbitCluster = '';
const conns: ChannelModel[] = [];

async function channel(url: string): Promise<Channel> {
  const c = await amqp.connect(url);
  conns.push(c);
  return c.createChannel();
}

/** Publishes COUNT persistent messages with ids 0..COUNT-1, waiting for confirms. */
async function publishAll(url: string, exchange: string, key: (i: number) => string): Promise<void> {
  const c = await amqp.connect(url);
  const ch = await c.createConfirmChannel();
  for (let i = 0; i < COUNT; i++) {
    ch.publish(exchange, key(i), Buffer.from(`m${i}`), { persistent: true, messageId: String(i) });
    if (i % 1000 === 999) await ch.waitForConfirms();
  }
  await ch.waitForConfirms();
  await c.close();
}

/** Consumes `expected` messages from the queue; returns them by id (failing on a duplicate). */
async function consumeAll(url: string, queue: string, expected: number): Promise<Map<string, amqp.ConsumeMessage>> {
  const c = await amqp.connect(url);
  const ch = await c.createChannel();
  await ch.prefetch(1000);
  const byId = new Map<string, amqp.ConsumeMessage>();
  const dupes: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${byId.size} of ${expected} messages arrived in ${queue}`)), 60_000);
    void ch.consume(queue, (m) => {
      if (m === null) return;
      const id = String(m.properties.messageId);
      if (byId.has(id)) dupes.push(id);
      byId.set(id, m);
      ch.ack(m);
      if (byId.size === expected) {
        clearTimeout(t);
        resolve();
      }
    });
  });
  await sleep(300);
  await c.close();
  expect(dupes).toEqual([]);
  return byId;
}

describe.runIf(haveRabbit)('federation with RabbitMQ 3.10', () => {
  beforeAll(async () => {
    warren = await startBroker({ port: 0, managementPort: 0, clusterName: warrenCluster });
    expect((await rmqApi('PUT', `/vhosts/${enc(vhost)}`)).status).toBe(201);
    await rmqApi('PUT', `/permissions/${enc(vhost)}/guest`, { configure: '.*', write: '.*', read: '.*' });
    rabbitCluster = ((await rmqApi('GET', '/overview')).body as { cluster_name: string }).cluster_name;
  });

  afterAll(async () => {
    for (const c of conns) await c.close().catch(() => {});
    await rmqApi('DELETE', `/vhosts/${enc(vhost)}`);
    await warren?.close();
  });

  it(`RabbitMQ -> Warren: RabbitMQ's side set up under its own names, ${COUNT} messages carried with x-received-from`, async () => {
    const wch = await channel(warren.url);
    await wch.assertExchange('fed.x', 'topic', { durable: true });
    await wch.assertQueue('fed.q', { durable: true });
    await wch.bindQueue('fed.q', 'fed.x', 'order.#');
    federate(warren.broker, 'rabbit', { uri: `${rmqUrl}/${enc(vhost)}` }, '^fed\\.x$');
    await linksRunning(warren.broker, 1);

    const internal = `federation: fed.x -> ${warrenCluster}:/:fed.x B`;
    const x = (await rmqApi('GET', `/exchanges/${enc(vhost)}/${enc(internal)}`)).body as Record<string, unknown>;
    expect(x).toMatchObject({
      type: 'x-federation-upstream',
      durable: true,
      auto_delete: true,
      internal: true,
      arguments: { 'x-downstream-name': warrenCluster, 'x-downstream-vhost': '/', 'x-internal-purpose': 'federation', 'x-max-hops': 1 },
    });
    const queueName = `federation: fed.x -> ${warrenCluster}:/:fed.x`;
    const q = (await rmqApi('GET', `/queues/${enc(vhost)}/${enc(queueName)}`)).body as Record<string, unknown>;
    expect([q['durable'], q['arguments']]).toEqual([true, { 'x-internal-purpose': 'federation' }]);
    // The upstream exchange was missing: declared as the downstream one is.
    expect(((await rmqApi('GET', `/exchanges/${enc(vhost)}/fed.x`)).body as Record<string, unknown>)['type']).toBe('topic');
    const bindings = (await rmqApi('GET', `/exchanges/${enc(vhost)}/fed.x/bindings/source`)).body as Record<string, unknown>[];
    expect(bindings.map((b) => [b['destination'], b['routing_key'], b['arguments']])).toEqual([
      [internal, 'order.#', { 'x-bound-from': [{ 'cluster-name': warrenCluster, exchange: '/:fed.x B', hops: 1, vhost: '/' }] }],
    ]);

    await publishAll(`${rmqUrl}/${enc(vhost)}`, 'fed.x', (i) => `order.${i}`);
    const got = await consumeAll(warren.url, 'fed.q', COUNT);
    const m = got.get('0')!;
    expect([m.fields.exchange, m.fields.routingKey, m.content.toString(), m.properties.deliveryMode]).toEqual(['fed.x', 'order.0', 'm0', 2]);
    expect(m.properties.headers).toEqual({
      'x-received-from': [{ uri: `${rmqUrl.replace(/\/\/[^@]*@/, '//')}/${enc(vhost)}`, exchange: 'fed.x', redelivered: false, 'cluster-name': rabbitCluster, vhost }],
    });

    // Unbound on Warren: gone on RabbitMQ. The policy cleared: RabbitMQ's side removed.
    await wch.unbindQueue('fed.q', 'fed.x', 'order.#');
    await waitUntil(async () => ((await rmqApi('GET', `/exchanges/${enc(vhost)}/fed.x/bindings/source`)).body as unknown[]).length === 0, 'the binding removed on RabbitMQ');
    warren.broker.vhosts.get('/')!.clearPolicy('fed-rabbit');
    await waitUntil(async () => (await rmqApi('GET', `/queues/${enc(vhost)}/${enc(queueName)}`)).status === 404, "RabbitMQ's queue deleted");
    expect((await rmqApi('GET', `/exchanges/${enc(vhost)}/${enc(internal)}`)).status).toBe(404);
  });

  it(`Warren -> RabbitMQ: RabbitMQ's link sets up Warren's side and carries ${COUNT} messages`, async () => {
    const wch = await channel(warren.url);
    await wch.assertExchange('fed.w', 'direct', { durable: true });
    await rmqApi('PUT', `/exchanges/${enc(vhost)}/fed.w`, { type: 'direct', durable: true });
    await rmqApi('PUT', `/queues/${enc(vhost)}/fed.wq`, { durable: true });
    await rmqApi('POST', `/bindings/${enc(vhost)}/e/fed.w/q/fed.wq`, { routing_key: 'k' });
    expect((await rmqApi('PUT', `/parameters/federation-upstream/${enc(vhost)}/warren`, { value: { uri: `amqp://guest:guest@127.0.0.1:${warren.port}/%2f` } })).status).toBe(201);
    await rmqApi('PUT', `/policies/${enc(vhost)}/fed-w`, { pattern: '^fed\\.w$', definition: { 'federation-upstream': 'warren' }, 'apply-to': 'exchanges' });
    await waitUntil(async () => {
      const links = (await rmqApi('GET', `/federation-links/${enc(vhost)}`)).body as Record<string, unknown>[];
      return links.some((l) => l['exchange'] === 'fed.w' && l['status'] === 'running');
    }, "RabbitMQ's link running", 20_000);

    const v = warren.broker.vhosts.get('/')!;
    const internal = v.exchanges.get(`federation: fed.w -> ${rabbitCluster}:${vhost}:fed.w B`)!;
    expect([internal.type, internal.internal, internal.autoDelete, internal.args['x-downstream-name'], internal.args['x-downstream-vhost']]).toEqual([
      'x-federation-upstream',
      true,
      true,
      rabbitCluster,
      vhost,
    ]);
    const q = v.queues.get(`federation: fed.w -> ${rabbitCluster}:${vhost}:fed.w`)!;
    expect([q.durable, q.args['x-internal-purpose'], q.consumerCount]).toEqual([true, 'federation', 1]);
    expect([...v.exchanges.get('fed.w')!.router.bindings()].map((b) => [b.destination.name, b.routingKey])).toEqual([[internal.name, 'k']]);

    await publishAll(warren.url, 'fed.w', () => 'k');
    const got = await consumeAll(`${rmqUrl}/${enc(vhost)}`, 'fed.wq', COUNT);
    expect(got.get('0')!.properties.headers).toEqual({
      'x-received-from': [{ uri: `amqp://127.0.0.1:${warren.port}/%2f`, exchange: 'fed.w', redelivered: false, 'cluster-name': warrenCluster, vhost: '/' }],
    });

    await rmqApi('DELETE', `/policies/${enc(vhost)}/fed-w`);
    await waitUntil(() => !v.queues.has(q.name) && !v.exchanges.has(internal.name), "Warren's side removed by RabbitMQ's link");
    await rmqApi('DELETE', `/parameters/federation-upstream/${enc(vhost)}/warren`);
  });

  it('queue federation both ways: a backlog moves to where the consumers are', async () => {
    const n = 1000;
    const rabbitVhostUrl = `${rmqUrl}/${enc(vhost)}`;
    // RabbitMQ's backlog, pulled by Warren's link for Warren's consumer.
    const rch = await channel(rabbitVhostUrl);
    await rch.assertQueue('fed.bq', { durable: true });
    for (let i = 0; i < n; i++) rch.sendToQueue('fed.bq', Buffer.from(`b${i}`), { messageId: `b${i}`, persistent: true });
    const wch = await channel(warren.url);
    await wch.assertQueue('fed.bq', { durable: true });
    federate(warren.broker, 'rabbit-q', { uri: rabbitVhostUrl }, '^fed\\.bq$', { applyTo: 'queues' });
    await linksRunning(warren.broker, 1);
    const atWarren = await consumeAll(warren.url, 'fed.bq', n);
    expect(atWarren.get('b0')!.properties.headers).toEqual({
      'x-original-exchange': '',
      'x-original-routing-key': 'fed.bq',
      'x-received-from': [{ uri: `${rmqUrl.replace(/\/\/[^@]*@/, '//')}/${enc(vhost)}`, queue: 'fed.bq', redelivered: false, 'visit-count': 1 }],
    });
    warren.broker.vhosts.get('/')!.clearPolicy('fed-rabbit-q');
    // Warren's backlog, pulled by RabbitMQ's link (Warren offers consumer priorities, which it needs).
    await wch.assertQueue('fed.wbq', { durable: true });
    for (let i = 0; i < n; i++) wch.sendToQueue('fed.wbq', Buffer.from(`c${i}`), { messageId: `c${i}` });
    await rmqApi('PUT', `/queues/${enc(vhost)}/fed.wbq`, { durable: true });
    await rmqApi('PUT', `/parameters/federation-upstream/${enc(vhost)}/warren-q`, { value: { uri: `amqp://guest:guest@127.0.0.1:${warren.port}/%2f` } });
    await rmqApi('PUT', `/policies/${enc(vhost)}/fed-q`, { pattern: '^fed\\.wbq$', definition: { 'federation-upstream': 'warren-q' }, 'apply-to': 'queues' });
    const atRabbit = await consumeAll(rabbitVhostUrl, 'fed.wbq', n);
    expect(atRabbit.get('c0')!.properties.headers!['x-received-from']).toEqual([{ uri: `amqp://127.0.0.1:${warren.port}/%2f`, queue: 'fed.wbq', redelivered: false, 'visit-count': 1 }]);
    await rmqApi('DELETE', `/policies/${enc(vhost)}/fed-q`);
  });

  it('in a cycle (each federates the other), every message arrives once on each side and none loops', async () => {
    const wch = await channel(warren.url);
    await wch.assertExchange('fed.c', 'fanout', { durable: true });
    await wch.assertQueue('fed.cq', { durable: true });
    await wch.bindQueue('fed.cq', 'fed.c', '');
    await rmqApi('PUT', `/exchanges/${enc(vhost)}/fed.c`, { type: 'fanout', durable: true });
    await rmqApi('PUT', `/queues/${enc(vhost)}/fed.cq`, { durable: true });
    await rmqApi('POST', `/bindings/${enc(vhost)}/e/fed.c/q/fed.cq`, { routing_key: '' });
    // Room for more hops than the cycle has: cycle detection, not max-hops, must stop them.
    await rmqApi('PUT', `/parameters/federation-upstream/${enc(vhost)}/warren-c`, { value: { uri: `amqp://guest:guest@127.0.0.1:${warren.port}/%2f`, 'max-hops': 3 } });
    await rmqApi('PUT', `/policies/${enc(vhost)}/fed-c`, { pattern: '^fed\\.c$', definition: { 'federation-upstream': 'warren-c' }, 'apply-to': 'exchanges' });
    federate(warren.broker, 'rabbit-c', { uri: `${rmqUrl}/${enc(vhost)}`, 'max-hops': 3 }, '^fed\\.c$');
    await linksRunning(warren.broker, 1);
    await waitUntil(async () => {
      const links = (await rmqApi('GET', `/federation-links/${enc(vhost)}`)).body as Record<string, unknown>[];
      return links.some((l) => l['exchange'] === 'fed.c' && l['status'] === 'running');
    }, "RabbitMQ's link running", 20_000);
    // Both links' bindings in place before publishing.
    await waitUntil(() => warren.broker.vhosts.get('/')!.exchanges.get('fed.c')!.router.bindingCount === 2, "RabbitMQ's binding on Warren");
    await waitUntil(async () => ((await rmqApi('GET', `/exchanges/${enc(vhost)}/fed.c/bindings/source`)).body as unknown[]).length === 2, "Warren's binding on RabbitMQ");

    // Both sides' status entries have the same fields, in the same order (RabbitMQ adds
    // local_channel once its statistics have seen the channel, within a few seconds).
    let rabbitLink: Record<string, unknown> = {};
    await waitUntil(async () => {
      rabbitLink = ((await rmqApi('GET', `/federation-links/${enc(vhost)}`)).body as Record<string, unknown>[]).find((l) => l['exchange'] === 'fed.c')!;
      return 'local_channel' in rabbitLink;
    }, "RabbitMQ's local_channel", 20_000);
    const res = await fetch(`${warren.managementUrl}/api/federation-links/%2F`, { headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` } });
    const warrenLink = ((await res.json()) as Record<string, unknown>[]).find((l) => l['exchange'] === 'fed.c')!;
    expect(Object.keys(warrenLink)).toEqual(Object.keys(rabbitLink));
    expect([warrenLink['type'], warrenLink['status'], warrenLink['upstream_exchange']]).toEqual([rabbitLink['type'], rabbitLink['status'], rabbitLink['upstream_exchange']]);

    const n = 200;
    const wc = await amqp.connect(warren.url);
    const wp = await wc.createConfirmChannel();
    const rc = await amqp.connect(`${rmqUrl}/${enc(vhost)}`);
    conns.push(rc);
    const rp = await rc.createConfirmChannel();
    for (let i = 0; i < n; i++) {
      wp.publish('fed.c', '', Buffer.from(`w${i}`), { messageId: `w${i}` });
      rp.publish('fed.c', '', Buffer.from(`r${i}`), { messageId: `r${i}` });
    }
    await wp.waitForConfirms();
    await rp.waitForConfirms();
    await wc.close();
    const atWarren = await consumeAll(warren.url, 'fed.cq', 2 * n);
    const atRabbit = await consumeAll(`${rmqUrl}/${enc(vhost)}`, 'fed.cq', 2 * n);
    // Nothing more comes: no message went round again.
    await sleep(1500);
    const wq = warren.broker.vhosts.get('/')!.queues.get('fed.cq')!;
    const rq = (await rmqApi('GET', `/queues/${enc(vhost)}/fed.cq`)).body as { messages?: number };
    expect([wq.messageCount, rq.messages ?? 0]).toEqual([0, 0]);
    expect(atWarren.get('r0')!.properties.headers!['x-received-from'].map((h: Record<string, unknown>) => h['cluster-name'])).toEqual([rabbitCluster]);
    expect(atRabbit.get('w0')!.properties.headers!['x-received-from'].map((h: Record<string, unknown>) => h['cluster-name'])).toEqual([warrenCluster]);
    expect(atWarren.get('w0')!.properties.headers?.['x-received-from']).toBeUndefined();
    await rmqApi('DELETE', `/policies/${enc(vhost)}/fed-c`);
    warren.broker.vhosts.get('/')!.clearPolicy('fed-rabbit-c');
  });
});
