// Priority queues (x-max-priority 1..255).
import type { ChannelModel, ConfirmChannel, ConsumeMessage, GetMessage } from 'amqplib';
import { expect, test } from 'vitest';
import { drain, sleep, uniq, useBroker, waitUntil } from '../../helpers/queue-features.js';

const broker = useBroker();

async function setup(
  maxPriority: number,
): Promise<{ conn: ChannelModel; ch: ConfirmChannel; q: string; pub(body: string, priority?: number): void }> {
  const conn = await broker.connect();
  const ch = await conn.createConfirmChannel();
  const q = uniq('prio');
  await ch.assertQueue(q, { exclusive: true, arguments: { 'x-max-priority': maxPriority } });
  return {
    conn,
    ch,
    q,
    pub(body, priority) {
      ch.sendToQueue(q, Buffer.from(body), priority === undefined ? {} : { priority });
    },
  };
}

function summary(ms: GetMessage[]): [string, number | undefined, boolean][] {
  return ms.map((m) => [m.content.toString(), m.properties.priority as number | undefined, m.fields.redelivered]);
}

test('higher priorities first, FIFO within a priority; no priority counts as 0; the property is delivered as sent', async () => {
  const { ch, q, pub } = await setup(10);
  pub('n1');
  pub('p3a', 3);
  pub('p0a', 0);
  pub('p10a', 10);
  pub('p3b', 3);
  pub('n2');
  pub('p10b', 10);
  pub('p1', 1);
  pub('p0b', 0);
  await ch.waitForConfirms();
  expect(await ch.checkQueue(q)).toEqual({ queue: q, messageCount: 9, consumerCount: 0 });
  const got = await drain(ch, q);
  expect(summary(got)).toEqual([
    ['p10a', 10, false],
    ['p10b', 10, false],
    ['p3a', 3, false],
    ['p3b', 3, false],
    ['p1', 1, false],
    ['n1', undefined, false],
    ['p0a', 0, false],
    ['n2', undefined, false],
    ['p0b', 0, false],
  ]);
  expect(got.map((m) => m.fields.messageCount)).toEqual([8, 7, 6, 5, 4, 3, 2, 1, 0]);
});

test('a priority above the maximum counts as the maximum (and is delivered unchanged)', async () => {
  const { ch, q, pub } = await setup(5);
  pub('a9', 9);
  pub('b5', 5);
  pub('c7', 7);
  pub('d255', 255);
  pub('e4', 4);
  pub('f');
  await ch.waitForConfirms();
  expect(summary(await drain(ch, q))).toEqual([
    ['a9', 9, false],
    ['b5', 5, false],
    ['c7', 7, false],
    ['d255', 255, false],
    ['e4', 4, false],
    ['f', undefined, false],
  ]);
});

test('x-max-priority 1: priorities 1..255 are all one level above 0', async () => {
  const { ch, q, pub } = await setup(1);
  pub('low');
  pub('p200', 200);
  pub('zero', 0);
  pub('p1', 1);
  await ch.waitForConfirms();
  expect(summary(await drain(ch, q)).map((s) => s[0])).toEqual(['p200', 'p1', 'low', 'zero']);
});

test('x-max-priority 255: every priority is its own level', async () => {
  const { ch, q, pub } = await setup(255);
  pub('p254', 254);
  pub('p1', 1);
  pub('p255', 255);
  pub('p128', 128);
  await ch.waitForConfirms();
  expect(summary(await drain(ch, q)).map((s) => s[0])).toEqual(['p255', 'p254', 'p128', 'p1']);
});

test('requeued messages (basic.nack requeue) go back by priority, ahead of newer ones of the same priority', async () => {
  const { ch, q, pub } = await setup(10);
  pub('a1', 1);
  pub('b1', 1);
  pub('c2', 2);
  await ch.waitForConfirms();
  const first = await ch.get(q, { noAck: false });
  const second = await ch.get(q, { noAck: false });
  expect([first, second].map((m) => m && m.content.toString())).toEqual(['c2', 'a1']);
  pub('d2', 2);
  pub('e1', 1);
  await ch.waitForConfirms();
  ch.nackAll(true);
  const got = await drain(ch, q);
  expect(summary(got)).toEqual([
    ['c2', 2, true],
    ['d2', 2, false],
    ['a1', 1, true],
    ['b1', 1, false],
    ['e1', 1, false],
  ]);
});

test('requeueing a low-priority message does not put it ahead of a higher one', async () => {
  const { ch, q, pub } = await setup(10);
  pub('a1', 1);
  pub('b1', 1);
  pub('c2', 2);
  await ch.waitForConfirms();
  const high = await ch.get(q, { noAck: false });
  const low = await ch.get(q, { noAck: false });
  ch.nack(low as GetMessage, false, true);
  ch.nack(high as GetMessage, false, true);
  expect(summary(await drain(ch, q))).toEqual([
    ['c2', 2, true],
    ['a1', 1, true],
    ['b1', 1, false],
  ]);
});

