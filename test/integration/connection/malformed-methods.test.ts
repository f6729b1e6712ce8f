// Malformed method frames, answered as RabbitMQ 3.10.8 answers them (every expected text
// below was taken from RabbitMQ 3.10.8 with the same bytes and the same raw client):
// - fields that do not match the method's layout (a table whose length runs past the frame,
//   missing fields, bytes left over): 501 FRAME_ERROR "cannot decode <<fields>>", naming the method;
// - a payload too short to hold a method id: 501 "type 1, all octets = <<...>>: unknown_frame";
// - invalid UTF-8 in a short string of a method without content: 501 "Malformed UTF-8 in
//   shortstr", class 0 method 0 (on channel 0, the connection method's ids). Content-bearing
//   methods (basic.publish), field-table keys and values are not checked, as in RabbitMQ.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startBroker, type RunningBroker } from '../../../server/index.js';
import { FRAME_HEADER, FRAME_METHOD, M, RawClient } from '../../helpers/raw-client.js';

let b: RunningBroker;
beforeAll(async () => {
  b = await startBroker({ port: 0 });
});
afterAll(async () => {
  await b.close();
});

const ss = (s: string | Buffer): Buffer => {
  const v = Buffer.isBuffer(s) ? s : Buffer.from(s);
  return Buffer.concat([Buffer.from([v.length]), v]);
};
const u16 = (n: number): Buffer => Buffer.from([n >> 8, n & 0xff]);
const u32 = (n: number): Buffer => {
  const v = Buffer.alloc(4);
  v.writeUInt32BE(n);
  return v;
};
const method = (cls: number, id: number, ...parts: Buffer[]): Buffer => Buffer.concat([u16(cls), u16(id), ...parts]);
const table = (...entries: Buffer[]): Buffer => {
  const body = Buffer.concat(entries);
  return Buffer.concat([u32(body.length), body]);
};
/** queue.declare with raw name bytes and a raw arguments table (bits 8 = auto-delete). */
const declare = (name: string | Buffer, args: Buffer, bits = 0): Buffer => method(50, 10, u16(0), ss(name), Buffer.from([bits]), args);
const EMPTY_TABLE = u32(0);
const BAD = Buffer.from([0x66, 0xff, 0x66]);

/** Sends one method frame on an open connection (channel 1 open) and returns the reply. */
async function reply(payload: Buffer, channel = 1): Promise<Record<string, unknown>> {
  const c = await RawClient.open(b.port);
  try {
    await c.openChannel(1);
    c.sendFrame(FRAME_METHOD, channel, payload);
    return await c.nextReply();
  } finally {
    c.destroy();
  }
}

const close = (replyCode: number, replyText: string, classId = 0, methodId = 0) => ({
  method: 'ConnectionClose',
  channel: 0,
  replyCode,
  replyText,
  classId,
  methodId,
});

describe.concurrent('fields that do not fit the method: 501 cannot decode, with the method ids', () => {
  test('a field table whose length runs past the frame', async () => {
    expect(await reply(declare('frontdoor-q1', Buffer.concat([u32(100), ss('k'), Buffer.from('S'), u32(1), Buffer.from('v')])))).toEqual(
      close(501, 'FRAME_ERROR - cannot decode <<0,0,12,102,114,111,110,116,100,111,111,114,45,113,49,0,0,0,0,100,1,107,83,0,0,0,1,118>>', 50, 10),
    );
  });

  test('a truncated field table (its last value cut short by the end of the frame)', async () => {
    expect(await reply(declare('frontdoor-q1', Buffer.concat([u32(6), ss('k'), Buffer.from('I'), Buffer.from([0, 0])])))).toEqual(
      close(501, 'FRAME_ERROR - cannot decode <<0,0,12,102,114,111,110,116,100,111,111,114,45,113,49,0,0,0,0,6,1,107,73,0,0>>', 50, 10),
    );
  });

  test('bytes left over after the last field', async () => {
    expect(await reply(Buffer.concat([declare('frontdoor-q1', EMPTY_TABLE), Buffer.from([1, 2, 3])]))).toEqual(
      close(501, 'FRAME_ERROR - cannot decode <<0,0,12,102,114,111,110,116,100,111,111,114,45,113,49,0,0,0,0,0,1,2,3>>', 50, 10),
    );
  });

  test.each([
    ['queue.declare', 50, 10],
    ['basic.qos', 60, 10],
  ])('%s with its fields missing', async (_name, cls, id) => {
    expect(await reply(method(cls, id, u16(0)))).toEqual(close(501, 'FRAME_ERROR - cannot decode <<0,0>>', cls, id));
  });

  test('a long cannot-decode text is cut like any reply text', async () => {
    const r = await reply(Buffer.concat([method(50, 10, u16(0), Buffer.from([200]), Buffer.alloc(200, 0x61), Buffer.from([0]), u32(500))]));
    const full = `FRAME_ERROR - cannot decode <<0,0,200,${Array(200).fill(97).join(',')},0,0,0,1,244>>`;
    // RabbitMQ: 255 bytes, ending in "97,97,9...".
    expect(r).toEqual(close(501, full.slice(0, 252) + '...', 50, 10));
  });

  test('invalid UTF-8 in the queue name, and a table cut short after it: the layout is checked first', async () => {
    expect(await reply(declare(Buffer.from([0xff]), u32(100)))).toEqual(close(501, 'FRAME_ERROR - cannot decode <<0,0,1,255,0,0,0,0,100>>', 50, 10));
  });

  test('a method frame too short for a method id: unknown_frame', async () => {
    expect(await reply(Buffer.from([0, 60]))).toEqual(close(501, 'FRAME_ERROR - type 1, all octets = <<0,60>>: unknown_frame'));
    expect(await reply(Buffer.alloc(0))).toEqual(close(501, 'FRAME_ERROR - type 1, all octets = <<>>: unknown_frame'));
  });

  // RabbitMQ's reader crashes on these and drops the socket without a frame (see docs/compatibility.md).
  test.each([
    ['an unknown field type', table(ss('k'), Buffer.from('Z'))],
    ['a key longer than the table', Buffer.concat([u32(3), Buffer.from([5]), Buffer.from('ab')])],
  ])('inside a well-framed table, %s: 501 cannot decode as well', async (_name, args) => {
    const payload = declare('frontdoor-q4', args, 8);
    const r = await reply(payload);
    expect(r).toEqual(close(501, `FRAME_ERROR - cannot decode <<${[...payload.subarray(4)].join(',')}>>`, 50, 10));
  });
});

