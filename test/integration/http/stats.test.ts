// Statistics: the exact counts an amqplib session leaves in message_stats of its channel,
// queue, exchanges, vhost and the overview (and in Prometheus' global counters), that they
// outlive the channel, and that rates move while messages flow and fall back to 0.
import amqp from 'amqplib';
import parse from 'parse-prometheus-text-format';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startWithApi, until, type ApiBroker } from '../../helpers/http.js';

let b: ApiBroker;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'warren-stats-'));
  b = await startWithApi({ collectStatisticsInterval: 100, dataDir: dir });
});

afterAll(async () => {
  await b?.close();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

/** The counts of a message_stats object, without the rates. */
function counts(stats: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(stats).filter(([k]) => !k.endsWith('_details')));
}

async function scrape(): Promise<Map<string, { labels: Record<string, string>; value: string }[]>> {
  const text = await (await fetch(`${b.prometheusUrl}/metrics`)).text();
  return new Map(parse(text).map((f) => [f.name, f.metrics as { labels: Record<string, string>; value: string }[]]));
}

describe('counts', () => {
  test('a session of publishes, gets, acks, a requeue and consumes is counted exactly, everywhere', async () => {
    const conn = await amqp.connect(b.url);
    const pub = await conn.createConfirmChannel();
    await pub.assertQueue('s-q');
    await pub.assertQueue('s-empty');
    for (let i = 1; i <= 10; i++) pub.sendToQueue('s-q', Buffer.from(`m${i}`));
    pub.on('return', () => {});
    pub.publish('amq.direct', 'nowhere', Buffer.from('returned'), { mandatory: true });
    pub.publish('amq.direct', 'nowhere', Buffer.from('dropped'));
    await pub.waitForConfirms();

    const ch = await conn.createChannel();
    const got: amqp.GetMessage[] = [];
    for (let i = 0; i < 3; i++) got.push((await ch.get('s-q')) as amqp.GetMessage);
    ch.ack(got[0]!);
    ch.ack(got[1]!);
    ch.nack(got[2]!, false, true);
    const again = (await ch.get('s-q')) as amqp.GetMessage;
    expect({ body: again.content.toString(), redelivered: again.fields.redelivered }).toEqual({ body: 'm3', redelivered: true });
    ch.ack(again);
    expect(((await ch.get('s-q', { noAck: true })) as amqp.GetMessage).content.toString()).toBe('m4');
    expect(await ch.get('s-empty')).toBe(false);
    let consumed = 0;
    await ch.consume('s-q', () => consumed++, { noAck: true });
    await until(() => consumed === 6, 'six deliveries');

    const channelStats = {
      ack: 3,
      confirm: 0,
      deliver: 0,
      deliver_get: 11,
      deliver_no_ack: 6,
      drop_unroutable: 0,
      get: 4,
      get_empty: 1,
      get_no_ack: 1,
      publish: 0,
      redeliver: 1,
      return_unroutable: 0,
    };
    const channels = (await b.api('GET', '/api/channels')).body as { number: number; message_stats: Record<string, unknown> }[];
    const byNumber = new Map(channels.map((c) => [c.number, counts(c.message_stats)]));
    expect(byNumber.get(1)).toEqual({ ...channelStats, ack: 0, deliver_get: 0, deliver_no_ack: 0, get: 0, get_empty: 0, get_no_ack: 0, redeliver: 0, publish: 12, confirm: 12, return_unroutable: 1, drop_unroutable: 1 });
    expect(byNumber.get(2)).toEqual(channelStats);

    const q = (await b.api('GET', '/api/queues/%2F/s-q')).body;
    expect(counts(q.message_stats)).toEqual({ ack: 3, deliver: 0, deliver_get: 11, deliver_no_ack: 6, get: 4, get_empty: 0, get_no_ack: 1, publish: 10, redeliver: 1 });
    expect((await b.api('GET', '/api/queues/%2F/s-empty')).body.message_stats.get_empty).toBe(1);
    expect(counts((await b.api('GET', '/api/exchanges/%2F/amq.default')).body.message_stats)).toEqual({ publish_in: 10, publish_out: 10 });
    expect(counts((await b.api('GET', '/api/exchanges/%2F/amq.direct')).body.message_stats)).toEqual({ publish_in: 2, publish_out: 0 });

    const total = { ack: 3, confirm: 12, deliver: 0, deliver_get: 11, deliver_no_ack: 6, drop_unroutable: 1, get: 4, get_empty: 1, get_no_ack: 1, publish: 12, redeliver: 1, return_unroutable: 1 };
    expect(counts((await b.api('GET', '/api/vhosts/%2F')).body.message_stats)).toEqual(total);
    expect(counts((await b.api('GET', '/api/overview')).body.message_stats)).toEqual(total);

    // Closing the channels does not take their counts away from the vhost and the node.
    await conn.close();
    await until(async () => ((await b.api('GET', '/api/channels')).body as unknown[]).length === 0, 'the channels to close');
    expect(counts((await b.api('GET', '/api/vhosts/%2F')).body.message_stats)).toEqual(total);
    expect(counts((await b.api('GET', '/api/overview')).body.message_stats)).toEqual(total);
    const overview = (await b.api('GET', '/api/overview')).body;
    expect(overview.churn_rates).toMatchObject({ connection_created: 1, connection_closed: 1, channel_created: 2, channel_closed: 2, queue_created: 2, queue_declared: 2, queue_deleted: 0 });

    const m = await scrape();
    const value = (name: string) => Number(m.get(name)?.[0]?.value);
    expect({
      received: value('rabbitmq_global_messages_received_total'),
      receivedConfirm: value('rabbitmq_global_messages_received_confirm_total'),
      routed: value('rabbitmq_global_messages_routed_total'),
      confirmed: value('rabbitmq_global_messages_confirmed_total'),
      returned: value('rabbitmq_global_messages_unroutable_returned_total'),
      dropped: value('rabbitmq_global_messages_unroutable_dropped_total'),
      acknowledged: value('rabbitmq_global_messages_acknowledged_total'),
      delivered: value('rabbitmq_global_messages_delivered_total'),
      consumeAutoAck: value('rabbitmq_global_messages_delivered_consume_auto_ack_total'),
      consumeManualAck: value('rabbitmq_global_messages_delivered_consume_manual_ack_total'),
      getManualAck: value('rabbitmq_global_messages_delivered_get_manual_ack_total'),
      getAutoAck: value('rabbitmq_global_messages_delivered_get_auto_ack_total'),
      getEmpty: value('rabbitmq_global_messages_get_empty_total'),
      redelivered: value('rabbitmq_global_messages_redelivered_total'),
      opened: value('rabbitmq_connections_opened_total'),
      closed: value('rabbitmq_connections_closed_total'),
      queuesCreated: value('rabbitmq_queues_created_total'),
    }).toEqual({
      received: 12,
      receivedConfirm: 12,
      routed: 10,
      confirmed: 12,
      returned: 1,
      dropped: 1,
      acknowledged: 3,
      delivered: 11,
      consumeAutoAck: 6,
      consumeManualAck: 0,
      getManualAck: 4,
      getAutoAck: 1,
      getEmpty: 1,
      redelivered: 1,
      opened: 1,
      closed: 1,
      queuesCreated: 2,
    });
  });

  test('queue depth and bytes: ready, unacked, persistent, and the vhost and overview totals', async () => {
    const conn = await amqp.connect(b.url);
    const ch = await conn.createConfirmChannel();
    await ch.assertQueue('s-depth', { durable: true });
    ch.sendToQueue('s-depth', Buffer.from('12345'), { persistent: true });
    ch.sendToQueue('s-depth', Buffer.from('abc'), { persistent: false });
    ch.sendToQueue('s-depth', Buffer.from('zz'), { persistent: true });
    await ch.waitForConfirms();
    const held = (await ch.get('s-depth')) as amqp.GetMessage;
    expect(held.content.toString()).toBe('12345');
    const q = (await b.api('GET', '/api/queues/%2F/s-depth')).body;
    expect({
      messages: q.messages,
      messages_ready: q.messages_ready,
      messages_unacknowledged: q.messages_unacknowledged,
      message_bytes: q.message_bytes,
      message_bytes_ready: q.message_bytes_ready,
      message_bytes_unacknowledged: q.message_bytes_unacknowledged,
      messages_persistent: q.messages_persistent,
      message_bytes_persistent: q.message_bytes_persistent,
    }).toEqual({
      messages: 3,
      messages_ready: 2,
      messages_unacknowledged: 1,
      message_bytes: 10,
      message_bytes_ready: 5,
      message_bytes_unacknowledged: 5,
      messages_persistent: 2,
      message_bytes_persistent: 7,
    });
    const totals = (await b.api('GET', '/api/overview')).body.queue_totals;
    expect({ messages: totals.messages, ready: totals.messages_ready, unacked: totals.messages_unacknowledged }).toEqual({ messages: 3, ready: 2, unacked: 1 });
    const v = (await b.api('GET', '/api/vhosts/%2F')).body;
    expect({ messages: v.messages, ready: v.messages_ready, unacked: v.messages_unacknowledged }).toEqual({ messages: 3, ready: 2, unacked: 1 });
    await conn.close();
    // The unacked message went back: all ready again.
    await until(async () => (await b.api('GET', '/api/queues/%2F/s-depth')).body.messages_ready === 3, 'the requeue');
    await b.api('DELETE', '/api/queues/%2F/s-depth');
  });
});

describe('rates', () => {
  test('publish and deliver rates rise while messages flow, and fall to 0 when they stop', async () => {
    const conn = await amqp.connect(b.url);
    const ch = await conn.createChannel();
    await ch.assertQueue('s-rate');
    await ch.consume('s-rate', () => {}, { noAck: true });
    let running = true;
    const pump = (async () => {
      while (running) {
        ch.sendToQueue('s-rate', Buffer.from('r'));
        await new Promise((r) => setTimeout(r, 1));
      }
    })();
    await until(async () => {
      const q = (await b.api('GET', '/api/queues/%2F/s-rate')).body;
      return q.message_stats.publish_details.rate > 0 && q.message_stats.deliver_no_ack_details.rate > 0;
    }, 'queue rates above 0');
    await until(async () => (await b.api('GET', '/api/overview')).body.message_stats.publish_details.rate > 0, 'the overview publish rate above 0');
    const chans = (await b.api('GET', '/api/channels')).body as { message_stats: { publish_details: { rate: number } } }[];
    expect(chans.some((c) => c.message_stats.publish_details.rate > 0)).toBe(true);
    running = false;
    await pump;
    await until(async () => (await b.api('GET', '/api/queues/%2F/s-rate')).body.message_stats.publish_details.rate === 0, 'the publish rate back at 0');
    await conn.close();
  });
});
