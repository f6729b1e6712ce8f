// Framing: frame_max, the frame-end octet, frame ordering, content sizes. Expected values
// were checked against RabbitMQ 3.10.8 with the same raw client (max message size: from
// rabbit_channel's check_msg_size, as the live broker's limit cannot be changed from here).
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startBroker, type RunningBroker } from '../../../server/index.js';
import { FRAME_BODY, FRAME_HEADER, M, RawClient } from '../../helpers/raw-client.js';
import { within } from '../../helpers/timing.js';

let b: RunningBroker;
beforeAll(async () => {
  b = await startBroker({ port: 0 });
});
afterAll(async () => {
  await b.close();
});

const publishTo = (routingKey: string) => ({ id: M.BasicPublish, exchange: '', routingKey, mandatory: false, immediate: false }) as const;
const qos = { id: M.BasicQos, prefetchSize: 0, prefetchCount: 1, global: false } as const;

/** Opens channel 1 on a raw connection and declares an exclusive queue; returns its name. */
async function withQueue(c: RawClient): Promise<string> {
  await c.openChannel(1);
  c.sendMethod(1, { id: M.QueueDeclare, queue: '', passive: false, durable: false, exclusive: true, autoDelete: false, nowait: false, arguments: {} });
  return (await c.expectMethod(M.QueueDeclareOk)).queue;
}

function pattern(n: number): Buffer {
  const buf = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) buf[i] = (i * 31 + (i >>> 8)) & 0xff;
  return buf;
}

/** basic.get (no-ack) and return get-ok plus the content. */
async function get(c: RawClient, queue: string) {
  c.sendMethod(1, { id: M.BasicGet, queue, noAck: true });
  const ok = await c.nextReply();
  const content = await c.nextContent();
  return { ok, ...content };
}

function connectionClose(replyCode: number, replyText: string, classId = 0, methodId = 0) {
  return { method: 'ConnectionClose', channel: 0, replyCode, replyText, classId, methodId };
}

