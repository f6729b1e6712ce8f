// Unacked messages on channel and connection close; channel.flow.
import type { GetMessage } from 'amqplib';
import { describe, expect, test } from 'vitest';
import { ID, Inbox, drain, outcome, useBroker, within } from '../../helpers/basic.js';

const env = useBroker();

async function get(ch: { get(q: string): Promise<GetMessage | false> }, q: string): Promise<GetMessage> {
  const m = await ch.get(q);
  if (m === false) throw new Error('queue ran dry');
  return m;
}

describe('closing with unacked messages', () => {
  test('closing channels requeues their unacked messages with redelivered=true, each in its original place', async () => {
    const c = await env.connect();
    const ch0 = await c.channel();
    const ch1 = await c.channel();
    const ch2 = await c.channel();
    const q = await ch0.queue();
    ch0.publishAll(q, ['1', '2', '3', '4', '5', '6']);
    await ch0.readyWhen(q, 6);
    // ch1 holds 1 and 3, ch2 holds 2 and 4.
    expect((await get(ch1.ch, q)).content.toString()).toBe('1');
    expect((await get(ch2.ch, q)).content.toString()).toBe('2');
    expect((await get(ch1.ch, q)).content.toString()).toBe('3');
    expect((await get(ch2.ch, q)).content.toString()).toBe('4');
    await ch2.ch.close();
    expect(await ch0.readyWhen(q, 4)).toBe(4);
    await ch1.ch.close();
    expect(await drain(ch0.ch, q)).toEqual([
      { body: '1', deliveryTag: 1, redelivered: true, messageCount: 5 },
      { body: '2', deliveryTag: 2, redelivered: true, messageCount: 4 },
      { body: '3', deliveryTag: 3, redelivered: true, messageCount: 3 },
      { body: '4', deliveryTag: 4, redelivered: true, messageCount: 2 },
      { body: '5', deliveryTag: 5, redelivered: false, messageCount: 1 },
      { body: '6', deliveryTag: 6, redelivered: false, messageCount: 0 },
    ]);
  });

  test("closing a consumer's channel requeues what it held (acked ones excepted) ahead of the ready messages", async () => {
    const c = await env.connect();
    const ch0 = await c.channel();
    const ch1 = await c.channel();
    const q = await ch0.queue();
    await ch1.ch.prefetch(4);
    const inbox = new Inbox();
    await ch1.ch.consume(q, inbox.handler);
    ch0.publishAll(q, ['1', '2', '3', '4', '5', '6']);
    await inbox.waitFor(4);
    ch1.ch.ack(inbox.messages[1]!); // 2; makes room for 5
    await inbox.waitFor(5);
    expect(inbox.bodies).toEqual(['1', '2', '3', '4', '5']);
    await ch1.ch.close();
    expect(await drain(ch0.ch, q)).toEqual([
      { body: '1', deliveryTag: 1, redelivered: true, messageCount: 4 },
      { body: '3', deliveryTag: 2, redelivered: true, messageCount: 3 },
      { body: '4', deliveryTag: 3, redelivered: true, messageCount: 2 },
      { body: '5', deliveryTag: 4, redelivered: true, messageCount: 1 },
      { body: '6', deliveryTag: 5, redelivered: false, messageCount: 0 },
    ]);
  });

  test('closing the connection requeues the unacked messages of all its channels, in order', async () => {
    const observer = await env.connect();
    const och = await observer.channel();
    const q = await och.queue({ exclusive: false });
    och.publishAll(q, ['1', '2', '3', '4', '5', '6']);
    await och.readyWhen(q, 6);

    const c = await env.connect();
    const ch1 = await c.channel();
    const ch2 = await c.channel();
    const m1 = await get(ch1.ch, q);
    const m2 = await get(ch2.ch, q);
    const m3 = await get(ch1.ch, q);
    const m4 = await get(ch2.ch, q);
    expect([m1, m2, m3, m4].map((m) => `${m.content}:${m.fields.deliveryTag}`)).toEqual(['1:1', '2:1', '3:2', '4:2']);
    ch2.ch.ack(m2);
    await ch2.ready(q); // the ack is done before the connection goes
    await c.close();
    expect(await drain(och.ch, q)).toEqual([
      { body: '1', deliveryTag: 1, redelivered: true, messageCount: 4 },
      { body: '3', deliveryTag: 2, redelivered: true, messageCount: 3 },
      { body: '4', deliveryTag: 3, redelivered: true, messageCount: 2 },
      { body: '5', deliveryTag: 4, redelivered: false, messageCount: 1 },
      { body: '6', deliveryTag: 5, redelivered: false, messageCount: 0 },
    ]);
    await och.ch.deleteQueue(q);
  });

  test('a channel closed by a server error requeues its unacked messages too', async () => {
    const c = await env.connect();
    const ch0 = await c.channel();
    const ch1 = await c.channel();
    const q = await ch0.queue();
    ch0.publishAll(q, ['a', 'b']);
    await ch0.readyWhen(q, 2);
    await get(ch1.ch, q);
    await get(ch1.ch, q);
    ch1.ch.ack({ fields: { deliveryTag: 99 } } as GetMessage);
    expect((await within(ch1.closedByServer, 'channel.close')).text).toBe('PRECONDITION_FAILED - unknown delivery tag 99');
    expect(await drain(ch0.ch, q)).toEqual([
      { body: 'a', deliveryTag: 1, redelivered: true, messageCount: 1 },
      { body: 'b', deliveryTag: 2, redelivered: true, messageCount: 0 },
    ]);
  });
});

describe('channel.flow', () => {
  test('flow active=true is answered flow-ok active=true and deliveries go on', async () => {
    const c = await env.connect();
    const ch = await c.channel();
    const q = await ch.queue();
    const inbox = new Inbox();
    await ch.ch.consume(q, inbox.handler, { noAck: true });
    expect(await ch.rpc(ID.ChannelFlow, { active: true }, ID.ChannelFlowOk)).toEqual({ active: true });
    ch.publishAll(q, ['after']);
    await inbox.waitFor(1);
    expect(inbox.bodies).toEqual(['after']);
  });

  test('flow active=false from the client is not implemented: connection.close 540 NOT_IMPLEMENTED - active=false (channel.flow)', async () => {
    const c = await env.connect();
    const ch = await c.channel();
    const reply = outcome(ch.rpc(ID.ChannelFlow, { active: false }, ID.ChannelFlowOk));
    expect(await within(c.closedByServer, 'connection.close')).toEqual({
      code: 540,
      text: 'NOT_IMPLEMENTED - active=false',
      classId: 20,
      methodId: 20,
    });
    expect((await reply).rejected).toBe(true);
    expect(ch.methods('ChannelFlowOk')).toEqual([]);
  });
});
