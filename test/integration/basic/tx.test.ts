// Transactions: tx.select / commit / rollback over publishes and acks.
import type { ConsumeMessage, GetMessage, Message } from 'amqplib';
import { describe, expect, test } from 'vitest';
import { Inbox, drain, rejection, sleep, useBroker, within } from '../../helpers/basic.js';

const env = useBroker();

async function get(ch: { get(q: string): Promise<GetMessage | false> }, q: string): Promise<GetMessage> {
  const m = await ch.get(q);
  if (m === false) throw new Error('queue ran dry');
  return m;
}

describe('transactional publishes', () => {
  test('published messages are invisible until commit, to basic.get and to consumers alike', async () => {
    const c = await env.connect();
    const tx = await c.channel();
    const watcher = await c.channel();
    const q = await tx.queue();
    const q2 = await tx.queue();
    const inbox = new Inbox();
    await watcher.ch.consume(q2, inbox.handler, { noAck: true });
    expect(await tx.txSelect()).toEqual({});
    tx.publishAll(q, ['1', '2', '3']);
    tx.publishAll(q2, ['x', 'y']);
    await sleep(50);
    expect(await watcher.ready(q)).toBe(0);
    expect(await watcher.ch.get(q)).toBe(false);
    expect(inbox.bodies).toEqual([]);
    expect(await tx.txCommit()).toEqual({});
    expect(await watcher.readyWhen(q, 3)).toBe(3);
    await inbox.waitFor(2);
    expect(inbox.bodies).toEqual(['x', 'y']);
    // Tags 1 and 2 went to the consumer's x and y.
    expect(await drain(watcher.ch, q)).toEqual([
      { body: '1', deliveryTag: 3, redelivered: false, messageCount: 2 },
      { body: '2', deliveryTag: 4, redelivered: false, messageCount: 1 },
      { body: '3', deliveryTag: 5, redelivered: false, messageCount: 0 },
    ]);
  });

  test('rollback discards the publishes of the transaction; the channel stays transactional', async () => {
    const c = await env.connect();
    const tx = await c.channel();
    const q = await tx.queue();
    await tx.txSelect();
    tx.publishAll(q, ['gone-1', 'gone-2']);
    expect(await tx.txRollback()).toEqual({});
    expect(await tx.txCommit()).toEqual({});
    await sleep(30);
    expect(await tx.ready(q)).toBe(0);
    tx.publishAll(q, ['kept']);
    expect(await tx.ready(q)).toBe(0);
    await tx.txCommit();
    expect(await tx.readyWhen(q, 1)).toBe(1);
    expect(await drain(tx.ch, q)).toEqual([{ body: 'kept', deliveryTag: 1, redelivered: false, messageCount: 0 }]);
  });

  test('closing a channel with an open transaction discards its publishes', async () => {
    const c = await env.connect();
    const tx = await c.channel();
    const other = await c.channel();
    const q = await tx.queue();
    await tx.txSelect();
    tx.publishAll(q, ['1', '2', '3']);
    await tx.ch.close();
    await sleep(30);
    expect(await other.ready(q)).toBe(0);
  });

  test('a mandatory unroutable publish is returned at commit, before commit-ok, not at publish time', async () => {
    const c = await env.connect();
    const tx = await c.channel();
    const q = await tx.queue();
    const returned: Message[] = [];
    tx.ch.on('return', (m: Message) => returned.push(m));
    await tx.txSelect();
    tx.ch.publish('amq.direct', 'nowhere', Buffer.from('back'), { mandatory: true });
    tx.publishAll(q, ['in']);
    await sleep(50);
    await tx.ready(q);
    expect(returned).toEqual([]);
    await tx.txCommit();
    expect(returned.map((m) => [m.fields, m.content.toString()])).toEqual([
      [{ replyCode: 312, replyText: 'NO_ROUTE', exchange: 'amq.direct', routingKey: 'nowhere' }, 'back'],
    ]);
    const names = tx.methods('BasicReturn', 'TxCommitOk').map((f) => f.name);
    expect(names).toEqual(['BasicReturn', 'TxCommitOk']);
    expect(await tx.readyWhen(q, 1)).toBe(1);
  });

  test('tx.select twice is harmless', async () => {
    const c = await env.connect();
    const tx = await c.channel();
    expect(await tx.txSelect()).toEqual({});
    expect(await tx.txSelect()).toEqual({});
    expect(await tx.txCommit()).toEqual({});
  });
});

