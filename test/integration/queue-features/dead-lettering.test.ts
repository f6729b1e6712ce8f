// Dead-lettering: x-dead-letter-exchange / x-dead-letter-routing-key, the x-death and
// x-first-death-* headers, CC/BCC handling, missing DLX, cycles and multi-hop chains.
// Every expectation was checked against RabbitMQ 3.10.8 (WARREN_REFERENCE_URL).
import type { ChannelModel, ConfirmChannel, GetMessage } from 'amqplib';
import { afterAll, describe, expect, test } from 'vitest';
import {
  bodies,
  deathTime,
  drain,
  expectDeadLetterHeaders,
  expectDeath,
  lastDeath,
  nowSeconds,
  onWarren,
  sleep,
  uniq,
  useBroker,
  waitUntil,
} from '../../helpers/queue-features.js';

const broker = useBroker();

interface Ctx {
  conn: ChannelModel;
  ch: ConfirmChannel;
  exchange(type: 'direct' | 'fanout' | 'topic'): Promise<string>;
  queue(args?: Record<string, unknown>): Promise<string>;
}

const exchanges: string[] = [];

afterAll(async () => {
  // Named exchanges would be left behind on a shared reference broker otherwise.
  const conn = await broker.connect();
  const ch = await conn.createChannel();
  for (const x of exchanges.splice(0)) await ch.deleteExchange(x);
  await ch.close();
});

async function setup(): Promise<Ctx> {
  const conn = await broker.connect();
  const ch = await conn.createConfirmChannel();
  return {
    conn,
    ch,
    async exchange(type) {
      const x = uniq(`dlx-${type}`);
      await ch.assertExchange(x, type, { durable: false, autoDelete: false });
      exchanges.push(x);
      return x;
    },
    async queue(args = {}) {
      const q = uniq('dl');
      await ch.assertQueue(q, { exclusive: true, arguments: args });
      return q;
    },
  };
}

async function getOne(ch: ConfirmChannel, q: string): Promise<GetMessage> {
  const m = await ch.get(q, { noAck: false });
  if (m === false) throw new Error(`${q} is empty`);
  return m;
}

async function waitForReady(ch: ConfirmChannel, q: string, n: number): Promise<void> {
  await waitUntil(`${n} messages in ${q}`, async () => (await ch.checkQueue(q)).messageCount === n);
}

function xDeath(m: GetMessage): Record<string, unknown>[] {
  return m.properties.headers!['x-death'] as unknown as Record<string, unknown>[];
}

