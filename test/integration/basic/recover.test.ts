// basic.recover: requeue=true redelivers unacked messages; requeue=false is not implemented.
import type { GetMessage } from 'amqplib';
import { describe, expect, test } from 'vitest';
import { ID, Inbox, drain, outcome, seen, sleep, useBroker, within } from '../../helpers/basic.js';

const env = useBroker();

describe('basic.recover', () => {
  test('requeue=true puts unacked basic.get messages back in their places, redelivered=true; tags keep counting', async () => {
    const c = await env.connect();
    const ch = await c.channel();
    const q = await ch.queue();
    ch.publishAll(q, ['a', 'b', 'c', 'd', 'e']);
    await ch.readyWhen(q, 5);
    const got: GetMessage[] = [];
    for (let i = 0; i < 3; i++) got.push((await ch.ch.get(q)) as GetMessage);
    ch.ch.ack(got[1]!);
    expect(await ch.ch.recover()).toEqual({});
    expect(await drain(ch.ch, q)).toEqual([
      { body: 'a', deliveryTag: 4, redelivered: true, messageCount: 3 },
      { body: 'c', deliveryTag: 5, redelivered: true, messageCount: 2 },
      { body: 'd', deliveryTag: 6, redelivered: false, messageCount: 1 },
      { body: 'e', deliveryTag: 7, redelivered: false, messageCount: 0 },
    ]);
  });

  test('with a consumer: recover-ok, then the unacked messages come again, in order, redelivered, with new tags', async () => {
    const c = await env.connect();
    const ch = await c.channel();
    const q = await ch.queue();
    await ch.ch.prefetch(3);
    const inbox = new Inbox();
    await ch.ch.consume(q, inbox.handler, { consumerTag: 'c1' });
    ch.publishAll(q, ['a', 'b', 'c', 'd', 'e']);
    await inbox.waitFor(3);
    ch.ch.ack(inbox.messages[1]!); // b; frees a slot, so d comes
    await inbox.waitFor(4);
    await ch.ch.recover();
    await inbox.waitFor(7);
    await sleep(30);
    expect(inbox.messages.map(seen)).toEqual([
      { body: 'a', deliveryTag: 1, redelivered: false },
      { body: 'b', deliveryTag: 2, redelivered: false },
      { body: 'c', deliveryTag: 3, redelivered: false },
      { body: 'd', deliveryTag: 4, redelivered: false },
      { body: 'a', deliveryTag: 5, redelivered: true },
      { body: 'c', deliveryTag: 6, redelivered: true },
      { body: 'd', deliveryTag: 7, redelivered: true },
    ]);
    expect(ch.methods('BasicDeliver', 'BasicRecoverOk').map((f) => `${f.name}:${f.fields['deliveryTag'] ?? ''}`)).toEqual([
      'BasicDeliver:1',
      'BasicDeliver:2',
      'BasicDeliver:3',
      'BasicDeliver:4',
      'BasicRecoverOk:',
      'BasicDeliver:5',
      'BasicDeliver:6',
      'BasicDeliver:7',
    ]);
    // The old tags are gone.
    ch.ch.ack(inbox.messages[0]!);
    expect(await within(ch.closedByServer, 'channel.close')).toEqual({
      code: 406,
      text: 'PRECONDITION_FAILED - unknown delivery tag 1',
      classId: 60,
      methodId: 80,
    });
  });

  test('recover with nothing unacked just answers recover-ok', async () => {
    const c = await env.connect();
    const ch = await c.channel();
    const q = await ch.queue();
    ch.publishAll(q, ['x']);
    await ch.readyWhen(q, 1);
    expect(await ch.ch.recover()).toEqual({});
    await sleep(30);
    expect(ch.methods().map((f) => f.name).filter((n) => n !== 'QueueDeclareOk')).toEqual(['BasicRecoverOk']);
    expect(await drain(ch.ch, q)).toEqual([{ body: 'x', deliveryTag: 1, redelivered: false, messageCount: 0 }]);
  });

  test('requeue=false closes the connection: 540 NOT_IMPLEMENTED - requeue=false (basic.recover)', async () => {
    const c = await env.connect();
    const ch = await c.channel();
    const reply = outcome(ch.rpc(ID.BasicRecover, { requeue: false }, ID.BasicRecoverOk));
    expect(await within(c.closedByServer, 'connection.close')).toEqual({
      code: 540,
      text: 'NOT_IMPLEMENTED - requeue=false',
      classId: 60,
      methodId: 110,
    });
    expect((await reply).rejected).toBe(true);
    expect(ch.methods('BasicRecoverOk')).toEqual([]);
    expect(c.errors.map((e) => e.message)).toEqual(['Connection closed: 540 (NOT-IMPLEMENTED) with message "NOT_IMPLEMENTED - requeue=false"']);
  });

  test('requeue=false with unacked messages: they go back to the queue when the connection dies', async () => {
    const observer = await env.connect();
    const och = await observer.channel();
    const q = await och.queue({ exclusive: false });
    och.publishAll(q, ['1', '2', '3']);
    await och.readyWhen(q, 3);

    const c = await env.connect();
    const ch = await c.channel();
    const m = await ch.ch.get(q);
    expect(m && m.content.toString()).toBe('1');
    const reply = outcome(ch.rpc(ID.BasicRecover, { requeue: false }, ID.BasicRecoverOk));
    expect((await within(c.closedByServer, 'connection.close')).code).toBe(540);
    expect((await reply).rejected).toBe(true);
    expect(await och.readyWhen(q, 3)).toBe(3);
    expect(await drain(och.ch, q)).toEqual([
      { body: '1', deliveryTag: 1, redelivered: true, messageCount: 2 },
      { body: '2', deliveryTag: 2, redelivered: false, messageCount: 1 },
      { body: '3', deliveryTag: 3, redelivered: false, messageCount: 0 },
    ]);
    await och.ch.deleteQueue(q);
  });
});
