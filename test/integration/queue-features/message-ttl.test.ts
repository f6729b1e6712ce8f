// Message TTL: the x-message-ttl queue argument and the per-message `expiration` property.
import type { ConfirmChannel, ConsumeMessage, GetMessage } from 'amqplib';
import { describe, expect, test } from 'vitest';
import {
  bodies,
  drain,
  expectDeadLetterHeaders,
  expectDeath,
  lastDeath,
  nextServerClose,
  nowSeconds,
  publishConfirmed,
  serverClose,
  sleep,
  uniq,
  useBroker,
  waitUntil,
  deadLetterSetup,
  type DeadLetterSetup,
} from '../../helpers/queue-features.js';

const broker = useBroker();

const setup = (): Promise<DeadLetterSetup> => deadLetterSetup(broker, 'ttl');

async function readyCount(ch: ConfirmChannel, q: string): Promise<number> {
  return (await ch.checkQueue(q)).messageCount;
}

describe.concurrent('x-message-ttl', () => {
  test.each([
    ['byte', { '!': 'byte', value: 100 }],
    ['short', { '!': 'short', value: 100 }],
    ['long', { '!': 'int', value: 100 }],
    ['longlong', { '!': 'long', value: 100 }],
  ])('a %s TTL expires messages, which are dead-lettered with reason expired', async (_type, ttl) => {
    const { ch, dlq, declare } = await setup();
    const q = await declare({ 'x-message-ttl': ttl });
    const from = nowSeconds();
    for (const b of ['m1', 'm2']) ch.sendToQueue(q, Buffer.from(b));
    await ch.waitForConfirms();
    await waitUntil('both messages dead-lettered', async () => (await readyCount(ch, dlq)) === 2);
    expect(await drain(ch, q)).toEqual([]);
    const dead = await drain(ch, dlq);
    expect(bodies(dead)).toEqual(['m1', 'm2']);
    for (const m of dead) {
      expect(m.fields).toMatchObject({ exchange: '', routingKey: dlq, redelivered: false });
      // No expiration property on the original, so none on the copy and no original-expiration.
      expect(m.properties.expiration).toBeUndefined();
      const deaths = expectDeadLetterHeaders(m.properties.headers, {
        'x-first-death-exchange': '',
        'x-first-death-queue': q,
        'x-first-death-reason': 'expired',
        ...lastDeath('expired', q, ''),
      });
      expect(deaths).toHaveLength(1);
      expectDeath(deaths[0], { count: 1, reason: 'expired', queue: q, exchange: '', 'routing-keys': [q] }, { sorted: false, time: { from, to: nowSeconds() } });
    }
  });

  test('x-message-ttl 0: delivered to a consumer that can take the message at once', async () => {
    const { ch, dlq, declare } = await setup();
    const q = await declare({ 'x-message-ttl': 0 });
    const got: ConsumeMessage[] = [];
    await ch.consume(q, (m) => m && got.push(m), { noAck: true });
    for (const b of ['a', 'b', 'c']) ch.sendToQueue(q, Buffer.from(b));
    await ch.waitForConfirms();
    await waitUntil('three deliveries', () => got.length === 3);
    expect(bodies(got)).toEqual(['a', 'b', 'c']);
    expect(got.map((m) => m.properties.expiration)).toEqual([undefined, undefined, undefined]);
    await sleep(100);
    expect(await readyCount(ch, dlq)).toBe(0);
  });

  test('x-message-ttl 0 without a consumer: expired at once and dead-lettered', async () => {
    const { ch, dlq, declare } = await setup();
    const q = await declare({ 'x-message-ttl': 0 });
    for (const b of ['a', 'b']) ch.sendToQueue(q, Buffer.from(b));
    await ch.waitForConfirms();
    await waitUntil('two dead letters', async () => (await readyCount(ch, dlq)) === 2);
    expect(await drain(ch, q)).toEqual([]);
    const dead = await drain(ch, dlq);
    expect(bodies(dead)).toEqual(['a', 'b']);
    const deaths = expectDeadLetterHeaders(dead[0]!.properties.headers, {
      'x-first-death-exchange': '',
      'x-first-death-queue': q,
      'x-first-death-reason': 'expired',
      ...lastDeath('expired', q, ''),
    });
    expectDeath(deaths[0], { count: 1, reason: 'expired', queue: q, exchange: '', 'routing-keys': [q] }, { sorted: false });
  });

  test('x-message-ttl 0 with a consumer whose prefetch is used up: the rest expire', async () => {
    const { conn, ch, dlq, declare } = await setup();
    const q = await declare({ 'x-message-ttl': 0 });
    const cch = await conn.createChannel();
    await cch.prefetch(1);
    const got: ConsumeMessage[] = [];
    await cch.consume(q, (m) => m && got.push(m), { noAck: false });
    for (const b of ['t1', 't2', 't3']) ch.sendToQueue(q, Buffer.from(b));
    await ch.waitForConfirms();
    await waitUntil('two dead letters', async () => (await readyCount(ch, dlq)) === 2);
    expect(bodies(got)).toEqual(['t1']);
    expect(bodies(await drain(ch, dlq))).toEqual(['t2', 't3']);
    // Acking t1 frees the consumer, but nothing is left to deliver.
    cch.ack(got[0]!);
    await sleep(100);
    expect(bodies(got)).toEqual(['t1']);
  });
});

