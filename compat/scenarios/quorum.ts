/**
 * Quorum queues: delivery counts and the delivery limit, where returned messages go,
 * consumers, length limits and TTL, at-least-once dead-lettering; and the declaration and
 * consume arguments of every queue type. RabbitMQ settles returns asynchronously (its
 * quorum queue is a Raft state machine), so scenarios pause briefly after them.
 */
import type { Ch } from '../client.js';
import type { Ctx } from '../context.js';
import type { Scenario } from '../types.js';
import { scenario } from './util.js';

/** Long enough for RabbitMQ to apply a return, a settlement or a close. */
const SETTLE = 250;
const DURABLE = { durable: true };
const QUORUM = { 'x-queue-type': 'quorum' };

/** A quorum queue `q` holding m1..mN, and (if asked) a durable classic `dlq` it dead-letters into. */
async function qq(ctx: Ctx, n: number, args: Record<string, unknown> = {}, dead = false): Promise<{ pub: Ch; q: string; dlq: string }> {
  const pub = await ctx.confirmChannel('pub');
  const [q, dlq] = [ctx.n('q'), ctx.n('dlq')];
  if (dead) {
    await pub.queue(dlq, DURABLE);
    args = { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dlq, ...args };
  }
  await pub.queue(q, { durable: true, arguments: { ...QUORUM, ...args } });
  for (let i = 1; i <= n; i++) pub.publish('', q, `m${i}`);
  if (n > 0) await pub.confirms();
  return { pub, q, dlq };
}

/** Publishes each body and waits for its confirm before the next. */
async function oneByOne(pub: Ch, q: string, bodies: string[]): Promise<void> {
  for (const b of bodies) {
    pub.publish('', q, b);
    await pub.confirms();
  }
}

const deliveries: Scenario[] = [
  scenario('quorum/delivery count on get', 'x-delivery-count 0, 1, 2 with redelivered; the third return dead-letters with reason delivery_limit', async (ctx) => {
    const { q, dlq } = await qq(ctx, 0, { 'x-delivery-limit': 2 }, true);
    const pub = await ctx.confirmChannel('pub2');
    pub.publish('', q, 'm', { headers: { b: 1, a: 'x' }, messageId: 'id1' });
    await pub.confirms();
    const a = await ctx.channel('a');
    for (let tag = 1; tag <= 3; tag++) {
      await a.get(q);
      a.nack(tag, false, true);
      await ctx.wait(SETTLE);
    }
    await a.get(q);
    await a.drain(dlq);
  }),
  scenario('quorum/delivery count on consume', 'no x-delivery-count on a first delivery to a consumer, then 1 and 2; then dead-lettered', async (ctx) => {
    const { q, dlq } = await qq(ctx, 1, { 'x-delivery-limit': 2 }, true);
    const a = await ctx.channel('a');
    await a.qos(1);
    const k = await a.consume(q, {}, 'k');
    for (let tag = 1; tag <= 3; tag++) {
      await ctx.expect(k, 1);
      a.nack(tag, false, true);
    }
    await ctx.wait(SETTLE);
    await a.drain(dlq, 1);
  }),
  scenario('quorum/delivery limit 0', 'a limit of 0 dead-letters at the first return; reject without requeue is reason rejected', async (ctx) => {
    const { q, dlq } = await qq(ctx, 2, { 'x-delivery-limit': 0 }, true);
    const a = await ctx.channel('a');
    await a.get(q);
    a.nack(1, false, true);
    await ctx.wait(SETTLE);
    await a.get(q);
    a.reject(2, false);
    await ctx.wait(SETTLE);
    await a.checkQueue(q);
    await a.drain(dlq);
  }),
  scenario('quorum/delivery limit by channel close', 'a closed channel returns count: with a limit of 1 the second close dead-letters', async (ctx) => {
    const { q, dlq } = await qq(ctx, 2, { 'x-delivery-limit': 1 }, true);
    for (const label of ['a', 'b']) {
      const c = await ctx.channel(label);
      await c.get(q);
      await c.get(q);
      await c.close();
      await ctx.wait(SETTLE);
    }
    const d = await ctx.channel('d');
    await d.checkQueue(q);
    await d.drain(dlq);
  }),
  scenario('quorum/delivery limit not a number', 'x-delivery-limit is not validated; a string never dead-letters but puts returns in front', async (ctx) => {
    const { q, dlq } = await qq(ctx, 2, { 'x-delivery-limit': 'two' }, true);
    const a = await ctx.channel('a');
    for (let tag = 1; tag <= 3; tag++) {
      await a.get(q);
      a.nack(tag, false, true);
      await ctx.wait(SETTLE);
    }
    await a.drain(q);
    await a.drain(dlq);
  }),
];

