// basic.ack / basic.nack / basic.reject: single and multiple, requeue, unknown tags, requeue positions.
import type { GetMessage, Message } from 'amqplib';
import { describe, expect, test } from 'vitest';
import { type Chan, drain, useBroker, within } from '../../helpers/basic.js';

const env = useBroker();

/** A queue holding `bodies`, and `n` of them taken with basic.get (ack mode) on ch: tags 1..n. */
async function taken(ch: Chan, bodies: string[], n: number): Promise<{ q: string; got: GetMessage[] }> {
  const q = await ch.queue();
  ch.publishAll(q, bodies);
  await ch.readyWhen(q, bodies.length);
  const got: GetMessage[] = [];
  for (let i = 0; i < n; i++) {
    const m = await ch.ch.get(q);
    if (m === false) throw new Error('queue ran dry');
    got.push(m);
  }
  return { q, got };
}

/** A fake message for acking an arbitrary tag. */
function tag(deliveryTag: number): Message {
  return { fields: { deliveryTag } } as Message;
}

describe('ack', () => {
  test('ack settles one message; the others held come back redelivered when the channel closes', async () => {
    const c = await env.connect();
    const ch = await c.channel();
    const other = await c.channel();
    const { q, got } = await taken(ch, ['a', 'b', 'c'], 2);
    ch.ch.ack(got[0]!);
    await ch.ready(q); // round trip: the ack is processed
    await ch.ch.close();
    expect(await drain(other.ch, q)).toEqual([
      { body: 'b', deliveryTag: 1, redelivered: true, messageCount: 1 },
      { body: 'c', deliveryTag: 2, redelivered: false, messageCount: 0 },
    ]);
  });

  test('ack multiple settles every tag up to and including the one given; multiple with tag 0 settles all', async () => {
    const c = await env.connect();
    const ch = await c.channel();
    const { q, got } = await taken(ch, ['1', '2', '3', '4', '5', '6'], 4);
    ch.ch.ack(got[1]!); // 2
    ch.ch.ack(got[2]!, true); // 1 and 3 (2 is already gone)
    ch.ch.ackAll(); // 4
    ch.ch.nackAll(true); // nothing left
    await ch.ready(q);
    expect(ch.serverCloses).toEqual([]);
    expect(await drain(ch.ch, q)).toEqual([
      { body: '5', deliveryTag: 5, redelivered: false, messageCount: 1 },
      { body: '6', deliveryTag: 6, redelivered: false, messageCount: 0 },
    ]);
  });

  test('ack multiple with tag 0 and nothing outstanding is accepted', async () => {
    const c = await env.connect();
    const ch = await c.channel();
    const q = await ch.queue();
    ch.ch.ackAll();
    ch.ch.nackAll(false);
    expect(await ch.ready(q)).toBe(0);
    expect(ch.serverCloses).toEqual([]);
  });

  test('an unknown delivery tag closes the channel: 406 PRECONDITION_FAILED - unknown delivery tag 5 (basic.ack)', async () => {
    const c = await env.connect();
    const ch = await c.channel();
    ch.ch.ack(tag(5));
    expect(await within(ch.closedByServer, 'channel.close')).toEqual({
      code: 406,
      text: 'PRECONDITION_FAILED - unknown delivery tag 5',
      classId: 60,
      methodId: 80,
    });
    expect(ch.errors.map((e) => [e.code, e.classId, e.methodId])).toEqual([[406, 60, 80]]);
  });

  test('acking the same tag twice: 406 unknown delivery tag 1', async () => {
    const c = await env.connect();
    const ch = await c.channel();
    const { got } = await taken(ch, ['a'], 1);
    ch.ch.ack(got[0]!);
    ch.ch.ack(got[0]!);
    expect(await within(ch.closedByServer, 'channel.close')).toEqual({
      code: 406,
      text: 'PRECONDITION_FAILED - unknown delivery tag 1',
      classId: 60,
      methodId: 80,
    });
  });

  test('ack of tag 0 without multiple: 406 unknown delivery tag 0', async () => {
    const c = await env.connect();
    const ch = await c.channel();
    await taken(ch, ['a'], 1);
    ch.ch.ack(tag(0));
    expect(await within(ch.closedByServer, 'channel.close')).toEqual({
      code: 406,
      text: 'PRECONDITION_FAILED - unknown delivery tag 0',
      classId: 60,
      methodId: 80,
    });
  });

  test('ack multiple naming an already-acked tag fails and settles nothing else', async () => {
    const c = await env.connect();
    const ch = await c.channel();
    const other = await c.channel();
    const { q, got } = await taken(ch, ['1', '2', '3', '4'], 3);
    ch.ch.ack(got[1]!);
    ch.ch.ack(got[1]!, true);
    expect(await within(ch.closedByServer, 'channel.close')).toEqual({
      code: 406,
      text: 'PRECONDITION_FAILED - unknown delivery tag 2',
      classId: 60,
      methodId: 80,
    });
    expect(await drain(other.ch, q)).toEqual([
      { body: '1', deliveryTag: 1, redelivered: true, messageCount: 2 },
      { body: '3', deliveryTag: 2, redelivered: true, messageCount: 1 },
      { body: '4', deliveryTag: 3, redelivered: false, messageCount: 0 },
    ]);
  });

  test('ack multiple beyond the highest tag fails and settles nothing', async () => {
    const c = await env.connect();
    const ch = await c.channel();
    const other = await c.channel();
    const { q } = await taken(ch, ['1', '2', '3', '4'], 3);
    ch.ch.ack(tag(9), true);
    expect(await within(ch.closedByServer, 'channel.close')).toEqual({
      code: 406,
      text: 'PRECONDITION_FAILED - unknown delivery tag 9',
      classId: 60,
      methodId: 80,
    });
    expect(await drain(other.ch, q)).toEqual([
      { body: '1', deliveryTag: 1, redelivered: true, messageCount: 3 },
      { body: '2', deliveryTag: 2, redelivered: true, messageCount: 2 },
      { body: '3', deliveryTag: 3, redelivered: true, messageCount: 1 },
      { body: '4', deliveryTag: 4, redelivered: false, messageCount: 0 },
    ]);
  });
});

