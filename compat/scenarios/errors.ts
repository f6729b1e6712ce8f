/** The core broker's error paths: reply codes, texts and class/method ids. */
import type { Ch } from '../client.js';
import type { Ctx } from '../context.js';
import type { Scenario } from '../types.js';
import { queues, scenario } from './util.js';

/** Declare something, then each of `steps` on a fresh channel (an error closes the channel). */
function each(name: string, description: string, setup: (ch: Ch, ctx: Ctx) => Promise<string>, steps: ((ch: Ch, name: string) => Promise<unknown>)[]): Scenario {
  return scenario(name, description, async (ctx) => {
    const a = await ctx.channel('setup');
    const obj = await setup(a, ctx);
    let i = 0;
    for (const step of steps) {
      const ch = await ctx.channel(`s${++i}`);
      await step(ch, obj);
      await ch.sync();
    }
  });
}

const qInequivalent: [string, object, object][] = [
  ['durable', { durable: false }, { durable: true }],
  ['auto_delete', { autoDelete: false }, { autoDelete: true }],
  ['x-message-ttl value', { arguments: { 'x-message-ttl': 1000 } }, { arguments: { 'x-message-ttl': 2000 } }],
  ['x-max-length added', {}, { arguments: { 'x-max-length': 5 } }],
  ['x-max-length removed', { arguments: { 'x-max-length': 5 } }, {}],
  ['x-dead-letter-exchange', { arguments: { 'x-dead-letter-exchange': 'a' } }, { arguments: { 'x-dead-letter-exchange': 'b' } }],
  ['x-overflow', { arguments: { 'x-overflow': 'drop-head' } }, { arguments: { 'x-overflow': 'reject-publish' } }],
  ['x-max-priority', { arguments: { 'x-max-priority': 5 } }, { arguments: { 'x-max-priority': 6 } }],
];

const xInequivalent: [string, string, object, string, object][] = [
  ['type', 'direct', {}, 'fanout', {}],
  ['durable', 'topic', { durable: false }, 'topic', { durable: true }],
  ['auto_delete', 'direct', {}, 'direct', { autoDelete: true }],
  ['internal', 'direct', {}, 'direct', { internal: true }],
  ['alternate-exchange', 'direct', { alternateExchange: 'a' }, 'direct', { alternateExchange: 'b' }],
];

function inequivalence(): Scenario[] {
  const out: Scenario[] = [];
  for (const [label, first, second] of qInequivalent) {
    out.push(scenario(`inequivalent/queue ${label}`, `redeclaring a queue with a different ${label} is 406; the same declaration is fine`, async (ctx) => {
      const ch = await ctx.channel('a');
      const q = ctx.n('q');
      await ch.queue(q, first);
      await ch.queue(q, first);
      await ch.queue(q, second);
      const b = await ctx.channel('b');
      await b.checkQueue(q);
    }));
  }
  for (const [label, t1, o1, t2, o2] of xInequivalent) {
    out.push(scenario(`inequivalent/exchange ${label}`, `redeclaring an exchange with a different ${label} is 406`, async (ctx) => {
      const ch = await ctx.channel('a');
      const x = ctx.n('x');
      await ch.exchange(x, t1, o1);
      await ch.exchange(x, t1, o1);
      await ch.exchange(x, t2, o2);
      const b = await ctx.channel('b');
      await b.exchange(x, t2, { ...o2, passive: true } as object);
    }));
  }
  return out;
}

const invalidArgs: [string, Record<string, unknown>][] = [
  ['x-max-length negative', { 'x-max-length': -1 }],
  ['x-max-length string', { 'x-max-length': 'ten' }],
  ['x-message-ttl negative', { 'x-message-ttl': -5 }],
  ['x-message-ttl string', { 'x-message-ttl': 'soon' }],
  ['x-expires zero', { 'x-expires': 0 }],
  ['x-overflow unknown', { 'x-overflow': 'explode' }],
  ['x-max-priority too big', { 'x-max-priority': 256 }],
  ['x-max-priority negative', { 'x-max-priority': -1 }],
  ['x-dead-letter-routing-key without exchange', { 'x-dead-letter-routing-key': 'k' }],
  ['x-queue-type unknown', { 'x-queue-type': 'fancy' }],
  ['x-single-active-consumer string', { 'x-single-active-consumer': 'yes' }],
  ['x-max-length-bytes float', { 'x-max-length-bytes': 1.5 }],
];

function argumentErrors(): Scenario[] {
  return invalidArgs.map(([label, args]) =>
    scenario(`args/${label}`, `queue.declare with ${label} is refused with RabbitMQ's text`, async (ctx) => {
      const ch = await ctx.channel('a');
      await ch.queue(ctx.n('q'), { arguments: args });
    }),
  );
}

