// Quorum queues: length limits and their overflow modes, message TTL, at-least-once
// dead-lettering, and policies (delivery-limit, which policies apply to which queue type,
// and the policy winning over x-overflow). Each expectation was observed on RabbitMQ 3.10.8;
// WARREN_REFERENCE_URL=amqp://... (with RABBITMQ_MGMT_URL for the policies) runs this file
// against one.
import { describe, expect, test } from 'vitest';
import type { Channel, ConfirmChannel, GetMessage } from 'amqplib';
import { bodies, drain, onWarren, passive, publishConfirmed, sleep, waitUntil } from '../../helpers/queue-features.js';
import { PolicyError, validatePolicy } from '../../../server/vhost/policy.js';
import {
  clearPolicy,
  drainTagged,
  durableExchange,
  durableQueue,
  getOne,
  publishAll,
  qname,
  quorum,
  setPolicy,
  settle,
  useQuorumBroker,
} from '../../helpers/quorum.js';

const broker = useQuorumBroker();

async function fresh(): Promise<{ ch: Channel; pub: ConfirmChannel }> {
  const conn = await broker.connect();
  return { ch: await conn.createChannel(), pub: await conn.createConfirmChannel() };
}

/** Publishes one at a time, each confirmed before the next (RabbitMQ's overflow state is per publish). */
async function oneByOne(pub: ConfirmChannel, q: string, list: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const b of list) out.push(await publishConfirmed(pub, '', q, b));
  return out;
}

function reasons(m: GetMessage): string[] {
  return (m.properties.headers!['x-death'] as { reason: string; count: number }[]).map((d) => `${d.reason}:${d.count}`);
}

describe.concurrent('length limits', () => {
  test('drop-head dead-letters the oldest with reason maxlen, by count and by bytes', async () => {
    const { ch, pub } = await fresh();
    const dlq = await durableQueue(ch, qname('dlq'));
    const dl = { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dlq };
    const q = await quorum(ch, qname(), { 'x-max-length': 2, ...dl });
    expect(await oneByOne(pub, q, ['m1', 'm2', 'm3', 'm4'])).toEqual(['ack', 'ack', 'ack', 'ack']);
    expect(bodies(await drain(ch, q))).toEqual(['m3', 'm4']);
    const dead = await drain(ch, dlq);
    expect(dead.map((m) => [m.content.toString(), ...reasons(m)])).toEqual([['m1', 'maxlen:1'], ['m2', 'maxlen:1']]);
    const qb = await quorum(ch, qname(), { 'x-max-length-bytes': 5 });
    await oneByOne(pub, qb, ['aa', 'bb', 'cc', 'dd']);
    expect(bodies(await drain(ch, qb))).toEqual(['cc', 'dd']);
  });

  test('reject-publish takes the message that crosses the limit, refuses the next ones, and lets them in again at 80%', async () => {
    const { ch, pub } = await fresh();
    const q = await quorum(ch, qname(), { 'x-max-length': 2, 'x-overflow': 'reject-publish' });
    expect(await oneByOne(pub, q, ['m1', 'm2', 'm3', 'm4', 'm5'])).toEqual(['ack', 'ack', 'ack', 'nack', 'nack']);
    expect((await passive(await broker.connect(), q)) as object).toEqual({ messageCount: 3, consumerCount: 0 });
    // Two left (over 80% of 2): still refused; one left: accepted again.
    await ch.get(q, { noAck: true });
    expect(await oneByOne(pub, q, ['n1'])).toEqual(['nack']);
    await ch.get(q, { noAck: true });
    expect(await oneByOne(pub, q, ['n2', 'n3', 'n4'])).toEqual(['ack', 'ack', 'nack']);
    expect(bodies(await drain(ch, q))).toEqual(['m3', 'n2', 'n3']);
  });

  test('reject-publish-dlx is not a quorum overflow mode: the queue drops its head', async () => {
    const { ch, pub } = await fresh();
    const q = await quorum(ch, qname(), { 'x-max-length': 2, 'x-overflow': 'reject-publish-dlx' });
    expect(await oneByOne(pub, q, ['m1', 'm2', 'm3'])).toEqual(['ack', 'ack', 'ack']);
    expect(bodies(await drain(ch, q))).toEqual(['m2', 'm3']);
  });
});