describe.concurrent('per-message expiration', () => {
  const invalid: [string, string][] = [
    ['abc', 'no_integer'],
    ['-1', '{value_negative,-1}'],
    ['1.5', '{leftover_string,".5"}'],
    ['', 'no_integer'],
    [' 5', 'no_integer'],
    ['5 ', '{leftover_string," "}'],
    ['0x10', '{leftover_string,"x10"}'],
    ['1e3', '{leftover_string,"e3"}'],
  ];
  test.each(invalid)('expiration %j closes the channel with 406', async (expiration, detail) => {
    const conn = await broker.connect();
    const ch = await conn.createChannel();
    const q = uniq('exp');
    await ch.assertQueue(q, { exclusive: false, autoDelete: false });
    const closed = nextServerClose(ch);
    ch.sendToQueue(q, Buffer.from('x'), { expiration });
    expect(await closed).toEqual({
      code: 406,
      text: `PRECONDITION_FAILED - invalid expiration '${expiration}': ${detail}`,
      classId: 60,
      methodId: 40,
    });
    // The message was not enqueued.
    const ch2 = await conn.createChannel();
    expect(await ch2.checkQueue(q)).toEqual({ queue: q, messageCount: 0, consumerCount: 0 });
    await ch2.deleteQueue(q);
    await ch2.close();
  });

  test('the expiration is checked even when the message is unroutable', async () => {
    const conn = await broker.connect();
    const ch = await conn.createChannel();
    const closed = nextServerClose(ch);
    ch.publish('', uniq('no-such-queue'), Buffer.from('x'), { expiration: 'abc' });
    expect(await closed).toEqual({ code: 406, text: "PRECONDITION_FAILED - invalid expiration 'abc': no_integer", classId: 60, methodId: 40 });
  });

  test("a leading '+' is accepted (Erlang list_to_integer) and the property is passed on verbatim", async () => {
    const { ch, declare } = await setup();
    const q = await declare({});
    const closes: unknown[] = [];
    ch.on('error', (e: unknown) => closes.push(serverClose(e)));
    const outcome = await publishConfirmed(ch, '', q, 'plus', { expiration: '+60000' });
    expect({ outcome, closes }).toEqual({ outcome: 'ack', closes: [] });
    const [m] = await drain(ch, q);
    expect(m!.content.toString()).toBe('plus');
    expect(m!.properties.expiration).toBe('+60000');
  });

  test("expiration '0': delivered to a waiting consumer (property kept), dropped without one", async () => {
    const { ch, dlq, declare } = await setup();
    const q = await declare({});
    // No consumer: expired at once, dead-lettered with original-expiration '0'.
    expect(await publishConfirmed(ch, '', q, 'nobody', { expiration: '0' })).toBe('ack');
    await waitUntil('dead letter', async () => (await readyCount(ch, dlq)) === 1);
    expect(await readyCount(ch, q)).toBe(0);
    const [dead] = await drain(ch, dlq);
    expect(dead!.content.toString()).toBe('nobody');
    expect(dead!.properties.expiration).toBeUndefined();
    const deaths = expectDeadLetterHeaders(dead!.properties.headers, {
      'x-first-death-exchange': '',
      'x-first-death-queue': q,
      'x-first-death-reason': 'expired',
      ...lastDeath('expired', q, ''),
    });
    expectDeath(deaths[0], { count: 1, reason: 'expired', queue: q, exchange: '', 'routing-keys': [q], 'original-expiration': '0' }, { sorted: false });

    const got: ConsumeMessage[] = [];
    await ch.consume(q, (m) => m && got.push(m), { noAck: true });
    expect(await publishConfirmed(ch, '', q, 'someone', { expiration: '0' })).toBe('ack');
    await waitUntil('delivery', () => got.length === 1);
    expect(got[0]!.content.toString()).toBe('someone');
    expect(got[0]!.properties.expiration).toBe('0');
    await sleep(100);
    expect(await readyCount(ch, dlq)).toBe(0);
  });

  test('dead-lettered on expiry: expiration removed, every other property kept, original-expiration in x-death', async () => {
    const { ch, dlq, declare } = await setup();
    const q = await declare({});
    const from = nowSeconds();
    ch.sendToQueue(q, Buffer.from('payload'), {
      expiration: '100',
      contentType: 'text/plain',
      contentEncoding: 'identity',
      deliveryMode: 2,
      priority: 3,
      correlationId: 'corr',
      replyTo: 'reply',
      messageId: 'mid',
      timestamp: 1234567890,
      type: 'kind',
      userId: 'guest',
      appId: 'app',
      headers: { zz: 1, aa: 'x', mm: { nested: true } },
    });
    await ch.waitForConfirms();
    await waitUntil('dead letter', async () => (await readyCount(ch, dlq)) === 1);
    const [m] = await drain(ch, dlq);
    expect(m!.content.toString()).toBe('payload');
    expect(m!.fields).toEqual({ deliveryTag: expect.any(Number), redelivered: false, exchange: '', routingKey: dlq, messageCount: 0 });
    const { headers, ...props } = m!.properties;
    expect(props).toEqual({
      contentType: 'text/plain',
      contentEncoding: 'identity',
      deliveryMode: 2,
      priority: 3,
      correlationId: 'corr',
      replyTo: 'reply',
      expiration: undefined,
      messageId: 'mid',
      timestamp: 1234567890,
      type: 'kind',
      userId: 'guest',
      appId: 'app',
      clusterId: undefined,
    });
    const deaths = expectDeadLetterHeaders(headers, {
      aa: 'x',
      mm: { nested: true },
      'x-first-death-exchange': '',
      'x-first-death-queue': q,
      'x-first-death-reason': 'expired',
      ...lastDeath('expired', q, ''),
      zz: 1,
    });
    expect(deaths).toHaveLength(1);
    expectDeath(
      deaths[0],
      { count: 1, reason: 'expired', queue: q, exchange: '', 'routing-keys': [q], 'original-expiration': '100' },
      { sorted: false, time: { from, to: nowSeconds() } },
    );
  });

  test('the lower of queue TTL and message expiration wins', async () => {
    const { ch, dlq, declare } = await setup();
    const queueShorter = await declare({ 'x-message-ttl': 100 });
    const messageShorter = await declare({ 'x-message-ttl': 60000 });
    const bothLong = await declare({ 'x-message-ttl': 60000 });
    ch.sendToQueue(queueShorter, Buffer.from('queue-ttl'), { expiration: '60000' });
    ch.sendToQueue(messageShorter, Buffer.from('message-ttl'), { expiration: '100' });
    ch.sendToQueue(bothLong, Buffer.from('long'), { expiration: '60000' });
    await ch.waitForConfirms();
    await waitUntil('two dead letters', async () => (await readyCount(ch, dlq)) === 2);
    // Two queues expire independently: compare in body order.
    const dead = (await drain(ch, dlq)).sort((a, b) => a.content.toString().localeCompare(b.content.toString()));
    expect(dead.map((m) => [m.content.toString(), (m.properties.headers!['x-death'] as unknown[])[0]])).toEqual([
      ['message-ttl', expect.objectContaining({ reason: 'expired', queue: messageShorter, 'original-expiration': '100' })],
      ['queue-ttl', expect.objectContaining({ reason: 'expired', queue: queueShorter, 'original-expiration': '60000' })],
    ]);
    expect(await drain(ch, queueShorter)).toEqual([]);
    expect(await drain(ch, messageShorter)).toEqual([]);
    const kept = await drain(ch, bothLong);
    expect(bodies(kept)).toEqual(['long']);
    expect(kept[0]!.properties.expiration).toBe('60000');
  });
});

