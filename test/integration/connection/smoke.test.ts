import amqp from 'amqplib';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startBroker, type RunningBroker } from '../../../server/index.js';

let b: RunningBroker;
beforeAll(async () => {
  b = await startBroker({ port: 0 });
});
afterAll(async () => {
  await b.close();
});

test('publish and consume round trip', async () => {
  const conn = await amqp.connect(b.url);
  const ch = await conn.createChannel();
  const q = await ch.assertQueue('', { exclusive: true });
  expect(q.queue).toMatch(/^amq\.gen-[A-Za-z0-9_-]{22}$/);
  ch.sendToQueue(q.queue, Buffer.from('hello'), { headers: { a: 1 } });
  const msg = await new Promise<amqp.ConsumeMessage>((resolve) => {
    void ch.consume(q.queue, (m) => resolve(m!), { noAck: false });
  });
  expect(msg.content.toString()).toBe('hello');
  expect(msg.properties.headers).toEqual({ a: 1 });
  expect(msg.fields.redelivered).toBe(false);
  ch.ack(msg);
  await conn.close();
});