describe.concurrent('message TTL', () => {
  test('expired messages are dead-lettered with reason expired; x-message-ttl and expiration, the lower wins', async () => {
    const { ch, pub } = await fresh();
    const dlq = await durableQueue(ch, qname('dlq'));
    const q = await quorum(ch, qname(), { 'x-message-ttl': 100, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dlq });
    await publishAll(pub, q, ['t1']);
    await publishAll(pub, q, ['t2'], { expiration: '50' });
    await publishAll(pub, q, ['t3'], { expiration: '5000' });
    await waitUntil('three dead letters', async () => ((await passive(await broker.connect(), dlq)) as { messageCount: number }).messageCount === 3);
    const dead = await drain(ch, dlq);
    expect(dead.map((m) => [m.content.toString(), ...reasons(m)])).toEqual([['t1', 'expired:1'], ['t2', 'expired:1'], ['t3', 'expired:1']]);
  });

  test('only the head expires: a short expiration behind a long one waits', async () => {
    const { ch, pub } = await fresh();
    const q = await quorum(ch, qname());
    await publishAll(pub, q, ['long'], { expiration: '1000' });
    await publishAll(pub, q, ['short'], { expiration: '50' });
    await sleep(300);
    expect((await passive(await broker.connect(), q)) as object).toEqual({ messageCount: 2, consumerCount: 0 });
    await sleep(1000);
    expect((await passive(await broker.connect(), q)) as object).toEqual({ messageCount: 0, consumerCount: 0 });
  });

  test('a message that expired while delivered is dead-lettered when it comes back', async () => {
    const { ch, pub } = await fresh();
    const dlq = await durableQueue(ch, qname('dlq'));
    const q = await quorum(ch, qname(), { 'x-message-ttl': 200, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dlq });
    await publishAll(pub, q, ['r1']);
    const m = await getOne(ch, q);
    await sleep(300);
    ch.nack(m, false, true);
    await waitUntil('the dead letter', async () => ((await passive(await broker.connect(), dlq)) as { messageCount: number }).messageCount === 1);
    expect(await ch.get(q)).toBe(false);
  });
});

describe.concurrent('at-least-once dead-lettering', () => {
  /** A quorum queue dead-lettering at least once into a fanout exchange, and a queue that may be bound to it. */
  async function setup(ch: Channel, extra: Record<string, unknown> = {}): Promise<{ q: string; dlx: string; dlq: string }> {
    const dlx = await durableExchange(ch, qname('dlx'), 'fanout');
    const dlq = await durableQueue(ch, qname('dlq'));
    const q = await quorum(ch, qname(), {
      'x-dead-letter-exchange': dlx,
      'x-dead-letter-strategy': 'at-least-once',
      'x-overflow': 'reject-publish',
      ...extra,
    });
    return { q, dlx, dlq };
  }

  test('a routable dead letter reaches its queue and leaves the source', async () => {
    const { ch, pub } = await fresh();
    const { q, dlx, dlq } = await setup(ch);
    await ch.bindQueue(dlq, dlx, '');
    await publishAll(pub, q, ['a1']);
    ch.nack(await getOne(ch, q), false, false);
    await waitUntil('the dead letter', async () => ((await passive(await broker.connect(), dlq)) as { messageCount: number }).messageCount === 1);
    const [dead] = await drain(ch, dlq);
    expect(reasons(dead!)).toEqual(['rejected:1']);
    expect((await passive(await broker.connect(), q)) as object).toEqual({ messageCount: 0, consumerCount: 0 });
  });

  test('an unroutable one is kept: not counted as a message, but against the length limit; a policy change tries again', async () => {
    const { ch, pub } = await fresh();
    const { q, dlx, dlq } = await setup(ch, { 'x-max-length': 2 });
    await publishAll(pub, q, ['h1', 'h2']);
    ch.nack(await getOne(ch, q), false, false);
    await settle();
    expect((await passive(await broker.connect(), q)) as object).toEqual({ messageCount: 1, consumerCount: 0 });
    // One ready and one kept make two: h3 crosses the limit, h4 is refused.
    expect(await oneByOne(pub, q, ['h3', 'h4'])).toEqual(['ack', 'nack']);
    await ch.bindQueue(dlq, dlx, '');
    await sleep(300);
    expect(await drain(ch, dlq)).toEqual([]);
    await setPolicy(broker, { name: q, pattern: `^${q}$`, definition: { 'delivery-limit': 100 } });
    try {
      await waitUntil('the dead letter', async () => ((await passive(await broker.connect(), dlq)) as { messageCount: number }).messageCount === 1);
      const [dead] = await drain(ch, dlq);
      expect([dead!.content.toString(), ...reasons(dead!)]).toEqual(['h1', 'rejected:1']);
      expect(await drainTagged(ch, q)).toEqual(['h2:0', 'h3:0']);
      expect(await oneByOne(pub, q, ['h5'])).toEqual(['ack']);
    } finally {
      await clearPolicy(broker, q);
    }
  });

  test('a missing dead-letter exchange keeps the message too', async () => {
    const { ch, pub } = await fresh();
    const { q } = await setup(ch, { 'x-max-length': 1, 'x-dead-letter-exchange': qname('nosuch') });
    await publishAll(pub, q, ['x1']);
    ch.nack(await getOne(ch, q), false, false);
    await settle();
    expect(await oneByOne(pub, q, ['x2', 'x3'])).toEqual(['ack', 'nack']);
  });

  test('without reject-publish the strategy falls back to at-most-once: an unroutable dead letter is gone', async () => {
    const { ch, pub } = await fresh();
    const { q, dlx, dlq } = await setup(ch, { 'x-overflow': 'drop-head', 'x-max-length': 1 });
    await publishAll(pub, q, ['f1']);
    ch.nack(await getOne(ch, q), false, false);
    await settle();
    // Nothing kept: a second message fits under the limit of one.
    expect(await oneByOne(pub, q, ['f2'])).toEqual(['ack']);
    await ch.bindQueue(dlq, dlx, '');
    await setPolicy(broker, { name: q, pattern: `^${q}$`, definition: { 'delivery-limit': 100 } });
    try {
      await sleep(300);
      expect(await drain(ch, dlq)).toEqual([]);
    } finally {
      await clearPolicy(broker, q);
    }
  });
});

