// The channel table and error handling at the connection level. Expected values were
// checked against RabbitMQ 3.10.8 with the same raw client.
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startBroker, type RunningBroker } from '../../../server/index.js';
import { describeFrame, M, RawClient } from '../../helpers/raw-client.js';
import { within } from '../../helpers/timing.js';

let b: RunningBroker;
beforeAll(async () => {
  b = await startBroker({ port: 0 });
});
afterAll(async () => {
  await b.close();
});

const channelClose = { id: M.ChannelClose, replyCode: 200, replyText: 'bye', classId: 0, methodId: 0 } as const;
const declareExclusive = {
  id: M.QueueDeclare,
  queue: '',
  passive: false,
  durable: false,
  exclusive: true,
  autoDelete: false,
  nowait: false,
  arguments: {},
} as const;

function consume(queue: string, consumerTag: string) {
  return { id: M.BasicConsume, queue, consumerTag, noLocal: false, noAck: false, exclusive: false, nowait: false, arguments: {} } as const;
}

describe.concurrent('channels', () => {
  test('open and close a channel, then reuse its id', async () => {
    const c = await RawClient.open(b.port);
    c.sendMethod(1, { id: M.ChannelOpen, outOfBand: '' });
    expect(await c.nextReply()).toEqual({ method: 'ChannelOpenOk', channel: 1, channelId: '' });
    c.sendMethod(1, channelClose);
    expect(await c.nextReply()).toEqual({ method: 'ChannelCloseOk', channel: 1 });
    c.sendMethod(1, { id: M.ChannelOpen, outOfBand: '' });
    expect(await c.nextReply()).toEqual({ method: 'ChannelOpenOk', channel: 1, channelId: '' });
    c.sendMethod(1, declareExclusive);
    expect(await c.nextReply()).toMatchObject({ method: 'QueueDeclareOk', channel: 1, messageCount: 0, consumerCount: 0 });
    await c.close();
  });

  test('many channels at once, each answering on its own id', async () => {
    const c = await RawClient.open(b.port);
    for (const id of [1, 2, 7, 2047]) c.sendMethod(id, { id: M.ChannelOpen, outOfBand: '' });
    const replies = [await c.nextReply(), await c.nextReply(), await c.nextReply(), await c.nextReply()];
    expect(replies).toEqual([1, 2, 7, 2047].map((channel) => ({ method: 'ChannelOpenOk', channel, channelId: '' })));
    await c.close();
  });

  test('channel.flow active=true is answered with flow-ok active=true', async () => {
    const c = await RawClient.open(b.port);
    await c.openChannel(1);
    c.sendMethod(1, { id: M.ChannelFlow, active: true });
    expect(await c.nextReply()).toEqual({ method: 'ChannelFlowOk', channel: 1, active: true });
    await c.close();
  });

  // RabbitMQ 3.x does not implement client-initiated flow control: active=false is a hard
  // 540 error (rabbit_channel: protocol_error(not_implemented, "active=false", [])).
  test('channel.flow active=false: connection.close 540 NOT_IMPLEMENTED 20/20', async () => {
    const c = await RawClient.open(b.port);
    await c.openChannel(1);
    c.sendMethod(1, { id: M.ChannelFlow, active: false });
    expect(await c.nextReply()).toEqual({
      method: 'ConnectionClose',
      channel: 0,
      replyCode: 540,
      replyText: 'NOT_IMPLEMENTED - active=false',
      classId: 20,
      methodId: 20,
    });
    c.sendMethod(0, { id: M.ConnectionCloseOk });
    expect(await c.waitClosed(2000)).toBe(true);
  });

  test('opening more channels than the negotiated channel_max: connection.close 530 with class/method 0/0', async () => {
    const c = await RawClient.open(b.port, { channelMax: 2 });
    await c.openChannel(1);
    await c.openChannel(2);
    c.sendMethod(3, { id: M.ChannelOpen, outOfBand: '' });
    expect(await c.nextReply()).toEqual({
      method: 'ConnectionClose',
      channel: 0,
      replyCode: 530,
      replyText: 'NOT_ALLOWED - number of channels opened (2) has reached the negotiated channel_max (2)',
      classId: 0,
      methodId: 0,
    });
    c.sendMethod(0, { id: M.ConnectionCloseOk });
    expect(await c.waitClosed(2000)).toBe(true);
  });

  test('a closed channel no longer counts towards channel_max', async () => {
    const c = await RawClient.open(b.port, { channelMax: 2 });
    await c.openChannel(1);
    await c.openChannel(2);
    c.sendMethod(2, channelClose);
    expect(await c.nextReply()).toEqual({ method: 'ChannelCloseOk', channel: 2 });
    c.sendMethod(3, { id: M.ChannelOpen, outOfBand: '' });
    expect(await c.nextReply()).toEqual({ method: 'ChannelOpenOk', channel: 3, channelId: '' });
    await c.close();
  });

  // RabbitMQ counts open channels against channel_max; it does not check the channel number.
  test('channel ids above channel_max are accepted while fewer than channel_max channels are open', async () => {
    const c = await RawClient.open(b.port, { channelMax: 2 });
    c.sendMethod(5, { id: M.ChannelOpen, outOfBand: '' });
    expect(await c.nextReply()).toEqual({ method: 'ChannelOpenOk', channel: 5, channelId: '' });
    c.sendMethod(3, { id: M.ChannelOpen, outOfBand: '' });
    expect(await c.nextReply()).toEqual({ method: 'ChannelOpenOk', channel: 3, channelId: '' });
    await c.close();
  });

  test('amqplib channelMax=2 is what the server enforces: two channels work', async () => {
    const conn = await amqp.connect(`${b.url}?channelMax=2`);
    expect((conn.connection as unknown as { channelMax: number }).channelMax).toBe(2);
    const [a, z] = [await conn.createChannel(), await conn.createChannel()];
    expect((await a.assertQueue('', { exclusive: true })).messageCount).toBe(0);
    expect((await z.assertQueue('', { exclusive: true })).messageCount).toBe(0);
    await conn.close();
  });

  test('a second channel.open on an open channel: connection.close 504 20/10', async () => {
    const c = await RawClient.open(b.port);
    await c.openChannel(1);
    c.sendMethod(1, { id: M.ChannelOpen, outOfBand: '' });
    expect(await c.nextReply()).toEqual({
      method: 'ConnectionClose',
      channel: 0,
      replyCode: 504,
      replyText: "CHANNEL_ERROR - second 'channel.open' seen",
      classId: 20,
      methodId: 10,
    });
    c.destroy();
  });

  // The error carries the class and method of what was sent (here basic.qos, 60/10).
  test("a method on a never-opened channel: connection.close 504 \"expected 'channel.open'\" with that method's ids", async () => {
    const c = await RawClient.open(b.port);
    c.sendMethod(7, { id: M.BasicQos, prefetchSize: 0, prefetchCount: 1, global: false });
    expect(await c.nextReply()).toEqual({
      method: 'ConnectionClose',
      channel: 0,
      replyCode: 504,
      replyText: "CHANNEL_ERROR - expected 'channel.open'",
      classId: 60,
      methodId: 10,
    });
    c.destroy();
  });

  test('channel.close on a never-opened channel: 504 20/40', async () => {
    const c = await RawClient.open(b.port);
    c.sendMethod(3, channelClose);
    expect(await c.nextReply()).toEqual({
      method: 'ConnectionClose',
      channel: 0,
      replyCode: 504,
      replyText: "CHANNEL_ERROR - expected 'channel.open'",
      classId: 20,
      methodId: 40,
    });
    c.destroy();
  });

  test('after a channel error, frames on that channel are ignored until close-ok; then the id can be reopened', async () => {
    const c = await RawClient.open(b.port);
    await c.openChannel(1);
    c.sendMethod(1, { id: M.BasicGet, queue: 'no-such-queue', noAck: false });
    expect(await c.nextReply()).toEqual({
      method: 'ChannelClose',
      channel: 1,
      replyCode: 404,
      replyText: "NOT_FOUND - no queue 'no-such-queue' in vhost '/'",
      classId: 60,
      methodId: 70,
    });
    // Neither a method nor a complete publish gets any answer now.
    c.sendMethod(1, declareExclusive);
    c.sendMethod(1, { id: M.BasicGet, queue: 'no-such-queue', noAck: false });
    c.publish(1, '', 'no-such-queue', Buffer.from('dropped'));
    expect((await c.framesWithin(300)).map(describeFrame)).toEqual([]);
    c.sendMethod(1, { id: M.ChannelCloseOk });
    await c.openChannel(1);
    c.sendMethod(1, declareExclusive);
    expect(await c.nextReply()).toMatchObject({ method: 'QueueDeclareOk', channel: 1, messageCount: 0 });
    // Other channels were never affected.
    await c.openChannel(2);
    await c.close();
  });

  // Both sides closing at once: RabbitMQ answers the client's channel.close with close-ok but
  // keeps the channel in 'closing' until the client's close-ok for the server's close arrives.
  test('simultaneous close: the client\'s channel.close gets close-ok, then its close-ok completes the close (no 504)', async () => {
    const c = await RawClient.open(b.port);
    await c.openChannel(1);
    c.sendMethod(1, consume('no-such-queue', 'c1'));
    expect(await c.nextReply()).toEqual({
      method: 'ChannelClose',
      channel: 1,
      replyCode: 404,
      replyText: "NOT_FOUND - no queue 'no-such-queue' in vhost '/'",
      classId: 60,
      methodId: 20,
    });
    c.sendMethod(1, channelClose);
    expect(await c.nextReply()).toEqual({ method: 'ChannelCloseOk', channel: 1 });
    c.sendMethod(1, { id: M.ChannelCloseOk });
    await c.openChannel(1);
    await c.close();
  });

  // RabbitMQ handles channel.open before the "closing" state check, so it is still an error.
  test('channel.open on a channel that is waiting for close-ok: connection.close 504 20/10', async () => {
    const c = await RawClient.open(b.port);
    await c.openChannel(1);
    c.sendMethod(1, { id: M.BasicGet, queue: 'no-such-queue', noAck: false });
    expect(await c.nextReply()).toMatchObject({ method: 'ChannelClose', channel: 1, replyCode: 404 });
    c.sendMethod(1, { id: M.ChannelOpen, outOfBand: '' });
    expect(await c.nextReply()).toEqual({
      method: 'ConnectionClose',
      channel: 0,
      replyCode: 504,
      replyText: "CHANNEL_ERROR - second 'channel.open' seen",
      classId: 20,
      methodId: 10,
    });
    c.destroy();
  });

  // While closing, RabbitMQ still runs frames through the content assembler: a well-formed
  // publish is dropped, but a content header with no publish before it is a hard 505.
  test('a stray content header on a channel waiting for close-ok: connection.close 505', async () => {
    const c = await RawClient.open(b.port);
    await c.openChannel(1);
    c.sendMethod(1, { id: M.BasicGet, queue: 'no-such-queue', noAck: false });
    expect(await c.nextReply()).toMatchObject({ method: 'ChannelClose', channel: 1, replyCode: 404 });
    c.sendFrame(2, 1, RawClient.contentHeaderPayload(3));
    expect(await c.nextReply()).toEqual({
      method: 'ConnectionClose',
      channel: 0,
      replyCode: 505,
      replyText: 'UNEXPECTED_FRAME - expected method frame, got non method frame instead',
      classId: 0,
      methodId: 0,
    });
    c.destroy();
  });

  test('a duplicate consumer tag: connection.close 530 with class 60 method 20', async () => {
    const c = await RawClient.open(b.port);
    await c.openChannel(1);
    c.sendMethod(1, declareExclusive);
    const q = await c.expectMethod(M.QueueDeclareOk);
    c.sendMethod(1, consume(q.queue, 'dup'));
    expect(await c.nextReply()).toEqual({ method: 'BasicConsumeOk', channel: 1, consumerTag: 'dup' });
    c.sendMethod(1, consume(q.queue, 'dup'));
    expect(await c.nextReply()).toEqual({
      method: 'ConnectionClose',
      channel: 0,
      replyCode: 530,
      replyText: "NOT_ALLOWED - attempt to reuse consumer tag 'dup'",
      classId: 60,
      methodId: 20,
    });
    c.sendMethod(0, { id: M.ConnectionCloseOk });
    expect(await c.waitClosed(2000)).toBe(true);
  });

  test('amqplib sees the duplicate consumer tag as a 530 connection error', async () => {
    const conn = await amqp.connect(b.url);
    const closed = new Promise<Error & { code?: number }>((resolve) => conn.on('error', resolve));
    const ch = await conn.createChannel();
    ch.on('error', () => {});
    const q = await ch.assertQueue('', { exclusive: true });
    await ch.consume(q.queue, () => {}, { consumerTag: 'dup' });
    ch.consume(q.queue, () => {}, { consumerTag: 'dup' }).catch(() => {});
    const err = await within(closed, 3000, 'the connection error');
    expect({ code: err.code, message: err.message }).toEqual({
      code: 530,
      message: `Connection closed: 530 (NOT-ALLOWED) with message "NOT_ALLOWED - attempt to reuse consumer tag 'dup'"`,
    });
  });

  test('channel errors on one channel leave the others working', async () => {
    const conn = await amqp.connect(b.url);
    const good = await conn.createChannel();
    const bad = await conn.createChannel();
    const badError = new Promise<Error & { code?: number }>((resolve) => bad.on('error', resolve));
    await expect(bad.checkQueue('no-such-queue')).rejects.toThrow();
    const err = await within(badError, 3000, 'the channel error');
    expect({ code: err.code, message: err.message }).toEqual({
      code: 404,
      message: `Channel closed by server: 404 (NOT-FOUND) with message "NOT_FOUND - no queue 'no-such-queue' in vhost '/'"`,
    });
    const q = await good.assertQueue('', { exclusive: true });
    expect(q.messageCount).toBe(0);
    await conn.close();
  });
});
