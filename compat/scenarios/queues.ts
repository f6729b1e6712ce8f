/** Queue lifecycle: declare-ok counts, server-named, purge, delete, exclusive and auto-delete queues. */
import type { Scenario } from '../types.js';
import { queues, scenario } from './util.js';

export const queueScenarios: Scenario[] = [
  scenario('queue/declare counts', 'declare-ok and passive declare report messages and consumers', async (ctx) => {
    const a = await ctx.confirmChannel('a');
    const [q] = await queues(a, ctx, 'q');
    for (const b of ['1', '2', '3']) a.publish('', q!, b);
    await a.confirms();
    await a.checkQueue(q!);
    const k = await a.consume(q!, {}, 'k');
    await ctx.expect(k, 3);
    await a.consume(q!, {}, 'k2');
    await a.queue(q!);
    await a.checkQueue(q!);
  }),
  scenario('queue/server-named', "queue.declare with an empty name gets an amq.gen- name, exclusive to the declaring connection", async (ctx) => {
    const a = await ctx.channel('a');
    const r = await a.queue('', { exclusive: true });
    const b = await ctx.channel('b', 'c2');
    await b.checkQueue(r?.queue ?? 'missing');
  }),
  scenario('queue/server-named use', 'publishing to and binding a server-named queue', async (ctx) => {
    const a = await ctx.confirmChannel('a');
    const r = await a.queue('', { exclusive: true });
    const q = r?.queue ?? 'missing';
    await a.bind(q, 'amq.fanout');
    a.publish('', q, 'direct');
    await a.confirms();
    await a.unbind(q, 'amq.fanout');
    await a.drain(q);
  }),
  scenario('queue/last declared name', "an empty queue name in bind, consume and get means the channel's last declared queue", async (ctx) => {
    const a = await ctx.confirmChannel('a');
    const x = ctx.n('x');
    await a.exchange(x, 'fanout');
    await a.queue('', { exclusive: true });
    await a.bind('', x);
    a.publish(x, '', 'via x');
    await a.confirms();
    await a.get('', true);
    await a.purge('');
  }),
  scenario('queue/no name to default', 'an empty queue name with no queue declared on the channel', async (ctx) => {
    const a = await ctx.channel('a');
    await a.get('', true);
    const b = await ctx.channel('b');
    await b.bind('', 'amq.fanout');
  }),
  scenario('queue/purge and delete counts', 'purge and delete return the number of messages removed', async (ctx) => {
    const a = await ctx.confirmChannel('a');
    const [q] = await queues(a, ctx, 'q');
    for (const b of ['1', '2', '3', '4']) a.publish('', q!, b);
    await a.confirms();
    await a.get(q!);
    await a.purge(q!);
    await a.checkQueue(q!);
    a.publish('', q!, '5');
    await a.confirms();
    await a.deleteQueue(q!);
    await a.checkQueue(q!);
  }),
  scenario('queue/purge keeps unacked', 'purge leaves unacked messages; they come back on recover', async (ctx) => {
    const a = await ctx.confirmChannel('a');
    const [q] = await queues(a, ctx, 'q');
    for (const b of ['1', '2']) a.publish('', q!, b);
    await a.confirms();
    await a.get(q!);
    await a.purge(q!);
    await a.recover();
    await a.checkQueue(q!);
    await a.drain(q!);
  }),
  scenario('queue/delete cancels consumers', 'deleting a queue cancels its consumers (basic.cancel from the broker)', async (ctx) => {
    const a = await ctx.channel('a');
    const [q] = await queues(a, ctx, 'q');
    const k = await a.consume(q!, {}, 'k');
    const b = await ctx.channel('b');
    await b.deleteQueue(q!);
    await ctx.expectCancel(k);
  }),
  scenario('queue/exclusive goes with connection', 'an exclusive queue is deleted when its connection closes', async (ctx) => {
    const a = await ctx.channel('a', 'c1');
    const q = ctx.n('q');
    await a.queue(q, { exclusive: true });
    await ctx.closeConnection('c1');
    const b = await ctx.channel('b', 'c2');
    await b.checkQueue(q);
  }),
  scenario('queue/exclusive same connection', 'another channel of the owning connection may use an exclusive queue', async (ctx) => {
    const a = await ctx.channel('a');
    const q = ctx.n('q');
    await a.queue(q, { exclusive: true });
    const b = await ctx.channel('b');
    await b.checkQueue(q);
    await b.bind(q, 'amq.direct', q);
    await b.purge(q);
    await b.deleteQueue(q);
  }),
  scenario('queue/auto-delete after consumer', 'an auto-delete queue goes when its last consumer is cancelled', async (ctx) => {
    const a = await ctx.channel('a');
    const q = ctx.n('q');
    await a.queue(q, { autoDelete: true });
    await a.checkQueue(q);
    const k1 = await a.consume(q, {}, 'k1');
    const k2 = await a.consume(q, {}, 'k2');
    await a.cancel(k1);
    await a.checkQueue(q);
    await a.cancel(k2);
    const b = await ctx.channel('b');
    await b.checkQueue(q);
  }),
  scenario('queue/auto-delete never consumed', 'an auto-delete queue that never had a consumer stays', async (ctx) => {
    const a = await ctx.channel('a', 'c1');
    const q = ctx.n('q');
    await a.queue(q, { autoDelete: true });
    await ctx.closeConnection('c1');
    const b = await ctx.channel('b', 'c2');
    await b.checkQueue(q);
  }),
  scenario('queue/auto-delete on channel close', "an auto-delete queue goes when its consumer's channel closes", async (ctx) => {
    const a = await ctx.channel('a');
    const q = ctx.n('q');
    await a.queue(q, { autoDelete: true });
    await a.consume(q, {}, 'k');
    await a.close();
    const b = await ctx.channel('b');
    await b.checkQueue(q);
  }),
  scenario('queue/bind idempotent', 'binding twice is one binding; unbinding a missing binding is fine', async (ctx) => {
    const a = await ctx.confirmChannel('a');
    const x = ctx.n('x');
    await a.exchange(x, 'direct');
    const [q] = await queues(a, ctx, 'q');
    await a.bind(q!, x, 'k');
    await a.bind(q!, x, 'k');
    await a.unbind(q!, x, 'k');
    a.publish(x, 'k', 'after unbind', { mandatory: true });
    await a.confirms();
    await a.unbind(q!, x, 'never');
  }),
];
