/**
 * Stream queues over AMQP 0-9-1: offsets of every kind, several consumers reading the
 * same log, acks as credit, what a stream refuses (basic.get, consumers without prefetch
 * or with auto-ack, bad offsets, bad declaration arguments), redeclares, purge, delete and
 * retention. RabbitMQ counts a stream's messages late and delivers it in chunks, so these
 * scenarios never log a message count taken after a publish, publish one message per
 * confirm where chunk boundaries matter (`last`), and let consumers settle before checking
 * that nothing more arrives.
 *
 * Not here, on purpose: retention. With segments small enough to roll within a scenario,
 * RabbitMQ 3.10's osiris_retention crashes (`bad_return_value, missing_file`) until the
 * osiris application, and with it the whole node, stops; Warren's own tests cover
 * retention. Nor basic.recover, or x-stream-offset values such as `start` or `true`: they
 * crash RabbitMQ's channel (541 INTERNAL_ERROR).
 */
import type { Ch, Consumer } from '../client.js';
import type { Ctx } from '../context.js';
import type { Scenario } from '../types.js';
import { scenario } from './util.js';

/** Long enough for RabbitMQ to deliver what it is going to deliver, or to apply retention. */
const SETTLE = 300;
const STREAM = { 'x-queue-type': 'stream' };

/** A durable stream `q` (extra arguments `args`) holding m1..mN, published one per confirm. */
async function stream(ctx: Ctx, n: number, args: Record<string, unknown> = {}): Promise<{ pub: Ch; q: string }> {
  const pub = await ctx.confirmChannel('pub');
  const q = ctx.n('q');
  await pub.queue(q, { durable: true, arguments: { ...STREAM, ...args } });
  await publishEach(pub, q, Array.from({ length: n }, (_, i) => `m${i + 1}`));
  return { pub, q };
}

/** Publishes each body and waits for its confirm before the next: one chunk each on RabbitMQ. */
async function publishEach(pub: Ch, q: string, bodies: string[]): Promise<void> {
  for (const b of bodies) {
    pub.publish('', q, b);
    await pub.confirms();
  }
}

/** A consumer `label` on a fresh channel with prefetch `prefetch`, at `offset` (none if undefined). */
async function reader(ctx: Ctx, q: string, label: string, offset: unknown, prefetch = 10): Promise<{ ch: Ch; k: Consumer }> {
  const ch = await ctx.channel(label);
  await ch.qos(prefetch);
  const k = await ch.consume(q, offset === undefined ? {} : { args: { 'x-stream-offset': offset } }, label);
  return { ch, k };
}

/** Waits for `n` deliveries to `k`, logs them, then checks (after a pause) that nothing more came. */
async function exactly(ctx: Ctx, k: Consumer, n: number): Promise<void> {
  await ctx.expect(k, n);
  await ctx.wait(SETTLE);
  ctx.log({ consumer: k.label, more: k.msgs.splice(0).length });
}

/** Offsets that select from a stream of m1..m5 published before the consumer starts. */
const offsets: [string, unknown, number][] = [
  ['first', 'first', 5],
  ['last', 'last', 1],
  ['next', 'next', 0],
  ['default (next)', undefined, 0],
  ['number 0', 0, 5],
  ['negative number', -1, 5],
  ['number 3', 3, 2],
  ['number 4', 4, 1],
  ['number past the end', 50, 0],
  ['timestamp in the past', { '!': 'timestamp', value: 1 }, 5],
  ['timestamp in the future', { '!': 'timestamp', value: 4102444800 }, 0],
  ['interval 1h', '1h', 5],
  ['interval 10D', '10D', 5],
  ['interval 1Y', '1Y', 5],
];

const offsetScenarios: Scenario[] = offsets.map(([label, offset, n]) =>
  scenario(`stream/offset ${label}`, `x-stream-offset ${label} on m1..m5, then one more published: what the consumer gets, with its x-stream-offset`, async (ctx) => {
    const { pub, q } = await stream(ctx, 5);
    const { k } = await reader(ctx, q, 'k', offset);
    await exactly(ctx, k, n);
    await publishEach(pub, q, ['m6']);
    await exactly(ctx, k, 1);
  }),
);