describe.concurrent('invalid UTF-8 in a short string', () => {
  const MALFORMED = close(501, 'FRAME_ERROR - Malformed UTF-8 in shortstr');
  test.each([
    ['queue.declare (queue)', declare(BAD, EMPTY_TABLE)],
    ['queue.declare passive', method(50, 10, u16(0), ss(Buffer.from([0x66, 0xc3])), Buffer.from([1]), EMPTY_TABLE)],
    ['exchange.declare (exchange)', method(40, 10, u16(0), ss(Buffer.from([0x66, 0xff])), ss('direct'), Buffer.from([0]), EMPTY_TABLE)],
    ['basic.consume (consumer tag)', method(60, 20, u16(0), ss('frontdoor-nonexist'), ss(Buffer.from([0xff])), Buffer.from([0]), EMPTY_TABLE)],
    ['queue.delete (queue)', method(50, 40, u16(0), ss(Buffer.from([0xff])), Buffer.from([0]))],
    ['queue.bind (routing key)', method(50, 20, u16(0), ss('frontdoor-nq'), ss('amq.direct'), ss(BAD), Buffer.from([0]), EMPTY_TABLE)],
    ['a surrogate (ED A0 80)', declare(Buffer.from([0x61, 0xed, 0xa0, 0x80]), EMPTY_TABLE)],
    ['an overlong encoding (C0 AF)', declare(Buffer.from([0xc0, 0xaf]), EMPTY_TABLE)],
    ['a 4-byte sequence cut short', declare(Buffer.from([0x61, 0xf0, 0x90, 0x80]), EMPTY_TABLE)],
  ])('%s: 501 Malformed UTF-8 in shortstr, class 0 method 0', async (_name, payload) => {
    expect(await reply(payload)).toEqual(MALFORMED);
  });

  test('two different invalid names no longer collapse into one queue: both are refused', async () => {
    expect(await reply(declare(Buffer.from([0x71, 0xff]), EMPTY_TABLE))).toEqual(MALFORMED);
    expect(await reply(declare(Buffer.from([0x71, 0xfe]), EMPTY_TABLE))).toEqual(MALFORMED);
    expect(b.broker.vhosts.get('/')!.queues.has('q\uFFFD')).toBe(false);
  });

  test('connection.open (virtual host): the connection method is named', async () => {
    const c = await RawClient.connect(b.port);
    await c.handshake({ vhost: null });
    c.sendFrame(FRAME_METHOD, 0, method(10, 40, ss(Buffer.from([0xff])), ss(''), Buffer.from([0])));
    expect(await c.nextReply()).toEqual(close(501, 'FRAME_ERROR - Malformed UTF-8 in shortstr', 10, 40));
    c.destroy();
  });

  test('valid multi-byte names are accepted', async () => {
    const c = await RawClient.open(b.port);
    await c.openChannel(1);
    c.sendFrame(FRAME_METHOD, 1, declare('café-€-😀', EMPTY_TABLE, 8));
    expect(await c.nextReply()).toMatchObject({ method: 'QueueDeclareOk', queue: 'café-€-😀' });
    await c.close();
  });

  test('not checked, as in RabbitMQ: basic.publish routing keys, field-table keys and values, content properties', async () => {
    const c = await RawClient.open(b.port);
    await c.openChannel(1);
    c.sendFrame(FRAME_METHOD, 1, declare('frontdoor-q2', table(ss(Buffer.from([0xff, 0xfe])), Buffer.from('S'), u32(0)), 8));
    expect(await c.nextReply()).toMatchObject({ method: 'QueueDeclareOk', queue: 'frontdoor-q2' });
    c.sendFrame(FRAME_METHOD, 1, declare('frontdoor-q3', table(ss('x-a'), Buffer.from('S'), u32(1), Buffer.from([0xff])), 8));
    expect(await c.nextReply()).toMatchObject({ method: 'QueueDeclareOk', queue: 'frontdoor-q3' });
    c.sendFrame(FRAME_METHOD, 1, method(60, 40, u16(0), ss(''), ss(BAD), Buffer.from([0])));
    c.sendFrame(FRAME_HEADER, 1, Buffer.concat([u16(60), u16(0), u32(0), u32(0), u16(0x8000), ss(Buffer.from([0xff]))]));
    c.sendMethod(1, { id: M.BasicQos, prefetchSize: 0, prefetchCount: 1, global: false });
    expect(await c.nextReply()).toEqual({ method: 'BasicQosOk', channel: 1 });
    await c.close();
  });
});
