// Direct reply-to: the amq.rabbitmq.reply-to pseudo-queue RPC clients consume from.
//
// Every expectation here was first checked on RabbitMQ 3.10; run this file with
// WARREN_REFERENCE_URL=amqp://guest:guest@127.0.0.1:5673 to check them again.
import type { ConsumeMessage, Message } from 'amqplib';
import { describe, expect, test } from 'vitest';
import {
  passive,
  publishConfirmed,
  serverClose,
  sleep,
  uniq,
  useBroker,
  waitUntil,
  type Channel,
  type ChannelModel,
  type ConfirmChannel,
  type ServerClose,
} from '../../helpers/queue-features.js';

const broker = useBroker();

const REPLY_TO = 'amq.rabbitmq.reply-to';
const ADDRESS = /^amq\.rabbitmq\.reply-to\.\S+$/;

/** What a basic.return carries, as amqplib reports it. */
interface Returned {
  replyCode: number;
  replyText: string;
  exchange: string;
  routingKey: string;
  body: string;
}

interface Rpc {
  conn: ChannelModel;
  /** The requester's channel, with its reply consumer. */
  client: Channel;
  tag: string;
  /** Replies, in arrival order. */
  replies: ConsumeMessage[];
  /** The RPC server's confirm channel; basic.returns it gets go to `returns`. */
  server: ConfirmChannel;
  returns: Returned[];
  /** The request queue the server consumes (no-ack); requests go to `requests`. */
  queue: string;
  requests: ConsumeMessage[];
  /** Publishes a request asking for a direct reply; resolves with the request as the server got it. */
  request(body: string, options?: Record<string, unknown>): Promise<ConsumeMessage>;
}

async function rpc(conn?: ChannelModel): Promise<Rpc> {
  const c = conn ?? (await broker.connect());
  const server = await c.createConfirmChannel();
  const returns: Returned[] = [];
  server.on('return', (m: Message) => {
    const f = m.fields as unknown as Omit<Returned, 'body'>;
    returns.push({ replyCode: f.replyCode, replyText: f.replyText, exchange: f.exchange, routingKey: f.routingKey, body: m.content.toString() });
  });
  const queue = uniq('rpc-requests');
  await server.assertQueue(queue, { exclusive: true });
  const requests: ConsumeMessage[] = [];
  await server.consume(queue, (m) => m !== null && requests.push(m), { noAck: true });

  const client = await c.createChannel();
  const replies: ConsumeMessage[] = [];
  const tag = uniq('rpc-client');
  const ok = await client.consume(REPLY_TO, (m) => m !== null && replies.push(m), { noAck: true, consumerTag: tag });
  expect(ok).toEqual({ consumerTag: tag });

  return {
    conn: c,
    client,
    tag,
    replies,
    server,
    returns,
    queue,
    requests,
    async request(body, options = {}) {
      const before = requests.length;
      client.sendToQueue(queue, Buffer.from(body), { replyTo: REPLY_TO, ...options });
      await waitUntil('the request to reach the server', () => requests.length > before);
      return requests[before]!;
    },
  };
}

/** Runs `fn` on a fresh channel of `conn`, expecting the server to close the channel. */
async function channelFailure(conn: ChannelModel, fn: (ch: Channel) => Promise<unknown>): Promise<ServerClose> {
  const ch = await conn.createChannel();
  const closed = new Promise<ServerClose>((resolve) => ch.once('error', (err: unknown) => resolve(serverClose(err))));
  try {
    await fn(ch);
  } catch {
    // the RPC fails with the close; the 'error' event has the details
  }
  return closed;
}

function notFound(address: string): ServerClose {
  return { code: 404, text: `NOT_FOUND - no queue '${address}' in vhost '/'`, classId: 50, methodId: 10 };
}

