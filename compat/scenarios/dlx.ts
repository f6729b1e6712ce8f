/** Dead-lettering: reasons, routing, x-death layout, chains and cycles. */
import type { Ch } from '../client.js';
import type { Ctx } from '../context.js';
import type { Scenario } from '../types.js';
import { scenario } from './util.js';

const TTL_WAIT = 400;

/** q dead-letters into exchange dlx (fanout) bound to dlq. */
async function dlxPair(ctx: Ctx, qArgs: Record<string, unknown> = {}): Promise<{ pub: Ch; q: string; dlq: string; dlx: string }> {
  const pub = await ctx.confirmChannel('pub');
  const [q, dlq, dlx] = [ctx.n('q'), ctx.n('dlq'), ctx.n('dlx')];
  await pub.exchange(dlx, 'fanout');
  await pub.queue(dlq);
  await pub.bind(dlq, dlx);
  await pub.queue(q, { arguments: { 'x-dead-letter-exchange': dlx, ...qArgs } });
  return { pub, q, dlq, dlx };
}

const settleModes: [string, (ch: Ch) => void][] = [
  ['reject', (ch) => ch.reject(1, false)],
  ['nack', (ch) => ch.nack(1, false, false)],
  ['nack multiple', (ch) => ch.nack(2, true, false)],
];

function rejectFamily(): Scenario[] {
  return settleModes.map(([label, settle]) =>
    scenario(`dlx/${label}`, `${label} without requeue dead-letters with reason rejected and an exact x-death`, async (ctx) => {
      const { pub, q, dlq } = await dlxPair(ctx);
      pub.publish('', q, 'm1', { headers: { keep: 'me' }, messageId: 'id1', contentType: 'text/plain' });
      pub.publish('', q, 'm2');
      await pub.confirms();
      const a = await ctx.channel('a');
      await a.get(q);
      await a.get(q);
      settle(a);
      await a.sync();
      await a.drain(dlq);
      await a.checkQueue(q);
    }),
  );
}

