/** Exchange-to-exchange bindings, alternate exchanges, sender-selected distribution, internal and auto-delete exchanges. */
import type { Scenario } from '../types.js';
import { publishAndDrain, queues, scenario } from './util.js';

const TYPES = ['direct', 'fanout', 'topic', 'headers'] as const;
type XType = (typeof TYPES)[number];

/** A binding that matches key 'k' / header k=1 on each type. */
function matching(t: XType): { key: string; args?: Record<string, unknown> } {
  if (t === 'topic') return { key: 'k.#' };
  if (t === 'headers') return { key: '', args: { 'x-match': 'all', k: 1 } };
  return { key: 'k' };
}

function e2eFamily(): Scenario[] {
  const out: Scenario[] = [];
  for (const src of TYPES) {
    for (const dst of TYPES) {
      out.push(
        scenario(`e2e/${src} -> ${dst}`, `a ${src} exchange bound to a ${dst} exchange forwards what both match`, async (ctx) => {
          const ch = await ctx.confirmChannel('a');
          const s = ctx.n('src');
          const d = ctx.n('dst');
          await ch.exchange(s, src);
          await ch.exchange(d, dst);
          const [q] = await queues(ch, ctx, 'q');
          const b1 = matching(src);
          const b2 = matching(dst);
          await ch.bindEx(d, s, b1.key, b1.args);
          await ch.bind(q!, d, b2.key, b2.args);
          await publishAndDrain(ctx, ch, s, [
            { key: 'k', headers: { k: 1 } },
            { key: 'k', headers: { k: 2 } },
            { key: 'z', headers: { k: 1 } },
            { key: 'z', headers: {} },
          ], [q!]);
        }),
      );
    }
  }
  return out;
}

