// basic.publish: mandatory returns, immediate, and properties passing through untouched.
import type { Message } from 'amqplib';
import { describe, expect, test } from 'vitest';
import { Inbox, rejection, sleep, tapSocket, useBroker, within } from '../../helpers/basic.js';

const env = useBroker();

function nextReturn(ch: { once(ev: 'return', l: (m: Message) => void): unknown }): Promise<Message> {
  return new Promise((resolve) => ch.once('return', resolve));
}

describe('basic.publish mandatory', () => {
  test('an unroutable mandatory publish comes back as basic.return 312 NO_ROUTE with everything intact', async () => {
    const c = await env.connect();
    const ch = await c.channel();
    const returned = nextReturn(ch.ch);
    ch.ch.publish('amq.direct', 'nowhere', Buffer.from('lost body'), {
      mandatory: true,
      contentType: 'text/plain',
      messageId: 'm-1',
      deliveryMode: 2,
      headers: { a: 1, nested: { b: 'c', list: [1, 'x'] } },
    });
    const m = await within(returned, 'basic.return');
    expect(m.fields).toEqual({ replyCode: 312, replyText: 'NO_ROUTE', exchange: 'amq.direct', routingKey: 'nowhere' });
    expect(m.content.toString()).toBe('lost body');
    expect(m.properties).toEqual({
      contentType: 'text/plain',
      contentEncoding: undefined,
      headers: { a: 1, nested: { b: 'c', list: [1, 'x'] } },
      deliveryMode: 2,
      priority: undefined,
      correlationId: undefined,
      replyTo: undefined,
      expiration: undefined,
      messageId: 'm-1',
      timestamp: undefined,
      type: undefined,
      userId: undefined,
      appId: undefined,
      clusterId: undefined,
    });
    // The frames: basic.return, its header, its body; the channel stays open.
    expect(ch.frames.map((f) => f.name)).toEqual(['BasicReturn', 'BasicProperties', 'content']);
    const q = await ch.queue();
    expect(await ch.ready(q)).toBe(0);
    expect(ch.serverCloses).toEqual([]);
  });

  test('through the default exchange to a missing queue: the return names exchange "" and the queue as routing key', async () => {
    const c = await env.connect();
    const ch = await c.channel();
    const returned = nextReturn(ch.ch);
    ch.ch.sendToQueue('no-such-queue-basic-publish', Buffer.from('x'), { mandatory: true });
    const m = await within(returned, 'basic.return');
    expect(m.fields).toEqual({ replyCode: 312, replyText: 'NO_ROUTE', exchange: '', routingKey: 'no-such-queue-basic-publish' });
    expect(m.content.toString()).toBe('x');
  });

  test('an unroutable publish without mandatory is dropped silently', async () => {
    const c = await env.connect();
    const ch = await c.channel();
    const q = await ch.queue();
    ch.ch.publish('amq.direct', 'nowhere', Buffer.from('dropped'));
    ch.ch.sendToQueue(q, Buffer.from('kept'), { mandatory: true });
    await sleep(30);
    const m = await ch.ch.get(q, { noAck: true });
    expect(m && m.content.toString()).toBe('kept');
    expect(await ch.ch.get(q, { noAck: true })).toBe(false);
    expect(ch.methods('BasicReturn')).toEqual([]);
    expect(ch.serverCloses).toEqual([]);
  });

  test('a routable mandatory publish is not returned', async () => {
    const c = await env.connect();
    const ch = await c.channel();
    const q = await ch.queue();
    ch.ch.sendToQueue(q, Buffer.from('one'), { mandatory: true });
    await sleep(30);
    expect(await ch.readyWhen(q, 1)).toBe(1);
    expect(ch.methods('BasicReturn')).toEqual([]);
  });
});

describe('basic.publish immediate', () => {
  test('immediate=true closes the connection with 540 NOT_IMPLEMENTED - immediate=true (basic.publish)', async () => {
    const c = await env.connect();
    const ch = await c.channel();
    ch.publishRaw({ exchange: '', routingKey: 'anything', immediate: true }, {}, Buffer.from('z'));
    const close = await within(c.closedByServer, 'connection.close');
    expect(close).toEqual({ code: 540, text: 'NOT_IMPLEMENTED - immediate=true', classId: 60, methodId: 40 });
    expect(c.errors.map((e) => (e as Error & { code?: number }).code)).toEqual([540]);
    expect(c.errors[0]!.message).toBe('Connection closed: 540 (NOT-IMPLEMENTED) with message "NOT_IMPLEMENTED - immediate=true"');
    // The connection is gone: opening a channel fails.
    await rejection(c.model.createChannel());
  });

  test('immediate=true with mandatory=true is refused the same way and nothing is enqueued', async () => {
    const observer = await env.connect();
    const och = await observer.channel();
    const q = await och.queue({ exclusive: false, autoDelete: true });
    const keep = new Inbox();
    // A consumer keeps the auto-delete queue alive and would see any delivery.
    await och.ch.consume(q, keep.handler, { noAck: true });

    const c = await env.connect();
    const ch = await c.channel();
    ch.publishRaw({ exchange: '', routingKey: q, mandatory: true, immediate: true }, {}, Buffer.from('never'));
    const close = await within(c.closedByServer, 'connection.close');
    expect(close).toEqual({ code: 540, text: 'NOT_IMPLEMENTED - immediate=true', classId: 60, methodId: 40 });
    await sleep(30);
    expect(keep.bodies).toEqual([]);
    expect(ch.methods('BasicReturn')).toEqual([]);
  });
});