export const dlxScenarios: Scenario[] = [
  ...rejectFamily(),
  scenario('dlx/routing key override', 'x-dead-letter-routing-key replaces the routing key', async (ctx) => {
    const pub = await ctx.confirmChannel('pub');
    const [q, dlq, dlx] = [ctx.n('q'), ctx.n('dlq'), ctx.n('dlx')];
    await pub.exchange(dlx, 'direct');
    await pub.queue(dlq);
    await pub.bind(dlq, dlx, 'dead');
    await pub.queue(q, { arguments: { 'x-dead-letter-exchange': dlx, 'x-dead-letter-routing-key': 'dead' } });
    pub.publish('', q, 'm');
    await pub.confirms();
    const a = await ctx.channel('a');
    await a.get(q);
    a.reject(1, false);
    await a.sync();
    await a.drain(dlq);
  }),
  scenario('dlx/original key through topic', 'without an override the original routing key routes in the DLX', async (ctx) => {
    const pub = await ctx.confirmChannel('pub');
    const [q, dlq, dlx, x] = [ctx.n('q'), ctx.n('dlq'), ctx.n('dlx'), ctx.n('x')];
    await pub.exchange(dlx, 'topic');
    await pub.exchange(x, 'direct');
    await pub.queue(dlq);
    await pub.bind(dlq, dlx, 'orig.#');
    await pub.queue(q, { arguments: { 'x-dead-letter-exchange': dlx } });
    await pub.bind(q, x, 'orig.key');
    pub.publish(x, 'orig.key', 'm', { CC: ['other'] });
    await pub.confirms();
    const a = await ctx.channel('a');
    await a.get(q);
    a.reject(1, false);
    await a.sync();
    await a.drain(dlq);
  }),
  scenario('dlx/cc in x-death', 'CC keys are listed in x-death routing-keys and route the dead letter', async (ctx) => {
    const pub = await ctx.confirmChannel('pub');
    const [q, dlq, dlx] = [ctx.n('q'), ctx.n('dlq'), ctx.n('dlx')];
    await pub.exchange(dlx, 'direct');
    await pub.queue(dlq);
    await pub.bind(dlq, dlx, 'cc-key');
    await pub.queue(q, { arguments: { 'x-dead-letter-exchange': dlx } });
    await pub.bind(q, 'amq.direct', q);
    pub.publish('amq.direct', 'main', 'm', { CC: [q] });
    await pub.confirms();
    const a = await ctx.channel('a');
    await a.get(q);
    a.reject(1, false);
    await a.sync();
    await a.drain(dlq);
  }),
  scenario('dlx/missing exchange', 'dead-lettering to a missing exchange drops the message', async (ctx) => {
    const pub = await ctx.confirmChannel('pub');
    const q = ctx.n('q');
    await pub.queue(q, { arguments: { 'x-dead-letter-exchange': ctx.n('nosuch') } });
    pub.publish('', q, 'm');
    await pub.confirms();
    const a = await ctx.channel('a');
    await a.get(q);
    a.reject(1, false);
    await a.sync();
    await a.checkQueue(q);
  }),
  scenario('dlx/expired', 'an expired message is dead-lettered with reason expired', async (ctx) => {
    const { pub, q, dlq } = await dlxPair(ctx, { 'x-message-ttl': 50 });
    pub.publish('', q, 'm', { headers: { h: 1 } });
    await pub.confirms();
    await ctx.wait(TTL_WAIT);
    await pub.drain(dlq);
  }),
  scenario('dlx/per-message expiration', 'original-expiration goes into x-death and the expiration property is removed', async (ctx) => {
    const { pub, q, dlq } = await dlxPair(ctx);
    pub.publish('', q, 'm', { expiration: '50', priority: 3 });
    await pub.confirms();
    await ctx.wait(TTL_WAIT);
    await pub.get(q);
    await pub.drain(dlq);
  }),
  scenario('dlx/chain', 'a message expiring through two queues carries two x-death entries, newest first', async (ctx) => {
    const pub = await ctx.confirmChannel('pub');
    const [q1, q2, q3] = [ctx.n('q1'), ctx.n('q2'), ctx.n('q3')];
    await pub.queue(q3);
    await pub.queue(q2, { arguments: { 'x-message-ttl': 50, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': q3 } });
    await pub.queue(q1, { arguments: { 'x-message-ttl': 50, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': q2 } });
    pub.publish('', q1, 'm');
    await pub.confirms();
    await ctx.wait(TTL_WAIT);
    await pub.drain(q3);
  }, 10000),
  scenario('dlx/expiry cycle dropped', 'a message that would expire back into its own queue is dropped', async (ctx) => {
    const pub = await ctx.confirmChannel('pub');
    const q = ctx.n('q');
    await pub.queue(q, { arguments: { 'x-message-ttl': 50, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': q } });
    pub.publish('', q, 'm');
    await pub.confirms();
    await ctx.wait(TTL_WAIT);
    await pub.checkQueue(q);
  }),
  scenario('dlx/two-queue expiry cycle', 'expiry cycles across two queues are dropped when they come back', async (ctx) => {
    const pub = await ctx.confirmChannel('pub');
    const [a, b] = [ctx.n('a'), ctx.n('b')];
    await pub.queue(a, { arguments: { 'x-message-ttl': 40, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': b } });
    await pub.queue(b, { arguments: { 'x-message-ttl': 40, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': a } });
    pub.publish('', a, 'm');
    await pub.confirms();
    await ctx.wait(600);
    await pub.checkQueue(a);
    await pub.checkQueue(b);
  }),
  scenario('dlx/reject cycle counts', 'rejecting into its own queue is allowed and increments x-death count', async (ctx) => {
    const pub = await ctx.confirmChannel('pub');
    const q = ctx.n('q');
    await pub.queue(q, { arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': q } });
    pub.publish('', q, 'm');
    await pub.confirms();
    const a = await ctx.channel('a');
    for (let i = 1; i <= 3; i++) {
      await a.get(q);
      a.reject(i, false);
      await a.sync();
    }
    await a.drain(q);
  }),
  scenario('dlx/mixed reasons', 'expired then rejected: two x-death entries with different reasons', async (ctx) => {
    const pub = await ctx.confirmChannel('pub');
    const [q1, q2, q3] = [ctx.n('q1'), ctx.n('q2'), ctx.n('q3')];
    await pub.queue(q3);
    await pub.queue(q2, { arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': q3 } });
    await pub.queue(q1, { arguments: { 'x-message-ttl': 50, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': q2 } });
    pub.publish('', q1, 'm');
    await pub.confirms();
    await ctx.wait(TTL_WAIT);
    const a = await ctx.channel('a');
    await a.get(q2);
    a.reject(1, false);
    await a.sync();
    await a.drain(q3);
  }),
  scenario('dlx/maxlen', 'drop-head dead-letters the oldest with reason maxlen', async (ctx) => {
    const { pub, q, dlq } = await dlxPair(ctx, { 'x-max-length': 1 });
    pub.publish('', q, 'first');
    pub.publish('', q, 'second');
    await pub.confirms();
    await pub.drain(dlq);
    await pub.drain(q);
  }),
  scenario('dlx/not on delete or purge', 'purging or deleting a queue does not dead-letter', async (ctx) => {
    const { pub, q, dlq } = await dlxPair(ctx);
    pub.publish('', q, 'purged');
    await pub.confirms();
    await pub.purge(q);
    pub.publish('', q, 'deleted');
    await pub.confirms();
    await pub.deleteQueue(q);
    await pub.checkQueue(dlq);
  }),
  scenario('dlx/consumer nack', 'a consumer nack without requeue dead-letters with delivery details intact', async (ctx) => {
    const { pub, q, dlq } = await dlxPair(ctx);
    pub.publish('', q, 'm', { correlationId: 'c1', replyTo: 'r', appId: 'app', type: 't' });
    await pub.confirms();
    const a = await ctx.channel('a');
    const k = await a.consume(q, {}, 'k');
    await ctx.expect(k, 1);
    a.nack(1, false, false);
    await a.sync();
    await a.drain(dlq);
  }),
  scenario('dlx/redelivered then rejected', 'a message requeued once and then rejected', async (ctx) => {
    const { pub, q, dlq } = await dlxPair(ctx);
    pub.publish('', q, 'm');
    await pub.confirms();
    const a = await ctx.channel('a');
    await a.get(q);
    a.nack(1, false, true);
    await a.get(q);
    a.reject(2, false);
    await a.sync();
    await a.drain(dlq);
  }),
];