const returnModes: [string, (ch: Ch) => void][] = [
  ['reject 3, 1, 4', (ch) => (ch.reject(3, true), ch.reject(1, true), ch.nack(4, false, true))],
  ['nack multiple', (ch) => ch.nack(3, true, true)],
];

function returnOrder(): Scenario[] {
  const out: Scenario[] = [];
  for (const [label, settle] of returnModes) {
    for (const [mode, args] of [['no limit', {}], ['with a limit', { 'x-delivery-limit': 10 }]] as const) {
      out.push(
        scenario(`quorum/return order ${label}, ${mode}`, `after ${label} (${mode}) the returns go to the ${mode === 'no limit' ? 'back' : 'front'}`, async (ctx) => {
          const { q } = await qq(ctx, 5, args);
          const a = await ctx.channel('a');
          for (let i = 0; i < 4; i++) await a.get(q);
          settle(a);
          await ctx.wait(SETTLE);
          await a.drain(q);
        }),
      );
    }
  }
  return out;
}

const returns: Scenario[] = [
  ...returnOrder(),
  scenario('quorum/return order on channel close', "a closed channel's basic.get messages go to the front, ordered by their tags as text", async (ctx) => {
    const { q } = await qq(ctx, 12);
    const a = await ctx.channel('a');
    for (let i = 0; i < 11; i++) await a.get(q);
    await a.close();
    await ctx.wait(SETTLE);
    const b = await ctx.channel('b');
    await b.drain(q, 12);
  }),
  scenario('quorum/return order on recover', 'basic.recover returns a cancelled consumer\'s messages to the back (no delivery limit)', async (ctx) => {
    const { q } = await qq(ctx, 5);
    const a = await ctx.channel('a');
    await a.qos(3);
    const k = await a.consume(q, {}, 'k');
    await ctx.expect(k, 3);
    await a.cancel(k);
    await a.recover();
    await ctx.wait(SETTLE);
    await a.drain(q);
  }),
];

const consumers: Scenario[] = [
  scenario('quorum/consumer count', 'declare-ok counts unsettled gets and cancelled consumers still holding messages', async (ctx) => {
    const { q } = await qq(ctx, 2);
    const a = await ctx.channel('a');
    const k = await a.consume(q, {}, 'k');
    await ctx.expect(k, 2);
    await a.cancel(k);
    await ctx.wait(SETTLE);
    await a.checkQueue(q);
    a.ack(2, true);
    await ctx.wait(SETTLE);
    await a.checkQueue(q);
    const pub = await ctx.confirmChannel('pub2');
    pub.publish('', q, 'g1');
    pub.publish('', q, 'g2');
    await pub.confirms();
    await a.get(q);
    await a.get(q);
    await ctx.wait(SETTLE);
    await a.checkQueue(q);
    a.nack(3, false, true);
    await ctx.wait(SETTLE);
    await a.checkQueue(q);
  }),
  scenario('quorum/single active consumer', 'the active consumer hands over in arrival order, not by priority; only the active one counts', async (ctx) => {
    const { pub, q } = await qq(ctx, 0, { 'x-single-active-consumer': true });
    const a = await ctx.channel('a');
    const k1 = await a.consume(q, { priority: 1 }, 'k1');
    const k2 = await a.consume(q, { priority: 9 }, 'k2');
    await a.consume(q, { priority: 5 }, 'k3');
    await a.checkQueue(q);
    pub.publish('', q, 'm1');
    await pub.confirms();
    await ctx.expect(k1, 1);
    await a.cancel(k1);
    pub.publish('', q, 'm2');
    await pub.confirms();
    await ctx.expect(k2, 1);
    await ctx.wait(SETTLE);
    await a.checkQueue(q);
  }),
  scenario('quorum/get with single active consumer', 'basic.get is 405 on a single-active-consumer quorum queue', async (ctx) => {
    const { q } = await qq(ctx, 1, { 'x-single-active-consumer': true });
    const a = await ctx.channel('a');
    await a.get(q);
  }),
  scenario('quorum/exclusive consume', 'an exclusive consume does not keep other consumers out', async (ctx) => {
    const { q } = await qq(ctx, 0);
    const a = await ctx.channel('a');
    await a.consume(q, { exclusive: true }, 'k1');
    await a.consume(q, { exclusive: true }, 'k2');
    const b = await ctx.channel('b');
    await b.consume(q, {}, 'k3');
    await ctx.wait(SETTLE);
    await b.checkQueue(q);
  }),
  scenario('quorum/global qos', 'a consume under a global prefetch is connection.close 540', async (ctx) => {
    const { q } = await qq(ctx, 0);
    const a = await ctx.channel('a');
    await a.qos(0, true);
    await a.consume(q, {}, 'k1');
    await a.qos(5, true);
    await a.consume(q, {}, 'k2');
  }),
  ...(['ifUnused', 'ifEmpty'] as const).map((flag) =>
    scenario(`quorum/delete ${flag}`, `queue.delete with ${flag} is connection.close 540`, async (ctx) => {
      const { q } = await qq(ctx, 0);
      const a = await ctx.channel('a');
      await a.deleteQueue(q, { [flag]: true });
    }),
  ),
];