describe.concurrent('frame_max', () => {
  // RabbitMQ lets a frame payload reach frame_max itself, and only refuses above it, although
  // the limit its error message quotes is frame_max - 8.
  test('with frame_max 4096 negotiated, a body frame whose payload is exactly 4096 bytes is accepted', async () => {
    const c = await RawClient.open(b.port, { frameMax: 4096 });
    const q = await withQueue(c);
    const body = pattern(4096);
    c.sendMethod(1, publishTo(q));
    c.sendFrame(FRAME_HEADER, 1, RawClient.contentHeaderPayload(4096));
    c.sendFrame(FRAME_BODY, 1, body);
    const got = await get(c, q);
    expect(got.ok).toMatchObject({ method: 'BasicGetOk', channel: 1, routingKey: q, messageCount: 0 });
    // The server's own frames respect frame_max: 4088 + 8 bytes of framing.
    expect(got.frameSizes).toEqual([4088, 8]);
    expect(got.body.equals(body)).toBe(true);
    await c.close();
  });

  test('with frame_max 4096 negotiated, a 4097-byte payload: connection.close 501 FRAME_ERROR', async () => {
    const c = await RawClient.open(b.port, { frameMax: 4096 });
    const q = await withQueue(c);
    c.sendMethod(1, publishTo(q));
    c.sendFrame(FRAME_HEADER, 1, RawClient.contentHeaderPayload(4097));
    c.sendFrame(FRAME_BODY, 1, pattern(4097));
    expect(await c.nextReply()).toEqual(connectionClose(501, 'FRAME_ERROR - type 3, all octets = <<>>: {frame_too_large,4097,4088}'));
    c.destroy();
  });

  test('with the default frame_max (131072), a 131073-byte body frame: 501 FRAME_ERROR', async () => {
    const c = await RawClient.open(b.port);
    const q = await withQueue(c);
    c.sendMethod(1, publishTo(q));
    c.sendFrame(FRAME_HEADER, 1, RawClient.contentHeaderPayload(131073));
    c.sendFrame(FRAME_BODY, 1, pattern(131073));
    expect(await c.nextReply()).toEqual(connectionClose(501, 'FRAME_ERROR - type 3, all octets = <<>>: {frame_too_large,131073,131064}'));
    c.destroy();
  });

  test('an oversized method frame is refused from its header, before its payload arrives', async () => {
    const c = await RawClient.open(b.port, { frameMax: 4096 });
    await c.openChannel(1);
    // Only the 7-byte frame header of a 100000-byte method frame.
    const header = Buffer.from([1, 0, 1, 0, 0, 0, 0]);
    header.writeUInt32BE(100000, 3);
    c.write(header);
    expect(await c.nextReply()).toEqual(connectionClose(501, 'FRAME_ERROR - type 1, all octets = <<>>: {frame_too_large,100000,4088}'));
    c.destroy();
  });

  test('a bad frame-end octet: connection.close 501 FRAME_ERROR quoting the payload', async () => {
    const c = await RawClient.open(b.port);
    await c.openChannel(1);
    const frame = RawClient.methodFrame(1, qos);
    frame[frame.length - 1] = 0;
    c.write(frame);
    expect(await c.nextReply()).toEqual(
      connectionClose(501, 'FRAME_ERROR - type 1, all octets = <<0,60,0,10,0,0,0,0,0,1,0>>: {invalid_frame_end_marker,0}'),
    );
    c.destroy();
  });

  test('a frame of unknown type: connection.close 501 FRAME_ERROR unknown_frame', async () => {
    const c = await RawClient.open(b.port);
    await c.openChannel(1);
    c.sendFrame(9, 1, Buffer.from('x'));
    expect(await c.nextReply()).toEqual(connectionClose(501, 'FRAME_ERROR - type 9, all octets = <<"x">>: unknown_frame'));
    c.destroy();
  });

  test('client-split body frames of frame_max - 8 are reassembled, and deliveries are split at frame_max - 8', async () => {
    const c = await RawClient.open(b.port, { frameMax: 4096 });
    const q = await withQueue(c);
    const body = pattern(20000);
    c.publish(1, '', q, body);
    const got = await get(c, q);
    expect(got.bodySize).toBe(20000);
    expect(got.frameSizes).toEqual([4088, 4088, 4088, 4088, 3648]);
    expect(got.body.equals(body)).toBe(true);
    await c.close();
  });

  test('a 1 MiB message with amqplib frameMax 4096 arrives intact', async () => {
    const conn = await amqp.connect({ protocol: 'amqp', hostname: '127.0.0.1', port: b.port, username: 'guest', password: 'guest', frameMax: 4096 });
    expect((conn.connection as unknown as { frameMax: number }).frameMax).toBe(4096);
    const ch = await conn.createChannel();
    const q = await ch.assertQueue('', { exclusive: true });
    const body = pattern(1024 * 1024);
    ch.sendToQueue(q.queue, body, { messageId: 'big' });
    const msg = await within(
      new Promise<amqp.ConsumeMessage>((resolve) => {
        void ch.consume(q.queue, (m) => resolve(m!), { noAck: true });
      }),
      5000,
      'the 1 MiB delivery',
    );
    expect(msg.content.length).toBe(body.length);
    expect(msg.content.equals(body)).toBe(true);
    expect(msg.properties.messageId).toBe('big');
    await conn.close();
  });
});

