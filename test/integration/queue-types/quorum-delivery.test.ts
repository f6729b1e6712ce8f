// Quorum queues: delivery counts, the delivery limit, where returned messages go, and the
// consumer rules that differ from classic queues. Each expectation was observed on
// RabbitMQ 3.10.8; WARREN_REFERENCE_URL=amqp://... runs this file against one.
import { describe, expect, test } from 'vitest';
import type { Channel, ConsumeMessage } from 'amqplib';
import {
  bodies,
  drain,
  expectDeadLetterHeaders,
  expectDeath,
  lastDeath,
  nextServerClose,
  passive,
  sleep,
  waitUntil,
} from '../../helpers/queue-features.js';
import { drainTagged, durableQueue, getOne, publishAll, qname, quorum, settle, tagged, useQuorumBroker } from '../../helpers/quorum.js';

const broker = useQuorumBroker();

async function fresh(): Promise<{ ch: Channel; pub: import('amqplib').ConfirmChannel }> {
  const conn = await broker.connect();
  return { ch: await conn.createChannel(), pub: await conn.createConfirmChannel() };
}

/** A quorum queue dead-lettering to a classic queue through the default exchange. */
async function withDlq(ch: Channel, args: Record<string, unknown>): Promise<{ q: string; dlq: string }> {
  const q = qname();
  const dlq = await durableQueue(ch, `${q}.dlq`);
  await quorum(ch, q, { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dlq, ...args });
  return { q, dlq };
}

describe.concurrent('x-delivery-count and x-delivery-limit', () => {
  test('basic.get shows x-delivery-count 0, 1, 2 and redelivered false, true, true; the third return dead-letters with reason delivery_limit', async () => {
    const { ch, pub } = await fresh();
    const { q, dlq } = await withDlq(ch, { 'x-delivery-limit': 2 });
    await publishAll(pub, q, ['m1'], { headers: { b: 1, a: 'x' } });
    const seen: string[] = [];
    for (let i = 0; i < 3; i++) {
      const m = await getOne(ch, q);
      seen.push(tagged(m));
      // The header joins the others, sorted by name.
      expect(Object.keys(m.properties.headers!)).toEqual(['a', 'b', 'x-delivery-count']);
      ch.nack(m, false, true);
      await settle();
    }
    expect(seen).toEqual(['m1:0', 'm1*:1', 'm1*:2']);
    expect(await ch.get(q)).toBe(false);
    const [dead] = await drain(ch, dlq);
    expect(dead!.fields.redelivered).toBe(false);
    // The dead letter carries the message as published: no x-delivery-count.
    const deaths = expectDeadLetterHeaders(dead!.properties.headers, {
      a: 'x',
      b: 1,
      'x-first-death-exchange': '',
      'x-first-death-queue': q,
      'x-first-death-reason': 'delivery_limit',
      ...lastDeath('delivery_limit', q, ''),
    });
    expect(deaths).toHaveLength(1);
    expectDeath(deaths[0], { count: 1, reason: 'delivery_limit', queue: q, exchange: '', 'routing-keys': [q] }, { sorted: false });
  });

  test('a consumer sees no x-delivery-count on a first delivery, then 1, 2 once the message came back', async () => {
    const { ch, pub } = await fresh();
    const { q, dlq } = await withDlq(ch, { 'x-delivery-limit': 2 });
    await publishAll(pub, q, ['m1']);
    const got: string[] = [];
    await ch.consume(q, (m) => {
      got.push(tagged(m!));
      ch.nack(m!, false, true);
    });
    const other = await broker.connect();
    await waitUntil('three deliveries and a dead letter', async () => got.length === 3 && ((await passive(other, dlq)) as { messageCount: number }).messageCount === 1);
    expect(got).toEqual(['m1', 'm1*:1', 'm1*:2']);
  });

  test('a limit of 0 dead-letters at the first return; so does a negative one', async () => {
    const { ch, pub } = await fresh();
    for (const limit of [0, -1]) {
      const { q, dlq } = await withDlq(ch, { 'x-delivery-limit': limit });
      await publishAll(pub, q, ['m']);
      ch.nack(await getOne(ch, q), false, true);
      await settle();
      expect(await ch.get(q)).toBe(false);
      expect(bodies(await drain(ch, dlq))).toEqual(['m']);
    }
  });

  test('a limit that is not a number never dead-letters (RabbitMQ does not validate it)', async () => {
    const { ch, pub } = await fresh();
    const { q, dlq } = await withDlq(ch, { 'x-delivery-limit': 'two' });
    await publishAll(pub, q, ['m']);
    for (let i = 0; i < 3; i++) {
      ch.nack(await getOne(ch, q), false, true);
      await settle();
    }
    expect(await drainTagged(ch, q)).toEqual(['m*:3']);
    expect(await drain(ch, dlq)).toEqual([]);
  });

  test('a closed channel counts as a return: with a limit of 1 the second close dead-letters both messages', async () => {
    const conn = await broker.connect();
    const pub = await conn.createConfirmChannel();
    const ch = await conn.createChannel();
    const { q, dlq } = await withDlq(ch, { 'x-delivery-limit': 1 });
    await publishAll(pub, q, ['a', 'b']);
    for (let round = 0; round < 2; round++) {
      const c = await conn.createChannel();
      await getOne(c, q);
      await getOne(c, q);
      await c.close();
      await settle();
    }
    expect(await ch.get(q)).toBe(false);
    expect(bodies(await drain(ch, dlq))).toEqual(['a', 'b']);
  });

  test('without a dead-letter exchange a message past its limit is dropped; nack without requeue after a return is reason rejected', async () => {
    const { ch, pub } = await fresh();
    const q = await quorum(ch, qname(), { 'x-delivery-limit': 0 });
    await publishAll(pub, q, ['m']);
    ch.nack(await getOne(ch, q), false, true);
    await settle();
    expect(await passive(await broker.connect(), q)).toEqual({ messageCount: 0, consumerCount: 0 });

    const { q: q2, dlq } = await withDlq(ch, { 'x-delivery-limit': 5 });
    await publishAll(pub, q2, ['r']);
    ch.nack(await getOne(ch, q2), false, true);
    await settle();
    ch.nack(await getOne(ch, q2), false, false);
    await settle();
    const [dead] = await drain(ch, dlq);
    expect(tagged(dead!)).toBe('r');
    expect((dead!.properties.headers!['x-death'] as { reason: string; count: number }[]).map((d) => [d.reason, d.count])).toEqual([['rejected', 1]]);
  });
});

