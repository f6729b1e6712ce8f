/**
 * Random topologies and message streams for the differential property test: exchanges of
 * the four types (some with alternate exchanges), queue bindings with keys, patterns and
 * header arguments, exchange-to-exchange bindings, and queue arguments (length limits with
 * both overflow modes, priority, TTL 0). Each topology becomes a compat scenario that logs,
 * per queue, the multiset of bodies it ends up holding, plus the returns and confirms.
 */
import fc from 'fast-check';
import type { Scenario } from '../../compat/types.js';

const TYPES = ['direct', 'fanout', 'topic', 'headers'] as const;
const KEYS = ['a', 'a.b', 'b.c', 'b.x.c', 'a.b.c', ''];
const PATTERNS = ['a', 'a.b', 'a.*', '#', '*.c', 'a.#', 'b.#.c', '*', '#.c'];

export interface XSpec {
  type: (typeof TYPES)[number];
  /** Index of another exchange used as alternate exchange. */
  ae?: number;
}
export interface QSpec {
  maxLength?: number;
  overflow?: 'drop-head' | 'reject-publish';
  maxPriority?: number;
  ttlZero?: boolean;
}
export interface BindingSpec {
  /** Exchange index. */
  from: number;
  /** `q<i>` or `x<i>` (exchange-to-exchange). */
  to: string;
  key: string;
  headers?: Record<string, unknown>;
}
export interface MsgSpec {
  /** Exchange index; -1 is the default exchange. */
  to: number;
  key: string;
  headers: Record<string, unknown>;
  priority?: number;
}
export interface Topology {
  exchanges: XSpec[];
  queues: QSpec[];
  bindings: BindingSpec[];
  messages: MsgSpec[];
}

const headerSet = fc.record({ h1: fc.constantFrom(1, 2), h2: fc.constant('x') }, { requiredKeys: [] });

export const topologyArb: fc.Arbitrary<Topology> = fc
  .record({ nx: fc.integer({ min: 1, max: 4 }), nq: fc.integer({ min: 1, max: 4 }) })
  .chain(({ nx, nq }) => {
    const xIndex = fc.integer({ min: 0, max: nx - 1 });
    const exchange = fc.record({ type: fc.constantFrom(...TYPES), ae: fc.option(xIndex, { nil: undefined, freq: 4 }) }, { requiredKeys: ['type'] });
    const queue = fc.record(
      {
        maxLength: fc.integer({ min: 0, max: 2 }),
        overflow: fc.constantFrom('drop-head' as const, 'reject-publish' as const),
        maxPriority: fc.constant(3),
        ttlZero: fc.constant(true),
      },
      { requiredKeys: [] },
    );
    const target = fc.oneof(
      fc.integer({ min: 0, max: nq - 1 }).map((i) => `q${i}`),
      xIndex.map((i) => `x${i}`),
    );
    const binding = fc.record({
      from: xIndex,
      to: target,
      key: fc.constantFrom(...KEYS, ...PATTERNS),
      headers: fc.option(fc.record({ 'x-match': fc.constantFrom('all', 'any'), h1: fc.constantFrom(1, 2), h2: fc.constant('x') }, { requiredKeys: ['x-match'] }), { nil: undefined }),
    });
    const message = fc.record({
      to: fc.integer({ min: -1, max: nx - 1 }),
      key: fc.oneof(fc.constantFrom(...KEYS), fc.integer({ min: 0, max: nq - 1 }).map((i) => `q${i}`)),
      headers: headerSet,
      priority: fc.option(fc.integer({ min: 0, max: 5 }), { nil: undefined }),
    });
    return fc.record({
      exchanges: fc.array(exchange, { minLength: nx, maxLength: nx }),
      queues: fc.array(queue, { minLength: nq, maxLength: nq }),
      bindings: fc.array(binding, { maxLength: 8 }),
      messages: fc.array(message, { minLength: 1, maxLength: 8 }),
    });
  })
  .map((t) => ({
    ...t,
    // An alternate exchange pointing at itself is legal but says nothing new.
    exchanges: t.exchanges.map((x, i) => (x.ae === i ? { type: x.type } : x)),
    bindings: t.bindings.map((b) => (b.headers === undefined ? { from: b.from, to: b.to, key: b.key } : b)),
    messages: t.messages.map((m) => (m.priority === undefined ? { to: m.to, key: m.key, headers: m.headers } : m)),
  }));

function queueArgs(q: QSpec): Record<string, unknown> {
  const a: Record<string, unknown> = {};
  if (q.maxLength !== undefined) a['x-max-length'] = q.maxLength;
  if (q.overflow !== undefined) a['x-overflow'] = q.overflow;
  if (q.maxPriority !== undefined) a['x-max-priority'] = q.maxPriority;
  if (q.ttlZero === true) a['x-message-ttl'] = 0;
  return a;
}

/** The topology as a scenario: declare, publish with confirms and mandatory, drain, log multisets. */
export function topologyScenario(t: Topology): Scenario {
  return {
    name: 'random topology',
    description: JSON.stringify(t),
    run: async (ctx) => {
      const ch = await ctx.confirmChannel('a');
      const xs = t.exchanges.map((_, i) => ctx.n(`x${i}`));
      const qs = t.queues.map((_, i) => ctx.n(`q${i}`));
      const resolve = (name: string) => (name.startsWith('q') ? qs[Number(name.slice(1))]! : xs[Number(name.slice(1))]!);
      for (const [i, x] of t.exchanges.entries()) {
        await ch.exchange(xs[i]!, x.type, x.ae === undefined ? {} : { alternateExchange: xs[x.ae] });
      }
      for (const [i, q] of t.queues.entries()) await ch.queue(qs[i]!, { arguments: queueArgs(q) });
      for (const b of t.bindings) {
        if (b.to.startsWith('q')) await ch.bind(resolve(b.to), xs[b.from]!, b.key, b.headers);
        else await ch.bindEx(resolve(b.to), xs[b.from]!, b.key, b.headers);
      }
      t.messages.forEach((m, i) => {
        const key = /^q\d$/.test(m.key) ? resolve(m.key) : m.key;
        ch.publish(m.to === -1 ? '' : xs[m.to]!, key, `m${i}`, { mandatory: true, headers: m.headers, ...(m.priority === undefined ? {} : { priority: m.priority }) });
      });
      await ch.confirms();
      const get = await ctx.channel('get');
      for (const q of qs) await get.drain(q);
      // Compare multisets: sort each queue's deliveries and the returns.
      for (const e of ctx.events) {
        if (Array.isArray(e['got'])) e['got'] = e['got'].map((m) => JSON.stringify(m)).sort();
      }
      const returned = ctx.events.filter((e) => e['returned'] !== undefined).map((e) => JSON.stringify(e['returned'])).sort();
      ctx.events.splice(0, ctx.events.length, ...ctx.events.filter((e) => e['returned'] === undefined), { returned });
    },
  };
}
