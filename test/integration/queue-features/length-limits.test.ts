// Length limits: x-max-length (ready messages) and x-max-length-bytes (ready body bytes),
// with x-overflow drop-head (the default), reject-publish and reject-publish-dlx.
import type { ConfirmChannel, ConsumeMessage, GetMessage } from 'amqplib';
import { describe, expect, test } from 'vitest';
import {
  bodies,
  drain,
  expectDeadLetterHeaders,
  expectDeath,
  lastDeath,
  nowSeconds,
  publishConfirmed,
  sleep,
  uniq,
  useBroker,
  waitUntil,
  deadLetterSetup,
  type DeadLetterSetup,
} from '../../helpers/queue-features.js';

const broker = useBroker();

const setup = (): Promise<DeadLetterSetup> => deadLetterSetup(broker, 'len');

async function publishAll(ch: ConfirmChannel, q: string, bs: string[], options = {}): Promise<string[]> {
  return Promise.all(bs.map((b) => publishConfirmed(ch, '', q, b, options)));
}

describe('drop-head', () => {
  test('x-max-length drops the oldest messages, dead-lettered with reason maxlen, oldest first', async () => {
    const { ch, dlq, declare } = await setup();
    const q = await declare({ 'x-max-length': 2 });
    const from = nowSeconds();
    expect(await publishAll(ch, q, ['a', 'b', 'c', 'd'], { expiration: '60000' })).toEqual(['ack', 'ack', 'ack', 'ack']);
    expect(await ch.checkQueue(q)).toEqual({ queue: q, messageCount: 2, consumerCount: 0 });
    expect(bodies(await drain(ch, q))).toEqual(['c', 'd']);
    const dead = await drain(ch, dlq);
    expect(bodies(dead)).toEqual(['a', 'b']);
    for (const m of dead) {
      expect(m.fields).toMatchObject({ exchange: '', routingKey: dlq });
      expect(m.properties.expiration).toBeUndefined();
      const deaths = expectDeadLetterHeaders(m.properties.headers, {
        'x-first-death-exchange': '',
        'x-first-death-queue': q,
        'x-first-death-reason': 'maxlen',
        ...lastDeath('maxlen', q, ''),
      });
      expect(deaths).toHaveLength(1);
      expectDeath(
        deaths[0],
        { count: 1, reason: 'maxlen', queue: q, exchange: '', 'routing-keys': [q], 'original-expiration': '60000' },
        { sorted: false, time: { from, to: nowSeconds() } },
      );
    }
  });

  test("x-overflow 'drop-head' given explicitly behaves the same", async () => {
    const { ch, dlq, declare } = await setup();
    const q = await declare({ 'x-max-length': 1, 'x-overflow': 'drop-head' });
    expect(await publishAll(ch, q, ['a', 'b', 'c'])).toEqual(['ack', 'ack', 'ack']);
    expect(bodies(await drain(ch, q))).toEqual(['c']);
    expect(bodies(await drain(ch, dlq))).toEqual(['a', 'b']);
  });

  test('unacknowledged messages do not count against x-max-length', async () => {
    const { ch, dlq, declare } = await setup();
    const q = await declare({ 'x-max-length': 2 });
    await publishAll(ch, q, ['u1', 'u2']);
    const held = [await ch.get(q, { noAck: false }), await ch.get(q, { noAck: false })];
    expect(held.map((m) => m && m.content.toString())).toEqual(['u1', 'u2']);
    // Two unacked, so two more fit.
    await publishAll(ch, q, ['r1', 'r2']);
    expect(await ch.checkQueue(q)).toEqual({ queue: q, messageCount: 2, consumerCount: 0 });
    expect(await ch.checkQueue(dlq)).toEqual({ queue: dlq, messageCount: 0, consumerCount: 0 });
    // A third ready one drops the ready head, not an unacked message.
    await publishAll(ch, q, ['r3']);
    expect(bodies(await drain(ch, dlq))).toEqual(['r1']);
    ch.ack(held[1] as GetMessage);
    ch.ack(held[0] as GetMessage);
    expect(bodies(await drain(ch, q))).toEqual(['r2', 'r3']);
  });

  test('a requeue that takes the queue over the limit drops from the head, i.e. the requeued message', async () => {
    const { ch, dlq, declare } = await setup();
    const q = await declare({ 'x-max-length': 2 });
    await publishAll(ch, q, ['a']);
    const held = await ch.get(q, { noAck: false });
    await publishAll(ch, q, ['b', 'c']);
    expect(await ch.checkQueue(q)).toEqual({ queue: q, messageCount: 2, consumerCount: 0 });
    ch.nack(held as GetMessage, false, true);
    await waitUntil('dead letter', async () => (await ch.checkQueue(dlq)).messageCount === 1);
    const got = await drain(ch, q);
    expect(got.map((m) => [m.content.toString(), m.fields.redelivered])).toEqual([
      ['b', false],
      ['c', false],
    ]);
    const [dead] = await drain(ch, dlq);
    expect(dead!.content.toString()).toBe('a');
    expect((dead!.properties.headers!['x-death'] as unknown[])[0]).toMatchObject({ reason: 'maxlen', queue: q, count: 1 });
  });

  test('x-max-length-bytes counts body bytes only (not headers or properties)', async () => {
    const { ch, dlq, declare } = await setup();
    const q = await declare({ 'x-max-length-bytes': 10 });
    const opts = { headers: { big: 'x'.repeat(500) }, messageId: 'y'.repeat(200) };
    // 4 + 6 = 10 bytes fit; 2 more drop 'aaaa'; 10 more drop the rest but fit alone.
    await publishAll(ch, q, ['aaaa', 'bbbbbb'], opts);
    expect(await ch.checkQueue(q)).toEqual({ queue: q, messageCount: 2, consumerCount: 0 });
    await publishAll(ch, q, ['cc'], opts);
    expect(await ch.checkQueue(q)).toEqual({ queue: q, messageCount: 2, consumerCount: 0 });
    await publishAll(ch, q, ['dddddddddd'], opts);
    expect(bodies(await drain(ch, q))).toEqual(['dddddddddd']);
    expect(bodies(await drain(ch, dlq))).toEqual(['aaaa', 'bbbbbb', 'cc']);
  });

  test('a message larger than x-max-length-bytes is dropped itself, after everything ahead of it', async () => {
    const { ch, dlq, declare } = await setup();
    const q = await declare({ 'x-max-length-bytes': 10 });
    expect(await publishAll(ch, q, ['dddddddddd', 'eeeeeeeeeee'])).toEqual(['ack', 'ack']);
    expect(await ch.checkQueue(q)).toEqual({ queue: q, messageCount: 0, consumerCount: 0 });
    expect(bodies(await drain(ch, dlq))).toEqual(['dddddddddd', 'eeeeeeeeeee']);
  });

  test('x-max-length and x-max-length-bytes together: whichever is exceeded', async () => {
    const { ch, dlq, declare } = await setup();
    const q = await declare({ 'x-max-length': 3, 'x-max-length-bytes': 6 });
    await publishAll(ch, q, ['a', 'b', 'c', 'd']);
    expect(bodies(await drain(ch, dlq))).toEqual(['a']);
    await publishAll(ch, q, ['eeee']);
    // 'b','c','d','eeee' is 4 messages and 7 bytes: 'b' goes for both reasons; 'c','d','eeee' is 6 bytes.
    expect(bodies(await drain(ch, dlq))).toEqual(['b']);
    expect(bodies(await drain(ch, q))).toEqual(['c', 'd', 'eeee']);
  });

  test('x-max-length 0: a waiting consumer still gets the message; without one it is dropped', async () => {
    const { conn, ch, dlq, declare } = await setup();
    const q = await declare({ 'x-max-length': 0 });
    expect(await publishAll(ch, q, ['nobody'])).toEqual(['ack']);
    expect(await ch.checkQueue(q)).toEqual({ queue: q, messageCount: 0, consumerCount: 0 });
    expect(bodies(await drain(ch, dlq))).toEqual(['nobody']);
    const cch = await conn.createChannel();
    const got: ConsumeMessage[] = [];
    await cch.consume(q, (m) => m && got.push(m), { noAck: true });
    expect(await publishAll(ch, q, ['someone'])).toEqual(['ack']);
    await waitUntil('delivery', () => got.length === 1);
    expect(bodies(got)).toEqual(['someone']);
    expect(await ch.checkQueue(dlq)).toEqual({ queue: dlq, messageCount: 0, consumerCount: 0 });
  });
});