const limits: Scenario[] = [
  scenario('quorum/drop-head', 'drop-head dead-letters the oldest with reason maxlen', async (ctx) => {
    const { pub, q, dlq } = await qq(ctx, 0, { 'x-max-length': 2 }, true);
    await oneByOne(pub, q, ['m1', 'm2', 'm3', 'm4']);
    await pub.drain(q);
    await pub.drain(dlq);
  }),
  scenario('quorum/reject-publish', 'reject-publish takes the message that crosses the limit, refuses the next, lets them in at 80%', async (ctx) => {
    const { pub, q } = await qq(ctx, 0, { 'x-max-length': 2, 'x-overflow': 'reject-publish' });
    await oneByOne(pub, q, ['m1', 'm2', 'm3', 'm4']);
    await pub.checkQueue(q);
    await pub.get(q, true);
    await oneByOne(pub, q, ['n1']);
    await pub.get(q, true);
    await oneByOne(pub, q, ['n2', 'n3', 'n4']);
    await pub.drain(q);
  }),
  scenario('quorum/reject-publish-dlx', 'reject-publish-dlx is not a quorum overflow: the head is dropped', async (ctx) => {
    const { pub, q, dlq } = await qq(ctx, 0, { 'x-max-length': 1, 'x-overflow': 'reject-publish-dlx' }, true);
    await oneByOne(pub, q, ['m1', 'm2']);
    await pub.drain(q);
    await pub.drain(dlq);
  }),
  scenario('quorum/max-length-bytes', 'x-max-length-bytes drops heads by size', async (ctx) => {
    const { pub, q } = await qq(ctx, 0, { 'x-max-length-bytes': 5 });
    await oneByOne(pub, q, ['aa', 'bb', 'cc', 'dd']);
    await pub.drain(q);
  }),
  scenario('quorum/message ttl', 'expired messages are dead-lettered with reason expired; the lower of x-message-ttl and expiration wins', async (ctx) => {
    const { pub, q, dlq } = await qq(ctx, 0, { 'x-message-ttl': 100 }, true);
    pub.publish('', q, 't1');
    pub.publish('', q, 't2', { expiration: '50' });
    pub.publish('', q, 't3', { expiration: '5000' });
    await pub.confirms();
    await ctx.wait(600);
    await pub.checkQueue(q);
    await pub.drain(dlq, 3);
  }),
];