describe.concurrent('expiry', () => {
  test('expired messages are never delivered: one behind a live head is skipped by basic.get', async () => {
    const { ch, dlq, declare } = await setup();
    const q = await declare({});
    ch.sendToQueue(q, Buffer.from('m1'));
    ch.sendToQueue(q, Buffer.from('m2'), { expiration: '50' });
    ch.sendToQueue(q, Buffer.from('m3'));
    await ch.waitForConfirms();
    await sleep(250);
    const got = await drain(ch, q);
    expect(got.map((m) => [m.content.toString(), m.fields.messageCount])).toEqual([
      ['m1', 1],
      ['m3', 0],
    ]);
    await waitUntil('dead letter', async () => (await readyCount(ch, dlq)) === 1);
    const [dead] = await drain(ch, dlq);
    expect(dead!.content.toString()).toBe('m2');
    expect((dead!.properties.headers!['x-death'] as unknown[])[0]).toMatchObject({ reason: 'expired', 'original-expiration': '50' });
  });

  test('expired messages are never delivered: a consumer arriving late gets only live ones', async () => {
    const { ch, dlq, declare } = await setup();
    const q = await declare({});
    ch.sendToQueue(q, Buffer.from('short1'), { expiration: '50' });
    ch.sendToQueue(q, Buffer.from('long'), { expiration: '60000' });
    ch.sendToQueue(q, Buffer.from('short2'), { expiration: '50' });
    ch.sendToQueue(q, Buffer.from('none'));
    await ch.waitForConfirms();
    await sleep(250);
    const got: ConsumeMessage[] = [];
    await ch.consume(q, (m) => m && got.push(m), { noAck: true });
    await waitUntil('two deliveries', () => got.length === 2);
    await sleep(100);
    expect(bodies(got)).toEqual(['long', 'none']);
    await waitUntil('two dead letters', async () => (await readyCount(ch, dlq)) === 2);
    expect(bodies(await drain(ch, dlq))).toEqual(['short1', 'short2']);
  });

  test('per-message TTL only expires at the head: passive declare still counts an expired message behind a live one', async () => {
    const { ch, declare } = await setup();
    const q = await declare({});
    ch.sendToQueue(q, Buffer.from('m1'));
    ch.sendToQueue(q, Buffer.from('m2'), { expiration: '50' });
    await ch.waitForConfirms();
    await sleep(250);
    expect(await ch.checkQueue(q)).toEqual({ queue: q, messageCount: 2, consumerCount: 0 });
    expect(bodies(await drain(ch, q))).toEqual(['m1']);
  });

  test('expiry happens with no consumer and no basic.get (head timer), in queue order', async () => {
    const { ch, dlq, declare } = await setup();
    const viaQueueTtl = await declare({ 'x-message-ttl': 100 });
    const viaExpiration = await declare({});
    for (const b of ['q1', 'q2', 'q3']) ch.sendToQueue(viaQueueTtl, Buffer.from(b));
    // The head lives longer than the one behind it: both go when the head does, head first.
    ch.sendToQueue(viaExpiration, Buffer.from('e1'), { expiration: '200' });
    ch.sendToQueue(viaExpiration, Buffer.from('e2'), { expiration: '100' });
    await ch.waitForConfirms();
    // Only the dead-letter queue is looked at until everything has expired.
    await waitUntil('five dead letters', async () => (await readyCount(ch, dlq)) === 5);
    const dead = bodies(await drain(ch, dlq));
    expect(dead.filter((b) => b.startsWith('q'))).toEqual(['q1', 'q2', 'q3']);
    expect(dead.filter((b) => b.startsWith('e'))).toEqual(['e1', 'e2']);
    expect(await ch.checkQueue(viaQueueTtl)).toEqual({ queue: viaQueueTtl, messageCount: 0, consumerCount: 0 });
    expect(await ch.checkQueue(viaExpiration)).toEqual({ queue: viaExpiration, messageCount: 0, consumerCount: 0 });
  });

  test('a message requeued (basic.nack requeue) after its expiry is expired, not redelivered', async () => {
    const { ch, dlq, declare } = await setup();
    const q = await declare({});
    ch.sendToQueue(q, Buffer.from('late'), { expiration: '100' });
    await ch.waitForConfirms();
    const m = await ch.get(q, { noAck: false });
    expect(m && m.content.toString()).toBe('late');
    // Held unacked past its expiry: not expired while unacked ...
    await sleep(300);
    expect(await readyCount(ch, dlq)).toBe(0);
    // ... and expired as soon as it is back in the queue: it keeps its original expiry.
    ch.nack(m as GetMessage, false, true);
    await waitUntil('dead letter', async () => (await readyCount(ch, dlq)) === 1);
    expect(await drain(ch, q)).toEqual([]);
    const [dead] = await drain(ch, dlq);
    expect(dead!.content.toString()).toBe('late');
    expect(dead!.fields.redelivered).toBe(false);
    const deaths = expectDeadLetterHeaders(dead!.properties.headers, {
      'x-first-death-exchange': '',
      'x-first-death-queue': q,
      'x-first-death-reason': 'expired',
      ...lastDeath('expired', q, ''),
    });
    expectDeath(deaths[0], { count: 1, reason: 'expired', queue: q, exchange: '', 'routing-keys': [q], 'original-expiration': '100' }, { sorted: false });
  });

  test('a message requeued by its channel closing after the queue TTL passed is expired, not redelivered', async () => {
    const { conn, ch, dlq, declare } = await setup();
    const q = await declare({ 'x-message-ttl': 100 });
    const cch = await conn.createChannel();
    const got: ConsumeMessage[] = [];
    await cch.consume(q, (m) => m && got.push(m), { noAck: false });
    ch.sendToQueue(q, Buffer.from('held'));
    await ch.waitForConfirms();
    await waitUntil('delivery', () => got.length === 1);
    await sleep(300);
    // A second consumer would take a requeued live message; this one must not see it.
    const other: ConsumeMessage[] = [];
    await ch.consume(q, (m) => m && other.push(m), { noAck: true });
    await cch.close();
    await waitUntil('dead letter', async () => (await readyCount(ch, dlq)) === 1);
    expect(other).toEqual([]);
    const [dead] = await drain(ch, dlq);
    expect(dead!.content.toString()).toBe('held');
    expect((dead!.properties.headers!['x-death'] as unknown[])[0]).toMatchObject({ reason: 'expired', queue: q, count: 1 });
  });

  test('a message requeued before its expiry is redelivered and still expires on its original schedule', async () => {
    const { ch, dlq, declare } = await setup();
    const q = await declare({});
    ch.sendToQueue(q, Buffer.from('r'), { expiration: '400' });
    await ch.waitForConfirms();
    const m = await ch.get(q, { noAck: false });
    expect(m && m.content.toString()).toBe('r');
    ch.nack(m as GetMessage, false, true);
    const again = await ch.get(q, { noAck: false });
    expect(again && [again.content.toString(), again.fields.redelivered, again.properties.expiration]).toEqual(['r', true, '400']);
    ch.nack(again as GetMessage, false, true);
    await waitUntil('dead letter', async () => (await readyCount(ch, dlq)) === 1);
    const [dead] = await drain(ch, dlq);
    expect((dead!.properties.headers!['x-death'] as unknown[])[0]).toMatchObject({ reason: 'expired', 'original-expiration': '400' });
  });
});