describe('reject-publish', () => {
  test('x-max-length: the publisher gets basic.nack, the message is not enqueued, nothing is dead-lettered', async () => {
    const { ch, dlq, declare } = await setup();
    const q = await declare({ 'x-max-length': 2, 'x-overflow': 'reject-publish' });
    expect(await publishAll(ch, q, ['a', 'b', 'c', 'd'])).toEqual(['ack', 'ack', 'nack', 'nack']);
    expect(bodies(await drain(ch, q))).toEqual(['a', 'b']);
    // Room again.
    expect(await publishAll(ch, q, ['e'])).toEqual(['ack']);
    expect(bodies(await drain(ch, q))).toEqual(['e']);
    await sleep(50);
    expect(await ch.checkQueue(dlq)).toEqual({ queue: dlq, messageCount: 0, consumerCount: 0 });
  });

  test('x-max-length-bytes: refused when the body would not fit (an empty body still fits)', async () => {
    const { ch, declare } = await setup();
    const q = await declare({ 'x-max-length-bytes': 10, 'x-overflow': 'reject-publish' });
    expect(await publishAll(ch, q, ['aaaa', 'bbbbbb', 'c', '', 'dddddddddd'], { headers: { big: 'x'.repeat(100) } })).toEqual([
      'ack',
      'ack',
      'nack',
      'ack',
      'nack',
    ]);
    expect(bodies(await drain(ch, q))).toEqual(['aaaa', 'bbbbbb', '']);
  });

  test('unacknowledged messages do not count', async () => {
    const { ch, declare } = await setup();
    const q = await declare({ 'x-max-length': 1, 'x-overflow': 'reject-publish' });
    expect(await publishAll(ch, q, ['a'])).toEqual(['ack']);
    const held = await ch.get(q, { noAck: false });
    expect(held && held.content.toString()).toBe('a');
    expect(await publishAll(ch, q, ['b'])).toEqual(['ack']);
    expect(await publishAll(ch, q, ['c'])).toEqual(['nack']);
    // The requeued message is put back even though the queue is full.
    ch.nack(held as GetMessage, false, true);
    const got = await drain(ch, q);
    expect(got.map((m) => [m.content.toString(), m.fields.redelivered])).toEqual([
      ['a', true],
      ['b', false],
    ]);
  });

  test('x-max-length 0 refuses everything, even with a consumer waiting', async () => {
    const { conn, ch, declare } = await setup();
    const q = await declare({ 'x-max-length': 0, 'x-overflow': 'reject-publish' });
    const cch = await conn.createChannel();
    const got: ConsumeMessage[] = [];
    await cch.consume(q, (m) => m && got.push(m), { noAck: true });
    expect(await publishAll(ch, q, ['a'])).toEqual(['nack']);
    await sleep(100);
    expect(got).toEqual([]);
  });

  test('fanout: the queue that is full refuses, the others take the message, the publisher gets a nack', async () => {
    const { ch, declare } = await setup();
    const x = uniq('len-fanout');
    await ch.assertExchange(x, 'fanout', { autoDelete: true });
    const full = await declare({ 'x-max-length': 1, 'x-overflow': 'reject-publish' });
    const other1 = await declare({});
    const other2 = await declare({ 'x-max-length': 5, 'x-overflow': 'reject-publish' });
    for (const q of [full, other1, other2]) await ch.bindQueue(q, x, '');
    const outcomes = [];
    for (const b of ['a', 'b', 'c']) outcomes.push(await publishConfirmed(ch, x, '', b));
    expect(outcomes).toEqual(['ack', 'nack', 'nack']);
    expect(bodies(await drain(ch, full))).toEqual(['a']);
    expect(bodies(await drain(ch, other1))).toEqual(['a', 'b', 'c']);
    expect(bodies(await drain(ch, other2))).toEqual(['a', 'b', 'c']);
  });

  test('without publisher confirms the refused message is silently dropped', async () => {
    const { conn, ch, declare } = await setup();
    const q = await declare({ 'x-max-length': 1, 'x-overflow': 'reject-publish' });
    const plain = await conn.createChannel();
    for (const b of ['a', 'b', 'c']) plain.sendToQueue(q, Buffer.from(b));
    await sleep(100);
    expect(bodies(await drain(ch, q))).toEqual(['a']);
    // The channel is still fine.
    plain.sendToQueue(q, Buffer.from('d'));
    await sleep(50);
    expect(bodies(await drain(plain, q))).toEqual(['d']);
  });
});

