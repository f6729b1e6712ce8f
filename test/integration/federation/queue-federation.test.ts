// Queue federation between two Warrens in this process: messages move from the upstream
// queue only while the downstream queue is empty and has a consumer with room.
import amqp, { type Channel, type ChannelModel, type ConsumeMessage } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { plain } from '../../../amqp/table.js';
import { startBroker, type RunningBroker } from '../../../server/index.js';
import { federate, linksRunning, waitUntil } from '../../helpers/federation.js';
import { sleep } from '../../helpers/timing.js';

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

const upQueue = (name: string) => up.broker.vhosts.get('/')!.queues.get(name);

describe('queue federation (Warren to Warren)', () => {
  it('declares the upstream queue like the downstream one and moves nothing while no one consumes', async () => {
    await dch.assertQueue('fq', { durable: true, arguments: { 'x-max-length': 100 } });
    federate(down.broker, 'qu', { uri: `${up.url}/%2f` }, '^fq$', { applyTo: 'queues' });
    await linksRunning(down.broker, 1);
    const uq = upQueue('fq')!;
    expect([uq.durable, plain(uq.args['x-max-length']!)]).toEqual([true, 100]);
    for (let i = 0; i < 5; i++) uch.sendToQueue('fq', Buffer.from(`m${i}`), { headers: { CC: ['elsewhere'] } });
    await waitUntil(() => uq.messageCount === 5, 'five messages upstream');
    await sleep(300);
    // No consumer downstream: the link does not consume, the messages stay upstream.
    expect(uq.messageCount).toBe(5);
    expect(uq.consumerCount).toBe(0);
    const [s] = down.broker.federation.status('n');
    expect(Object.keys(s!)).toEqual(['node', 'queue', 'upstream_queue', 'consumer_tag', 'type', 'vhost', 'upstream', 'id', 'status', 'local_connection', 'uri', 'timestamp']);
    expect(s).toMatchObject({ queue: 'fq', upstream_queue: 'fq', consumer_tag: 'federation-link-qu', type: 'queue', upstream: 'qu', status: 'running' });
  });

  it('pulls while a consumer has room, at priority -1, with x-received-from counting visits', async () => {
    // One at a time from upstream, so that the pull stops close to when the consumer is full.
    down.broker.access.setParameter('/', 'federation-upstream', 'qu', { uri: `${up.url}/%2f`, 'prefetch-count': 1 });
    await linksRunning(down.broker, 1);
    const got: ConsumeMessage[] = [];
    const ch = await downConn.createChannel();
    await ch.prefetch(2);
    const { consumerTag } = await ch.consume('fq', (m) => {
      if (m !== null) got.push(m);
    });
    const uq = upQueue('fq')!;
    const dq = down.broker.vhosts.get('/')!.queues.get('fq')!;
    // The consumer holds two unacked: the link stops pulling (one more may be on its way).
    await waitUntil(() => got.length === 2, 'two deliveries');
    await sleep(300);
    expect(got.length).toBe(2);
    expect(uq.messageCount).toBeGreaterThanOrEqual(2);
    expect(uq.messageCount + dq.messageCount).toBe(3);
    expect(uq.consumers).toEqual([]);
    const m = got[0]!;
    expect(m.content.toString()).toBe('m0');
    expect([m.fields.exchange, m.fields.routingKey]).toEqual(['', 'fq']);
    expect(m.properties.headers).toEqual({
      'x-original-cc': ['elsewhere'],
      'x-original-exchange': '',
      'x-original-routing-key': 'fq',
      'x-received-from': [{ uri: `${up.url.replace('guest:guest@', '')}/%2f`, queue: 'fq', redelivered: false, 'visit-count': 1 }],
    });
    // Acks give the consumer room again: the rest comes.
    const all: string[] = got.map((x) => x.content.toString());
    while (all.length < 5) {
      for (const x of got.splice(0)) ch.ack(x);
      await waitUntil(() => got.length > 0, 'more deliveries');
      all.push(...got.map((x) => x.content.toString()));
    }
    for (const x of got.splice(0)) ch.ack(x);
    expect(all).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    await waitUntil(() => uq.messageCount === 0 && uq.unacked === 0, 'the upstream queue drained');
    // While it waits for more, the link consumes upstream at priority -1.
    await waitUntil(() => uq.consumers.length === 1, 'the link consuming');
    expect(uq.consumers.map((c) => [c.tag, c.priority])).toEqual([['federation-link-qu', -1]]);
    await ch.cancel(consumerTag);
    await waitUntil(() => uq.consumers.length === 0, 'the link to stop consuming');
    await ch.close();
  });

  it("leaves the upstream's own consumers first", async () => {
    const ch = await downConn.createChannel();
    const downGot: string[] = [];
    await ch.consume('fq', (m) => m !== null && downGot.push(m.content.toString()), { noAck: true });
    const uq = upQueue('fq')!;
    await waitUntil(() => uq.consumers.length === 1, 'the link consuming');
    const upGot: string[] = [];
    const uc = await upConn.createChannel();
    await uc.consume('fq', (m) => m !== null && upGot.push(m.content.toString()), { noAck: true });
    uch.sendToQueue('fq', Buffer.from('local first'));
    await waitUntil(() => upGot.length === 1, 'the upstream consumer');
    await sleep(200);
    await uc.close();
    expect([upGot, downGot]).toEqual([['local first'], []]);
    uch.sendToQueue('fq', Buffer.from('then federated'));
    await waitUntil(() => downGot.length === 1, 'the federated delivery');
    expect(downGot).toEqual(['then federated']);
    await ch.close();
  });

  it('stops when the policy is cleared, leaving the upstream queue and its messages', async () => {
    down.broker.vhosts.get('/')!.clearPolicy('fed-qu');
    await waitUntil(() => down.broker.federation.status('n').length === 0, 'the link stopped');
    uch.sendToQueue('fq', Buffer.from('stays'));
    const ch = await downConn.createChannel();
    await ch.consume('fq', () => {}, { noAck: true });
    await sleep(300);
    expect(upQueue('fq')!.messageCount).toBe(1);
    await ch.close();
  });
});