describe.concurrent('reasons and routing', () => {
  test('basic.reject without requeue: reason rejected, delivered from the DLX with the original routing key', async () => {
    const { ch, exchange, queue } = await setup();
    const src = await exchange('direct');
    const dlx = await exchange('direct');
    const q = await queue({ 'x-dead-letter-exchange': dlx });
    const dlq = await queue();
    await ch.bindQueue(q, src, 'orig-key');
    await ch.bindQueue(dlq, dlx, 'orig-key');
    const from = nowSeconds();
    ch.publish(src, 'orig-key', Buffer.from('body'), { headers: { b: 2, a: 1 }, correlationId: 'c' });
    await ch.waitForConfirms();
    ch.reject(await getOne(ch, q), false);
    await waitForReady(ch, dlq, 1);
    const [m] = await drain(ch, dlq);
    expect(m!.content.toString()).toBe('body');
    expect(m!.fields).toEqual({ deliveryTag: expect.any(Number), redelivered: false, exchange: dlx, routingKey: 'orig-key', messageCount: 0 });
    expect(m!.properties.correlationId).toBe('c');
    const deaths = expectDeadLetterHeaders(m!.properties.headers, {
      a: 1,
      b: 2,
      'x-first-death-exchange': src,
      'x-first-death-queue': q,
      'x-first-death-reason': 'rejected',
      ...lastDeath('rejected', q, src),
    });
    expect(deaths).toHaveLength(1);
    expectDeath(deaths[0], { count: 1, reason: 'rejected', queue: q, exchange: src, 'routing-keys': ['orig-key'] }, { sorted: false, time: { from, to: nowSeconds() } });
    expect(await ch.checkQueue(q)).toEqual({ queue: q, messageCount: 0, consumerCount: 0 });
  });

  test('basic.nack without requeue, single and multiple: each dead-lettered in tag order', async () => {
    const { ch, queue } = await setup();
    const dlq = await queue();
    const q = await queue({ 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dlq });
    for (const b of ['m1', 'm2', 'm3', 'm4']) ch.sendToQueue(q, Buffer.from(b));
    await ch.waitForConfirms();
    const got = [await getOne(ch, q), await getOne(ch, q), await getOne(ch, q), await getOne(ch, q)];
    ch.nack(got[1]!, false, false);
    ch.nack(got[3]!, true, false);
    await waitForReady(ch, dlq, 4);
    const dead = await drain(ch, dlq);
    expect(bodies(dead)).toEqual(['m2', 'm1', 'm3', 'm4']);
    for (const m of dead) {
      expect(m.fields).toMatchObject({ exchange: '', routingKey: dlq, redelivered: false });
      expect(xDeath(m)).toEqual([expect.objectContaining({ count: 1, reason: 'rejected', queue: q, exchange: '', 'routing-keys': [q] })]);
    }
  });

  test('reject or nack with requeue does not dead-letter', async () => {
    const { ch, queue } = await setup();
    const dlq = await queue();
    const q = await queue({ 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dlq });
    for (const b of ['a', 'b']) ch.sendToQueue(q, Buffer.from(b));
    await ch.waitForConfirms();
    ch.reject(await getOne(ch, q), true);
    const again = await getOne(ch, q);
    expect([again.content.toString(), again.fields.redelivered]).toEqual(['a', true]);
    ch.nack(again, false, true);
    const got = await drain(ch, q);
    expect(got.map((m) => [m.content.toString(), m.fields.redelivered, m.properties.headers])).toEqual([
      ['a', true, {}],
      ['b', false, {}],
    ]);
    expect(await ch.checkQueue(dlq)).toEqual({ queue: dlq, messageCount: 0, consumerCount: 0 });
  });

  test('x-dead-letter-routing-key: delivered with it, CC header removed, x-death routing-keys keep the publish key and CC but not BCC', async () => {
    const { ch, exchange, queue } = await setup();
    const src = await exchange('direct');
    const dlx = await exchange('direct');
    const q = await queue({ 'x-dead-letter-exchange': dlx, 'x-dead-letter-routing-key': 'dl-key' });
    const dlq = await queue();
    const byOrig = await queue();
    const byCc = await queue();
    const byBcc = await queue();
    await ch.bindQueue(q, src, 'k');
    await ch.bindQueue(dlq, dlx, 'dl-key');
    await ch.bindQueue(byOrig, dlx, 'k');
    await ch.bindQueue(byCc, dlx, 'cc1');
    await ch.bindQueue(byBcc, dlx, 'bcc1');
    ch.publish(src, 'k', Buffer.from('m'), { headers: { CC: ['cc1', 'cc2'], BCC: ['bcc1'], keep: 'me' } });
    await ch.waitForConfirms();
    ch.reject(await getOne(ch, q), false);
    await waitForReady(ch, dlq, 1);
    await sleep(50);
    for (const other of [byOrig, byCc, byBcc]) expect(await ch.checkQueue(other)).toEqual({ queue: other, messageCount: 0, consumerCount: 0 });
    const [m] = await drain(ch, dlq);
    expect(m!.fields).toMatchObject({ exchange: dlx, routingKey: 'dl-key' });
    const deaths = expectDeadLetterHeaders(m!.properties.headers, {
      keep: 'me',
      'x-first-death-exchange': src,
      'x-first-death-queue': q,
      'x-first-death-reason': 'rejected',
      ...lastDeath('rejected', q, src),
    });
    expectDeath(deaths[0], { count: 1, reason: 'rejected', queue: q, exchange: src, 'routing-keys': ['k', 'cc1', 'cc2'] }, { sorted: false });
  });

  test('without x-dead-letter-routing-key: routed on the DLX by the publish key, CC and BCC keys; CC header kept, BCC gone', async () => {
    const { ch, exchange, queue } = await setup();
    const src = await exchange('direct');
    const dlx = await exchange('direct');
    const q = await queue({ 'x-dead-letter-exchange': dlx });
    await ch.bindQueue(q, src, 'k');
    const targets: Record<string, string> = {};
    for (const key of ['k', 'cc1', 'bcc1', 'unrelated']) {
      targets[key] = await queue();
      await ch.bindQueue(targets[key]!, dlx, key);
    }
    ch.publish(src, 'k', Buffer.from('m'), { headers: { CC: ['cc1'], BCC: ['bcc1'] } });
    await ch.waitForConfirms();
    ch.reject(await getOne(ch, q), false);
    for (const key of ['k', 'cc1', 'bcc1']) await waitForReady(ch, targets[key]!, 1);
    await sleep(50);
    expect(await ch.checkQueue(targets['unrelated']!)).toEqual({ queue: targets['unrelated'], messageCount: 0, consumerCount: 0 });
    for (const key of ['k', 'cc1', 'bcc1']) {
      const [m] = await drain(ch, targets[key]!);
      // One copy per queue, whichever key matched; the delivered routing key is the publish key.
      expect(m!.fields).toMatchObject({ exchange: dlx, routingKey: 'k' });
      const deaths = expectDeadLetterHeaders(m!.properties.headers, {
        CC: ['cc1'],
        'x-first-death-exchange': src,
        'x-first-death-queue': q,
        'x-first-death-reason': 'rejected',
        ...lastDeath('rejected', q, src),
      });
      expectDeath(deaths[0], { count: 1, reason: 'rejected', queue: q, exchange: src, 'routing-keys': ['k', 'cc1'] }, { sorted: false });
    }
  });

  test('one queue reached by several CC keys on the DLX gets one copy', async () => {
    const { ch, exchange, queue } = await setup();
    const dlx = await exchange('direct');
    const q = await queue({ 'x-dead-letter-exchange': dlx });
    const dlq = await queue();
    for (const key of [q, 'c1', 'c2']) await ch.bindQueue(dlq, dlx, key);
    ch.sendToQueue(q, Buffer.from('once'), { headers: { CC: ['c1', 'c2'] } });
    await ch.waitForConfirms();
    ch.reject(await getOne(ch, q), false);
    await waitForReady(ch, dlq, 1);
    await sleep(50);
    expect(bodies(await drain(ch, dlq))).toEqual(['once']);
  });

  test('a DLX that does not exist: the message is dropped silently, the channel stays open', async () => {
    const { ch, queue } = await setup();
    const missing = uniq('no-such-dlx');
    const q = await queue({ 'x-dead-letter-exchange': missing });
    let channelError: unknown;
    ch.on('error', (e: unknown) => (channelError = e));
    ch.sendToQueue(q, Buffer.from('lost'));
    await ch.waitForConfirms();
    ch.reject(await getOne(ch, q), false);
    await sleep(100);
    expect(await ch.checkQueue(q)).toEqual({ queue: q, messageCount: 0, consumerCount: 0 });
    expect(channelError).toBeUndefined();
    // Declaring the exchange afterwards brings nothing back.
    await ch.assertExchange(missing, 'fanout', { durable: false, autoDelete: false });
    exchanges.push(missing);
    const late = await queue();
    await ch.bindQueue(late, missing, '');
    await sleep(100);
    expect(await ch.checkQueue(late)).toEqual({ queue: late, messageCount: 0, consumerCount: 0 });
  });

  test('a DLX that routes nowhere drops the message', async () => {
    const { ch, exchange, queue } = await setup();
    const dlx = await exchange('direct');
    const q = await queue({ 'x-dead-letter-exchange': dlx, 'x-dead-letter-routing-key': 'unbound' });
    ch.sendToQueue(q, Buffer.from('x'));
    await ch.waitForConfirms();
    ch.reject(await getOne(ch, q), false);
    await sleep(100);
    expect(await ch.checkQueue(q)).toEqual({ queue: q, messageCount: 0, consumerCount: 0 });
  });

  test('a topic DLX routes by the dead-letter routing key', async () => {
    const { ch, exchange, queue } = await setup();
    const dlx = await exchange('topic');
    const q = await queue({ 'x-dead-letter-exchange': dlx, 'x-dead-letter-routing-key': 'dead.orders.eu' });
    const star = await queue();
    const hash = await queue();
    const miss = await queue();
    await ch.bindQueue(star, dlx, 'dead.*.eu');
    await ch.bindQueue(hash, dlx, 'dead.#');
    await ch.bindQueue(miss, dlx, 'dead.*.us');
    ch.sendToQueue(q, Buffer.from('t'));
    await ch.waitForConfirms();
    ch.reject(await getOne(ch, q), false);
    await waitForReady(ch, star, 1);
    await waitForReady(ch, hash, 1);
    expect(await ch.checkQueue(miss)).toEqual({ queue: miss, messageCount: 0, consumerCount: 0 });
  });
});