/** A quorum queue dead-lettering at least once into fanout `dlx`; `dlq` is bound only if asked. */
async function atLeastOnce(ctx: Ctx, bound: boolean, extra: Record<string, unknown> = {}): Promise<{ pub: Ch; q: string; dlq: string }> {
  const pub = await ctx.confirmChannel('pub');
  const [q, dlq, dlx] = [ctx.n('q'), ctx.n('dlq'), ctx.n('dlx')];
  await pub.exchange(dlx, 'fanout', DURABLE);
  await pub.queue(dlq, DURABLE);
  if (bound) await pub.bind(dlq, dlx);
  const args = { ...QUORUM, 'x-dead-letter-exchange': dlx, 'x-dead-letter-strategy': 'at-least-once', 'x-overflow': 'reject-publish', ...extra };
  await pub.queue(q, { durable: true, arguments: args });
  return { pub, q, dlq };
}

const strategies: Scenario[] = [
  scenario('quorum/at-least-once routed', 'an at-least-once dead letter reaches its queue and leaves the source', async (ctx) => {
    const { pub, q, dlq } = await atLeastOnce(ctx, true);
    await oneByOne(pub, q, ['a1']);
    const a = await ctx.channel('a');
    await a.get(q);
    a.reject(1, false);
    await ctx.wait(SETTLE);
    await a.checkQueue(q);
    await a.drain(dlq, 1);
  }),
  scenario('quorum/at-least-once unroutable', 'kept, not counted as a message, counted against the limit', async (ctx) => {
    const { pub, q, dlq } = await atLeastOnce(ctx, false, { 'x-max-length': 2 });
    await oneByOne(pub, q, ['h1', 'h2']);
    const a = await ctx.channel('a');
    await a.get(q);
    a.reject(1, false);
    await ctx.wait(SETTLE);
    await a.checkQueue(q);
    await oneByOne(pub, q, ['h3', 'h4']);
    await a.drain(q);
    await oneByOne(pub, q, ['h5']);
    await a.checkQueue(dlq);
  }),
  scenario('quorum/at-least-once missing exchange', 'a missing dead-letter exchange keeps the message too', async (ctx) => {
    const { pub, q } = await atLeastOnce(ctx, false, { 'x-max-length': 1, 'x-dead-letter-exchange': ctx.n('nosuch') });
    await oneByOne(pub, q, ['x1']);
    const a = await ctx.channel('a');
    await a.get(q);
    a.reject(1, false);
    await ctx.wait(SETTLE);
    await oneByOne(pub, q, ['x2', 'x3']);
  }),
  scenario('quorum/at-least-once needs reject-publish', 'with drop-head the strategy is at-most-once: an unroutable dead letter is gone', async (ctx) => {
    const { pub, q } = await atLeastOnce(ctx, false, { 'x-max-length': 1, 'x-overflow': 'drop-head' });
    await oneByOne(pub, q, ['f1']);
    const a = await ctx.channel('a');
    await a.get(q);
    a.reject(1, false);
    await ctx.wait(SETTLE);
    await oneByOne(pub, q, ['f2', 'f3']);
    await a.drain(q);
  }),
];

/** Declaration arguments, by queue type: [label, arguments, options]. */
const declarations: [string, Record<string, unknown>, Record<string, unknown>][] = [
  ['quorum x-max-priority', { ...QUORUM, 'x-max-priority': 5 }, DURABLE],
  ['quorum x-queue-mode', { ...QUORUM, 'x-queue-mode': 'lazy' }, DURABLE],
  ['quorum x-queue-version', { ...QUORUM, 'x-queue-version': 2 }, DURABLE],
  ['quorum x-max-age', { ...QUORUM, 'x-max-age': '1D' }, DURABLE],
  ['quorum x-dead-letter-strategy invalid', { ...QUORUM, 'x-dead-letter-strategy': 'sometimes' }, DURABLE],
  ['quorum x-quorum-initial-group-size 0', { ...QUORUM, 'x-quorum-initial-group-size': 0 }, DURABLE],
  ['quorum x-queue-leader-locator invalid', { ...QUORUM, 'x-queue-leader-locator': 'nearest' }, DURABLE],
  ['quorum accepted arguments', { ...QUORUM, 'x-delivery-limit': 'any', 'x-overflow': 'reject-publish-dlx', 'x-queue-leader-locator': 'balanced', 'x-unknown': 1 }, DURABLE],
  ['quorum bad value before other type', { ...QUORUM, 'x-max-priority': 5, 'x-message-ttl': -1 }, DURABLE],
  ['quorum other type before property', { ...QUORUM, 'x-max-priority': 5 }, { durable: true, exclusive: true }],
  ['classic x-queue-version 3', { 'x-queue-version': 3 }, DURABLE],
  ['classic x-queue-leader-locator', { 'x-queue-leader-locator': 'balanced' }, DURABLE],
  ['classic x-delivery-limit', { 'x-delivery-limit': 3 }, DURABLE],
  ['classic x-max-in-memory-length', { 'x-max-in-memory-length': 3 }, DURABLE],
  ['classic x-stream-max-segment-size-bytes', { 'x-stream-max-segment-size-bytes': 1000 }, DURABLE],
  ['classic x-message-ttl too large', { 'x-message-ttl': 315360000001 }, DURABLE],
  ['classic unknown master locator', { 'x-queue-master-locator': 'nearest' }, DURABLE],
  ['classic arguments in table order', { 'x-max-age': '1D', 'x-delivery-limit': 5 }, DURABLE],
  ['stream x-max-priority', { 'x-queue-type': 'stream', 'x-max-priority': 5 }, DURABLE],
  ['stream x-message-ttl', { 'x-queue-type': 'stream', 'x-message-ttl': 1000 }, DURABLE],
  ['stream x-max-age invalid', { 'x-queue-type': 'stream', 'x-max-age': '1X' }, DURABLE],
  ['stream x-max-age without digits', { 'x-queue-type': 'stream', 'x-max-age': 'D' }, DURABLE],
  ['stream non-durable', { 'x-queue-type': 'stream' }, { durable: false }],
];