const exclusiveOps: [string, (ch: Ch, q: string) => Promise<unknown>][] = [
  ['passive declare', (ch, q) => ch.checkQueue(q)],
  ['declare', (ch, q) => ch.queue(q, { exclusive: true })],
  ['consume', (ch, q) => ch.consume(q)],
  ['get', (ch, q) => ch.get(q)],
  ['bind', (ch, q) => ch.bind(q, 'amq.fanout')],
  ['purge', (ch, q) => ch.purge(q)],
  ['delete', (ch, q) => ch.deleteQueue(q)],
];

function exclusiveLocks(): Scenario[] {
  return exclusiveOps.map(([label, op]) =>
    scenario(`exclusive/other connection ${label}`, `${label} of another connection's exclusive queue is 405 RESOURCE_LOCKED`, async (ctx) => {
      const a = await ctx.channel('a');
      const q = ctx.n('q');
      await a.queue(q, { exclusive: true });
      const b = await ctx.channel('b', 'c2');
      await op(b, q);
      await b.sync();
      await a.checkQueue(q);
    }),
  );
}

const missing: Scenario[] = [
  each('missing/queue', 'operations on a queue that does not exist', async (_ch, ctx) => ctx.n('nosuch'), [
    (ch, q) => ch.checkQueue(q),
    (ch, q) => ch.bind(q, 'amq.direct', 'k'),
    (ch, q) => ch.unbind(q, 'amq.direct', 'k'),
    (ch, q) => ch.consume(q),
    (ch, q) => ch.get(q),
    (ch, q) => ch.purge(q),
    (ch, q) => ch.deleteQueue(q),
  ]),
  each('missing/exchange', 'operations on an exchange that does not exist', async (ch, ctx) => {
    await ch.queue(ctx.n('q'));
    return ctx.n('nosuch');
  }, [
    (ch, x) => ch.checkExchange(x),
    (ch, x) => ch.bind(x.replace(/nosuch$/, 'q'), x, 'k'),
    (ch, x) => ch.unbind(x.replace(/nosuch$/, 'q'), x, 'k'),
    async (ch, x) => ch.publish(x, 'k', 'body'),
    (ch, x) => ch.deleteExchange(x),
  ]),
];

