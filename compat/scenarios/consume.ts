/** Consumers: qos, acks, requeue and redelivery order, cancel, consumer priority, single active consumer. */
import type { Ch } from '../client.js';
import type { Ctx } from '../context.js';
import type { Scenario } from '../types.js';
import { queues, scenario } from './util.js';

/** A queue holding messages m1..mN (published with confirms). */
async function filled(ctx: Ctx, n: number, args?: Record<string, unknown>): Promise<{ pub: Ch; q: string }> {
  const pub = await ctx.confirmChannel('pub');
  const q = ctx.n('q');
  await pub.queue(q, args === undefined ? {} : { arguments: args });
  for (let i = 1; i <= n; i++) pub.publish('', q, `m${i}`);
  await pub.confirms();
  return { pub, q };
}

function prefetchFamily(): Scenario[] {
  return [1, 2, 3].map((prefetch) =>
    scenario(`qos/prefetch ${prefetch}`, `with prefetch ${prefetch} a consumer gets ${prefetch} at a time, more after each ack`, async (ctx) => {
      const { q } = await filled(ctx, 5);
      const a = await ctx.channel('a');
      await a.qos(prefetch);
      const k = await a.consume(q, {}, 'k');
      await ctx.expect(k, prefetch);
      await a.checkQueue(q);
      a.ack(1);
      await ctx.expect(k, 1);
      a.ack(0, true);
      await ctx.expect(k, Math.min(prefetch, 5 - prefetch - 1));
      await a.checkQueue(q);
    }),
  );
}

const requeueModes: [string, (ch: Ch) => void][] = [
  ['nack requeue one', (ch) => ch.nack(2, false, true)],
  ['nack requeue multiple', (ch) => ch.nack(3, true, true)],
  ['reject requeue', (ch) => (ch.reject(3, true), ch.reject(1, true))],
  ['nack without requeue', (ch) => ch.nack(2, true, false)],
  ['ack some nack rest', (ch) => (ch.ack(2), ch.nack(0, true, true))],
];

function requeueFamily(): Scenario[] {
  return requeueModes.map(([label, settle]) =>
    scenario(`requeue/${label}`, `after ${label}, what is left and in which order, with the redelivered flag`, async (ctx) => {
      const { q } = await filled(ctx, 4);
      const a = await ctx.channel('a');
      for (let i = 0; i < 3; i++) await a.get(q);
      settle(a);
      await a.sync();
      await a.checkQueue(q);
      await a.drain(q);
    }),
  );
}