describe.concurrent('frame ordering', () => {
  test('a content header with no basic.publish before it: 505 UNEXPECTED_FRAME 0/0', async () => {
    const c = await RawClient.open(b.port);
    await c.openChannel(1);
    c.sendFrame(FRAME_HEADER, 1, RawClient.contentHeaderPayload(3));
    expect(await c.nextReply()).toEqual(connectionClose(505, 'UNEXPECTED_FRAME - expected method frame, got non method frame instead'));
    c.destroy();
  });

  test('a content body with no basic.publish before it: 505 UNEXPECTED_FRAME 0/0', async () => {
    const c = await RawClient.open(b.port);
    await c.openChannel(1);
    c.sendFrame(FRAME_BODY, 1, Buffer.from('abc'));
    expect(await c.nextReply()).toEqual(connectionClose(505, 'UNEXPECTED_FRAME - expected method frame, got non method frame instead'));
    c.destroy();
  });

  // The ids name the method being assembled, not the last method the channel handled.
  test('a stray content header after other methods on the channel: still 505 with 0/0', async () => {
    const c = await RawClient.open(b.port);
    await withQueue(c); // queue.declare 50/10 handled on channel 1
    c.sendMethod(1, qos);
    expect(await c.nextReply()).toEqual({ method: 'BasicQosOk', channel: 1 });
    c.sendFrame(FRAME_HEADER, 1, RawClient.contentHeaderPayload(3));
    expect(await c.nextReply()).toEqual(connectionClose(505, 'UNEXPECTED_FRAME - expected method frame, got non method frame instead'));
    c.destroy();
  });

  test('an extra body frame after a complete message: 505 with 0/0', async () => {
    const c = await RawClient.open(b.port);
    const q = await withQueue(c);
    c.publish(1, '', q, Buffer.from('abc'));
    c.sendFrame(FRAME_BODY, 1, Buffer.from('d'));
    expect(await c.nextReply()).toEqual(connectionClose(505, 'UNEXPECTED_FRAME - expected method frame, got non method frame instead'));
    c.destroy();
  });

  test('a method where the content header is expected: 505 with basic.publish 60/40', async () => {
    const c = await RawClient.open(b.port);
    const q = await withQueue(c);
    c.sendMethod(1, publishTo(q));
    c.sendMethod(1, qos);
    expect(await c.nextReply()).toEqual(
      connectionClose(505, 'UNEXPECTED_FRAME - expected content header for class 60, got non content header frame instead', 60, 40),
    );
    c.destroy();
  });

  test('a method where a content body is expected: 505 with basic.publish 60/40', async () => {
    const c = await RawClient.open(b.port);
    const q = await withQueue(c);
    c.sendMethod(1, publishTo(q));
    c.sendFrame(FRAME_HEADER, 1, RawClient.contentHeaderPayload(3));
    c.sendMethod(1, qos);
    expect(await c.nextReply()).toEqual(connectionClose(505, 'UNEXPECTED_FRAME - expected content body, got non content body frame instead', 60, 40));
    c.destroy();
  });

  test('a content header for another class: 505 with basic.publish 60/40', async () => {
    const c = await RawClient.open(b.port);
    const q = await withQueue(c);
    c.sendMethod(1, publishTo(q));
    c.sendFrame(FRAME_HEADER, 1, RawClient.contentHeaderPayload(3, {}, 50));
    expect(await c.nextReply()).toEqual(
      connectionClose(505, 'UNEXPECTED_FRAME - expected content header for class 60, got one for class 50 instead', 60, 40),
    );
    c.destroy();
  });

  test('a content header on a never-opened channel: 505 UNEXPECTED_FRAME (not 504)', async () => {
    const c = await RawClient.open(b.port);
    c.sendFrame(FRAME_HEADER, 5, RawClient.contentHeaderPayload(3));
    expect(await c.nextReply()).toEqual(connectionClose(505, 'UNEXPECTED_FRAME - expected method frame, got non method frame instead'));
    c.destroy();
  });

  test('a heartbeat frame on a non-zero channel: 505 UNEXPECTED_FRAME', async () => {
    const c = await RawClient.open(b.port);
    await c.openChannel(1);
    c.sendFrame(8, 1, Buffer.alloc(0));
    expect(await c.nextReply()).toEqual(connectionClose(505, 'UNEXPECTED_FRAME - type 8, all octets = <<>>'));
    c.destroy();
  });

  test('a zero-size message (header, no body frame) is complete and delivered', async () => {
    const c = await RawClient.open(b.port);
    const q = await withQueue(c);
    c.sendMethod(1, publishTo(q));
    c.sendFrame(FRAME_HEADER, 1, RawClient.contentHeaderPayload(0, { contentType: 'text/plain' }));
    const got = await get(c, q);
    expect(got.ok).toMatchObject({ method: 'BasicGetOk', routingKey: q });
    expect([got.bodySize, got.frameSizes]).toEqual([0, []]);
    await c.close();
  });
});

