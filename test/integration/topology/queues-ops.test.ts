// queue.bind / queue.unbind / queue.purge / queue.delete against Warren, asserting RabbitMQ 3.10's behaviour.
import type { ConsumeMessage } from 'amqplib';
import { describe, expect, test } from 'vitest';
import type { RunningBroker } from '../../../server/index.js';
import {
  bodiesIn,
  channelError,
  closedIn,
  drain,
  outcome,
  publishConfirmed,
  sleep,
  tempQueue,
  uniq,
  type Returned,
  type TestConnection,
  useTopologySuite,
  type TopologySuite,
} from '../../helpers/topology.js';

let b: RunningBroker;
let conn: TestConnection;
let ch: TopologySuite['ch'];
let returns: Returned[];
useTopologySuite((s) => ({ b, conn, ch, returns } = s));

const noQueue = (q: string) => `NOT_FOUND - no queue '${q}' in vhost '/'`;
const noExchange = (x: string) => `NOT_FOUND - no exchange '${x}' in vhost '/'`;

describe('queue.bind / queue.unbind', () => {
  test('binding twice is idempotent: one delivery, and one unbind removes it', async () => {
    const x = uniq('qb-twice');
    await ch.assertExchange(x, 'direct', { durable: false });
    const q = await tempQueue(ch);
    await ch.bindQueue(q, x, 'k');
    await ch.bindQueue(q, x, 'k');
    await publishConfirmed(ch, x, 'k', 'once');
    await ch.unbindQueue(q, x, 'k');
    returns.length = 0;
    await publishConfirmed(ch, x, 'k', 'after-unbind', { mandatory: true });
    await sleep(20);
    expect(await bodiesIn(ch, { q })).toEqual({ q: ['once'] });
    expect(returns).toEqual([{ replyCode: 312, replyText: 'NO_ROUTE', exchange: x, routingKey: 'k', body: 'after-unbind', headers: {} }]);
    await ch.deleteExchange(x);
  });

  test('bindings with the same key but different arguments are distinct', async () => {
    const x = uniq('qb-args');
    await ch.assertExchange(x, 'direct', { durable: false });
    const q = await tempQueue(ch);
    await ch.bindQueue(q, x, 'k', { a: 1 });
    await ch.bindQueue(q, x, 'k', { a: 2 });
    await ch.unbindQueue(q, x, 'k', { a: 1 });
    await publishConfirmed(ch, x, 'k', 'still-bound');
    await ch.unbindQueue(q, x, 'k', { a: 2 });
    await publishConfirmed(ch, x, 'k', 'unbound');
    expect(await bodiesIn(ch, { q })).toEqual({ q: ['still-bound'] });
    await ch.deleteExchange(x);
  });

  test('unbinding a binding that does not exist answers unbind-ok', async () => {
    const q = await tempQueue(ch);
    expect(await outcome(conn, (c) => c.unbindQueue(q, 'amq.direct', 'never-bound'))).toEqual({ ok: {} });
  });

  const missing: [string, string, string][] = [
    ['a missing queue', 'qb-missing-queue', 'amq.direct'],
    ['a missing exchange', '', 'qb-missing-exchange'],
    ['both missing', 'qb-missing-queue', 'qb-missing-exchange'],
  ];
  test.each(missing)('unbinding with %s answers unbind-ok', async (_name, queue, exchange) => {
    const q = queue === '' ? await tempQueue(ch) : queue;
    expect(await outcome(conn, (c) => c.unbindQueue(q, exchange, 'k'))).toEqual({ ok: {} });
  });

  test('binding a missing queue closes the channel with 404', async () => {
    expect(await channelError(conn, (c) => c.bindQueue('qb-missing-queue', 'amq.direct', 'k'))).toEqual(
      closedIn('queueBind', 404, noQueue('qb-missing-queue')),
    );
  });

  test('binding to a missing exchange closes the channel with 404', async () => {
    expect(
      await channelError(conn, async (c) => {
        const q = await tempQueue(c);
        await c.bindQueue(q, 'qb-missing-exchange', 'k');
      }),
    ).toEqual(closedIn('queueBind', 404, noExchange('qb-missing-exchange')));
  });

  test('when both are missing the exchange is reported', async () => {
    expect(await channelError(conn, (c) => c.bindQueue('qb-missing-queue', 'qb-missing-exchange', 'k'))).toEqual(
      closedIn('queueBind', 404, noExchange('qb-missing-exchange')),
    );
  });
});