describe('basic properties', () => {
  const headers = {
    str: 'hello',
    int8: { '!': 'int8', value: -5 },
    uint8: { '!': 'uint8', value: 200 },
    int16: { '!': 'int16', value: -30000 },
    uint16: { '!': 'uint16', value: 60000 },
    int32: { '!': 'int32', value: -2000000000 },
    uint32: { '!': 'uint32', value: 4000000000 },
    int64: { '!': 'int64', value: 9007199254740991 },
    float: { '!': 'float', value: 1.5 },
    double: 3.25,
    dec: { '!': 'decimal', value: { places: 2, digits: 12345 } },
    ts: { '!': 'timestamp', value: 1700000000 },
    yes: true,
    no: false,
    nothing: null,
    bin: Buffer.from([0, 1, 2, 255]),
    arr: [1, 'two', [3, { x: 'y' }], { '!': 'int64', value: 7 }],
    nested: { a: { b: { c: 'deep', n: { '!': 'int16', value: 12 } } }, list: [] },
    empty: {},
  };
  const props = {
    contentType: 'application/json',
    contentEncoding: 'gzip',
    headers,
    deliveryMode: 2,
    priority: 7,
    correlationId: 'corr-1',
    replyTo: 'reply.q',
    expiration: '60000',
    messageId: 'msg-1',
    timestamp: 1700000001,
    type: 'my.type',
    userId: 'guest',
    appId: 'app-x',
    clusterId: 'cl-1',
  };

  test('all 14 properties, nested tables and typed header values reach the consumer unchanged, byte for byte', async () => {
    const c = await env.connect();
    const ch = await c.channel();
    const q = await ch.queue();
    const inbox = new Inbox();
    await ch.ch.consume(q, inbox.handler, { noAck: true });
    const wire = tapSocket(c);
    ch.publishRaw({ exchange: '', routingKey: q }, props, Buffer.from('payload'));
    await inbox.waitFor(1);
    const m = inbox.messages[0]!;
    expect(m.content.toString()).toBe('payload');
    expect(m.properties).toEqual({
      contentType: 'application/json',
      contentEncoding: 'gzip',
      headers: {
        str: 'hello',
        int8: -5,
        uint8: 200,
        int16: -30000,
        uint16: 60000,
        int32: -2000000000,
        uint32: 4000000000,
        int64: 9007199254740991,
        float: 1.5,
        double: 3.25,
        dec: { '!': 'decimal', value: { places: 2, digits: 12345 } },
        ts: { '!': 'timestamp', value: 1700000000 },
        yes: true,
        no: false,
        nothing: null,
        bin: Buffer.from([0, 1, 2, 255]),
        arr: [1, 'two', [3, { x: 'y' }], 7],
        nested: { a: { b: { c: 'deep', n: 12 } }, list: [] },
        empty: {},
      },
      deliveryMode: 2,
      priority: 7,
      correlationId: 'corr-1',
      replyTo: 'reply.q',
      expiration: '60000',
      messageId: 'msg-1',
      timestamp: 1700000001,
      type: 'my.type',
      userId: 'guest',
      appId: 'app-x',
      clusterId: 'cl-1',
    });
    // The content header is relayed exactly as published: same flags, same table encoding, same types.
    const sentHeaders = wire.sent.filter((f) => f.type === 2);
    const receivedHeaders = wire.received.filter((f) => f.type === 2);
    expect(sentHeaders).toHaveLength(1);
    expect(receivedHeaders).toHaveLength(1);
    expect(receivedHeaders[0]!.payload.toString('hex')).toBe(sentHeaders[0]!.payload.toString('hex'));
    // property flags: all 14 bits set (bits 15..2)
    expect(receivedHeaders[0]!.payload.readUInt16BE(12)).toBe(0xfffc);
  });

  test('the same properties come back unchanged through basic.get and basic.return', async () => {
    const c = await env.connect();
    const ch = await c.channel();
    const q = await ch.queue();
    const wire = tapSocket(c);
    ch.publishRaw({ exchange: '', routingKey: q }, props, Buffer.from('via get'));
    const returned = nextReturn(ch.ch);
    ch.publishRaw({ exchange: 'amq.fanout', routingKey: 'r', mandatory: true }, props, Buffer.from('via return'));
    const r = await within(returned, 'basic.return');
    const g = await ch.ch.get(q, { noAck: true });
    expect(g && g.content.toString()).toBe('via get');
    expect(r.content.toString()).toBe('via return');
    expect(g && g.properties).toEqual(r.properties);
    expect(r.properties.clusterId).toBe('cl-1');
    const sent = wire.sent.filter((f) => f.type === 2).map((f) => f.payload.toString('hex'));
    const received = wire.received.filter((f) => f.type === 2).map((f) => f.payload.toString('hex'));
    expect(sent).toHaveLength(2);
    expect(received).toEqual([sent[1], sent[0]]);
  });

  test('an empty body with no properties arrives as a bare header and no body frame', async () => {
    const c = await env.connect();
    const ch = await c.channel();
    const q = await ch.queue();
    const inbox = new Inbox();
    await ch.ch.consume(q, inbox.handler, { noAck: true });
    const wire = tapSocket(c);
    ch.publishRaw({ exchange: '', routingKey: q }, {}, Buffer.alloc(0));
    await inbox.waitFor(1);
    expect(inbox.messages[0]!.content.length).toBe(0);
    expect(inbox.messages[0]!.properties.headers).toBeUndefined();
    const received = wire.received.filter((f) => f.channel !== 0);
    expect(received.map((f) => f.type)).toEqual([1, 2]);
    // class 60, weight 0, body size 0, flags 0
    expect(received[1]!.payload.toString('hex')).toBe('003c000000000000000000000000');
  });
});