describe('max message size', () => {
  let small: RunningBroker;
  beforeAll(async () => {
    small = await startBroker({ port: 0, maxMessageSize: 1024 });
  });
  afterAll(async () => {
    await small.close();
  });

  test('1025 bytes: channel.close 406 60/40; the connection survives and 1024 bytes are accepted and delivered', async () => {
    const c = await RawClient.open(small.port);
    const q = await withQueue(c);
    c.publish(1, '', q, pattern(1025));
    expect(await c.nextReply()).toEqual({
      method: 'ChannelClose',
      channel: 1,
      replyCode: 406,
      replyText: 'PRECONDITION_FAILED - message size 1025 is larger than configured max size 1024',
      classId: 60,
      methodId: 40,
    });
    c.sendMethod(1, { id: M.ChannelCloseOk });
    await c.openChannel(1);
    const body = pattern(1024);
    c.publish(1, '', q, body);
    const got = await get(c, q);
    expect(got.ok).toMatchObject({ method: 'BasicGetOk', channel: 1, routingKey: q, messageCount: 0 });
    expect(got.body.equals(body)).toBe(true);
    await c.close();
  });

  test('1025 bytes split over several body frames is refused the same way', async () => {
    const c = await RawClient.open(small.port, { frameMax: 4096 });
    const q = await withQueue(c);
    c.sendMethod(1, publishTo(q));
    c.sendFrame(FRAME_HEADER, 1, RawClient.contentHeaderPayload(1025));
    for (let i = 0; i < 5; i++) c.sendFrame(FRAME_BODY, 1, pattern(205));
    expect(await c.nextReply()).toEqual({
      method: 'ChannelClose',
      channel: 1,
      replyCode: 406,
      replyText: 'PRECONDITION_FAILED - message size 1025 is larger than configured max size 1024',
      classId: 60,
      methodId: 40,
    });
    // The rest of the message's frames caused nothing else.
    expect(await c.framesWithin(200)).toEqual([]);
    await c.close();
  });

  test('amqplib: a 1025-byte publish closes the channel with 406, 1024 bytes go through', async () => {
    const conn = await amqp.connect(small.url);
    const ch = await conn.createChannel();
    const chError = new Promise<Error & { code?: number }>((resolve) => ch.on('error', resolve));
    const q = await ch.assertQueue('', { exclusive: true });
    ch.sendToQueue(q.queue, pattern(1025));
    const err = await within(chError, 3000, 'the channel error');
    expect({ code: err.code, message: err.message }).toEqual({
      code: 406,
      message: 'Channel closed by server: 406 (PRECONDITION-FAILED) with message "PRECONDITION_FAILED - message size 1025 is larger than configured max size 1024"',
    });
    const ch2 = await conn.createChannel();
    const body = pattern(1024);
    ch2.sendToQueue(q.queue, body);
    const msg = await within(
      new Promise<amqp.ConsumeMessage>((resolve) => {
        void ch2.consume(q.queue, (m) => resolve(m!), { noAck: true });
      }),
      3000,
      'the 1024-byte delivery',
    );
    expect(msg.content.equals(body)).toBe(true);
    await conn.close();
  });
});