describe('queue.purge', () => {
  test('returns the number of ready messages only; unacked ones stay and are redelivered after the channel closes', async () => {
    const q = uniq('qp-unacked');
    await ch.assertQueue(q, { durable: false });
    for (let i = 0; i < 5; i++) ch.sendToQueue(q, Buffer.from(`m${i}`));
    await ch.waitForConfirms();
    const holder = await conn.createChannel();
    const g1 = await holder.get(q, { noAck: false });
    const g2 = await holder.get(q, { noAck: false });
    expect([g1 && g1.content.toString(), g2 && g2.content.toString()]).toEqual(['m0', 'm1']);
    expect(await ch.purgeQueue(q)).toEqual({ messageCount: 3 });
    expect(await ch.checkQueue(q)).toEqual({ queue: q, messageCount: 0, consumerCount: 0 });
    expect(await ch.purgeQueue(q)).toEqual({ messageCount: 0 });
    await holder.close();
    await sleep(50);
    const back = await drain(ch, q);
    expect(back.map((m) => [m.body, m.redelivered])).toEqual([
      ['m0', true],
      ['m1', true],
    ]);
    await ch.deleteQueue(q);
  });

  test('purging a missing queue closes the channel with 404', async () => {
    expect(await channelError(conn, (c) => c.purgeQueue('qp-missing'))).toEqual(closedIn('queuePurge', 404, noQueue('qp-missing')));
  });
});