describe('the reply consumer', () => {
  test('basic.consume of amq.rabbitmq.reply-to in no-ack mode answers consume-ok with the tag (given or generated)', async () => {
    const conn = await broker.connect();
    const ch = await conn.createChannel();
    expect(await ch.consume(REPLY_TO, () => {}, { noAck: true, consumerTag: 'my-replies' })).toEqual({ consumerTag: 'my-replies' });
    const other = await conn.createChannel();
    const ok = await other.consume(REPLY_TO, () => {}, { noAck: true });
    expect(ok.consumerTag).toMatch(/^amq\.ctag-[A-Za-z0-9_-]{22}$/);
    await ch.close();
    await other.close();
  });

  test('a reply consumer in ack mode: channel.close 406 "reply consumer cannot acknowledge" (basic.consume)', async () => {
    const conn = await broker.connect();
    const close = await channelFailure(conn, (ch) => ch.consume(REPLY_TO, () => {}, { noAck: false }));
    expect(close).toEqual({ code: 406, text: 'PRECONDITION_FAILED - reply consumer cannot acknowledge', classId: 60, methodId: 20 });
  });

  test('a second reply consumer on one channel: channel.close 406 "reply consumer already set" (basic.consume)', async () => {
    const conn = await broker.connect();
    const close = await channelFailure(conn, async (ch) => {
      expect(await ch.consume(REPLY_TO, () => {}, { noAck: true, consumerTag: 'first' })).toEqual({ consumerTag: 'first' });
      await ch.consume(REPLY_TO, () => {}, { noAck: true, consumerTag: 'second' });
    });
    expect(close).toEqual({ code: 406, text: 'PRECONDITION_FAILED - reply consumer already set', classId: 60, methodId: 20 });
  });

  test('reply consumers on two channels of one connection are independent', async () => {
    const conn = await broker.connect();
    const a = await rpc(conn);
    const b = await rpc(conn);
    const ra = await a.request('to-a');
    const rb = await b.request('to-b');
    expect(ra.properties.replyTo).toMatch(ADDRESS);
    expect(rb.properties.replyTo).toMatch(ADDRESS);
    expect(ra.properties.replyTo).not.toBe(rb.properties.replyTo);
    a.server.publish('', rb.properties.replyTo as string, Buffer.from('for-b'));
    a.server.publish('', ra.properties.replyTo as string, Buffer.from('for-a'));
    await waitUntil('both replies', () => a.replies.length === 1 && b.replies.length === 1);
    expect(a.replies.map((m) => [m.content.toString(), m.fields.consumerTag])).toEqual([['for-a', a.tag]]);
    expect(b.replies.map((m) => [m.content.toString(), m.fields.consumerTag])).toEqual([['for-b', b.tag]]);
  });

  test('passive queue.declare of amq.rabbitmq.reply-to: declare-ok with 0 messages and 1 consumer (with or without a reply consumer)', async () => {
    const conn = await broker.connect();
    expect(await passive(conn, REPLY_TO)).toEqual({ messageCount: 0, consumerCount: 1 });
    const ch = await conn.createChannel();
    await ch.consume(REPLY_TO, () => {}, { noAck: true });
    expect(await ch.checkQueue(REPLY_TO)).toEqual({ queue: REPLY_TO, messageCount: 0, consumerCount: 1 });
    await ch.close();
  });
});

describe('requests', () => {
  test('reply_to amq.rabbitmq.reply-to reaches the server as amq.rabbitmq.reply-to.<opaque>; the other properties are untouched', async () => {
    const r = await rpc();
    const req = await r.request('ping', { correlationId: 'c-1', messageId: 'm-1', headers: { h: 'v' } });
    expect(req.content.toString()).toBe('ping');
    expect(req.fields).toMatchObject({ exchange: '', routingKey: r.queue, redelivered: false });
    const address = req.properties.replyTo as string;
    expect(address).toMatch(ADDRESS);
    expect(address.startsWith(`${REPLY_TO}.`)).toBe(true);
    expect(address.length).toBeGreaterThan(REPLY_TO.length + 1);
    expect(req.properties).toMatchObject({ correlationId: 'c-1', messageId: 'm-1', headers: { h: 'v' } });
    // Every request from the channel carries the same address.
    const again = await r.request('ping-2', { correlationId: 'c-2' });
    expect(again.properties.replyTo).toBe(address);
    expect(again.properties.correlationId).toBe('c-2');
    // The passive declare of the address answers like the pseudo-queue.
    expect(await passive(r.conn, address)).toEqual({ messageCount: 0, consumerCount: 1 });
  });

  test('publishing with reply_to amq.rabbitmq.reply-to without a reply consumer: channel.close 406 "fast reply consumer does not exist" (basic.publish); nothing is enqueued', async () => {
    const conn = await broker.connect();
    const setup = await conn.createChannel();
    const q = uniq('rpc-orphan');
    await setup.assertQueue(q, { exclusive: true });
    const close = await channelFailure(conn, async (ch) => {
      ch.sendToQueue(q, Buffer.from('lost'), { replyTo: REPLY_TO });
      await ch.checkQueue(q);
    });
    expect(close).toEqual({ code: 406, text: 'PRECONDITION_FAILED - fast reply consumer does not exist', classId: 60, methodId: 40 });
    expect(await setup.checkQueue(q)).toEqual({ queue: q, messageCount: 0, consumerCount: 0 });
  });
});

