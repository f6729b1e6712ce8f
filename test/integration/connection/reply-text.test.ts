// Reply texts longer than a shortstr. RabbitMQ 3.10.8 cuts the whole text ("CODE - detail")
// to its first 252 bytes and appends "...", and the connection stays open. Both texts below
// were taken from RabbitMQ 3.10.8 with the same raw client.
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startBroker, type RunningBroker } from '../../../server/index.js';
import { M, RawClient } from '../../helpers/raw-client.js';

let b: RunningBroker;
beforeAll(async () => {
  b = await startBroker({ port: 0 });
});
afterAll(async () => {
  await b.close();
});

const declare = (queue: string, o: { passive?: boolean; durable?: boolean; exclusive?: boolean } = {}) =>
  ({
    id: M.QueueDeclare,
    queue,
    passive: o.passive ?? false,
    durable: o.durable ?? false,
    exclusive: o.exclusive ?? false,
    autoDelete: false,
    nowait: false,
    arguments: {},
  }) as const;

/** After a channel error the connection must still work: close-ok, a new channel, a declare. */
async function stillServes(c: RawClient, channel: number): Promise<void> {
  c.sendMethod(channel, { id: M.ChannelCloseOk });
  await c.openChannel(channel + 1);
  c.sendMethod(channel + 1, declare('', { exclusive: true }));
  expect((await c.expectMethod(M.QueueDeclareOk)).queue).toMatch(/^amq\.gen-/);
}

describe.concurrent('reply texts over 255 bytes', () => {
  test("redeclaring another connection's exclusive queue: the 405 text is cut to 252 bytes + '...', and the connection stays open", async () => {
    const name = 'excl-' + 'x'.repeat(100);
    const owner = await RawClient.open(b.port);
    await owner.openChannel(1);
    owner.sendMethod(1, declare(name, { exclusive: true }));
    await owner.expectMethod(M.QueueDeclareOk);
    const c = await RawClient.open(b.port);
    await c.openChannel(1);
    c.sendMethod(1, declare(name, { durable: true }));
    const close = await c.nextReply();
    const text =
      `RESOURCE_LOCKED - cannot obtain exclusive access to locked queue '${name}' in vhost '/'. ` +
      'It could be originally declared on another connection or the exclusive property value does not match that of the original declaration.';
    expect(Buffer.byteLength(text)).toBe(321);
    expect(close).toEqual({
      method: 'ChannelClose',
      channel: 1,
      replyCode: 405,
      replyText: text.slice(0, 252) + '...',
      classId: 50,
      methodId: 10,
    });
    await stillServes(c, 1);
    await c.close();
    await owner.close();
  });

  test('passive declare of a missing queue with a 250-byte name: 404 cut to 255 bytes, connection stays open', async () => {
    const c = await RawClient.open(b.port);
    await c.openChannel(1);
    const name = 'y'.repeat(250);
    c.sendMethod(1, declare(name, { passive: true }));
    const close = await c.nextReply();
    expect(close).toEqual({
      method: 'ChannelClose',
      channel: 1,
      replyCode: 404,
      replyText: `NOT_FOUND - no queue '${name}`.slice(0, 252) + '...',
      classId: 50,
      methodId: 10,
    });
    expect(Buffer.byteLength(close['replyText'] as string)).toBe(255);
    await stillServes(c, 1);
    await c.close();
  });

  test('a multi-byte character is never split: the text is cut before it', async () => {
    const c = await RawClient.open(b.port);
    await c.openChannel(1);
    // "NOT_FOUND - no queue '" is 22 bytes, 'a' one more: byte 252 would fall inside an 'é'.
    const name = 'a' + 'é'.repeat(124);
    c.sendMethod(1, declare(name, { passive: true }));
    const close = await c.nextReply();
    const text = close['replyText'] as string;
    expect(text).toBe(`NOT_FOUND - no queue 'a${'é'.repeat(114)}...`);
    expect(Buffer.byteLength(text)).toBe(254);
    await stillServes(c, 1);
    await c.close();
  });

  test('amqplib: the channel error carries the cut text and the connection goes on working', async () => {
    const conn = await amqp.connect(b.url);
    const errors: string[] = [];
    conn.on('error', (err: Error) => errors.push(err.message));
    const ch = await conn.createChannel();
    ch.on('error', () => {});
    const name = 'z'.repeat(250);
    await expect(ch.checkQueue(name)).rejects.toThrow(`404 (NOT-FOUND) with message "NOT_FOUND - no queue '${'z'.repeat(230)}..."`);
    const ch2 = await conn.createChannel();
    const q = await ch2.assertQueue('', { exclusive: true });
    ch2.sendToQueue(q.queue, Buffer.from('still here'));
    const got = await ch2.get(q.queue, { noAck: true });
    expect(got !== false && got.content.toString()).toBe('still here');
    await conn.close();
    expect(errors).toEqual([]);
  });
});
