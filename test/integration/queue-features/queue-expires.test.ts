// Queue TTL (x-expires): a queue left unused that long is deleted. Unused means no
// consumers, no basic.get and no (re)declare; a passive declare counts as a declare.
import type { ConsumeMessage } from 'amqplib';
import { expect, test } from 'vitest';
import { passive, sleep, uniq, useBroker } from '../../helpers/queue-features.js';

const broker = useBroker();

const notFound = (q: string) => ({ code: 404, text: `NOT_FOUND - no queue '${q}' in vhost '/'`, classId: 50, methodId: 10 });

test.concurrent('an unused queue is deleted after x-expires, messages and all', async () => {
  const conn = await broker.connect();
  const ch = await conn.createConfirmChannel();
  const q = uniq('exp');
  expect(await ch.assertQueue(q, { durable: false, arguments: { 'x-expires': 200 } })).toEqual({ queue: q, messageCount: 0, consumerCount: 0 });
  // Publishing does not count as use.
  for (const b of ['a', 'b']) ch.sendToQueue(q, Buffer.from(b));
  await ch.waitForConfirms();
  await sleep(150);
  ch.sendToQueue(q, Buffer.from('c'));
  await ch.waitForConfirms();
  await sleep(400);
  expect(await passive(conn, q)).toEqual(notFound(q));
  // Declaring again makes a new, empty queue.
  expect(await ch.assertQueue(q, { durable: false, arguments: { 'x-expires': 60000 } })).toEqual({ queue: q, messageCount: 0, consumerCount: 0 });
  await ch.deleteQueue(q);
});

test.concurrent('a consumer keeps the queue alive; after the last cancel it expires', async () => {
  const conn = await broker.connect();
  const ch = await conn.createChannel();
  const q = uniq('exp');
  await ch.assertQueue(q, { durable: false, arguments: { 'x-expires': 150 } });
  const got: ConsumeMessage[] = [];
  const { consumerTag } = await ch.consume(q, (m) => m && got.push(m), { noAck: true });
  await sleep(500);
  expect(await passive(conn, q)).toEqual({ messageCount: 0, consumerCount: 1 });
  await sleep(500);
  expect(await passive(conn, q)).toEqual({ messageCount: 0, consumerCount: 1 });
  await ch.cancel(consumerTag);
  await sleep(450);
  expect(await passive(conn, q)).toEqual(notFound(q));
});

test.concurrent('a consumer whose channel closes stops keeping the queue alive', async () => {
  const conn = await broker.connect();
  const ch = await conn.createChannel();
  const q = uniq('exp');
  await ch.assertQueue(q, { durable: false, arguments: { 'x-expires': 150 } });
  const cch = await conn.createChannel();
  await cch.consume(q, () => {}, { noAck: true });
  await sleep(400);
  expect(await passive(conn, q)).toEqual({ messageCount: 0, consumerCount: 1 });
  await cch.close();
  await sleep(450);
  expect(await passive(conn, q)).toEqual(notFound(q));
});

test.concurrent('redeclaring resets the timer', async () => {
  const conn = await broker.connect();
  const ch = await conn.createChannel();
  const q = uniq('exp');
  const args = { 'x-expires': 600 };
  await ch.assertQueue(q, { durable: false, arguments: args });
  await sleep(300);
  await ch.assertQueue(q, { durable: false, arguments: args });
  await sleep(300);
  await ch.assertQueue(q, { durable: false, arguments: args });
  await sleep(300);
  // 900 ms after the first declare, 300 ms after the last: still there.
  expect(await ch.assertQueue(q, { durable: false, arguments: args })).toEqual({ queue: q, messageCount: 0, consumerCount: 0 });
  await sleep(1200);
  expect(await passive(conn, q)).toEqual(notFound(q));
});

test.concurrent('a passive declare resets the timer too', async () => {
  const conn = await broker.connect();
  const q = uniq('exp');
  const ch = await conn.createChannel();
  await ch.assertQueue(q, { durable: false, arguments: { 'x-expires': 600 } });
  for (let i = 0; i < 3; i++) {
    await sleep(300);
    expect(await passive(conn, q)).toEqual({ messageCount: 0, consumerCount: 0 });
  }
  await sleep(1200);
  expect(await passive(conn, q)).toEqual(notFound(q));
});

test.concurrent('basic.get resets the timer, whether or not it finds a message', async () => {
  const conn = await broker.connect();
  const ch = await conn.createConfirmChannel();
  const q = uniq('exp');
  await ch.assertQueue(q, { durable: false, arguments: { 'x-expires': 600 } });
  ch.sendToQueue(q, Buffer.from('one'));
  await ch.waitForConfirms();
  await sleep(300);
  const m = await ch.get(q, { noAck: true });
  expect(m && m.content.toString()).toBe('one');
  await sleep(300);
  expect(await ch.get(q, { noAck: true })).toBe(false);
  await sleep(300);
  expect(await ch.get(q, { noAck: true })).toBe(false);
  await sleep(1200);
  expect(await passive(conn, q)).toEqual(notFound(q));
});

test.concurrent('an expired queue is gone from its bindings: publishing to them routes nowhere', async () => {
  const conn = await broker.connect();
  const ch = await conn.createConfirmChannel();
  const x = uniq('exp-x');
  await ch.assertExchange(x, 'fanout', { durable: false, autoDelete: false });
  const q = uniq('exp');
  await ch.assertQueue(q, { durable: false, arguments: { 'x-expires': 100 } });
  await ch.bindQueue(q, x, '');
  await sleep(400);
  const returned: string[] = [];
  ch.on('return', (m: ConsumeMessage) => returned.push(m.content.toString()));
  ch.publish(x, '', Buffer.from('nobody'), { mandatory: true });
  await ch.waitForConfirms();
  expect(returned).toEqual(['nobody']);
  await ch.deleteExchange(x);
});