describe('transactional acks', () => {
  test('acks take effect only at commit', async () => {
    const c = await env.connect();
    const tx = await c.channel();
    const other = await c.channel();
    const q = await other.queue();
    other.publishAll(q, ['a', 'b', 'c']);
    await other.readyWhen(q, 3);
    await tx.txSelect();
    const a = await get(tx.ch, q);
    await get(tx.ch, q);
    tx.ch.ack(a);
    await tx.txCommit();
    await tx.ch.close();
    expect(await drain(other.ch, q)).toEqual([
      { body: 'b', deliveryTag: 1, redelivered: true, messageCount: 1 },
      { body: 'c', deliveryTag: 2, redelivered: false, messageCount: 0 },
    ]);
  });

  test('rollback restores acked, nacked and rejected messages as unacked, so closing the channel redelivers them', async () => {
    const c = await env.connect();
    const tx = await c.channel();
    const other = await c.channel();
    const q = await other.queue();
    other.publishAll(q, ['a', 'b', 'c', 'd']);
    await other.readyWhen(q, 4);
    await tx.txSelect();
    const a = await get(tx.ch, q);
    const b = await get(tx.ch, q);
    const cc = await get(tx.ch, q);
    tx.ch.ack(a);
    tx.ch.nack(b, false, false);
    tx.ch.reject(cc, true);
    expect(await tx.ready(q)).toBe(1);
    await tx.txRollback();
    expect(await tx.ready(q)).toBe(1);
    await tx.ch.close();
    expect(await drain(other.ch, q)).toEqual([
      { body: 'a', deliveryTag: 1, redelivered: true, messageCount: 3 },
      { body: 'b', deliveryTag: 2, redelivered: true, messageCount: 2 },
      { body: 'c', deliveryTag: 3, redelivered: true, messageCount: 1 },
      { body: 'd', deliveryTag: 4, redelivered: false, messageCount: 0 },
    ]);
  });

  test('after a rollback the restored tags can be settled again and committed', async () => {
    const c = await env.connect();
    const tx = await c.channel();
    const other = await c.channel();
    const q = await other.queue();
    other.publishAll(q, ['a', 'b', 'c']);
    await other.readyWhen(q, 3);
    await tx.txSelect();
    const a = await get(tx.ch, q);
    const b = await get(tx.ch, q);
    const cc = await get(tx.ch, q);
    tx.ch.ack(a);
    tx.ch.nack(b, false, false);
    await tx.txRollback();
    tx.ch.ack(b);
    tx.ch.reject(cc, true);
    await tx.txCommit();
    expect(await tx.readyWhen(q, 1)).toBe(1);
    await tx.ch.close();
    expect(await drain(other.ch, q)).toEqual([
      { body: 'a', deliveryTag: 1, redelivered: true, messageCount: 1 },
      { body: 'c', deliveryTag: 2, redelivered: true, messageCount: 0 },
    ]);
  });

  test('an ack inside a transaction removes the tag at once: acking it twice is 406 unknown delivery tag', async () => {
    const c = await env.connect();
    const tx = await c.channel();
    const q = await tx.queue();
    tx.publishAll(q, ['a']);
    await tx.readyWhen(q, 1);
    await tx.txSelect();
    const a = await get(tx.ch, q);
    tx.ch.ack(a);
    tx.ch.ack(a);
    expect(await within(tx.closedByServer, 'channel.close')).toEqual({
      code: 406,
      text: 'PRECONDITION_FAILED - unknown delivery tag 1',
      classId: 60,
      methodId: 80,
    });
  });

  test.each([
    ['per-consumer', false],
    ['global', true],
  ] as const)('an uncommitted ack does not free %s prefetch; the commit does', async (_kind, global) => {
    const c = await env.connect();
    const tx = await c.channel();
    const other = await c.channel();
    const q = await tx.queue();
    await tx.ch.prefetch(1, global);
    await tx.txSelect();
    const held: ConsumeMessage[] = [];
    await tx.ch.consume(q, (m) => m && held.push(m), { consumerTag: 'A' });
    tx.publishAll(q, ['1', '2', '3']);
    await tx.txCommit();
    for (let i = 0; i < 50 && held.length < 1; i++) await sleep(10);
    tx.ch.ack(held[0]!);
    await tx.ready(q);
    // A fresh publish (from another channel) makes the queue try to dispatch again.
    other.publishAll(q, ['4']);
    await sleep(60);
    expect(held.map((m) => m.content.toString())).toEqual(['1']);
    expect(await tx.readyWhen(q, 3)).toBe(3);
    await tx.txCommit();
    for (let i = 0; i < 50 && held.length < 2; i++) await sleep(10);
    await sleep(30);
    expect(held.map((m) => m.content.toString())).toEqual(['1', '2']);
  });

});

describe('tx errors', () => {
  test('tx.commit without tx.select: 406 PRECONDITION_FAILED - channel is not transactional (tx.commit)', async () => {
    const c = await env.connect();
    const ch = await c.channel();
    await rejection(ch.txCommit());
    expect(await within(ch.closedByServer, 'channel.close')).toEqual({
      code: 406,
      text: 'PRECONDITION_FAILED - channel is not transactional',
      classId: 90,
      methodId: 20,
    });
  });

  test('tx.rollback without tx.select: 406 PRECONDITION_FAILED - channel is not transactional (tx.rollback)', async () => {
    const c = await env.connect();
    const ch = await c.channel();
    await rejection(ch.txRollback());
    expect(await within(ch.closedByServer, 'channel.close')).toEqual({
      code: 406,
      text: 'PRECONDITION_FAILED - channel is not transactional',
      classId: 90,
      methodId: 30,
    });
  });

  test('tx.select on a confirm channel: 406 PRECONDITION_FAILED - cannot switch from confirm to tx mode', async () => {
    const c = await env.connect();
    const ch = await c.channel();
    await ch.confirmSelect();
    await rejection(ch.txSelect());
    expect(await within(ch.closedByServer, 'channel.close')).toEqual({
      code: 406,
      text: 'PRECONDITION_FAILED - cannot switch from confirm to tx mode',
      classId: 90,
      methodId: 10,
    });
  });
});