describe.concurrent('where a returned message goes', () => {
  async function fiveGotFour(args: Record<string, unknown>): Promise<{ ch: Channel; q: string; got: import('amqplib').GetMessage[] }> {
    const { ch, pub } = await fresh();
    const q = await quorum(ch, qname(), args);
    await publishAll(pub, q, ['m1', 'm2', 'm3', 'm4', 'm5']);
    const got = [];
    for (let i = 0; i < 4; i++) got.push(await getOne(ch, q));
    return { ch, q, got };
  }

  test('without a delivery limit, a reject or nack sends it to the back, in the order of the returns', async () => {
    const { ch, q, got } = await fiveGotFour({});
    ch.reject(got[2]!, true);
    ch.reject(got[0]!, true);
    ch.nack(got[3]!, false, true);
    await settle();
    expect(await drainTagged(ch, q)).toEqual(['m5:0', 'm3*:1', 'm1*:1', 'm4*:1']);
  });

  test('with a delivery limit, returns go to the front, in the order of the returns', async () => {
    const { ch, q, got } = await fiveGotFour({ 'x-delivery-limit': 10 });
    ch.reject(got[2]!, true);
    ch.reject(got[0]!, true);
    ch.nack(got[3]!, false, true);
    await settle();
    expect(await drainTagged(ch, q)).toEqual(['m3*:1', 'm1*:1', 'm4*:1', 'm5:0']);
  });

  test('nack multiple returns in delivery order', async () => {
    for (const [args, expected] of [
      [{}, ['m5:0', 'm1*:1', 'm2*:1', 'm3*:1']],
      [{ 'x-delivery-limit': 10 }, ['m1*:1', 'm2*:1', 'm3*:1', 'm5:0']],
    ] as const) {
      const { ch, q, got } = await fiveGotFour(args);
      ch.nack(got[2]!, true, true);
      await settle();
      expect(await drainTagged(ch, q)).toEqual(expected);
    }
  });

  test("a closed channel's messages go to the front, limit or not, its basic.get deliveries ordered by their tags as text", async () => {
    for (const args of [{}, { 'x-delivery-limit': 10 }]) {
      const conn = await broker.connect();
      const pub = await conn.createConfirmChannel();
      const q = await quorum(pub, qname(), args);
      await publishAll(pub, q, Array.from({ length: 12 }, (_, i) => `m${i + 1}`));
      const c = await conn.createChannel();
      for (let i = 0; i < 11; i++) await getOne(c, q);
      await c.close();
      await settle();
      expect(await drainTagged(pub, q)).toEqual(['m1*:1', 'm10*:1', 'm11*:1', ...[2, 3, 4, 5, 6, 7, 8, 9].map((i) => `m${i}*:1`), 'm12:0']);
    }
  });

  test('basic.recover returns to the back without a limit and to the front with one', async () => {
    for (const [args, expected] of [
      [{}, ['m4:0', 'm5:0', 'm1*:1', 'm2*:1', 'm3*:1']],
      [{ 'x-delivery-limit': 10 }, ['m1*:1', 'm2*:1', 'm3*:1', 'm4:0', 'm5:0']],
    ] as const) {
      const { ch, pub } = await fresh();
      const q = await quorum(ch, qname(), args);
      await publishAll(pub, q, ['m1', 'm2', 'm3', 'm4', 'm5']);
      await ch.prefetch(3);
      const got: ConsumeMessage[] = [];
      const { consumerTag } = await ch.consume(q, (m) => got.push(m!));
      await waitUntil('three deliveries', () => got.length === 3);
      await ch.cancel(consumerTag);
      await ch.recover();
      await settle();
      expect(await drainTagged(ch, q)).toEqual(expected);
    }
  });
});

