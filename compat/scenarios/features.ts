/** Queue features: message TTL, queue TTL, length limits with each overflow mode, priority queues. */
import type { Scenario } from '../types.js';
import { scenario } from './util.js';

const TTL_WAIT = 400;

function overflowFamily(): Scenario[] {
  const out: Scenario[] = [];
  for (const mode of [undefined, 'drop-head', 'reject-publish', 'reject-publish-dlx'] as const) {
    for (const limit of ['x-max-length', 'x-max-length-bytes'] as const) {
      const label = `${limit} ${mode ?? 'default'}`;
      out.push(
        scenario(`overflow/${label}`, `a queue with ${limit} and overflow ${mode ?? '(default)'}: what stays, what is nacked, what is dead-lettered`, async (ctx) => {
          const pub = await ctx.confirmChannel('pub');
          const [q, dlq] = [ctx.n('q'), ctx.n('dlq')];
          await pub.queue(dlq);
          const args: Record<string, unknown> = { [limit]: limit === 'x-max-length' ? 2 : 5, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dlq };
          if (mode !== undefined) args['x-overflow'] = mode;
          await pub.queue(q, { arguments: args });
          for (const b of ['aa', 'bb', 'cc', 'dd']) pub.publish('', q, b);
          await pub.confirms();
          await pub.checkQueue(q);
          await pub.drain(q);
          await pub.drain(dlq);
        }),
      );
    }
  }
  return out;
}