/** Waits until the wall clock has just entered a new second; returns that second (Unix time). */
async function nextSecond(ctx: Ctx): Promise<number> {
  const t = Math.ceil((Date.now() + 1) / 1000);
  await ctx.wait(t * 1000 - Date.now() + 50);
  return t;
}

/** Offsets that fall between messages: a timestamp, and an interval, each after a pause. */
const timedOffsets: Scenario[] = [
  scenario('stream/offset timestamp between messages', 'a timestamp (whole seconds) taken between two publishes: the consumer starts at the later one', async (ctx) => {
    const { pub, q } = await stream(ctx, 2);
    const t = await nextSecond(ctx);
    await publishEach(pub, q, ['m3', 'm4']);
    const { k } = await reader(ctx, q, 'k', { '!': 'timestamp', value: t });
    await exactly(ctx, k, 2);
  }),
  scenario('stream/offset interval 1s', 'x-stream-offset 1s, two seconds after the first publishes: only what came since', async (ctx) => {
    const { pub, q } = await stream(ctx, 2);
    await ctx.wait(2100);
    await publishEach(pub, q, ['m3']);
    const { k } = await reader(ctx, q, 'k', '1s');
    await exactly(ctx, k, 1);
  }),
];

/**
 * Invalid offsets that RabbitMQ refuses with a 406. Others (an unknown word such as
 * `start`, `h` with no digits, a boolean) crash its channel (541 INTERNAL_ERROR): not
 * behaviour to record.
 */
const invalidOffsets: [string, unknown][] = [
  ['invalid interval', '1X'],
  ['number as text', '2'],
];

const invalidOffsetScenarios: Scenario[] = invalidOffsets.map(([label, offset]) =>
  scenario(`stream/offset invalid ${label}`, `x-stream-offset ${label}: refused, or read as which offset`, async (ctx) => {
    const { q } = await stream(ctx, 3);
    const { k } = await reader(ctx, q, 'k', offset);
    await ctx.wait(SETTLE);
    ctx.log({ consumer: k.label, got: k.msgs.splice(0) });
  }),
);