const misc: Scenario[] = [
  each('amq-prefix/declare', "names starting with 'amq.' are reserved", async (_ch, ctx) => ctx.n('amq.thing'), [
    (ch, x) => ch.exchange(x, 'direct'),
    (ch, q) => ch.queue(q),
    (ch, x) => ch.checkExchange(x),
    (ch, q) => ch.checkQueue(q),
    (ch) => ch.deleteExchange('amq.direct'),
    (ch) => ch.exchange('amq.direct', 'direct', { passive: true } as object),
  ]),
  each('default-exchange/operations', 'what may and may not be done with the default exchange', async () => '', [
    (ch) => ch.exchange('', 'direct'),
    (ch) => ch.checkExchange(''),
    (ch) => ch.deleteExchange(''),
    (ch) => ch.bind('amq.gen-none', '', 'k'),
    (ch) => ch.bindEx('amq.fanout', '', 'k'),
    (ch) => ch.bindEx('', 'amq.fanout', 'k'),
  ]),
  scenario('default-exchange/bind queue', 'binding a queue to the default exchange is 403', async (ctx) => {
    const a = await ctx.channel('a');
    const [q] = await queues(a, ctx, 'q');
    await a.bind(q!, '', q!);
    const b = await ctx.channel('b');
    await b.unbind(q!, '', q!);
  }),
  scenario('delivery-tag/unknown ack', 'acking a tag never delivered is 406 PRECONDITION_FAILED', async (ctx) => {
    const a = await ctx.channel('a');
    a.ack(99);
    await a.sync();
  }),
  scenario('delivery-tag/unknown nack and reject', 'nack and reject of unknown tags are 406 too', async (ctx) => {
    const a = await ctx.channel('a');
    a.nack(7, false, true);
    await a.sync();
    const b = await ctx.channel('b');
    b.reject(3, false);
    await b.sync();
    const c = await ctx.channel('c');
    c.nack(5, true, false);
    await c.sync();
  }),
  scenario('delivery-tag/double ack', 'acking the same tag twice is 406', async (ctx) => {
    const a = await ctx.confirmChannel('a');
    const [q] = await queues(a, ctx, 'q');
    a.publish('', q!, 'm');
    await a.confirms();
    const tag = await a.get(q!);
    a.ack(tag ?? 1);
    a.ack(tag ?? 1);
    await a.sync();
  }),
  scenario('delivery-tag/ack of no-ack get', 'a no-ack delivery cannot be acked', async (ctx) => {
    const a = await ctx.confirmChannel('a');
    const [q] = await queues(a, ctx, 'q');
    a.publish('', q!, 'm');
    await a.confirms();
    const tag = await a.get(q!, true);
    a.ack(tag ?? 1);
    await a.sync();
  }),
  scenario('delivery-tag/ack multiple zero', 'ack multiple with tag 0 acks everything outstanding', async (ctx) => {
    const a = await ctx.confirmChannel('a');
    const [q] = await queues(a, ctx, 'q');
    for (const b of ['1', '2', '3']) a.publish('', q!, b);
    await a.confirms();
    for (let i = 0; i < 3; i++) await a.get(q!);
    a.ack(0, true);
    await a.sync();
    await a.checkQueue(q!);
    await a.recover();
    await a.get(q!);
  }),
  scenario('consumer/duplicate tag', 'reusing a consumer tag on a channel is 530 NOT_ALLOWED', async (ctx) => {
    const a = await ctx.channel('a');
    const [q] = await queues(a, ctx, 'q');
    await a.consume(q!, { tag: 'dup' }, 'k1');
    await a.consume(q!, { tag: 'dup' }, 'k2');
  }),
  scenario('consumer/exclusive conflict', 'an exclusive consumer excludes others and vice versa', async (ctx) => {
    const a = await ctx.channel('a');
    const [q1, q2] = await queues(a, ctx, 'q1', 'q2');
    await a.consume(q1!, { exclusive: true }, 'k1');
    const b = await ctx.channel('b');
    await b.consume(q1!, {}, 'k2');
    await a.consume(q2!, {}, 'k3');
    const c = await ctx.channel('c');
    await c.consume(q2!, { exclusive: true }, 'k4');
  }),
  scenario('consumer/cancel unknown tag', 'cancelling an unknown consumer tag is not an error', async (ctx) => {
    const a = await ctx.channel('a');
    await a.call('basic.cancel', { tag: 'nobody' }, () => a.raw.cancel('nobody'));
    await a.sync();
  }),
  scenario('publish/immediate', 'immediate=true is not implemented (540)', async (ctx) => {
    const a = await ctx.channel('a');
    const [q] = await queues(a, ctx, 'q');
    a.publishRaw('', q!, 'm', { immediate: true });
    await a.sync();
  }),
  scenario('qos/prefetch_size', 'a non-zero prefetch_size is refused', async (ctx) => {
    const a = await ctx.channel('a');
    await a.qosRaw(1000, 10);
  }),
  scenario('exchange/unknown type', 'declaring an exchange of an unknown type closes the connection with 503', async (ctx) => {
    const a = await ctx.channel('a');
    await a.exchange(ctx.n('x'), 'x-nonexistent');
  }),
  scenario('exchange/invalid type', 'an exchange type without the x- prefix that does not exist', async (ctx) => {
    const a = await ctx.channel('a');
    await a.exchange(ctx.n('x'), 'lottery');
  }),
  scenario('exchange/type that is an Erlang atom', "a type name RabbitMQ knows as an atom ('foo') but not as an exchange type", async (ctx) => {
    const a = await ctx.channel('a');
    await a.exchange(ctx.n('x'), 'foo');
  }),
  scenario('publish/invalid expiration', 'a non-numeric expiration is refused', async (ctx) => {
    const a = await ctx.channel('a');
    const [q] = await queues(a, ctx, 'q');
    a.publish('', q!, 'm', { expiration: 'later' });
    await a.sync();
    const b = await ctx.channel('b');
    b.publish('', q!, 'm', { expiration: '-1' });
    await b.sync();
  }),
  scenario('delete/queue if-unused', 'queue.delete if-unused with a consumer is 406', async (ctx) => {
    const a = await ctx.channel('a');
    const [q] = await queues(a, ctx, 'q');
    await a.consume(q!, {}, 'k');
    const b = await ctx.channel('b');
    await b.deleteQueue(q!, { ifUnused: true });
  }),
  scenario('delete/queue if-empty', 'queue.delete if-empty with messages is 406', async (ctx) => {
    const a = await ctx.confirmChannel('a');
    const [q] = await queues(a, ctx, 'q');
    a.publish('', q!, 'm');
    await a.confirms();
    await a.deleteQueue(q!, { ifEmpty: true });
    const b = await ctx.channel('b');
    await b.deleteQueue(q!);
  }),
  scenario('delete/exchange if-unused', 'exchange.delete if-unused with bindings is 406', async (ctx) => {
    const a = await ctx.channel('a');
    const x = ctx.n('x');
    await a.exchange(x, 'fanout');
    const [q] = await queues(a, ctx, 'q');
    await a.bind(q!, x);
    await a.deleteExchange(x, { ifUnused: true });
    const b = await ctx.channel('b');
    await b.unbind(q!, x);
    await b.deleteExchange(x, { ifUnused: true });
  }),
  scenario('channel/flow', 'channel.flow active=true is acknowledged; active=false as RabbitMQ handles it', async (ctx) => {
    const a = await ctx.channel('a');
    await a.flow(true);
    await a.flow(false);
    await a.sync();
  }),
  scenario('recover/requeue false', 'basic.recover with requeue=false', async (ctx) => {
    const a = await ctx.channel('a');
    await a.recover(false);
    await a.sync();
  }),
];

export const errorScenarios: Scenario[] = [...inequivalence(), ...argumentErrors(), ...exclusiveLocks(), ...missing, ...misc];