describe('reject-publish-dlx', () => {
  test('the publisher gets basic.nack and the refused message is dead-lettered with reason maxlen', async () => {
    const { ch, dlq, declare } = await setup();
    const q = await declare({ 'x-max-length': 2, 'x-overflow': 'reject-publish-dlx' });
    const from = nowSeconds();
    expect(
      await publishAll(ch, q, ['a', 'b', 'c'], { expiration: '10000', headers: { CC: ['nowhere'], h: 'v' }, messageId: 'id' }),
    ).toEqual(['ack', 'ack', 'nack']);
    const kept = await drain(ch, q);
    expect(bodies(kept)).toEqual(['a', 'b']);
    expect(kept[0]!.properties.expiration).toBe('10000');
    const dead = await drain(ch, dlq);
    expect(bodies(dead)).toEqual(['c']);
    const m = dead[0]!;
    expect(m.fields).toEqual({ deliveryTag: expect.any(Number), redelivered: false, exchange: '', routingKey: dlq, messageCount: 0 });
    expect(m.properties.expiration).toBeUndefined();
    expect(m.properties.messageId).toBe('id');
    // A DLRK is set, so CC is removed; routing-keys still list it.
    const deaths = expectDeadLetterHeaders(m.properties.headers, {
      h: 'v',
      'x-first-death-exchange': '',
      'x-first-death-queue': q,
      'x-first-death-reason': 'maxlen',
      ...lastDeath('maxlen', q, ''),
    });
    expect(deaths).toHaveLength(1);
    expectDeath(
      deaths[0],
      { count: 1, reason: 'maxlen', queue: q, exchange: '', 'routing-keys': [q, 'nowhere'], 'original-expiration': '10000' },
      { sorted: false, time: { from, to: nowSeconds() } },
    );
  });

  test('the head is never dropped: earlier messages stay', async () => {
    const { ch, dlq, declare } = await setup();
    const q = await declare({ 'x-max-length-bytes': 3, 'x-overflow': 'reject-publish-dlx' });
    expect(await publishAll(ch, q, ['ab', 'cd', 'e', 'f'])).toEqual(['ack', 'nack', 'ack', 'nack']);
    expect(bodies(await drain(ch, q))).toEqual(['ab', 'e']);
    expect(bodies(await drain(ch, dlq))).toEqual(['cd', 'f']);
  });
});