const consuming: Scenario[] = [
  scenario('stream/several consumers', 'three consumers (first, first, number 1) each read the log; the stream keeps it, a fourth at first reads all again', async (ctx) => {
    const { pub, q } = await stream(ctx, 3);
    const a = await reader(ctx, q, 'a', 'first');
    const b = await reader(ctx, q, 'b', 'first');
    const c = await reader(ctx, q, 'c', 1);
    await ctx.expect(a.k, 3);
    a.ch.ack(3, true);
    await ctx.expect(b.k, 3);
    b.ch.ack(3, true);
    await ctx.expect(c.k, 2);
    await publishEach(pub, q, ['m4']);
    for (const x of [a, b, c]) await ctx.expect(x.k, 1);
    const d = await reader(ctx, q, 'd', 'first');
    await exactly(ctx, d.k, 4);
  }),
  scenario('stream/two consumers on one channel', 'two consumers on the same channel at first share its prefetch and each read everything', async (ctx) => {
    const { q } = await stream(ctx, 2);
    const ch = await ctx.channel('a');
    await ch.qos(10);
    const k1 = await ch.consume(q, { args: { 'x-stream-offset': 'first' } }, 'k1');
    await ctx.expect(k1, 2);
    const k2 = await ch.consume(q, { args: { 'x-stream-offset': 'first' } }, 'k2');
    await exactly(ctx, k2, 2);
  }),
  scenario('stream/acks are credit', 'prefetch 1: the next message only after an ack; the acked one is still in the stream', async (ctx) => {
    const { q } = await stream(ctx, 3);
    const { ch, k } = await reader(ctx, q, 'k', 'first', 1);
    await exactly(ctx, k, 1);
    ch.ack(1);
    await exactly(ctx, k, 1);
    ch.ack(2);
    await exactly(ctx, k, 1);
    const again = await reader(ctx, q, 'again', 'first');
    await exactly(ctx, again.k, 3);
  }),
  scenario('stream/ack multiple', 'prefetch 2: one multiple ack gives credit for both', async (ctx) => {
    const { q } = await stream(ctx, 5);
    const { ch, k } = await reader(ctx, q, 'k', 'first', 2);
    await exactly(ctx, k, 2);
    ch.ack(2, true);
    await exactly(ctx, k, 2);
  }),
  ...(
    [
      ['nack', (ch: Ch) => ch.nack(1, false, true)],
      ['nack without requeue', (ch: Ch) => ch.nack(1, false, false)],
      ['reject', (ch: Ch) => ch.reject(1, false)],
    ] as const
  ).map(([label, settle]) =>
    scenario(`stream/${label}`, `basic.${label.split(' ')[0]} of a stream delivery is connection.close 540`, async (ctx) => {
      const { q } = await stream(ctx, 2);
      const { ch, k } = await reader(ctx, q, 'k', 'first', 1);
      await ctx.expect(k, 1);
      settle(ch);
      await ctx.wait(SETTLE);
      ctx.log({ consumer: k.label, got: k.msgs.splice(0) });
    }),
  ),
  scenario('stream/cancel and consume again', 'a consumer cancelled, its messages acked: a new one at first reads everything again', async (ctx) => {
    const { q } = await stream(ctx, 3);
    const { ch, k } = await reader(ctx, q, 'k', 'first', 2);
    await exactly(ctx, k, 2);
    await ch.cancel(k);
    ch.ack(2, true);
    const k2 = await ch.consume(q, { args: { 'x-stream-offset': 'first' } }, 'k2');
    await ctx.expect(k2, 2);
    ch.ack(4, true);
    await exactly(ctx, k2, 1);
  }),
  scenario('stream/properties kept', 'a delivery keeps the properties and headers of the publish, with x-stream-offset added', async (ctx) => {
    const pub = await ctx.confirmChannel('pub');
    const q = ctx.n('q');
    await pub.queue(q, { durable: true, arguments: STREAM });
    pub.publish('', q, 'p', { headers: { b: 1, a: 'x' }, messageId: 'id1', contentType: 'text/plain', correlationId: 'c', persistent: false, priority: 3 });
    await pub.confirms();
    const { k } = await reader(ctx, q, 'k', 'first');
    await exactly(ctx, k, 1);
  }),
  scenario('stream/through an exchange', 'a stream bound to a fanout exchange keeps the exchange and routing key of each publish', async (ctx) => {
    const pub = await ctx.confirmChannel('pub');
    const [q, x] = [ctx.n('q'), ctx.n('x')];
    await pub.exchange(x, 'fanout');
    await pub.queue(q, { durable: true, arguments: STREAM });
    await pub.bind(q, x);
    pub.publish(x, 'r1', 'a', { mandatory: true });
    await pub.confirms();
    pub.publish(x, 'r2', 'b', { mandatory: true });
    await pub.confirms();
    const { k } = await reader(ctx, q, 'k', 'first');
    await exactly(ctx, k, 2);
  }),
];