describe.concurrent('x-death', () => {
  test('rejected back into the same queue cycles forever: one entry, count incremented, fields then sorted, time and x-first-death-* unchanged', async () => {
    const { ch, queue } = await setup();
    // DLX '' without a DLRK: republished with the original key, i.e. back into q.
    const q = await queue({ 'x-dead-letter-exchange': '' });
    const from = nowSeconds();
    ch.sendToQueue(q, Buffer.from('loop'), { headers: { CC: ['nowhere'], BCC: ['hidden'] }, expiration: '100000' });
    await ch.waitForConfirms();
    ch.nack(await getOne(ch, q), false, false);
    await waitForReady(ch, q, 1);
    const first = await getOne(ch, q);
    const to = nowSeconds();
    expect(first.fields).toMatchObject({ exchange: '', routingKey: q, redelivered: false });
    expect(first.properties.expiration).toBeUndefined();
    const d1 = expectDeadLetterHeaders(first.properties.headers, {
      CC: ['nowhere'],
      'x-first-death-exchange': '',
      'x-first-death-queue': q,
      'x-first-death-reason': 'rejected',
      ...lastDeath('rejected', q, ''),
    });
    expect(d1).toHaveLength(1);
    expectDeath(d1[0], { count: 1, reason: 'rejected', queue: q, exchange: '', 'routing-keys': [q, 'nowhere'], 'original-expiration': '100000' }, { sorted: false, time: { from, to } });
    const t1 = deathTime(d1[0]);

    // Let the clock move on to a later second before the next deaths.
    await sleep(1100);
    ch.nack(first, false, false);
    await waitForReady(ch, q, 1);
    const second = await getOne(ch, q);
    ch.reject(second, false);
    await waitForReady(ch, q, 1);
    const third = await getOne(ch, q);
    for (const [m, count] of [
      [second, 2],
      [third, 3],
    ] as const) {
      expect(m.content.toString()).toBe('loop');
      const d = expectDeadLetterHeaders(m.properties.headers, {
        CC: ['nowhere'],
        'x-first-death-exchange': '',
        'x-first-death-queue': q,
        'x-first-death-reason': 'rejected',
        ...lastDeath('rejected', q, ''),
      });
      expect(d).toHaveLength(1);
      // The entry keeps its first time (and exchange, routing-keys, original-expiration).
      expectDeath(d[0], { count, reason: 'rejected', queue: q, exchange: '', 'routing-keys': [q, 'nowhere'], 'original-expiration': '100000' }, { sorted: true, time: t1 });
    }
    ch.ack(third);
  });

  test('a chain q1 expired -> q2 rejected -> q3: newest entry first, x-first-death from q1, exchanges and keys per hop', async () => {
    const { ch, exchange, queue } = await setup();
    const x2 = await exchange('fanout');
    const x3 = await exchange('direct');
    const q3 = await queue();
    const q2 = await queue({ 'x-dead-letter-exchange': x3, 'x-dead-letter-routing-key': 'to-q3' });
    const q1 = await queue({ 'x-dead-letter-exchange': x2, 'x-message-ttl': 50 });
    await ch.bindQueue(q2, x2, 'ignored-by-fanout');
    await ch.bindQueue(q3, x3, 'to-q3');
    const from = nowSeconds();
    ch.sendToQueue(q1, Buffer.from('hop'), { headers: { CC: ['cc-key'] }, expiration: '60000', priority: 4 });
    await ch.waitForConfirms();
    await waitForReady(ch, q2, 1);
    const atQ2 = await getOne(ch, q2);
    expect(atQ2.fields).toMatchObject({ exchange: x2, routingKey: q1 });
    const dAtQ2 = expectDeadLetterHeaders(atQ2.properties.headers, {
      CC: ['cc-key'],
      'x-first-death-exchange': '',
      'x-first-death-queue': q1,
      'x-first-death-reason': 'expired',
      ...lastDeath('expired', q1, ''),
    });
    expect(dAtQ2).toHaveLength(1);
    expectDeath(dAtQ2[0], { count: 1, reason: 'expired', queue: q1, exchange: '', 'routing-keys': [q1, 'cc-key'], 'original-expiration': '60000' }, { sorted: false });
    // The queue TTL (50) beat the message's 60000 and the copy carries no expiration.
    expect(atQ2.properties.expiration).toBeUndefined();

    ch.reject(atQ2, false);
    await waitForReady(ch, q3, 1);
    const [atQ3] = await drain(ch, q3);
    expect(atQ3!.fields).toMatchObject({ exchange: x3, routingKey: 'to-q3' });
    expect(atQ3!.properties.priority).toBe(4);
    // q2 has a DLRK: CC is removed now, though q2's entry still lists it.
    const dAtQ3 = expectDeadLetterHeaders(atQ3!.properties.headers, {
      'x-first-death-exchange': '',
      'x-first-death-queue': q1,
      'x-first-death-reason': 'expired',
      ...lastDeath('rejected', q2, x2),
    });
    expect(dAtQ3).toHaveLength(2);
    const to = nowSeconds();
    // The new entry on a message that already had x-death comes sorted; the older one is untouched.
    expectDeath(dAtQ3[0], { count: 1, reason: 'rejected', queue: q2, exchange: x2, 'routing-keys': [q1, 'cc-key'] }, { sorted: true, time: { from, to } });
    expectDeath(dAtQ3[1], { count: 1, reason: 'expired', queue: q1, exchange: '', 'routing-keys': [q1, 'cc-key'], 'original-expiration': '60000' }, { sorted: false, time: deathTime(dAtQ2[0]) });
  });

  test('back into an earlier queue after a rejection is not a cycle: that entry moves to the front, count 2, old values kept', async () => {
    const { ch, exchange, queue } = await setup();
    const x1 = await exchange('fanout');
    const x2 = await exchange('fanout');
    const q2 = await queue({ 'x-dead-letter-exchange': x1 });
    const q1 = await queue({ 'x-dead-letter-exchange': x2, 'x-message-ttl': 50 });
    await ch.bindQueue(q1, x1, '');
    await ch.bindQueue(q2, x2, '');
    ch.sendToQueue(q1, Buffer.from('round'));
    await ch.waitForConfirms();
    await waitForReady(ch, q2, 1);
    const once = await getOne(ch, q2);
    const t1 = deathTime(xDeath(once)[0]);
    await sleep(1100);
    // q2 rejects -> x1 -> q1 (not a cycle: rejected) -> expires -> x2 -> q2 (not a cycle: the way back contains a rejection).
    ch.reject(once, false);
    await waitForReady(ch, q2, 1);
    const twice = await getOne(ch, q2);
    expect(twice.fields).toMatchObject({ exchange: x2, routingKey: q1 });
    const d = expectDeadLetterHeaders(twice.properties.headers, {
      'x-first-death-exchange': '',
      'x-first-death-queue': q1,
      'x-first-death-reason': 'expired',
      ...lastDeath('expired', q1, x1),
    });
    expect(d).toHaveLength(2);
    // The second expiry from q1 came through x1, but the entry keeps exchange '' and its first time.
    expectDeath(d[0], { count: 2, reason: 'expired', queue: q1, exchange: '', 'routing-keys': [q1] }, { sorted: true, time: t1 });
    expectDeath(d[1], { count: 1, reason: 'rejected', queue: q2, exchange: x2, 'routing-keys': [q1] }, { sorted: true });
    expect(deathTime(d[1])).toBeGreaterThan(t1);
    ch.ack(twice);
  });

  test('x-death lists every death newest first, across a five-queue walk', async () => {
    // RabbitMQ 3.10's group_by_queue_and_reason reverses the older entries on every death
    // (only the newest is reliably first there); Warren keeps them newest first, as the
    // x-death contract says — a deliberate difference listed in docs/compatibility.md.
    // Against the reference broker this test expects 3.10's order instead.
    const { ch, queue } = await setup();
    const h5 = await queue();
    const h4 = await queue({ 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': h5 });
    const h3 = await queue({ 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': h4 });
    const h2 = await queue({ 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': h3 });
    const h1 = await queue({ 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': h2 });
    ch.sendToQueue(h1, Buffer.from('walk'));
    await ch.waitForConfirms();
    const order: string[][] = [];
    for (const [from, to] of [
      [h1, h2],
      [h2, h3],
      [h3, h4],
      [h4, h5],
    ] as const) {
      ch.reject(await getOne(ch, from), false);
      await waitForReady(ch, to, 1);
      const m = await getOne(ch, to);
      order.push(xDeath(m).map((e) => e['queue'] as string));
      ch.reject(m, true);
    }
    expect(order).toEqual(
      onWarren ? [[h1], [h2, h1], [h3, h2, h1], [h4, h3, h2, h1]] : [[h1], [h2, h1], [h3, h1, h2], [h4, h2, h1, h3]],
    );
    // The very first entry (h1's) is never re-sorted; every later one is written sorted.
    const [last] = await drain(ch, h5);
    const keysOf = (q: string) => Object.keys(xDeath(last!).find((e) => e['queue'] === q)!);
    expect(keysOf(h1)).toEqual(['count', 'reason', 'queue', 'time', 'exchange', 'routing-keys']);
    for (const q of [h2, h3, h4]) expect(keysOf(q)).toEqual(['count', 'exchange', 'queue', 'reason', 'routing-keys', 'time']);
  });

  test('x-death and x-first-death-* already on a published message are taken as they are', async () => {
    const { ch, queue } = await setup();
    const dlq = await queue();
    const q = await queue({ 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dlq });
    const fake = { count: 5, reason: 'expired', queue: 'elsewhere', time: { '!': 'timestamp', value: 1000 }, exchange: 'ex', 'routing-keys': ['rk'] };
    ch.sendToQueue(q, Buffer.from('forged'), {
      headers: { 'x-death': [fake], 'x-first-death-queue': 'elsewhere', 'x-first-death-reason': 'expired', 'x-first-death-exchange': 'ex' },
    });
    await ch.waitForConfirms();
    ch.reject(await getOne(ch, q), false);
    await waitForReady(ch, dlq, 1);
    const [m] = await drain(ch, dlq);
    const d = expectDeadLetterHeaders(m!.properties.headers, {
      'x-first-death-exchange': 'ex',
      'x-first-death-queue': 'elsewhere',
      'x-first-death-reason': 'expired',
      ...lastDeath('rejected', q, ''),
    });
    expect(d).toHaveLength(2);
    expectDeath(d[0], { count: 1, reason: 'rejected', queue: q, exchange: '', 'routing-keys': [q] }, { sorted: true });
    expect(d[1]).toEqual(fake);
  });
});

describe.concurrent('cycles', () => {
  test('expired -> DLX -> the same queue is a cycle: dropped for that queue, other DLX targets still get it', async () => {
    const { ch, exchange, queue } = await setup();
    const fan = await exchange('fanout');
    const q = await queue({ 'x-dead-letter-exchange': fan, 'x-message-ttl': 50 });
    const other = await queue();
    await ch.bindQueue(q, fan, '');
    await ch.bindQueue(other, fan, '');
    ch.sendToQueue(q, Buffer.from('c'));
    await ch.waitForConfirms();
    await waitForReady(ch, other, 1);
    await sleep(200);
    expect(await ch.checkQueue(q)).toEqual({ queue: q, messageCount: 0, consumerCount: 0 });
    const [m] = await drain(ch, other);
    expect(m!.fields).toMatchObject({ exchange: fan, routingKey: q });
    expect(xDeath(m!)).toEqual([expect.objectContaining({ count: 1, reason: 'expired', queue: q, exchange: '', 'routing-keys': [q] })]);
  });

  test('expired -> DLX -> default exchange back into the same queue (DLX "" without DLRK) is dropped', async () => {
    const { ch, queue } = await setup();
    const q = await queue({ 'x-dead-letter-exchange': '', 'x-message-ttl': 50 });
    ch.sendToQueue(q, Buffer.from('gone'));
    await ch.waitForConfirms();
    await sleep(400);
    expect(await ch.checkQueue(q)).toEqual({ queue: q, messageCount: 0, consumerCount: 0 });
    expect(await ch.get(q, { noAck: true })).toBe(false);
  });

  test('a two-queue expiry loop (q1 expired -> q2 expired -> q1) is dropped on the way back to q1', async () => {
    const { ch, exchange, queue } = await setup();
    const x1 = await exchange('fanout');
    const x2 = await exchange('fanout');
    const q1 = await queue({ 'x-dead-letter-exchange': x2, 'x-message-ttl': 50 });
    const q2 = await queue({ 'x-dead-letter-exchange': x1, 'x-message-ttl': 50 });
    const tapAfterQ2 = await queue();
    await ch.bindQueue(q2, x2, '');
    await ch.bindQueue(q1, x1, '');
    await ch.bindQueue(tapAfterQ2, x1, '');
    ch.sendToQueue(q1, Buffer.from('ping'));
    await ch.waitForConfirms();
    await waitForReady(ch, tapAfterQ2, 1);
    await sleep(300);
    expect(await ch.checkQueue(q1)).toEqual({ queue: q1, messageCount: 0, consumerCount: 0 });
    expect(await ch.checkQueue(q2)).toEqual({ queue: q2, messageCount: 0, consumerCount: 0 });
    const [m] = await drain(ch, tapAfterQ2);
    expect(xDeath(m!).map((e) => [e['queue'], e['reason'], e['count']])).toEqual([
      [q2, 'expired', 1],
      [q1, 'expired', 1],
    ]);
  });

  test('maxlen -> DLX -> the same queue is a cycle too (only rejections break it)', async () => {
    const { ch, exchange, queue } = await setup();
    const fan = await exchange('fanout');
    const q = await queue({ 'x-dead-letter-exchange': fan, 'x-max-length': 1 });
    const other = await queue();
    await ch.bindQueue(q, fan, '');
    await ch.bindQueue(other, fan, '');
    ch.sendToQueue(q, Buffer.from('first'));
    ch.sendToQueue(q, Buffer.from('second'));
    await ch.waitForConfirms();
    await waitForReady(ch, other, 1);
    await sleep(100);
    expect(bodies(await drain(ch, q))).toEqual(['second']);
    const [m] = await drain(ch, other);
    expect(m!.content.toString()).toBe('first');
    expect(xDeath(m!)).toEqual([expect.objectContaining({ count: 1, reason: 'maxlen', queue: q })]);
  });
});