describe('policies', () => {
  test('delivery-limit: the lower of policy and argument', async () => {
    const { ch, pub } = await fresh();
    const base = qname('pol');
    const dlq = await durableQueue(ch, `${base}.dlq`);
    await setPolicy(broker, { name: base, pattern: `^${base}\\.q`, definition: { 'delivery-limit': 1, 'dead-letter-exchange': '', 'dead-letter-routing-key': dlq } });
    try {
      const q1 = await quorum(ch, `${base}.q1`);
      const q2 = await quorum(ch, `${base}.q2`, { 'x-delivery-limit': 5 });
      const q3 = await quorum(ch, `${base}.q3`, { 'x-delivery-limit': 0 });
      for (const [q, returns] of [[q1, 2], [q2, 2], [q3, 1]] as const) {
        await publishAll(pub, q, [q]);
        for (let i = 0; i < returns; i++) {
          ch.nack(await getOne(ch, q), false, true);
          await settle();
        }
        expect(await ch.get(q)).toBe(false);
      }
      expect(bodies(await drain(ch, dlq))).toEqual([q1, q2, q3]);
    } finally {
      await clearPolicy(broker, base);
    }
  });

  test('for a quorum queue the overflow policy wins over x-overflow; for a classic queue the argument wins', async () => {
    const { ch, pub } = await fresh();
    const base = qname('pol');
    await setPolicy(broker, { name: base, pattern: `^${base}\\.`, definition: { 'max-length': 1, overflow: 'reject-publish' } });
    try {
      const qq = await quorum(ch, `${base}.qq`, { 'x-overflow': 'drop-head' });
      const cq = await durableQueue(ch, `${base}.cq`, { 'x-overflow': 'drop-head' });
      expect(await oneByOne(pub, qq, ['m1', 'm2', 'm3'])).toEqual(['ack', 'ack', 'nack']);
      expect(await oneByOne(pub, cq, ['m1', 'm2', 'm3'])).toEqual(['ack', 'ack', 'ack']);
      expect(bodies(await drain(ch, cq))).toEqual(['m3']);
    } finally {
      await clearPolicy(broker, base);
    }
  });

  test('a policy with a key the queue type does not support does not apply to it at all; the next one does', async () => {
    const { ch, pub } = await fresh();
    const base = qname('pol');
    await setPolicy(broker, { name: `${base}-a`, pattern: `^${base}\\.`, definition: { 'max-length': 1, 'delivery-limit': 5 }, priority: 1 });
    try {
      const qq = await quorum(ch, `${base}.qq`);
      const cq = await durableQueue(ch, `${base}.cq`);
      await oneByOne(pub, qq, ['a', 'b', 'c']);
      await oneByOne(pub, cq, ['a', 'b', 'c']);
      expect(bodies(await drain(ch, qq))).toEqual(['c']);
      expect(bodies(await drain(ch, cq))).toEqual(['a', 'b', 'c']);
      await setPolicy(broker, { name: `${base}-b`, pattern: `^${base}\\.`, definition: { 'max-length': 2 }, priority: 0 });
      await oneByOne(pub, cq, ['d', 'e', 'f']);
      expect(bodies(await drain(ch, cq))).toEqual(['e', 'f']);
    } finally {
      await clearPolicy(broker, `${base}-a`);
      await clearPolicy(broker, `${base}-b`);
    }
  });
});

describe.skipIf(!onWarren)('policy keys for quorum queues (Warren validates them as rabbitmqctl does)', () => {
  test('delivery-limit is a non-negative integer; dead-letter-strategy at-most-once or at-least-once', () => {
    const p = (definition: Record<string, unknown>) => () => validatePolicy({ name: 'p', pattern: '.', definition });
    expect(p({ 'delivery-limit': 0, 'dead-letter-strategy': 'at-least-once' })().definition).toEqual({ 'delivery-limit': 0, 'dead-letter-strategy': 'at-least-once' });
    // RabbitMQ 3.10.8's reasons (its HTTP API answers them, HTML-escaped, as `reason`).
    expect(p({ 'delivery-limit': -1 })).toThrow(new PolicyError('Validation failed\n\n-1 is not a valid delivery limit'));
    expect(p({ 'delivery-limit': 'five' })).toThrow(new PolicyError('Validation failed\n\n<<"five">> is not a valid delivery limit'));
    expect(p({ 'dead-letter-strategy': 'sometimes' })).toThrow(new PolicyError('Validation failed\n\n<<"sometimes">> is not a valid dead letter strategy'));
  });
});