describe('replies', () => {
  test('a reply published to the default exchange with the address arrives on the reply consumer, and in no queue', async () => {
    const r = await rpc();
    const req = await r.request('ping', { correlationId: 'corr-42' });
    const address = req.properties.replyTo as string;
    expect(await publishConfirmed(r.server, '', address, 'pong', { correlationId: req.properties.correlationId as string })).toBe('ack');
    await waitUntil('the reply', () => r.replies.length === 1);
    const reply = r.replies[0]!;
    expect(reply.content.toString()).toBe('pong');
    expect(reply.fields).toEqual({ consumerTag: r.tag, deliveryTag: 1, redelivered: false, exchange: '', routingKey: address });
    expect(reply.properties.correlationId).toBe('corr-42');
    expect(reply.properties.replyTo).toBeUndefined();
    expect(r.returns).toEqual([]);
    // Nothing was queued: not the request queue, not the address.
    expect(await r.server.checkQueue(r.queue)).toEqual({ queue: r.queue, messageCount: 0, consumerCount: 1 });
    expect(await passive(r.conn, address)).toEqual({ messageCount: 0, consumerCount: 1 });
  });

  test('replies carry the channel\'s next delivery tag without using it up (RabbitMQ\'s deliver_reply)', async () => {
    const r = await rpc();
    const address = (await r.request('ping')).properties.replyTo as string;
    const q = uniq('rpc-tags');
    await r.client.assertQueue(q, { exclusive: true });
    r.server.publish('', address, Buffer.from('a'));
    r.server.publish('', address, Buffer.from('b'));
    await waitUntil('two replies', () => r.replies.length === 2);
    r.client.sendToQueue(q, Buffer.from('queued'));
    const got = await r.client.get(q, { noAck: true });
    expect(got !== false && [got.content.toString(), got.fields.deliveryTag]).toEqual(['queued', 1]);
    r.server.publish('', address, Buffer.from('c'));
    await waitUntil('the third reply', () => r.replies.length === 3);
    expect(r.replies.map((m) => [m.content.toString(), m.fields.deliveryTag])).toEqual([
      ['a', 1],
      ['b', 1],
      ['c', 2],
    ]);
  });

  test('a mandatory reply to a live reply consumer is delivered and still returned 312 NO_ROUTE (the address is not a queue), then confirmed', async () => {
    const r = await rpc();
    const address = (await r.request('ping')).properties.replyTo as string;
    expect(await publishConfirmed(r.server, '', address, 'pong', { mandatory: true })).toBe('ack');
    await waitUntil('the reply', () => r.replies.length === 1);
    expect(r.replies[0]!.content.toString()).toBe('pong');
    expect(r.replies[0]!.fields).toEqual({ consumerTag: r.tag, deliveryTag: 1, redelivered: false, exchange: '', routingKey: address });
    expect(r.returns).toEqual([{ replyCode: 312, replyText: 'NO_ROUTE', exchange: '', routingKey: address, body: 'pong' }]);
  });

  test('the address only works on the default exchange: through amq.direct it is an ordinary, unroutable key', async () => {
    const r = await rpc();
    const address = (await r.request('ping')).properties.replyTo as string;
    expect(await publishConfirmed(r.server, 'amq.direct', address, 'via-direct', { mandatory: true })).toBe('ack');
    expect(r.returns).toEqual([{ replyCode: 312, replyText: 'NO_ROUTE', exchange: 'amq.direct', routingKey: address, body: 'via-direct' }]);
    // A later reply on the default exchange shows that nothing else was delivered.
    r.server.publish('', address, Buffer.from('marker'));
    await waitUntil('the marker reply', () => r.replies.length === 1);
    expect(r.replies.map((m) => m.content.toString())).toEqual(['marker']);
  });

  test.each([
    ['channel', (r: Rpc) => r.client.close()],
    ['connection', (r: Rpc) => r.conn.close()],
  ] as const)('a reply to a requester whose %s has closed is dropped: confirmed, returned 312 NO_ROUTE only if mandatory; its address is gone (404)', async (_what, gone) => {
    const requesterConn = await broker.connect();
    const r = await rpc(requesterConn);
    const address = (await r.request('ping')).properties.replyTo as string;
    // The RPC server lives on a connection of its own, so it outlives the requester.
    const serverConn = await broker.connect();
    const server = await serverConn.createConfirmChannel();
    const returns: Returned[] = [];
    server.on('return', (m: Message) => {
      const f = m.fields as unknown as Omit<Returned, 'body'>;
      returns.push({ replyCode: f.replyCode, replyText: f.replyText, exchange: f.exchange, routingKey: f.routingKey, body: m.content.toString() });
    });
    await gone(r);
    expect(await publishConfirmed(server, '', address, 'late', { mandatory: true })).toBe('ack');
    expect(await publishConfirmed(server, '', address, 'late-quiet')).toBe('ack');
    expect(returns).toEqual([{ replyCode: 312, replyText: 'NO_ROUTE', exchange: '', routingKey: address, body: 'late' }]);
    expect(r.replies).toEqual([]);
    expect(await passive(serverConn, address)).toEqual(notFound(address));
    // The publishing channel is still open.
    expect(await server.checkQueue(REPLY_TO)).toEqual({ queue: REPLY_TO, messageCount: 0, consumerCount: 1 });
  });

  test('a non-passive queue.declare of amq.rabbitmq.reply-to or a live address is answered like a passive one (declare-ok 0/1, nothing created, flags ignored); of an unknown address: 404', async () => {
    const r = await rpc();
    const address = (await r.request('ping')).properties.replyTo as string;
    const ch = await r.conn.createChannel();
    expect(await ch.assertQueue(REPLY_TO)).toEqual({ queue: REPLY_TO, messageCount: 0, consumerCount: 1 });
    expect(await ch.assertQueue(REPLY_TO, { durable: true, exclusive: true, arguments: { 'x-max-length': 1 } })).toEqual({
      queue: REPLY_TO,
      messageCount: 0,
      consumerCount: 1,
    });
    expect(await ch.assertQueue(address, { durable: true })).toEqual({ queue: address, messageCount: 0, consumerCount: 1 });
    // Nothing was created: a reply still goes to the reply consumer.
    r.server.publish('', address, Buffer.from('still-direct'));
    await waitUntil('the reply', () => r.replies.length === 1);
    expect(r.replies[0]!.content.toString()).toBe('still-direct');
    for (const name of [`${REPLY_TO}.no-such-requester`, `${REPLY_TO}x`, `${REPLY_TO}.`]) {
      expect(await channelFailure(r.conn, (c) => c.assertQueue(name))).toEqual(notFound(name));
    }
    // Any other amq.* name is still refused.
    expect(await channelFailure(r.conn, (c) => c.assertQueue('amq.rabbitmq.other'))).toEqual({
      code: 403,
      text: "ACCESS_REFUSED - queue name 'amq.rabbitmq.other' contains reserved prefix 'amq.*'",
      classId: 50,
      methodId: 10,
    });
  });

  test('passive queue.declare of an address nobody has: 404 NOT_FOUND (queue.declare)', async () => {
    const conn = await broker.connect();
    const address = `${REPLY_TO}.no-such-requester`;
    expect(await passive(conn, address)).toEqual(notFound(address));
  });

  test('basic.cancel of the reply consumer stops replies: they are dropped, the address is gone, and reply_to amq.rabbitmq.reply-to is refused again', async () => {
    const r = await rpc();
    const address = (await r.request('ping')).properties.replyTo as string;
    r.server.publish('', address, Buffer.from('before'));
    await waitUntil('the first reply', () => r.replies.length === 1);
    expect(await r.client.cancel(r.tag)).toEqual({ consumerTag: r.tag });
    expect(await publishConfirmed(r.server, '', address, 'after', { mandatory: true })).toBe('ack');
    expect(r.returns).toEqual([{ replyCode: 312, replyText: 'NO_ROUTE', exchange: '', routingKey: address, body: 'after' }]);
    expect(await passive(r.conn, address)).toEqual(notFound(address));

    // A new reply consumer on the same channel gets a new address; the old one stays dead.
    const replies: ConsumeMessage[] = [];
    expect(await r.client.consume(REPLY_TO, (m) => m !== null && replies.push(m), { noAck: true, consumerTag: 'again' })).toEqual({
      consumerTag: 'again',
    });
    const fresh = (await r.request('ping-again')).properties.replyTo as string;
    expect(fresh).toMatch(ADDRESS);
    expect(fresh).not.toBe(address);
    r.server.publish('', address, Buffer.from('to-old'));
    r.server.publish('', fresh, Buffer.from('to-new'));
    await waitUntil('the reply to the new address', () => replies.length === 1);
    await sleep(50);
    expect(replies.map((m) => [m.content.toString(), m.fields.consumerTag, m.fields.routingKey])).toEqual([['to-new', 'again', fresh]]);
    expect(r.replies.map((m) => m.content.toString())).toEqual(['before']);

    // Cancelled again: publishing with reply_to amq.rabbitmq.reply-to closes the channel.
    expect(await r.client.cancel('again')).toEqual({ consumerTag: 'again' });
    const closed = new Promise<ServerClose>((resolve) => r.client.once('error', (err: unknown) => resolve(serverClose(err))));
    r.client.sendToQueue(r.queue, Buffer.from('no-consumer'), { replyTo: REPLY_TO });
    expect(await closed).toEqual({ code: 406, text: 'PRECONDITION_FAILED - fast reply consumer does not exist', classId: 60, methodId: 40 });
  });
});