export const featureScenarios: Scenario[] = [
  ...overflowFamily(),
  scenario('overflow/max-length zero', 'x-max-length 0 drops everything (or refuses it)', async (ctx) => {
    const pub = await ctx.confirmChannel('pub');
    const q = ctx.n('q');
    await pub.queue(q, { arguments: { 'x-max-length': 0 } });
    pub.publish('', q, 'gone');
    await pub.confirms();
    await pub.checkQueue(q);
    const q2 = ctx.n('q2');
    await pub.queue(q2, { arguments: { 'x-max-length': 0, 'x-overflow': 'reject-publish' } });
    pub.publish('', q2, 'refused');
    await pub.confirms();
  }),
  scenario('overflow/unacked do not count', 'unacked messages do not count towards x-max-length', async (ctx) => {
    const pub = await ctx.confirmChannel('pub');
    const q = ctx.n('q');
    await pub.queue(q, { arguments: { 'x-max-length': 1, 'x-overflow': 'reject-publish' } });
    pub.publish('', q, 'one');
    await pub.confirms();
    const a = await ctx.channel('a');
    await a.get(q);
    pub.publish('', q, 'two');
    pub.publish('', q, 'three');
    await pub.confirms();
    a.nack(1, false, true);
    await a.sync();
    await a.checkQueue(q);
    await a.drain(q);
  }),
  scenario('overflow/mandatory reject-publish', 'a mandatory publish refused by a full queue is nacked, not returned', async (ctx) => {
    const pub = await ctx.confirmChannel('pub');
    const q = ctx.n('q');
    await pub.queue(q, { arguments: { 'x-max-length': 1, 'x-overflow': 'reject-publish' } });
    pub.publish('', q, 'one', { mandatory: true });
    pub.publish('', q, 'two', { mandatory: true });
    await pub.confirms();
  }),
  scenario('ttl/queue message-ttl', 'messages expire after x-message-ttl', async (ctx) => {
    const pub = await ctx.confirmChannel('pub');
    const q = ctx.n('q');
    // Long enough that 'new' cannot expire before the drain on a loaded machine.
    await pub.queue(q, { arguments: { 'x-message-ttl': 250 } });
    pub.publish('', q, 'old');
    await pub.confirms();
    await ctx.wait(TTL_WAIT + 250);
    pub.publish('', q, 'new');
    await pub.confirms();
    await pub.checkQueue(q);
    await pub.drain(q);
  }),
  scenario('ttl/per-message expiration', 'a per-message expiration expires that message only', async (ctx) => {
    const pub = await ctx.confirmChannel('pub');
    const q = ctx.n('q');
    await pub.queue(q);
    pub.publish('', q, 'short', { expiration: '50' });
    pub.publish('', q, 'long', { expiration: '600000' });
    pub.publish('', q, 'forever');
    await pub.confirms();
    await ctx.wait(TTL_WAIT);
    await pub.drain(q);
  }),
  scenario('ttl/lower wins', 'the lower of x-message-ttl and expiration applies', async (ctx) => {
    const pub = await ctx.confirmChannel('pub');
    const q = ctx.n('q');
    await pub.queue(q, { arguments: { 'x-message-ttl': 50 } });
    pub.publish('', q, 'long per-message', { expiration: '600000' });
    await pub.confirms();
    const q2 = ctx.n('q2');
    await pub.queue(q2, { arguments: { 'x-message-ttl': 600000 } });
    pub.publish('', q2, 'short per-message', { expiration: '50' });
    pub.publish('', q2, 'queue ttl');
    await pub.confirms();
    await ctx.wait(TTL_WAIT);
    await pub.drain(q);
    await pub.drain(q2);
  }),
  scenario('ttl/zero with consumer', 'expiration 0 reaches a waiting consumer, not an empty queue', async (ctx) => {
    const pub = await ctx.confirmChannel('pub');
    const q = ctx.n('q');
    await pub.queue(q);
    pub.publish('', q, 'nobody waiting', { expiration: '0' });
    await pub.confirms();
    await pub.checkQueue(q);
    const a = await ctx.channel('a');
    const k = await a.consume(q, { noAck: true }, 'k');
    pub.publish('', q, 'consumer waiting', { expiration: '0' });
    await pub.confirms();
    await ctx.expect(k, 1);
  }),
  scenario('ttl/expiration kept on delivery', 'the expiration property is delivered as published', async (ctx) => {
    const pub = await ctx.confirmChannel('pub');
    const q = ctx.n('q');
    await pub.queue(q);
    pub.publish('', q, 'm', { expiration: '600000' });
    await pub.confirms();
    await pub.drain(q);
  }),
  scenario('ttl/requeued keeps expiry', 'a requeued message keeps its original expiry', async (ctx) => {
    const pub = await ctx.confirmChannel('pub');
    const q = ctx.n('q');
    await pub.queue(q, { arguments: { 'x-message-ttl': 300 } });
    pub.publish('', q, 'm');
    await pub.confirms();
    const a = await ctx.channel('a');
    await a.get(q);
    await ctx.wait(TTL_WAIT + 300);
    a.nack(1, false, true);
    await a.sync();
    await ctx.wait(100);
    await a.checkQueue(q);
    await a.drain(q);
  }),
  scenario('ttl/queue expires', 'an unused queue with x-expires is deleted', async (ctx) => {
    const a = await ctx.channel('a');
    const q = ctx.n('q');
    await a.queue(q, { arguments: { 'x-expires': 100 } });
    await a.checkQueue(q);
    await ctx.wait(700);
    await a.checkQueue(q);
  }),
  scenario('ttl/queue expires not while consumed', 'a queue with a consumer does not expire', async (ctx) => {
    const a = await ctx.channel('a');
    const q = ctx.n('q');
    await a.queue(q, { arguments: { 'x-expires': 100 } });
    await a.consume(q, {}, 'k');
    await ctx.wait(500);
    await a.checkQueue(q);
  }),
  scenario('priority/order', 'a priority queue delivers higher priorities first, FIFO within a priority', async (ctx) => {
    const pub = await ctx.confirmChannel('pub');
    const q = ctx.n('q');
    await pub.queue(q, { arguments: { 'x-max-priority': 5 } });
    const ps = [undefined, 3, 1, 5, 3, 9, 0, 5];
    ps.forEach((p, i) => pub.publish('', q, `m${i} p${p ?? '-'}`, p === undefined ? {} : { priority: p }));
    await pub.confirms();
    await pub.checkQueue(q);
    await pub.drain(q);
  }),
  scenario('priority/ignored without max', 'a queue without x-max-priority ignores priorities', async (ctx) => {
    const pub = await ctx.confirmChannel('pub');
    const q = ctx.n('q');
    await pub.queue(q);
    for (const p of [1, 9, 5]) pub.publish('', q, `p${p}`, { priority: p });
    await pub.confirms();
    await pub.drain(q);
  }),
  scenario('priority/requeue', 'a requeued message goes back among its own priority', async (ctx) => {
    const pub = await ctx.confirmChannel('pub');
    const q = ctx.n('q');
    await pub.queue(q, { arguments: { 'x-max-priority': 3 } });
    for (const p of [2, 2, 1]) pub.publish('', q, `p${p}`, { priority: p });
    await pub.confirms();
    const a = await ctx.channel('a');
    await a.get(q);
    pub.publish('', q, 'p3', { priority: 3 });
    await pub.confirms();
    a.nack(1, false, true);
    await a.sync();
    await a.drain(q);
  }),
  scenario('priority/with max-length', 'drop-head in a priority queue drops from the lowest priority', async (ctx) => {
    const pub = await ctx.confirmChannel('pub');
    const q = ctx.n('q');
    await pub.queue(q, { arguments: { 'x-max-priority': 5, 'x-max-length': 2 } });
    for (const p of [5, 1, 3]) pub.publish('', q, `p${p}`, { priority: p });
    await pub.confirms();
    await pub.drain(q);
  }),
  scenario('priority/consumer order', 'a consumer receives a priority backlog highest first', async (ctx) => {
    const pub = await ctx.confirmChannel('pub');
    const q = ctx.n('q');
    await pub.queue(q, { arguments: { 'x-max-priority': 10 } });
    for (const p of [1, 7, 4, 10]) pub.publish('', q, `p${p}`, { priority: p });
    await pub.confirms();
    const a = await ctx.channel('a');
    const k = await a.consume(q, { noAck: true }, 'k');
    await ctx.expect(k, 4);
  }),
];