const consumers: Scenario[] = [
  ...prefetchFamily(),
  ...requeueFamily(),
  scenario('qos/global prefetch', 'global qos is shared by the consumers of a channel', async (ctx) => {
    const { pub, q } = await filled(ctx, 3);
    const q2 = ctx.n('q2');
    await pub.queue(q2);
    for (let i = 1; i <= 4; i++) pub.publish('', q2, `n${i}`);
    await pub.confirms();
    const a = await ctx.channel('a');
    await a.qos(3, true);
    const k1 = await a.consume(q, {}, 'k1');
    await ctx.expect(k1, 3);
    const k2 = await a.consume(q2, {}, 'k2');
    await a.checkQueue(q2);
    a.ack(0, true);
    await ctx.expect(k2, 3);
  }),
  scenario('qos/both limits', 'a per-consumer and a global limit on one channel: the lower applies', async (ctx) => {
    const { q } = await filled(ctx, 6);
    const a = await ctx.channel('a');
    await a.qos(4, true);
    await a.qos(2, false);
    const k = await a.consume(q, {}, 'k');
    await ctx.expect(k, 2);
    await a.checkQueue(q);
  }),
  scenario('qos/no-ack ignores prefetch', 'a no-ack consumer is not limited by prefetch', async (ctx) => {
    const { q } = await filled(ctx, 4);
    const a = await ctx.channel('a');
    await a.qos(1);
    const k = await a.consume(q, { noAck: true }, 'k');
    await ctx.expect(k, 4);
  }),
  scenario('redelivery/channel close requeues', 'unacked messages return in their original order, marked redelivered', async (ctx) => {
    const { q } = await filled(ctx, 4);
    const a = await ctx.channel('a');
    const k = await a.consume(q, {}, 'k');
    await ctx.expect(k, 4);
    a.ack(2);
    await a.close();
    const b = await ctx.channel('b');
    await b.drain(q, 3);
  }),
  scenario('redelivery/recover', 'basic.recover requeues unacked messages and redelivers them', async (ctx) => {
    const { q } = await filled(ctx, 3);
    const a = await ctx.channel('a');
    await a.qos(10);
    const k = await a.consume(q, {}, 'k');
    await ctx.expect(k, 3);
    a.ack(1);
    await a.recover();
    await ctx.expect(k, 2);
  }),
  scenario('redelivery/requeue to consumer', 'a nacked message goes back to the front and is redelivered', async (ctx) => {
    const { q } = await filled(ctx, 3);
    const a = await ctx.channel('a');
    await a.qos(1);
    const k = await a.consume(q, {}, 'k');
    await ctx.expect(k, 1);
    a.nack(1, false, true);
    await ctx.expect(k, 1);
    a.reject(2, true);
    await ctx.expect(k, 1);
    a.ack(3);
    await ctx.expect(k, 1);
  }),
  scenario('redelivery/cancel keeps unacked', 'cancelling a consumer leaves its deliveries unacked until the channel closes', async (ctx) => {
    const { q } = await filled(ctx, 2);
    const a = await ctx.channel('a');
    const k = await a.consume(q, {}, 'k');
    await ctx.expect(k, 2);
    await a.cancel(k);
    await a.checkQueue(q);
    a.ack(1);
    await a.close();
    const b = await ctx.channel('b');
    await b.drain(q, 1);
  }),
  scenario('dispatch/round robin', 'two consumers on one queue take turns', async (ctx) => {
    const pub = await ctx.confirmChannel('pub');
    const [q] = await queues(pub, ctx, 'q');
    const a = await ctx.channel('a');
    const k1 = await a.consume(q!, { noAck: true }, 'k1');
    const k2 = await a.consume(q!, { noAck: true }, 'k2');
    for (let i = 1; i <= 6; i++) pub.publish('', q!, `m${i}`);
    await pub.confirms();
    await ctx.expect(k1, 3);
    await ctx.expect(k2, 3);
  }),
  scenario('dispatch/consumer priority', 'the higher x-priority consumer gets everything while it has credit', async (ctx) => {
    const pub = await ctx.confirmChannel('pub');
    const [q] = await queues(pub, ctx, 'q');
    const a = await ctx.channel('a');
    await a.qos(2);
    const lo = await a.consume(q!, { priority: 1 }, 'lo');
    const hi = await a.consume(q!, { priority: 5 }, 'hi');
    for (let i = 1; i <= 5; i++) pub.publish('', q!, `m${i}`);
    await pub.confirms();
    await ctx.expect(hi, 2);
    await ctx.expect(lo, 2);
    await a.checkQueue(q!);
  }),
  scenario('dispatch/get and consume', 'basic.get takes from the same queue that consumers are waiting on', async (ctx) => {
    const { q } = await filled(ctx, 3);
    const a = await ctx.channel('a');
    await a.get(q);
    await a.qos(1);
    const k = await a.consume(q, {}, 'k');
    await ctx.expect(k, 1);
    const b = await ctx.channel('b');
    await b.get(q);
    await b.get(q);
  }),
  scenario('dispatch/exclusive consumer', 'an exclusive consumer gets everything', async (ctx) => {
    const { q } = await filled(ctx, 3);
    const a = await ctx.channel('a');
    const k = await a.consume(q, { exclusive: true, noAck: true }, 'k');
    await ctx.expect(k, 3);
    await a.checkQueue(q);
  }),
  scenario('sac/one active', 'with single active consumer only the first consumer receives', async (ctx) => {
    const { q } = await filled(ctx, 4, { 'x-single-active-consumer': true });
    const a = await ctx.channel('a');
    const k1 = await a.consume(q, { noAck: true }, 'k1');
    const b = await ctx.channel('b');
    const k2 = await b.consume(q, { noAck: true }, 'k2');
    await ctx.expect(k1, 4);
    await b.checkQueue(q);
    await b.cancel(k2);
  }),
  scenario('sac/failover on cancel', 'when the active consumer goes, the next one takes over with the unacked messages', async (ctx) => {
    const { q } = await filled(ctx, 3, { 'x-single-active-consumer': true });
    const a = await ctx.channel('a');
    await a.qos(2);
    const k1 = await a.consume(q, {}, 'k1');
    await ctx.expect(k1, 2);
    const b = await ctx.channel('b');
    const k2 = await b.consume(q, {}, 'k2');
    a.ack(1);
    await a.close();
    await ctx.expect(k2, 2);
  }),
  scenario('sac/declare-ok consumers', 'a single-active-consumer queue counts all consumers', async (ctx) => {
    const { q, pub } = await filled(ctx, 0, { 'x-single-active-consumer': true });
    const a = await ctx.channel('a');
    await a.consume(q, {}, 'k1');
    await a.consume(q, {}, 'k2');
    await pub.checkQueue(q);
  }),
  scenario('consumer/cancel-ok and redeliver to other', "after one consumer cancels, the other gets the rest", async (ctx) => {
    const pub = await ctx.confirmChannel('pub');
    const [q] = await queues(pub, ctx, 'q');
    const a = await ctx.channel('a');
    const k1 = await a.consume(q!, { noAck: true }, 'k1');
    const k2 = await a.consume(q!, { noAck: true }, 'k2');
    await a.cancel(k1);
    for (let i = 1; i <= 3; i++) pub.publish('', q!, `m${i}`);
    await pub.confirms();
    await ctx.expect(k2, 3);
  }),
];

export const consumeScenarios: Scenario[] = consumers;