describe('queue.delete', () => {
  test('if-empty with ready messages closes the channel with 406 "not empty"', async () => {
    const q = uniq('qd-ifempty');
    await ch.assertQueue(q, { durable: false });
    ch.sendToQueue(q, Buffer.from('x'));
    await ch.waitForConfirms();
    expect(await channelError(conn, (c) => c.deleteQueue(q, { ifEmpty: true }))).toEqual(
      closedIn('queueDelete', 406, `PRECONDITION_FAILED - queue '${q}' in vhost '/' not empty`),
    );
    expect(await ch.checkQueue(q)).toEqual({ queue: q, messageCount: 1, consumerCount: 0 });
    await ch.deleteQueue(q);
  });

  test('if-unused with a consumer closes the channel with 406 "in use"', async () => {
    const q = uniq('qd-ifunused');
    await ch.assertQueue(q, { durable: false });
    const c = await conn.createChannel();
    await c.consume(q, () => {});
    expect(await channelError(conn, (x) => x.deleteQueue(q, { ifUnused: true }))).toEqual(
      closedIn('queueDelete', 406, `PRECONDITION_FAILED - queue '${q}' in vhost '/' in use`),
    );
    await c.close();
    await ch.deleteQueue(q);
  });

  test('if-unused and if-empty both failing report "not empty"', async () => {
    const q = uniq('qd-both');
    await ch.assertQueue(q, { durable: false });
    ch.sendToQueue(q, Buffer.from('x'));
    await ch.waitForConfirms();
    const c = await conn.createChannel();
    await c.prefetch(1);
    ch.sendToQueue(q, Buffer.from('y'));
    await ch.waitForConfirms();
    await c.consume(q, () => {});
    await sleep(20);
    expect(await channelError(conn, (x) => x.deleteQueue(q, { ifUnused: true, ifEmpty: true }))).toEqual(
      closedIn('queueDelete', 406, `PRECONDITION_FAILED - queue '${q}' in vhost '/' not empty`),
    );
    await c.close();
    await ch.deleteQueue(q);
  });

  test('if-empty counts ready messages only: a queue holding just unacked messages is deleted', async () => {
    const q = uniq('qd-unacked');
    await ch.assertQueue(q, { durable: false });
    ch.sendToQueue(q, Buffer.from('u'));
    await ch.waitForConfirms();
    const c = await conn.createChannel();
    const got = await c.get(q, { noAck: false });
    expect(got && got.content.toString()).toBe('u');
    expect(await outcome(conn, (x) => x.deleteQueue(q, { ifEmpty: true }))).toEqual({ ok: { messageCount: 0 } });
    expect(await outcome(conn, (x) => x.checkQueue(q))).toEqual({ closed: closedIn('queueDeclare', 404, noQueue(q)) });
    await c.close();
  });

  test("returns the ready message count and cancels the queue's consumers (basic.cancel → callback with null)", async () => {
    const q = uniq('qd-cancel');
    await ch.assertQueue(q, { durable: false });
    ch.sendToQueue(q, Buffer.from('1'));
    ch.sendToQueue(q, Buffer.from('2'));
    ch.sendToQueue(q, Buffer.from('3'));
    await ch.waitForConfirms();
    const c = await conn.createChannel();
    await c.prefetch(1);
    const seen: (string | null)[] = [];
    const cancelled: string[] = [];
    c.on('cancel', (f: { consumerTag: string }) => cancelled.push(f.consumerTag));
    const gotNull = new Promise<void>((resolve) => {
      void c.consume(q, (m: ConsumeMessage | null) => {
        seen.push(m === null ? null : m.content.toString());
        if (m === null) resolve();
      }, { consumerTag: 'qd-consumer' });
    });
    await sleep(50);
    expect(await ch.deleteQueue(q)).toEqual({ messageCount: 2 });
    await Promise.race([gotNull, sleep(2000)]);
    expect(seen).toEqual(['1', null]);
    expect(await outcome(conn, (x) => x.checkQueue(q))).toEqual({ closed: closedIn('queueDeclare', 404, noQueue(q)) });
    // the channel of the cancelled consumer stays open
    expect(await c.assertQueue('', { exclusive: true })).toEqual({ queue: expect.stringMatching(/^amq\.gen-/), messageCount: 0, consumerCount: 0 });
    await c.close();
  });

  test('deleting a missing queue answers delete-ok with 0, whatever the flags', async () => {
    expect(await outcome(conn, (c) => c.deleteQueue('qd-missing'))).toEqual({ ok: { messageCount: 0 } });
    expect(await outcome(conn, (c) => c.deleteQueue('qd-missing', { ifEmpty: true, ifUnused: true }))).toEqual({ ok: { messageCount: 0 } });
  });

  test('deleting a queue removes its bindings', async () => {
    const x = uniq('qd-bindings');
    await ch.assertExchange(x, 'direct', { durable: false });
    const q = uniq('qd-bound');
    await ch.assertQueue(q, { durable: false });
    await ch.bindQueue(q, x, 'k');
    await ch.deleteQueue(q);
    await ch.assertQueue(q, { durable: false });
    await publishConfirmed(ch, x, 'k', 'after-redeclare');
    expect(await bodiesIn(ch, { q })).toEqual({ q: [] });
    await ch.deleteQueue(q);
    await ch.deleteExchange(x);
  });

  test('basic.consume and basic.get on a missing queue close the channel with 404', async () => {
    expect(await channelError(conn, (c) => c.consume('qd-missing', () => {}))).toEqual(closedIn('basicConsume', 404, noQueue('qd-missing')));
    expect(await channelError(conn, (c) => c.get('qd-missing'))).toEqual(closedIn('basicGet', 404, noQueue('qd-missing')));
  });
});