const refused: Scenario[] = [
  scenario('stream/basic.get', 'basic.get on a stream is connection.close 540', async (ctx) => {
    const { q } = await stream(ctx, 1);
    const a = await ctx.channel('a');
    await a.get(q);
  }),
  scenario('stream/consume without prefetch', 'a consume with no basic.qos is channel.close 406', async (ctx) => {
    const { q } = await stream(ctx, 1);
    const a = await ctx.channel('a');
    await a.consume(q, { args: { 'x-stream-offset': 'first' } }, 'k');
  }),
  scenario('stream/consume with global prefetch', 'a global prefetch alone is no consumer prefetch', async (ctx) => {
    const { q } = await stream(ctx, 1);
    const a = await ctx.channel('a');
    await a.qos(10, true);
    await a.consume(q, { args: { 'x-stream-offset': 'first' } }, 'k');
  }),
  scenario('stream/consume no-ack', 'a consume with auto-ack is refused even with a prefetch', async (ctx) => {
    const { q } = await stream(ctx, 1);
    const a = await ctx.channel('a');
    await a.qos(10);
    await a.consume(q, { noAck: true, args: { 'x-stream-offset': 'first' } }, 'k');
  }),
  scenario('stream/consume x-priority', 'a consumer priority is an invalid argument for a stream consumer', async (ctx) => {
    const { q } = await stream(ctx, 1);
    const a = await ctx.channel('a');
    await a.qos(10);
    await a.consume(q, { priority: 5, args: { 'x-stream-offset': 'first' } }, 'k');
  }),
  scenario('stream/exclusive consume', 'an exclusive consumer on a stream that has a consumer, then one more', async (ctx) => {
    const { q } = await stream(ctx, 1);
    const a = await reader(ctx, q, 'a', 'first');
    await ctx.expect(a.k, 1);
    const b = await ctx.channel('b');
    await b.qos(10);
    const kb = await b.consume(q, { exclusive: true, args: { 'x-stream-offset': 'first' } }, 'kb');
    await exactly(ctx, kb, 1);
    const c = await ctx.channel('c');
    await c.qos(10);
    const kc = await c.consume(q, { args: { 'x-stream-offset': 'first' } }, 'kc');
    await exactly(ctx, kc, 1);
  }),
  scenario('stream/purge', 'queue.purge on a stream', async (ctx) => {
    const { q } = await stream(ctx, 2);
    const a = await ctx.channel('a', 'c2');
    await a.purge(q);
    const { k } = await reader(ctx, q, 'k', 'first');
    await exactly(ctx, k, 2);
  }),
];

/** Declaration arguments and properties of a stream: [label, arguments, options]. */
const declarations: [string, Record<string, unknown>, Record<string, unknown>][] = [
  ['x-max-age 1Y', { 'x-max-age': '1Y' }, {}],
  ['x-max-age 30s', { 'x-max-age': '30s' }, {}],
  ['x-max-age 1m', { 'x-max-age': '1m' }, {}],
  ['x-max-age 1M', { 'x-max-age': '1M' }, {}],
  ['x-max-age 0D', { 'x-max-age': '0D' }, {}],
  ['x-max-age number', { 'x-max-age': 3600 }, {}],
  ['x-max-age lowercase d', { 'x-max-age': '1d' }, {}],
  ['x-max-age with space', { 'x-max-age': '1 D' }, {}],
  ['x-max-length-bytes', { 'x-max-length-bytes': 1000000 }, {}],
  ['x-max-length-bytes negative', { 'x-max-length-bytes': -1 }, {}],
  ['x-max-length-bytes text', { 'x-max-length-bytes': '1000' }, {}],
  ['x-stream-max-segment-size-bytes', { 'x-stream-max-segment-size-bytes': 500000 }, {}],
  ['x-stream-max-segment-size-bytes 0', { 'x-stream-max-segment-size-bytes': 0 }, {}],
  ['x-stream-max-segment-size-bytes negative', { 'x-stream-max-segment-size-bytes': -5 }, {}],
  ['x-stream-max-segment-size-bytes text', { 'x-stream-max-segment-size-bytes': '500' }, {}],
  ['x-stream-max-segment-size-bytes huge', { 'x-stream-max-segment-size-bytes': 4000000000 }, {}],
  ['x-max-length', { 'x-max-length': 10 }, {}],
  ['x-overflow', { 'x-overflow': 'reject-publish' }, {}],
  ['x-dead-letter-exchange', { 'x-dead-letter-exchange': 'dlx' }, {}],
  ['x-expires', { 'x-expires': 60000 }, {}],
  ['x-single-active-consumer', { 'x-single-active-consumer': true }, {}],
  ['x-initial-cluster-size', { 'x-initial-cluster-size': 1 }, {}],
  ['x-queue-leader-locator', { 'x-queue-leader-locator': 'balanced' }, {}],
  ['x-delivery-limit', { 'x-delivery-limit': 2 }, {}],
  ['unknown argument', { 'x-unknown': 1 }, {}],
  ['exclusive', {}, { exclusive: true }],
  ['auto-delete', {}, { autoDelete: true }],
  ['non-durable and bad argument', { 'x-max-priority': 5 }, { durable: false }],
];