const validation: Scenario[] = [
  ...declarations.map(([label, args, opts]) =>
    scenario(`queue-types/args ${label}`, `queue.declare with ${label}: RabbitMQ's per-type verdict`, async (ctx) => {
      const a = await ctx.channel('a');
      const q = ctx.n('q');
      await a.queue(q, { ...opts, arguments: args });
      const b = await ctx.channel('b', 'c2');
      await b.checkQueue(q);
    }),
  ),
  scenario('queue-types/server-named quorum', 'a quorum queue cannot be server-named', async (ctx) => {
    const a = await ctx.channel('a');
    await a.queue('', { durable: true, arguments: QUORUM });
  }),
  scenario('queue-types/redeclare quorum', 'a quorum redeclare compares x-delivery-limit, not x-max-priority; a missing x-queue-type is not classic', async (ctx) => {
    const q = ctx.n('q');
    const a = await ctx.channel('a');
    await a.queue(q, { durable: true, arguments: { ...QUORUM, 'x-delivery-limit': 5 } });
    await a.queue(q, { durable: true, arguments: { ...QUORUM, 'x-delivery-limit': 5, 'x-max-priority': 4 } });
    await a.queue(q, { durable: true, arguments: { 'x-delivery-limit': 5 } });
    const b = await ctx.channel('b');
    await b.queue(q, { durable: true, arguments: QUORUM });
  }),
  scenario('queue-types/redeclare classic', 'a classic redeclare ignores x-delivery-limit but not x-queue-type quorum', async (ctx) => {
    const q = ctx.n('q');
    const a = await ctx.channel('a');
    await a.queue(q, DURABLE);
    await a.queue(q, { durable: true, arguments: { 'x-delivery-limit': 5, 'x-queue-type': 'classic' } });
    await a.queue(q, { durable: true, arguments: QUORUM });
  }),
  ...(
    [
      ['quorum x-stream-offset', QUORUM, { 'x-stream-offset': 'first' }],
      ['quorum x-cancel-on-ha-failover', QUORUM, { 'x-cancel-on-ha-failover': true }],
      ['classic x-stream-offset', {}, { 'x-stream-offset': 'first' }],
      ['classic x-priority string', {}, { 'x-priority': 'high' }],
    ] as const
  ).map(([label, queueArgs, consumeArgs]) =>
    scenario(`queue-types/consume ${label}`, `basic.consume with ${label}: RabbitMQ's per-type verdict`, async (ctx) => {
      const q = ctx.n('q');
      const a = await ctx.channel('a');
      await a.queue(q, { durable: true, arguments: queueArgs });
      await a.consume(q, { args: consumeArgs }, 'k');
    }),
  ),
];

export const quorumScenarios: Scenario[] = [...deliveries, ...returns, ...consumers, ...limits, ...strategies, ...validation];
