/**
 * Persistent messages in durable queues: the path through Warren's message store (confirms
 * after fsync, bodies read back from disk, slots released on ack) must be invisible to
 * clients, so these are the everyday scenarios again with delivery mode 2 and durable queues.
 */
import type { Ctx } from '../context.js';
import type { Ch } from '../client.js';
import type { Scenario } from '../types.js';
import { scenario } from './util.js';

const P = { persistent: true } as const;

async function durable(ch: Ch, ctx: Ctx, base: string, args: Record<string, unknown> = {}): Promise<string> {
  const q = ctx.n(base);
  await ch.queue(q, { durable: true, arguments: args });
  return q;
}

export const persistentScenarios: Scenario[] = [
  scenario('persistent/confirms and properties', 'persistent messages to a durable queue are confirmed and come back with their properties', async (ctx) => {
    const pub = await ctx.confirmChannel('pub');
    const q = await durable(pub, ctx, 'q');
    for (let i = 0; i < 5; i++) pub.publish('', q, `m${i}`, { ...P, headers: { i }, messageId: `id${i}`, contentType: 'text/plain', priority: 2 });
    await pub.confirms();
    await pub.checkQueue(q);
    await pub.drain(q);
  }),
  scenario('persistent/durable and transient targets', 'a persistent fanout to durable and transient queues, and a transient message among them', async (ctx) => {
    const pub = await ctx.confirmChannel('pub');
    const x = ctx.n('x');
    await pub.exchange(x, 'fanout');
    const d1 = await durable(pub, ctx, 'd1');
    const d2 = await durable(pub, ctx, 'd2');
    const t = ctx.n('t');
    await pub.queue(t);
    for (const q of [d1, d2, t]) await pub.bind(q, x);
    pub.publish(x, 'k', 'p1', P);
    pub.publish(x, 'k', 't1');
    pub.publish(x, 'k', 'p2', P);
    await pub.confirms();
    for (const q of [d1, d2, t]) await pub.drain(q);
  }),
  scenario('persistent/requeue keeps order', 'nacked persistent messages go back to their places, marked redelivered', async (ctx) => {
    const pub = await ctx.confirmChannel('pub');
    const q = await durable(pub, ctx, 'q');
    for (let i = 0; i < 5; i++) pub.publish('', q, `m${i}`, P);
    await pub.confirms();
    const a = await ctx.channel('a');
    await a.qos(10);
    const k = await a.consume(q, {}, 'k');
    await ctx.expect(k, 5);
    a.ack(2);
    a.nack(4, false, true);
    a.nack(1, false, true);
    await a.cancel(k);
    a.ack(3);
    a.ack(5);
    await a.checkQueue(q);
    await pub.drain(q);
  }),
  scenario('persistent/channel close requeues', 'unacked persistent messages return when the consumer goes', async (ctx) => {
    const pub = await ctx.confirmChannel('pub');
    const q = await durable(pub, ctx, 'q');
    for (let i = 0; i < 4; i++) pub.publish('', q, `m${i}`, P);
    await pub.confirms();
    const a = await ctx.channel('a');
    const k = await a.consume(q, {}, 'k');
    await ctx.expect(k, 4);
    a.ack(3);
    await a.close();
    const b = await ctx.channel('b');
    await b.drain(q, 3);
  }),
  scenario('persistent/dead-letter durable to durable', 'a rejected persistent message is dead-lettered with x-death into a durable queue', async (ctx) => {
    const pub = await ctx.confirmChannel('pub');
    const dlx = ctx.n('dlx');
    await pub.exchange(dlx, 'fanout');
    const dead = await durable(pub, ctx, 'dead');
    await pub.bind(dead, dlx);
    const src = await durable(pub, ctx, 'src', { 'x-dead-letter-exchange': dlx });
    pub.publish('', src, 'bad', { ...P, headers: { n: 1 } });
    pub.publish('', src, 'good', P);
    await pub.confirms();
    const a = await ctx.channel('a');
    await a.get(src);
    a.reject(1, false);
    await a.checkQueue(dead);
    await a.drain(dead);
    await a.drain(src);
  }),
  scenario('persistent/ttl expiry', 'persistent messages expire from a durable queue on time and are dead-lettered', async (ctx) => {
    const pub = await ctx.confirmChannel('pub');
    const dlx = ctx.n('dlx');
    await pub.exchange(dlx, 'fanout');
    const dead = await durable(pub, ctx, 'dead');
    await pub.bind(dead, dlx);
    const q = await durable(pub, ctx, 'q', { 'x-message-ttl': 60, 'x-dead-letter-exchange': dlx });
    pub.publish('', q, 'e1', P);
    pub.publish('', q, 'e2', { ...P, expiration: '20' });
    await pub.confirms();
    await ctx.wait(300);
    await pub.checkQueue(q);
    await pub.drain(dead);
  }),
  scenario('persistent/priority', 'a durable priority queue serves persistent messages highest first', async (ctx) => {
    const pub = await ctx.confirmChannel('pub');
    const q = await durable(pub, ctx, 'q', { 'x-max-priority': 5 });
    for (const [p, b] of [[1, 'p1'], [5, 'p5a'], [0, 'p0'], [9, 'p9'], [5, 'p5b']] as const) pub.publish('', q, b, { ...P, priority: p });
    await pub.confirms();
    await pub.drain(q);
  }),
  scenario('persistent/max-length', 'drop-head and reject-publish on durable queues with persistent messages', async (ctx) => {
    const pub = await ctx.confirmChannel('pub');
    const drop = await durable(pub, ctx, 'drop', { 'x-max-length': 2 });
    const rej = await durable(pub, ctx, 'rej', { 'x-max-length': 2, 'x-overflow': 'reject-publish' });
    for (let i = 0; i < 4; i++) {
      pub.publish('', drop, `d${i}`, P);
      pub.publish('', rej, `r${i}`, P);
    }
    await pub.confirms();
    await pub.drain(drop);
    await pub.drain(rej);
  }),
  scenario('persistent/tx commit and rollback', 'persistent publishes in a transaction reach a durable queue only on commit', async (ctx) => {
    const setup = await ctx.channel('setup');
    const q = await durable(setup, ctx, 'q');
    const tx = await ctx.channel('tx');
    await tx.txSelect();
    tx.publish('', q, 'rolled back', P);
    await tx.txRollback();
    tx.publish('', q, 'c1', P);
    tx.publish('', q, 'c2', P);
    await tx.checkQueue(q);
    await tx.txCommit();
    await tx.checkQueue(q);
    await setup.drain(q);
  }),
  scenario('persistent/purge and get', 'purge counts and drops persistent messages; later ones are fetched normally', async (ctx) => {
    const pub = await ctx.confirmChannel('pub');
    const q = await durable(pub, ctx, 'q');
    for (let i = 0; i < 3; i++) pub.publish('', q, `old${i}`, P);
    await pub.confirms();
    await pub.purge(q);
    pub.publish('', q, 'new', P);
    await pub.confirms();
    await pub.get(q, true);
    await pub.get(q, true);
  }),
];