const misc: Scenario[] = [
  scenario('e2e/cycle', 'exchanges bound in a cycle deliver each message once per queue', async (ctx) => {
    const ch = await ctx.confirmChannel('a');
    const [x1, x2, x3] = [ctx.n('x1'), ctx.n('x2'), ctx.n('x3')];
    for (const x of [x1, x2, x3]) await ch.exchange(x, 'fanout');
    await ch.bindEx(x2, x1);
    await ch.bindEx(x3, x2);
    await ch.bindEx(x1, x3);
    const [q1, q3] = await queues(ch, ctx, 'q1', 'q3');
    await ch.bind(q1!, x1);
    await ch.bind(q3!, x3);
    await publishAndDrain(ctx, ch, x2, [{ key: 'k' }], [q1!, q3!]);
  }),
  scenario('e2e/diamond', 'two paths to the same queue deliver one copy', async (ctx) => {
    const ch = await ctx.confirmChannel('a');
    const [top, l, r] = [ctx.n('top'), ctx.n('l'), ctx.n('r')];
    await ch.exchange(top, 'fanout');
    await ch.exchange(l, 'direct');
    await ch.exchange(r, 'topic');
    await ch.bindEx(l, top);
    await ch.bindEx(r, top);
    const [q] = await queues(ch, ctx, 'q');
    await ch.bind(q!, l, 'a.b');
    await ch.bind(q!, r, 'a.*');
    await publishAndDrain(ctx, ch, top, [{ key: 'a.b' }, { key: 'a.c' }], [q!]);
  }),
  scenario('e2e/unbind', 'after exchange.unbind nothing is forwarded', async (ctx) => {
    const ch = await ctx.confirmChannel('a');
    const [s, d] = [ctx.n('s'), ctx.n('d')];
    await ch.exchange(s, 'direct');
    await ch.exchange(d, 'fanout');
    await ch.bindEx(d, s, 'k');
    const [q] = await queues(ch, ctx, 'q');
    await ch.bind(q!, d);
    await ch.unbindEx(d, s, 'k');
    await publishAndDrain(ctx, ch, s, [{ key: 'k' }], [q!]);
  }),
  scenario('e2e/missing source', 'exchange.bind from a missing source is 404', async (ctx) => {
    const ch = await ctx.channel('a');
    const d = ctx.n('d');
    await ch.exchange(d, 'fanout');
    await ch.bindEx(d, ctx.n('nosuch'));
  }),
  scenario('e2e/missing destination', 'exchange.bind to a missing destination is 404', async (ctx) => {
    const ch = await ctx.channel('a');
    const s = ctx.n('s');
    await ch.exchange(s, 'fanout');
    await ch.bindEx(ctx.n('nosuch'), s);
  }),
  scenario('e2e/delete destination', 'deleting a destination exchange removes the binding from the source', async (ctx) => {
    const ch = await ctx.confirmChannel('a');
    const [s, d] = [ctx.n('s'), ctx.n('d')];
    await ch.exchange(s, 'fanout');
    await ch.exchange(d, 'fanout');
    await ch.bindEx(d, s);
    await ch.deleteExchange(d);
    await ch.exchange(s, 'fanout');
    await ch.deleteExchange(s, { ifUnused: true });
  }),
  scenario('ae/unroutable', 'unroutable messages go to the alternate exchange, routable ones do not', async (ctx) => {
    const ch = await ctx.confirmChannel('a');
    const [x, ae] = [ctx.n('x'), ctx.n('ae')];
    await ch.exchange(ae, 'fanout');
    await ch.exchange(x, 'direct', { alternateExchange: ae });
    const [q, qa] = await queues(ch, ctx, 'q', 'qa');
    await ch.bind(q!, x, 'k');
    await ch.bind(qa!, ae);
    await publishAndDrain(ctx, ch, x, [{ key: 'k' }, { key: 'other' }], [q!, qa!]);
  }),
  scenario('ae/missing', 'an alternate exchange that does not exist: the message is returned', async (ctx) => {
    const ch = await ctx.confirmChannel('a');
    const x = ctx.n('x');
    await ch.exchange(x, 'direct', { alternateExchange: ctx.n('nosuch') });
    await publishAndDrain(ctx, ch, x, [{ key: 'k' }], []);
  }),
  scenario('ae/chain', 'an alternate exchange with its own alternate exchange', async (ctx) => {
    const ch = await ctx.confirmChannel('a');
    const [x, ae1, ae2] = [ctx.n('x'), ctx.n('ae1'), ctx.n('ae2')];
    await ch.exchange(ae2, 'fanout');
    await ch.exchange(ae1, 'direct', { alternateExchange: ae2 });
    await ch.exchange(x, 'topic', { alternateExchange: ae1 });
    const [q1, q2] = await queues(ch, ctx, 'q1', 'q2');
    await ch.bind(q1!, ae1, 'one');
    await ch.bind(q2!, ae2);
    await publishAndDrain(ctx, ch, x, [{ key: 'one' }, { key: 'two' }], [q1!, q2!]);
  }),
  scenario('ae/cycle', 'alternate exchanges pointing at each other: returned, no loop', async (ctx) => {
    const ch = await ctx.confirmChannel('a');
    const [x1, x2] = [ctx.n('x1'), ctx.n('x2')];
    await ch.exchange(x1, 'direct', { alternateExchange: x2 });
    await ch.exchange(x2, 'direct', { alternateExchange: x1 });
    await publishAndDrain(ctx, ch, x1, [{ key: 'k' }], []);
  }),
  scenario('ae/via e2e destination', "a destination exchange's alternate exchange is not used", async (ctx) => {
    const ch = await ctx.confirmChannel('a');
    const [s, d, ae] = [ctx.n('s'), ctx.n('d'), ctx.n('ae')];
    await ch.exchange(ae, 'fanout');
    await ch.exchange(d, 'direct', { alternateExchange: ae });
    await ch.exchange(s, 'fanout');
    await ch.bindEx(d, s);
    const [qa] = await queues(ch, ctx, 'qa');
    await ch.bind(qa!, ae);
    await publishAndDrain(ctx, ch, s, [{ key: 'k' }], [qa!]);
  }),
  scenario('cc/direct', 'CC routes additional copies and stays in the headers', async (ctx) => {
    const ch = await ctx.confirmChannel('a');
    const x = ctx.n('x');
    await ch.exchange(x, 'direct');
    const [q1, q2, q3] = await queues(ch, ctx, 'q1', 'q2', 'q3');
    await ch.bind(q1!, x, 'k1');
    await ch.bind(q2!, x, 'k2');
    await ch.bind(q3!, x, 'k3');
    await publishAndDrain(ctx, ch, x, [{ key: 'k1', opts: { CC: ['k2', 'k1', 'none'] } }], [q1!, q2!, q3!]);
  }),
  scenario('bcc/direct', 'BCC routes additional copies and is removed from the headers', async (ctx) => {
    const ch = await ctx.confirmChannel('a');
    const x = ctx.n('x');
    await ch.exchange(x, 'direct');
    const [q1, q2] = await queues(ch, ctx, 'q1', 'q2');
    await ch.bind(q1!, x, 'k1');
    await ch.bind(q2!, x, 'k2');
    await publishAndDrain(ctx, ch, x, [{ key: 'none', opts: { BCC: ['k2'], CC: ['k1'] } }], [q1!, q2!]);
  }),
  scenario('cc/topic', 'CC keys are matched as topic keys', async (ctx) => {
    const ch = await ctx.confirmChannel('a');
    const x = ctx.n('x');
    await ch.exchange(x, 'topic');
    const [q1, q2] = await queues(ch, ctx, 'q1', 'q2');
    await ch.bind(q1!, x, 'a.*');
    await ch.bind(q2!, x, '#.z');
    await publishAndDrain(ctx, ch, x, [{ key: 'b', opts: { CC: ['a.b', 'y.z'] } }], [q1!, q2!]);
  }),
  scenario('cc/default exchange', 'CC on the default exchange names more queues', async (ctx) => {
    const ch = await ctx.confirmChannel('a');
    const [q1, q2] = await queues(ch, ctx, 'q1', 'q2');
    await publishAndDrain(ctx, ch, '', [{ key: q1!, opts: { CC: [q2!] } }], [q1!, q2!]);
  }),
  scenario('cc/only cc matches', 'a message routed only through CC is not returned', async (ctx) => {
    const ch = await ctx.confirmChannel('a');
    const x = ctx.n('x');
    await ch.exchange(x, 'direct');
    const [q] = await queues(ch, ctx, 'q');
    await ch.bind(q!, x, 'c');
    await publishAndDrain(ctx, ch, x, [{ key: 'nothing', opts: { BCC: ['c'] } }], [q!]);
  }),
  scenario('internal/publish refused', 'publishing to an internal exchange is 403', async (ctx) => {
    const ch = await ctx.channel('a');
    const x = ctx.n('x');
    await ch.exchange(x, 'fanout', { internal: true });
    ch.publish(x, 'k', 'body');
    await ch.sync();
  }),
  scenario('internal/reachable via e2e', 'an internal exchange receives through an exchange binding', async (ctx) => {
    const ch = await ctx.confirmChannel('a');
    const [s, i] = [ctx.n('s'), ctx.n('i')];
    await ch.exchange(s, 'fanout');
    await ch.exchange(i, 'fanout', { internal: true });
    await ch.bindEx(i, s);
    const [q] = await queues(ch, ctx, 'q');
    await ch.bind(q!, i);
    await publishAndDrain(ctx, ch, s, [{ key: 'k' }], [q!]);
  }),
  scenario('autodelete/exchange', 'an auto-delete exchange goes when its last binding goes', async (ctx) => {
    const ch = await ctx.channel('a');
    const x = ctx.n('x');
    await ch.exchange(x, 'direct', { autoDelete: true });
    await ch.checkExchange(x);
    const [q] = await queues(ch, ctx, 'q');
    await ch.bind(q!, x, 'a');
    await ch.bind(q!, x, 'b');
    await ch.unbind(q!, x, 'a');
    await ch.checkExchange(x);
    await ch.unbind(q!, x, 'b');
    await ch.checkExchange(x);
  }),
  scenario('autodelete/exchange on queue delete', 'deleting the only bound queue deletes an auto-delete exchange', async (ctx) => {
    const ch = await ctx.channel('a');
    const x = ctx.n('x');
    await ch.exchange(x, 'fanout', { autoDelete: true });
    const [q] = await queues(ch, ctx, 'q');
    await ch.bind(q!, x);
    await ch.deleteQueue(q!);
    await ch.checkExchange(x);
  }),
];

export const e2eScenarios: Scenario[] = [...e2eFamily(), ...misc];