test('a consumer with prefetch 1 gets the highest priority ready message each time, including ones published meanwhile', async () => {
  const { conn, ch, q, pub } = await setup(10);
  pub('x0');
  pub('x3', 3);
  pub('x1', 1);
  pub('y3', 3);
  await ch.waitForConfirms();
  const own = await conn.createChannel();
  await own.prefetch(1);
  const got: ConsumeMessage[] = [];
  await own.consume(q, (m) => m && got.push(m), { noAck: false });
  await waitUntil('first delivery', () => got.length === 1);
  pub('z5', 5);
  await ch.waitForConfirms();
  await sleep(50);
  // Still just the first: prefetch 1.
  expect(got.map((m) => m.content.toString())).toEqual(['x3']);
  for (let i = 1; i <= 4; i++) {
    own.ack(got[i - 1]!);
    await waitUntil(`delivery ${i + 1}`, () => got.length === i + 1);
  }
  own.ack(got[4]!);
  expect(got.map((m) => m.content.toString())).toEqual(['x3', 'z5', 'y3', 'x1', 'x0']);
  expect(got.map((m) => m.fields.redelivered)).toEqual([false, false, false, false, false]);
});

async function withDlq(maxPriority: number, args: Record<string, unknown>): Promise<{ ch: ConfirmChannel; q: string; dlq: string }> {
  const conn = await broker.connect();
  const ch = await conn.createConfirmChannel();
  const dlq = uniq('prio-dlq');
  await ch.assertQueue(dlq, { exclusive: true });
  const q = uniq('prio');
  await ch.assertQueue(q, {
    exclusive: true,
    arguments: { 'x-max-priority': maxPriority, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dlq, ...args },
  });
  return { ch, q, dlq };
}

test('x-max-length drop-head on a priority queue drops the next message to deliver: the highest priority one', async () => {
  const { ch, q, dlq } = await withDlq(5, { 'x-max-length': 2 });
  ch.sendToQueue(q, Buffer.from('a1'), { priority: 1 });
  ch.sendToQueue(q, Buffer.from('b5'), { priority: 5 });
  ch.sendToQueue(q, Buffer.from('c1'), { priority: 1 });
  await ch.waitForConfirms();
  expect(summary(await drain(ch, q))).toEqual([
    ['a1', 1, false],
    ['c1', 1, false],
  ]);
  const dead = await drain(ch, dlq);
  expect(summary(dead)).toEqual([['b5', 5, false]]);
  expect((dead[0]!.properties.headers!['x-death'] as unknown[])[0]).toMatchObject({ reason: 'maxlen', queue: q, count: 1 });
});

test('per-message TTL on a priority queue expires at the head: a short-lived low-priority message behind a long-lived high one waits, then is never delivered', async () => {
  const { ch, q, dlq } = await withDlq(5, {});
  ch.sendToQueue(q, Buffer.from('long5'), { priority: 5, expiration: '60000' });
  ch.sendToQueue(q, Buffer.from('short1'), { priority: 1, expiration: '50' });
  await ch.waitForConfirms();
  await sleep(250);
  expect(await ch.checkQueue(q)).toEqual({ queue: q, messageCount: 2, consumerCount: 0 });
  expect(await ch.checkQueue(dlq)).toEqual({ queue: dlq, messageCount: 0, consumerCount: 0 });
  const got = await drain(ch, q);
  expect(got.map((m) => [m.content.toString(), m.fields.messageCount])).toEqual([['long5', 0]]);
  await waitUntil('dead letter', async () => (await ch.checkQueue(dlq)).messageCount === 1);
  const dead = await drain(ch, dlq);
  expect(summary(dead)).toEqual([['short1', 1, false]]);
  expect((dead[0]!.properties.headers!['x-death'] as unknown[])[0]).toMatchObject({ reason: 'expired', queue: q, 'original-expiration': '50' });
});

test('x-message-ttl on a priority queue expires every level, with no consumer', async () => {
  const { ch, q, dlq } = await withDlq(5, { 'x-message-ttl': 100 });
  ch.sendToQueue(q, Buffer.from('p1'), { priority: 1 });
  ch.sendToQueue(q, Buffer.from('p5'), { priority: 5 });
  ch.sendToQueue(q, Buffer.from('p0'));
  await ch.waitForConfirms();
  await waitUntil('three dead letters', async () => (await ch.checkQueue(dlq)).messageCount === 3);
  expect(summary(await drain(ch, dlq)).map((s) => s[0])).toEqual(['p5', 'p1', 'p0']);
  expect(await ch.checkQueue(q)).toEqual({ queue: q, messageCount: 0, consumerCount: 0 });
});