describe.concurrent('consumers', () => {
  test('a consumer without prefetch gets at most 2000 unacked messages', async () => {
    const { ch, pub } = await fresh();
    const q = await quorum(ch, qname());
    await publishAll(pub, q, Array.from({ length: 2010 }, (_, i) => String(i)));
    let n = 0;
    await ch.consume(q, () => n++);
    await waitUntil('2000 deliveries', () => n === 2000, 10000);
    await sleep(200);
    expect(n).toBe(2000);
    expect(await passive(await broker.connect(), q)).toEqual({ messageCount: 10, consumerCount: 1 });
  });

  test('single active consumer hands over in arrival order, not by priority; only the active one counts', async () => {
    const { ch, pub } = await fresh();
    const q = await quorum(ch, qname(), { 'x-single-active-consumer': true });
    const got: string[] = [];
    const tags: string[] = [];
    for (const [label, priority] of [['A', 1], ['B', 9], ['C', 5]] as const) {
      tags.push((await ch.consume(q, (m) => got.push(`${label}:${m!.content.toString()}`), { priority })).consumerTag);
    }
    expect(await passive(await broker.connect(), q)).toEqual({ messageCount: 0, consumerCount: 1 });
    await publishAll(pub, q, ['m1']);
    await waitUntil('m1', () => got.length === 1);
    // A, cancelled with m1 unacked, still counts beside B, the new active one.
    await ch.cancel(tags[0]!);
    await publishAll(pub, q, ['m2']);
    await waitUntil('m2', () => got.length === 2);
    expect(got).toEqual(['A:m1', 'B:m2']);
    expect(await passive(await broker.connect(), q)).toEqual({ messageCount: 0, consumerCount: 2 });
  });

  test('basic.get on a single-active-consumer quorum queue is 405', async () => {
    const { ch } = await fresh();
    const q = await quorum(ch, qname(), { 'x-single-active-consumer': true });
    const closed = nextServerClose(ch);
    await ch.get(q).catch(() => {});
    expect(await closed).toEqual({
      code: 405,
      text: `RESOURCE_LOCKED - cannot obtain access to locked queue '${q}' in vhost '/'. basic.get operations are not supported by quorum queues with single active consumer`,
      classId: 60,
      methodId: 70,
    });
  });

  test('an exclusive consume does not keep other consumers out', async () => {
    const { ch } = await fresh();
    const q = await quorum(ch, qname());
    await ch.consume(q, () => {}, { exclusive: true });
    await ch.consume(q, () => {}, { exclusive: true });
    await ch.consume(q, () => {});
    expect(await passive(await broker.connect(), q)).toEqual({ messageCount: 0, consumerCount: 3 });
  });

  test('a global prefetch refuses the consume with connection.close 540', async () => {
    const conn = await broker.connect();
    const setup = await conn.createChannel();
    const q = await quorum(setup, qname());
    await setup.prefetch(0, true);
    await setup.consume(q, () => {});
    const ch = await conn.createChannel();
    await ch.prefetch(10, true);
    const closed = new Promise<unknown>((r) => conn.once('error', (e: Error & { code?: number }) => r([e.code, e.message])));
    await ch.consume(q, () => {}).catch(() => {});
    expect(await closed).toEqual([
      540,
      `Connection closed: 540 (NOT-IMPLEMENTED) with message "NOT_IMPLEMENTED - queue '${q}' in vhost '/' does not support global qos"`,
    ]);
  });

  test('a global prefetch set after the consume does not limit a quorum consumer, nor count its messages', async () => {
    const { ch, pub } = await fresh();
    const q = await quorum(ch, qname());
    const cq = await durableQueue(ch, qname('cl'));
    const got = { q: 0, cq: 0 };
    await ch.consume(q, () => got.q++);
    await ch.prefetch(2, true);
    await ch.consume(cq, () => got.cq++);
    for (let i = 0; i < 5; i++) {
      pub.sendToQueue(q, Buffer.from('m'));
      pub.sendToQueue(cq, Buffer.from('m'));
    }
    await pub.waitForConfirms();
    await waitUntil('deliveries', () => got.q === 5 && got.cq === 2);
    await sleep(100);
    expect(got).toEqual({ q: 5, cq: 2 });
  });

  test('the consumer count includes unsettled basic.get deliveries and cancelled consumers still holding messages', async () => {
    const { ch, pub } = await fresh();
    const q = await quorum(ch, qname());
    // Counted on the channel that acks, so that the count comes after the acks.
    const count = async () => {
      await settle();
      const ok = await ch.checkQueue(q);
      return [ok.messageCount, ok.consumerCount];
    };
    await publishAll(pub, q, ['a', 'b']);
    const held: ConsumeMessage[] = [];
    const { consumerTag } = await ch.consume(q, (m) => held.push(m!));
    await waitUntil('two deliveries', () => held.length === 2);
    await ch.cancel(consumerTag);
    expect(await count()).toEqual([0, 1]);
    ch.ack(held[0]!);
    expect(await count()).toEqual([0, 1]);
    ch.ack(held[1]!);
    expect(await count()).toEqual([0, 0]);
    await publishAll(pub, q, ['c', 'd']);
    const g1 = await getOne(ch, q);
    await getOne(ch, q);
    expect(await count()).toEqual([0, 2]);
    ch.nack(g1, false, true);
    expect(await count()).toEqual([1, 1]);
  });

  test('consumer priorities and round-robin work as in classic queues', async () => {
    const { ch, pub } = await fresh();
    const q = await quorum(ch, qname());
    await ch.prefetch(2);
    const got: string[] = [];
    for (const [label, priority] of [['lo', 1], ['hi', 5], ['mid', 3]] as const) {
      await ch.consume(q, (m) => got.push(`${label}:${m!.content.toString()}`), { priority });
    }
    await publishAll(pub, q, ['m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7']);
    await waitUntil('six deliveries', () => got.length === 6);
    expect(got).toEqual(['hi:m1', 'hi:m2', 'mid:m3', 'mid:m4', 'lo:m5', 'lo:m6']);
  });
});

describe.concurrent('queue.delete', () => {
  for (const [flag, opts] of [['if-unused', { ifUnused: true }], ['if-empty', { ifEmpty: true }]] as const) {
    test(`with ${flag} is connection.close 540`, async () => {
      const conn = await broker.connect();
      const ch = await conn.createChannel();
      const q = await quorum(ch, qname());
      const closed = new Promise<unknown>((r) => conn.once('error', (e: Error & { code?: number }) => r([e.code, e.message])));
      await ch.deleteQueue(q, opts).catch(() => {});
      expect(await closed).toEqual([
        540,
        `Connection closed: 540 (NOT-IMPLEMENTED) with message "NOT_IMPLEMENTED - cannot delete queue '${q}' in vhost '/'. queue.delete operations with ${flag} flag set are not supported by quorum queues"`,
      ]);
      const other = await (await broker.connect()).createChannel();
      expect(await other.deleteQueue(q)).toEqual({ messageCount: 0 });
    });
  }
});
