/** Routing through each exchange type, generated as families of keys and patterns. */
import type { Scenario } from '../types.js';
import { publishAndDrain, queues, scenario, type Msg } from './util.js';

const TOPIC_KEYS = ['a', 'a.b', 'a.b.c', 'a.x.c', 'b.b', 'a..b', '', 'a.b.c.d', 'x.y.c', '#', '*'];
const TOPIC_PATTERNS = ['a.b', 'a.*', '*.b', 'a.#', '#', '*', '#.c', 'a.#.c', 'a.*.c', '*.*', '#.#', '', 'a.*.#', '#.b.#', '*.#', 'a.b.c.d.#', 'a..b', '#.*.#'];

function topicFamily(): Scenario[] {
  return TOPIC_PATTERNS.map((pattern) =>
    scenario(`topic/pattern '${pattern}'`, `which of ${TOPIC_KEYS.length} keys a topic binding '${pattern}' matches`, async (ctx) => {
      const ch = await ctx.confirmChannel('a');
      const x = ctx.n('x');
      await ch.exchange(x, 'topic');
      const [q] = await queues(ch, ctx, 'q');
      await ch.bind(q!, x, pattern);
      await publishAndDrain(ctx, ch, x, TOPIC_KEYS.map((key) => ({ key, body: `key '${key}'` })), [q!]);
    }),
  );
}

const HEADER_MSGS: Msg[] = [
  { key: 'none', headers: {} },
  { key: 'a1', headers: { a: 1 } },
  { key: 'a1b2', headers: { a: 1, b: 2 } },
  { key: 'a2', headers: { a: 2 } },
  { key: 'b2', headers: { b: 2 } },
  { key: 'a1b3', headers: { a: 1, b: 3 } },
  { key: 'astr1', headers: { a: '1' } },
  { key: 'x-a1', headers: { 'x-a': 1 } },
  { key: 'a1x-a1', headers: { a: 1, 'x-a': 1 } },
  { key: 'avoid', headers: { a: null } },
];

const HEADER_BINDINGS: [string, Record<string, unknown>][] = [
  ['all a=1', { 'x-match': 'all', a: 1 }],
  ['all a=1 b=2', { 'x-match': 'all', a: 1, b: 2 }],
  ['any a=1 b=2', { 'x-match': 'any', a: 1, b: 2 }],
  ['default-match a=1 b=2', { a: 1, b: 2 }],
  ['all empty', { 'x-match': 'all' }],
  ['any empty', { 'x-match': 'any' }],
  ['all a=string 1', { 'x-match': 'all', a: '1' }],
  ['all x-a=1', { 'x-match': 'all', 'x-a': 1 }],
  ['all-with-x x-a=1', { 'x-match': 'all-with-x', 'x-a': 1 }],
  ['any-with-x x-a=1 b=2', { 'x-match': 'any-with-x', 'x-a': 1, b: 2 }],
  ['all a=void', { 'x-match': 'all', a: null }],
];

function headersFamily(): Scenario[] {
  return HEADER_BINDINGS.map(([label, args]) =>
    scenario(`headers/binding ${label}`, `which header sets a headers binding (${label}) matches`, async (ctx) => {
      const ch = await ctx.confirmChannel('a');
      const x = ctx.n('x');
      await ch.exchange(x, 'headers');
      const [q] = await queues(ch, ctx, 'q');
      await ch.bind(q!, x, '', args);
      await publishAndDrain(ctx, ch, x, HEADER_MSGS, [q!]);
    }),
  );
}