describe('nack and reject', () => {
  test('a requeued message goes back to its original position: nack b then a → a, b, d with redelivered true, true, false', async () => {
    const c = await env.connect();
    const ch = await c.channel();
    const { q, got } = await taken(ch, ['a', 'b', 'c', 'd'], 3);
    const [a, b] = got;
    ch.ch.nack(b!, false, true);
    ch.ch.nack(a!, false, true);
    expect(await drain(ch.ch, q)).toEqual([
      { body: 'a', deliveryTag: 4, redelivered: true, messageCount: 2 },
      { body: 'b', deliveryTag: 5, redelivered: true, messageCount: 1 },
      { body: 'd', deliveryTag: 6, redelivered: false, messageCount: 0 },
    ]);
  });

  test('nack multiple with requeue puts back every tag up to the one given, in order', async () => {
    const c = await env.connect();
    const ch = await c.channel();
    const { q, got } = await taken(ch, ['1', '2', '3', '4', '5', '6'], 5);
    ch.ch.nack(got[2]!, true, true);
    expect(await drain(ch.ch, q)).toEqual([
      { body: '1', deliveryTag: 6, redelivered: true, messageCount: 3 },
      { body: '2', deliveryTag: 7, redelivered: true, messageCount: 2 },
      { body: '3', deliveryTag: 8, redelivered: true, messageCount: 1 },
      { body: '6', deliveryTag: 9, redelivered: false, messageCount: 0 },
    ]);
  });

  test('nack multiple with tag 0 requeues all outstanding', async () => {
    const c = await env.connect();
    const ch = await c.channel();
    const { q, got } = await taken(ch, ['1', '2', '3', '4', '5', '6'], 5);
    ch.ch.ack(got[1]!, true); // 1, 2
    ch.ch.nackAll(true); // 3, 4, 5
    expect(await drain(ch.ch, q)).toEqual([
      { body: '3', deliveryTag: 6, redelivered: true, messageCount: 3 },
      { body: '4', deliveryTag: 7, redelivered: true, messageCount: 2 },
      { body: '5', deliveryTag: 8, redelivered: true, messageCount: 1 },
      { body: '6', deliveryTag: 9, redelivered: false, messageCount: 0 },
    ]);
  });

  test('nack and reject without requeue drop the messages', async () => {
    const c = await env.connect();
    const ch = await c.channel();
    const { q, got } = await taken(ch, ['1', '2', '3', '4', '5', '6'], 5);
    ch.ch.nack(got[3]!, true, false); // 1..4
    ch.ch.reject(got[4]!, false); // 5
    expect(await drain(ch.ch, q)).toEqual([{ body: '6', deliveryTag: 6, redelivered: false, messageCount: 0 }]);
    // They are settled: acking one now is an unknown tag.
    ch.ch.ack(got[0]!);
    expect(await within(ch.closedByServer, 'channel.close')).toEqual({
      code: 406,
      text: 'PRECONDITION_FAILED - unknown delivery tag 1',
      classId: 60,
      methodId: 80,
    });
  });

  test('reject with requeue puts the message back at its position with redelivered=true', async () => {
    const c = await env.connect();
    const ch = await c.channel();
    const { q, got } = await taken(ch, ['x', 'y', 'z'], 2);
    ch.ch.reject(got[1]!, true);
    ch.ch.reject(got[0]!, false);
    expect(await drain(ch.ch, q)).toEqual([
      { body: 'y', deliveryTag: 3, redelivered: true, messageCount: 1 },
      { body: 'z', deliveryTag: 4, redelivered: false, messageCount: 0 },
    ]);
  });

  test('a requeued message goes to the front for a consumer too, ahead of messages never delivered', async () => {
    const c = await env.connect();
    const ch = await c.channel();
    const q = await ch.queue();
    await ch.ch.prefetch(1);
    const log: string[] = [];
    let first = true;
    await ch.ch.consume(
      q,
      (m) => {
        if (m === null) return;
        log.push(`${m.content}:${m.fields.deliveryTag}:${m.fields.redelivered ? 'R' : '-'}`);
        if (first) {
          first = false;
          ch.ch.nack(m, false, true);
        } else {
          ch.ch.ack(m);
        }
      },
      { consumerTag: 'A' },
    );
    ch.publishAll(q, ['1', '2', '3']);
    for (let i = 0; i < 100 && log.length < 4; i++) await new Promise((r) => setTimeout(r, 10));
    expect(log).toEqual(['1:1:-', '1:2:R', '2:3:-', '3:4:-']);
  });

  test('nack of an unknown tag: 406 (basic.nack); reject of an unknown tag: 406 (basic.reject)', async () => {
    const c = await env.connect();
    const ch1 = await c.channel();
    const ch2 = await c.channel();
    ch1.ch.nack(tag(7), false, true);
    ch2.ch.reject(tag(7), false);
    expect(await within(ch1.closedByServer, 'channel.close')).toEqual({
      code: 406,
      text: 'PRECONDITION_FAILED - unknown delivery tag 7',
      classId: 60,
      methodId: 120,
    });
    expect(await within(ch2.closedByServer, 'channel.close')).toEqual({
      code: 406,
      text: 'PRECONDITION_FAILED - unknown delivery tag 7',
      classId: 60,
      methodId: 90,
    });
  });
});
