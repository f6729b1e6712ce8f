// basic.get: get-ok fields, get-empty, no-ack gets.
import { describe, expect, test } from 'vitest';
import { drain, rejection, seenGet, sleep, useBroker, within } from '../../helpers/basic.js';

const env = useBroker();

describe('basic.get', () => {
  test('get-ok carries delivery tag, redelivered, exchange, routing key and the count of messages left', async () => {
    const c = await env.connect();
    const ch = await c.channel();
    const q = await ch.queue();
    await ch.ch.bindQueue(q, 'amq.topic', 'a.*');
    ch.ch.publish('amq.topic', 'a.b', Buffer.from('t1'), { messageId: 'id-1' });
    ch.ch.publish('amq.topic', 'a.c', Buffer.from('t2'));
    await ch.readyWhen(q, 2);
    const m1 = await ch.ch.get(q);
    const m2 = await ch.ch.get(q);
    expect(m1 && m1.fields).toEqual({ deliveryTag: 1, redelivered: false, exchange: 'amq.topic', routingKey: 'a.b', messageCount: 1 });
    expect(m1 && m1.content.toString()).toBe('t1');
    expect(m1 && m1.properties.messageId).toBe('id-1');
    expect(m2 && m2.fields).toEqual({ deliveryTag: 2, redelivered: false, exchange: 'amq.topic', routingKey: 'a.c', messageCount: 0 });
    expect(m2 && m2.content.toString()).toBe('t2');
    expect(await ch.ch.get(q)).toBe(false);
    expect(ch.methods('BasicGetOk', 'BasicGetEmpty')).toEqual([
      { name: 'BasicGetOk', fields: { deliveryTag: 1, redelivered: false, exchange: 'amq.topic', routingKey: 'a.b', messageCount: 1 } },
      { name: 'BasicGetOk', fields: { deliveryTag: 2, redelivered: false, exchange: 'amq.topic', routingKey: 'a.c', messageCount: 0 } },
      { name: 'BasicGetEmpty', fields: { clusterId: '' } },
    ]);
  });

  test('get-empty on an empty queue, then a get after a publish succeeds', async () => {
    const c = await env.connect();
    const ch = await c.channel();
    const q = await ch.queue();
    expect(await ch.ch.get(q)).toBe(false);
    expect(await ch.ch.get(q, { noAck: true })).toBe(false);
    ch.publishAll(q, ['late']);
    await ch.readyWhen(q, 1);
    const m = await ch.ch.get(q);
    expect(m && seenGet(m)).toEqual({ body: 'late', deliveryTag: 1, redelivered: false, messageCount: 0 });
  });

  test('a get with ack holds the message: not counted as ready, requeued with redelivered=true', async () => {
    const c = await env.connect();
    const ch = await c.channel();
    const q = await ch.queue();
    ch.publishAll(q, ['a', 'b']);
    await ch.readyWhen(q, 2);
    const a = await ch.ch.get(q);
    expect(a && seenGet(a)).toEqual({ body: 'a', deliveryTag: 1, redelivered: false, messageCount: 1 });
    expect(await ch.ready(q)).toBe(1);
    ch.ch.nack(a as Exclude<typeof a, false>, false, true);
    const again = await ch.ch.get(q);
    expect(again && seenGet(again)).toEqual({ body: 'a', deliveryTag: 2, redelivered: true, messageCount: 1 });
  });

  test('a no-ack get removes the message for good; acking its tag is an unknown delivery tag', async () => {
    const c = await env.connect();
    const ch = await c.channel();
    const other = await c.channel();
    const q = await ch.queue();
    ch.publishAll(q, ['1', '2', '3']);
    await ch.readyWhen(q, 3);
    const m = await ch.ch.get(q, { noAck: true });
    expect(m && m.fields).toEqual({ deliveryTag: 1, redelivered: false, exchange: '', routingKey: q, messageCount: 2 });
    expect(await ch.ready(q)).toBe(2);
    ch.ch.ack(m as Exclude<typeof m, false>);
    expect(await within(ch.closedByServer, 'channel.close')).toEqual({
      code: 406,
      text: 'PRECONDITION_FAILED - unknown delivery tag 1',
      classId: 60,
      methodId: 80,
    });
    await sleep(20);
    expect(await drain(other.ch, q)).toEqual([
      { body: '2', deliveryTag: 1, redelivered: false, messageCount: 1 },
      { body: '3', deliveryTag: 2, redelivered: false, messageCount: 0 },
    ]);
  });

  test('delivery tags are per channel and shared between gets and consumer deliveries', async () => {
    const c = await env.connect();
    const ch = await c.channel();
    const other = await c.channel();
    const q = await ch.queue();
    ch.publishAll(q, ['1', '2', '3']);
    await ch.readyWhen(q, 3);
    const g1 = await ch.ch.get(q);
    const o1 = await other.ch.get(q);
    const g2 = await ch.ch.get(q, { noAck: true });
    expect([g1, o1, g2].map((m) => m && seenGet(m))).toEqual([
      { body: '1', deliveryTag: 1, redelivered: false, messageCount: 2 },
      { body: '2', deliveryTag: 1, redelivered: false, messageCount: 1 },
      { body: '3', deliveryTag: 2, redelivered: false, messageCount: 0 },
    ]);
  });

  test("basic.get on a missing queue: 404 NOT_FOUND - no queue '...' in vhost '/'", async () => {
    const c = await env.connect();
    const ch = await c.channel();
    await rejection(ch.ch.get('no-such-queue-basic-get'));
    expect(await within(ch.closedByServer, 'channel.close')).toEqual({
      code: 404,
      text: "NOT_FOUND - no queue 'no-such-queue-basic-get' in vhost '/'",
      classId: 60,
      methodId: 70,
    });
  });
});