const simple: Scenario[] = [
  scenario('direct/keys', 'direct routes by exact key; several queues per key; one queue bound twice gets one copy', async (ctx) => {
    const ch = await ctx.confirmChannel('a');
    const x = ctx.n('x');
    await ch.exchange(x, 'direct');
    const [q1, q2, q3] = await queues(ch, ctx, 'q1', 'q2', 'q3');
    await ch.bind(q1!, x, 'k');
    await ch.bind(q2!, x, 'k');
    await ch.bind(q3!, x, 'k');
    await ch.bind(q3!, x, 'j');
    await ch.bind(q3!, x, '');
    await publishAndDrain(ctx, ch, x, [{ key: 'k' }, { key: 'j' }, { key: '' }, { key: 'K' }, { key: 'k ' }], [q1!, q2!, q3!]);
  }),
  scenario('direct/unbind', 'after unbind a key no longer routes; unbinding twice is fine', async (ctx) => {
    const ch = await ctx.confirmChannel('a');
    const x = ctx.n('x');
    await ch.exchange(x, 'direct');
    const [q] = await queues(ch, ctx, 'q');
    await ch.bind(q!, x, 'k');
    await ch.unbind(q!, x, 'k');
    await ch.unbind(q!, x, 'k');
    await publishAndDrain(ctx, ch, x, [{ key: 'k' }], [q!]);
  }),
  scenario('fanout/all', 'fanout ignores the key and reaches every bound queue once', async (ctx) => {
    const ch = await ctx.confirmChannel('a');
    const x = ctx.n('x');
    await ch.exchange(x, 'fanout');
    const [q1, q2] = await queues(ch, ctx, 'q1', 'q2');
    await ch.bind(q1!, x, 'ignored');
    await ch.bind(q1!, x, 'other');
    await ch.bind(q2!, x, '');
    await publishAndDrain(ctx, ch, x, [{ key: 'anything' }, { key: '' }], [q1!, q2!]);
  }),
  scenario('fanout/no bindings', 'a fanout with no bindings returns mandatory messages', async (ctx) => {
    const ch = await ctx.confirmChannel('a');
    const x = ctx.n('x');
    await ch.exchange(x, 'fanout');
    await publishAndDrain(ctx, ch, x, [{ key: 'k' }], []);
  }),
  scenario('topic/several bindings', 'a message matching several bindings to one queue arrives once', async (ctx) => {
    const ch = await ctx.confirmChannel('a');
    const x = ctx.n('x');
    await ch.exchange(x, 'topic');
    const [q1, q2] = await queues(ch, ctx, 'q1', 'q2');
    for (const p of ['a.*', 'a.#', '#', '*.b']) await ch.bind(q1!, x, p);
    await ch.bind(q2!, x, '*.b');
    await ch.unbind(q1!, x, '#');
    await publishAndDrain(ctx, ch, x, [{ key: 'a.b' }, { key: 'c.b' }, { key: 'c.d' }, { key: 'a' }], [q1!, q2!]);
  }),
  scenario('headers/x-match invalid', 'an invalid x-match value is refused at bind', async (ctx) => {
    const ch = await ctx.channel('a');
    const x = ctx.n('x');
    await ch.exchange(x, 'headers');
    const [q] = await queues(ch, ctx, 'q');
    await ch.bind(q!, x, '', { 'x-match': 'some' });
  }),
  scenario('headers/unbind by args', 'a headers binding is removed only by the same arguments', async (ctx) => {
    const ch = await ctx.confirmChannel('a');
    const x = ctx.n('x');
    await ch.exchange(x, 'headers');
    const [q] = await queues(ch, ctx, 'q');
    await ch.bind(q!, x, '', { 'x-match': 'any', a: 1 });
    await ch.bind(q!, x, '', { 'x-match': 'any', b: 1 });
    await ch.unbind(q!, x, '', { 'x-match': 'any', a: 1 });
    await publishAndDrain(ctx, ch, x, [{ key: 'a', headers: { a: 1 } }, { key: 'b', headers: { b: 1 } }], [q!]);
  }),
  scenario('default/routes by queue name', 'the default exchange routes to the queue named by the key; unknown key returns', async (ctx) => {
    const ch = await ctx.confirmChannel('a');
    const [q] = await queues(ch, ctx, 'q');
    await publishAndDrain(ctx, ch, '', [{ key: q!, body: 'hit' }, { key: ctx.n('missing'), body: 'miss' }], [q!]);
  }),
  scenario('default/amq.default alias', "publishing to 'amq.default' is the default exchange", async (ctx) => {
    const ch = await ctx.confirmChannel('a');
    const [q] = await queues(ch, ctx, 'q');
    await ch.checkExchange('amq.default');
    await publishAndDrain(ctx, ch, 'amq.default', [{ key: q! }], [q!]);
  }),
  scenario('builtin/exchanges exist', 'amq.direct, amq.fanout, amq.topic, amq.headers, amq.match exist', async (ctx) => {
    const ch = await ctx.channel('a');
    for (const x of ['amq.direct', 'amq.fanout', 'amq.topic', 'amq.headers', 'amq.match', '']) await ch.checkExchange(x);
  }),
  scenario('builtin/amq.topic routes', 'binding a queue to amq.topic works like any topic exchange', async (ctx) => {
    const ch = await ctx.confirmChannel('a');
    const [q] = await queues(ch, ctx, 'q');
    await ch.bind(q!, 'amq.topic', `${q}.#`);
    await publishAndDrain(ctx, ch, 'amq.topic', [{ key: `${q}.a.b`, body: 'one' }], [q!]);
    await ch.unbind(q!, 'amq.topic', `${q}.#`);
  }),
  scenario('builtin/redeclare amq.direct', 'redeclaring amq.direct with its own properties is allowed, other types are not', async (ctx) => {
    const ch = await ctx.channel('a');
    await ch.exchange('amq.direct', 'direct', { durable: true });
    await ch.exchange('amq.direct', 'fanout', { durable: true });
  }),
];

export const routingScenarios: Scenario[] = [...simple, ...topicFamily(), ...headersFamily()];
