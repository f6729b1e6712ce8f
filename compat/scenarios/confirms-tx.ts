/** Publisher confirms (with mandatory) and transactions. */
import type { Scenario } from '../types.js';
import { queues, scenario } from './util.js';

const confirms: Scenario[] = [
  scenario('confirm/acks', 'every routed publish is acked, in order', async (ctx) => {
    const pub = await ctx.confirmChannel('pub');
    const [q1, q2] = await queues(pub, ctx, 'q1', 'q2');
    for (let i = 0; i < 5; i++) pub.publish('', i % 2 === 0 ? q1! : q2!, `m${i}`);
    await pub.confirms();
    await pub.checkQueue(q1!);
  }),
  scenario('confirm/unroutable', 'an unroutable publish without mandatory is acked and dropped', async (ctx) => {
    const pub = await ctx.confirmChannel('pub');
    pub.publish('amq.direct', ctx.n('nobody'), 'm');
    await pub.confirms();
  }),
  scenario('confirm/mandatory return then ack', 'an unroutable mandatory publish: basic.return, then basic.ack', async (ctx) => {
    const pub = await ctx.confirmChannel('pub');
    const [q] = await queues(pub, ctx, 'q');
    pub.publish('amq.direct', ctx.n('nobody'), 'returned', { mandatory: true, headers: { h: 'v' }, messageId: 'm1' });
    pub.publish('', q!, 'routed', { mandatory: true });
    pub.publish('', ctx.n('nobody'), 'returned too', { mandatory: true });
    await pub.confirms();
  }),
  scenario('confirm/missing exchange', 'publishing to a missing exchange closes the channel with 404', async (ctx) => {
    const pub = await ctx.confirmChannel('pub');
    pub.publish(ctx.n('nosuch'), 'k', 'm');
    await pub.confirms();
  }),
  scenario('confirm/mixed nacks', 'acks and nacks interleaved by a reject-publish queue', async (ctx) => {
    const pub = await ctx.confirmChannel('pub');
    const [ok] = await queues(pub, ctx, 'ok');
    const full = ctx.n('full');
    await pub.queue(full, { arguments: { 'x-max-length': 1, 'x-overflow': 'reject-publish' } });
    pub.publish('', full, 'fits');
    pub.publish('', full, 'nack 1');
    pub.publish('', ok!, 'ack');
    pub.publish('', full, 'nack 2');
    pub.publish('', full, 'nack 3');
    pub.publish('', ok!, 'ack');
    await pub.confirms();
  }),
  scenario('confirm/fanout to full and free', 'a message routed to a full queue and a free one is nacked but kept in the free one', async (ctx) => {
    const pub = await ctx.confirmChannel('pub');
    const x = ctx.n('x');
    await pub.exchange(x, 'fanout');
    const [free] = await queues(pub, ctx, 'free');
    const full = ctx.n('full');
    await pub.queue(full, { arguments: { 'x-max-length': 0, 'x-overflow': 'reject-publish' } });
    await pub.bind(free!, x);
    await pub.bind(full, x);
    pub.publish(x, '', 'm');
    await pub.confirms();
    await pub.drain(free!);
  }),
  scenario('confirm/select twice', 'confirm.select on a confirm channel is fine', async (ctx) => {
    const pub = await ctx.confirmChannel('pub');
    await pub.confirmSelect();
  }),
  scenario('confirm/on tx channel', 'confirm.select on a transactional channel is 406', async (ctx) => {
    const a = await ctx.channel('a');
    await a.txSelect();
    await a.confirmSelect();
  }),
  scenario('confirm/mandatory with alternate exchange', 'a message taken by an alternate exchange is not returned', async (ctx) => {
    const pub = await ctx.confirmChannel('pub');
    const [x, ae] = [ctx.n('x'), ctx.n('ae')];
    await pub.exchange(ae, 'fanout');
    await pub.exchange(x, 'direct', { alternateExchange: ae });
    const [q] = await queues(pub, ctx, 'q');
    await pub.bind(q!, ae);
    pub.publish(x, 'k', 'm', { mandatory: true });
    await pub.confirms();
    await pub.drain(q!);
  }),
];

const tx: Scenario[] = [
  scenario('tx/commit publishes', 'publishes in a transaction appear only on commit', async (ctx) => {
    const a = await ctx.channel('a');
    const [q] = await queues(a, ctx, 'q');
    await a.txSelect();
    a.publish('', q!, 'm1');
    a.publish('', q!, 'm2');
    await a.checkQueue(q!);
    await a.txCommit();
    await a.checkQueue(q!);
    await a.drain(q!);
  }),
  scenario('tx/rollback publishes', 'rolled back publishes never appear', async (ctx) => {
    const a = await ctx.channel('a');
    const [q] = await queues(a, ctx, 'q');
    await a.txSelect();
    a.publish('', q!, 'gone');
    await a.txRollback();
    a.publish('', q!, 'kept');
    await a.txCommit();
    await a.drain(q!);
  }),
  scenario('tx/acks on commit', 'acks in a transaction take effect on commit; rolled-back acks leave messages unacked', async (ctx) => {
    const pub = await ctx.confirmChannel('pub');
    const [q] = await queues(pub, ctx, 'q');
    for (const b of ['1', '2', '3']) pub.publish('', q!, b);
    await pub.confirms();
    const a = await ctx.channel('a');
    await a.txSelect();
    for (let i = 0; i < 3; i++) await a.get(q!);
    a.ack(1);
    await a.txRollback();
    a.ack(2);
    await a.txCommit();
    await a.close();
    await pub.drain(q!, 2);
  }),
  scenario('tx/nack requeue on commit', 'a nack with requeue in a transaction requeues on commit', async (ctx) => {
    const pub = await ctx.confirmChannel('pub');
    const [q] = await queues(pub, ctx, 'q');
    pub.publish('', q!, 'm');
    await pub.confirms();
    const a = await ctx.channel('a');
    await a.txSelect();
    await a.get(q!);
    a.nack(1, false, true);
    await a.checkQueue(q!);
    await a.txCommit();
    await a.checkQueue(q!);
  }),
  scenario('tx/mandatory return', 'an unroutable mandatory publish in a transaction is returned at commit', async (ctx) => {
    const a = await ctx.channel('a');
    await a.txSelect();
    a.publish('amq.direct', ctx.n('nobody'), 'm', { mandatory: true });
    await a.txCommit();
    await a.sync();
  }),
  scenario('tx/commit without select', 'tx.commit before tx.select is 406', async (ctx) => {
    const a = await ctx.channel('a');
    await a.txCommit();
  }),
  scenario('tx/rollback without select', 'tx.rollback before tx.select is 406', async (ctx) => {
    const a = await ctx.channel('a');
    await a.txRollback();
  }),
  scenario('tx/select on confirm channel', 'tx.select on a confirm channel is 406', async (ctx) => {
    const a = await ctx.confirmChannel('a');
    await a.txSelect();
  }),
  scenario('tx/empty commit', 'committing an empty transaction, twice', async (ctx) => {
    const a = await ctx.channel('a');
    await a.txSelect();
    await a.txCommit();
    await a.txCommit();
    await a.txRollback();
  }),
  scenario('tx/missing exchange', 'a publish to a missing exchange in a transaction', async (ctx) => {
    const a = await ctx.channel('a');
    await a.txSelect();
    a.publish(ctx.n('nosuch'), 'k', 'm');
    await a.txCommit();
  }),
];

export const txConfirmScenarios: Scenario[] = [...confirms, ...tx];