const validation: Scenario[] = [
  ...declarations.map(([label, args, opts]) =>
    scenario(`stream/declare ${label}`, `queue.declare of a stream with ${label}: accepted or refused, with RabbitMQ's text`, async (ctx) => {
      const a = await ctx.channel('a');
      const q = ctx.n('q');
      await a.queue(q, { durable: true, ...opts, arguments: { ...STREAM, ...args } });
      const b = await ctx.channel('b', 'c2');
      await b.checkQueue(q);
    }),
  ),
  scenario('stream/server-named', 'a stream cannot be server-named', async (ctx) => {
    const a = await ctx.channel('a');
    await a.queue('', { durable: true, arguments: STREAM });
  }),
  scenario('stream/redeclare', 'a redeclare must repeat x-queue-type and x-max-age; x-max-length-bytes and the segment size are compared too', async (ctx) => {
    const q = ctx.n('q');
    const args = { ...STREAM, 'x-max-age': '1D', 'x-max-length-bytes': 100000, 'x-stream-max-segment-size-bytes': 50000 };
    const a = await ctx.channel('a');
    await a.queue(q, { durable: true, arguments: args });
    await a.queue(q, { durable: true, arguments: args });
    await a.queue(q, { durable: true, arguments: { ...args, 'x-unknown': 1 } });
    await a.queue(q, { durable: true, arguments: { ...args, 'x-max-age': '24h' } });
    const b = await ctx.channel('b');
    await b.queue(q, { durable: true, arguments: { ...args, 'x-max-length-bytes': 200000 } });
    const c = await ctx.channel('c');
    await c.queue(q, { durable: true, arguments: { ...args, 'x-stream-max-segment-size-bytes': 60000 } });
    const d = await ctx.channel('d');
    await d.queue(q, { durable: true, arguments: { 'x-max-age': '1D' } });
    const e = await ctx.channel('e');
    await e.queue(q, { durable: true, arguments: { ...STREAM } });
  }),
  scenario('stream/redeclare as classic', 'a stream redeclared as a classic or quorum queue', async (ctx) => {
    const q = ctx.n('q');
    const a = await ctx.channel('a');
    await a.queue(q, { durable: true, arguments: STREAM });
    await a.queue(q, { durable: true, arguments: { 'x-queue-type': 'classic' } });
    const b = await ctx.channel('b');
    await b.queue(q, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
  }),
];

const lifecycle: Scenario[] = [
  scenario('stream/delete', 'an empty stream is deleted; its consumer is cancelled; it is gone', async (ctx) => {
    const { q } = await stream(ctx, 0);
    const { k } = await reader(ctx, q, 'k', 'first');
    const a = await ctx.channel('a');
    await a.deleteQueue(q);
    await ctx.expectCancel(k);
    const b = await ctx.channel('b');
    await b.checkQueue(q);
  }),
  scenario('stream/delete ifUnused', 'queue.delete with ifUnused on a stream', async (ctx) => {
    const { q } = await stream(ctx, 0);
    const a = await ctx.channel('a');
    await a.deleteQueue(q, { ifUnused: true });
  }),
  scenario('stream/delete ifEmpty', 'queue.delete with ifEmpty on a stream', async (ctx) => {
    const { q } = await stream(ctx, 0);
    const a = await ctx.channel('a');
    await a.deleteQueue(q, { ifEmpty: true });
  }),
];

export const streamScenarios: Scenario[] = [...offsetScenarios, ...timedOffsets, ...invalidOffsetScenarios, ...consuming, ...refused, ...validation, ...lifecycle];
