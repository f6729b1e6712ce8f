/**
 * Random topologies and message streams for the differential property test, built on
 * warren/testing's arbitraries (exchanges of the four types, some internal or with
 * alternate exchanges, queue and exchange-to-exchange bindings with keys, patterns and
 * header arguments; messages with headers of every field type, CC and BCC), plus what
 * routing alone does not cover: queue arguments (length limits with both overflow modes,
 * priority, TTL 0) and message priorities. Each topology becomes a compat scenario that
 * logs, per queue, the multiset of bodies it ends up holding, plus the returns and confirms.
 */
import fc from 'fast-check';
import type { Scenario } from '../../compat/types.js';
import type { Definitions } from '../../persistence/definitions.js';
import { Topology, type RouteMessage } from '../../routing/index.js';
import { arb, toAmqplibTable } from '../../testing/index.js';

export interface QSpec {
  maxLength?: number;
  overflow?: 'drop-head' | 'reject-publish';
  maxPriority?: number;
  ttlZero?: boolean;
}
export interface MsgSpec extends RouteMessage {
  priority?: number;
}
export interface RandomTopology {
  /** Exchanges x<i>, queues q<i> and their bindings (no policies, no bindings from amq.*: the broker may be shared). */
  definitions: Definitions;
  queues: QSpec[];
  messages: MsgSpec[];
}

const queueSpec: fc.Arbitrary<QSpec> = fc.record(
  {
    maxLength: fc.integer({ min: 0, max: 2 }),
    overflow: fc.constantFrom('drop-head' as const, 'reject-publish' as const),
    maxPriority: fc.constant(3),
    ttlZero: fc.constant(true),
  },
  { requiredKeys: [] },
);

export const topologyArb: fc.Arbitrary<RandomTopology> = arb
  .topologyDefinitions({ maxExchanges: 4, maxQueues: 4, maxBindings: 8, standardExchanges: false, policies: false })
  .chain((definitions) => {
    const t = Topology.fromDefinitions(definitions);
    // Our exchanges and the default one: publishing to amq.* would reach other people's queues.
    const exchanges = ['', ...t.exchanges().filter((x) => x.name.startsWith('x') && !x.internal).map((x) => x.name)];
    const message = fc
      .record({ m: arb.message(t, { exchanges }), priority: fc.option(fc.integer({ min: 0, max: 5 }), { nil: undefined }) })
      .map(({ m, priority }): MsgSpec => (priority === undefined ? m : { ...m, priority }));
    return fc.record({
      definitions: fc.constant(definitions),
      queues: fc.array(queueSpec, { minLength: definitions.queues!.length, maxLength: definitions.queues!.length }),
      messages: fc.array(message, { minLength: 1, maxLength: 8 }),
    });
  });

function queueArgs(q: QSpec): Record<string, unknown> {
  const a: Record<string, unknown> = {};
  if (q.maxLength !== undefined) a['x-max-length'] = q.maxLength;
  if (q.overflow !== undefined) a['x-overflow'] = q.overflow;
  if (q.maxPriority !== undefined) a['x-max-priority'] = q.maxPriority;
  if (q.ttlZero === true) a['x-message-ttl'] = 0;
  return a;
}

/** The topology as a scenario: declare, publish with confirms and mandatory, drain, log multisets. */
export function topologyScenario(t: RandomTopology): Scenario {
  return {
    name: 'random topology',
    description: JSON.stringify(t, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)),
    run: async (ctx) => {
      const ch = await ctx.confirmChannel('a');
      const topology = Topology.fromDefinitions(t.definitions);
      // Every name goes through ctx.n, also keys on the default exchange (they name queues).
      const n = (name: string) => (name === '' ? '' : ctx.n(name));
      for (const x of topology.exchanges()) {
        if (!x.name.startsWith('x')) continue;
        await ch.exchange(n(x.name), x.type, { internal: x.internal, ...(x.alternateExchange === null ? {} : { alternateExchange: n(x.alternateExchange) }) });
      }
      const qs = topology.queues();
      for (const [i, q] of qs.entries()) await ch.queue(n(q), { arguments: queueArgs(t.queues[i]!) });
      for (const b of topology.bindings()) {
        const args = toAmqplibTable(b.arguments);
        if (b.destinationType === 'queue') await ch.bind(n(b.destination), n(b.source), b.routingKey, args);
        else await ch.bindEx(n(b.destination), n(b.source), b.routingKey, args);
      }
      t.messages.forEach((m, i) => {
        const dflt = (m.exchange ?? '') === '';
        const headers = m.headers === undefined ? undefined : { ...m.headers };
        if (dflt && headers !== undefined) {
          for (const k of ['CC', 'BCC']) if (Array.isArray(headers[k])) headers[k] = (headers[k] as unknown[]).map((e) => (typeof e === 'string' ? n(e) : e)) as string[];
        }
        ch.publish(dflt ? '' : n(m.exchange!), dflt ? n(m.routingKey ?? '') : (m.routingKey ?? ''), `m${i}`, {
          mandatory: true,
          ...(headers === undefined ? {} : { headers: toAmqplibTable(headers) }),
          ...(m.priority === undefined ? {} : { priority: m.priority }),
        });
      });
      await ch.confirms();
      const get = await ctx.channel('get');
      for (const q of qs) await get.drain(n(q));
      // Compare multisets: sort each queue's deliveries and the returns.
      for (const e of ctx.events) {
        if (Array.isArray(e['got'])) e['got'] = e['got'].map((m) => JSON.stringify(m)).sort();
      }
      const returned = ctx.events.filter((e) => e['returned'] !== undefined).map((e) => JSON.stringify(e['returned'])).sort();
      ctx.events.splice(0, ctx.events.length, ...ctx.events.filter((e) => e['returned'] === undefined), { returned });
    },
  };
}
