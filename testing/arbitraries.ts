/**
 * fast-check arbitraries for AMQP routing: routing keys, topic patterns, header tables with
 * every field type, whole topologies (the four exchange types, exchange-to-exchange
 * bindings, alternate exchanges) in RabbitMQ's definitions format, and messages for a
 * topology. Small vocabularies on purpose: generated keys, patterns and header values
 * collide often enough that routes are rarely empty.
 */
import fc from 'fast-check';
import { Typed, type FieldTable, type FieldValue } from '../amqp/table.js';
import type { Definitions } from '../persistence/definitions.js';
import type { ExchangeType } from '../routing/exchange.js';
import { Topology, type RouteMessage } from '../routing/topology/topology.js';

export const WORDS: readonly string[] = Object.freeze(['a', 'b', 'c']);
const TYPES: readonly ExchangeType[] = ['direct', 'fanout', 'topic', 'headers'];

export interface KeyOptions {
  /** The words keys are made of (default a, b, c; an empty word turns up too). */
  words?: readonly string[];
  /** Default 0 (the empty key) and 4. */
  minWords?: number;
  maxWords?: number;
}

function wordsOf(opts: KeyOptions): fc.Arbitrary<string> {
  const words = opts.words ?? WORDS;
  return fc.oneof({ weight: 12, arbitrary: fc.constantFrom(...words) }, { weight: 1, arbitrary: fc.constant('') });
}

/** Routing keys: words joined by dots ("" is the key of zero words). */
export function routingKey(opts: KeyOptions = {}): fc.Arbitrary<string> {
  return fc.array(wordsOf(opts), { minLength: opts.minWords ?? 0, maxLength: opts.maxWords ?? 4 }).map((w) => w.join('.'));
}

/** Topic binding patterns: words, `*` (exactly one word) and `#` (zero or more). */
export function topicPattern(opts: KeyOptions = {}): fc.Arbitrary<string> {
  const word = fc.oneof({ weight: 4, arbitrary: wordsOf(opts) }, { weight: 2, arbitrary: fc.constant('*') }, { weight: 2, arbitrary: fc.constant('#') });
  return fc.array(word, { minLength: opts.minWords ?? 0, maxLength: opts.maxWords ?? 4 }).map((w) => w.join('.'));
}

/**
 * The values header matching compares, in every wire type that carries them: a headers
 * binding on 1 matches a byte, short, int, long, float, double or timestamp 1, and a
 * binding on "x" matches the longstr or the byte array "x" (Erlang `==`, as RabbitMQ does).
 */
export const HEADER_VALUES: readonly (string | number | boolean | null)[] = Object.freeze([1, 2, 'x', 'y', true, null]);

function valueInAnyType(v: string | number | boolean | null): fc.Arbitrary<FieldValue> {
  if (typeof v === 'number') {
    return fc.constantFrom<FieldValue>(v, new Typed('b', v), new Typed('B', v), new Typed('s', v), new Typed('u', v), new Typed('i', v), new Typed('l', BigInt(v)), new Typed('f', v), new Typed('d', v), new Typed('T', v));
  }
  if (typeof v === 'string') return fc.constantFrom<FieldValue>(v, Buffer.from(v));
  return fc.constant(v);
}

/** One field value of any AMQP type; arrays and tables nest up to `depth`. No NaN, no -0. */
export function fieldValue(opts: { depth?: number } = {}): fc.Arbitrary<FieldValue> {
  const scalar: fc.Arbitrary<FieldValue> = fc.oneof(
    fc.constantFrom(...HEADER_VALUES).chain(valueInAnyType),
    fc.string({ maxLength: 8 }),
    fc.boolean(),
    fc.integer({ min: -128, max: 127 }).map((n) => new Typed('b', n)),
    fc.integer({ min: 0, max: 255 }).map((n) => new Typed('B', n)),
    fc.integer({ min: -32768, max: 32767 }).map((n) => new Typed('s', n)),
    fc.integer({ min: 0, max: 65535 }).map((n) => new Typed('u', n)),
    fc.integer(),
    fc.integer({ min: 0, max: 0xffffffff }).map((n) => new Typed('i', n)),
    fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((n) => new Typed('l', n)),
    fc.constantFrom(0.5, 1.5, -2.25, 1e10).map((n) => new Typed('f', n)),
    fc.constantFrom(0.1, 1.5, -3.75, 1e300).map((n) => new Typed('d', n)),
    fc.record({ scale: fc.integer({ min: 0, max: 10 }), value: fc.integer({ min: 0, max: 0xffffffff }) }).map((d) => new Typed('D', d)),
    fc.integer({ min: 0, max: 2 ** 40 }).map((n) => new Typed('T', n)),
    fc.uint8Array({ maxLength: 6 }).map((b) => Buffer.from(b)),
    fc.constant(null),
  );
  const depth = opts.depth ?? 1;
  if (depth <= 0) return scalar;
  const inner = fieldValue({ depth: depth - 1 });
  return fc.oneof(
    { weight: 6, arbitrary: scalar },
    { weight: 1, arbitrary: fc.array(inner, { maxLength: 3 }) },
    { weight: 1, arbitrary: fc.dictionary(fc.constantFrom('k', 'l', 'm'), inner, { maxKeys: 3 }) as fc.Arbitrary<FieldTable> },
  );
}

export interface HeaderOptions {
  /** Header names (default h1, h2, x-h: the names generated headers bindings use). */
  keys?: readonly string[];
  /** Up to this many headers (default 3). */
  maxKeys?: number;
}

/**
 * Header tables with every field type: the names and values headers bindings use (so
 * they match), in every wire type, plus values of any type.
 */
export function headerTable(opts: HeaderOptions = {}): fc.Arbitrary<FieldTable> {
  const keys = opts.keys ?? ['h1', 'h2', 'x-h'];
  const value = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...HEADER_VALUES).chain(valueInAnyType) }, { weight: 1, arbitrary: fieldValue() });
  return fc.dictionary(fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...keys) }, { weight: 1, arbitrary: fc.constantFrom('other', 'z') }), value, {
    maxKeys: opts.maxKeys ?? 3,
  }) as fc.Arbitrary<FieldTable>;
}

export interface TopologyOptions {
  /** Exchanges x0, x1, … (besides the standard ones); default 1 to 5. */
  minExchanges?: number;
  maxExchanges?: number;
  /** Queues q0, q1, …; default 1 to 5. */
  minQueues?: number;
  maxQueues?: number;
  /** Default 10. */
  maxBindings?: number;
  /** Exchange types to use (default all four). */
  types?: readonly ExchangeType[];
  /** The vhost of every entry (default '/'). */
  vhost?: string;
  /** Words of binding keys and patterns (default a, b, c). */
  words?: readonly string[];
  /** Bindings from amq.direct, amq.fanout, amq.topic and amq.headers too (default true). */
  standardExchanges?: boolean;
  /** Now and then a policy that sets an alternate exchange (default true). */
  policies?: boolean;
  /** Some exchanges internal (default true). */
  internal?: boolean;
}

interface XDraft {
  type: ExchangeType;
  /** An exchange index, or -1 for an alternate exchange that does not exist. */
  ae: number | undefined;
  internal: boolean;
}

interface BDraft {
  from: number;
  toQueue: boolean;
  to: number;
  key: string;
  pattern: string;
  headers: Record<string, string | number | boolean | null> | undefined;
  mode: string;
}

/** Standard exchanges a generated binding may start from; x-1..x-4 in drafts. */
const AMQ = ['amq.direct', 'amq.fanout', 'amq.topic', 'amq.headers'] as const;
const AMQ_TYPES: readonly ExchangeType[] = ['direct', 'fanout', 'topic', 'headers'];

/**
 * Whole topologies in RabbitMQ's definitions format: exchanges `x<i>` of the four types
 * (some with an alternate exchange, now and then one that does not exist, some internal),
 * queues `q<i>`, bindings from them and from the amq.* exchanges to queues and to other
 * exchanges (cycles included), with keys, topic patterns or header arguments to suit the
 * source's type, and sometimes a policy that sets an alternate exchange.
 */
export function topologyDefinitions(opts: TopologyOptions = {}): fc.Arbitrary<Definitions> {
  const vhost = opts.vhost ?? '/';
  const types = opts.types ?? TYPES;
  const keyOpts = { words: opts.words ?? WORDS, maxWords: 3 };
  return fc
    .record({
      nx: fc.integer({ min: opts.minExchanges ?? 1, max: opts.maxExchanges ?? 5 }),
      nq: fc.integer({ min: opts.minQueues ?? 1, max: opts.maxQueues ?? 5 }),
    })
    .chain(({ nx, nq }) => {
      const exchange: fc.Arbitrary<XDraft> = fc.record({
        type: fc.constantFrom(...types),
        ae: fc.option(fc.integer({ min: -1, max: nx - 1 }), { nil: undefined, freq: 3 }),
        internal: opts.internal === false ? fc.constant(false) : fc.boolean().map((b) => b && nx > 1).chain((b) => (b ? fc.boolean() : fc.constant(false))),
      });
      const binding: fc.Arbitrary<BDraft> = fc.record({
        from: fc.integer({ min: opts.standardExchanges === false ? 0 : -AMQ.length, max: nx - 1 }),
        toQueue: fc.boolean(),
        to: fc.integer({ min: 0, max: Math.max(nx, nq) - 1 }),
        key: routingKey(keyOpts),
        pattern: topicPattern(keyOpts),
        headers: fc.option(
          fc.dictionary(fc.constantFrom('h1', 'h2', 'x-h'), fc.constantFrom(...HEADER_VALUES), { minKeys: 1, maxKeys: 2 }),
          { nil: undefined },
        ),
        mode: fc.constantFrom('all', 'any', 'all-with-x', 'any-with-x', 'none'),
      });
      return fc.record({
        exchanges: fc.array(exchange, { minLength: nx, maxLength: nx }),
        nq: fc.constant(nq),
        bindings: fc.array(binding, { maxLength: opts.maxBindings ?? 10 }),
        aePolicy:
          opts.policies === false
            ? fc.constant(undefined)
            : fc.option(fc.record({ on: fc.integer({ min: 0, max: nx - 1 }), to: fc.integer({ min: 0, max: nx - 1 }) }), { nil: undefined, freq: 5 }),
      });
    })
    .map(({ exchanges, nq, bindings, aePolicy }) => {
      const xname = (i: number) => (i >= 0 ? `x${i}` : AMQ[-i - 1]!);
      const xtype = (i: number) => (i >= 0 ? exchanges[i]!.type : AMQ_TYPES[-i - 1]!);
      const defs: Required<Pick<Definitions, 'vhosts' | 'policies' | 'exchanges' | 'queues' | 'bindings'>> = {
        vhosts: [{ name: vhost }],
        policies: [],
        exchanges: exchanges.map((x, i) => ({
          name: `x${i}`,
          vhost,
          type: x.type,
          durable: true,
          auto_delete: false,
          internal: x.internal,
          arguments: x.ae === undefined || x.ae === i ? {} : { 'alternate-exchange': x.ae < 0 ? 'no-such-exchange' : `x${x.ae}` },
        })),
        queues: Array.from({ length: nq }, (_, i) => ({ name: `q${i}`, vhost, durable: true, auto_delete: false, arguments: {} })),
        bindings: [],
      };
      const seen = new Set<string>();
      for (const b of bindings) {
        const toQueue = b.toQueue || exchanges.length === 0;
        const dest = toQueue ? `q${b.to % nq}` : `x${b.to % exchanges.length}`;
        const type = xtype(b.from);
        let key = '';
        let args: Record<string, unknown> = {};
        if (type === 'direct') key = b.key;
        else if (type === 'topic') key = b.pattern;
        else if (type === 'headers') args = { ...(b.headers ?? {}), ...(b.mode === 'none' ? {} : { 'x-match': b.mode }) };
        const binding = { source: xname(b.from), vhost, destination: dest, destination_type: toQueue ? ('queue' as const) : ('exchange' as const), routing_key: key, arguments: args };
        const id = JSON.stringify(binding);
        if (seen.has(id)) continue;
        seen.add(id);
        defs.bindings.push(binding);
      }
      if (aePolicy !== undefined && aePolicy.on !== aePolicy.to) {
        defs.policies.push({ vhost, name: 'ae', pattern: `^x${aePolicy.on}$`, 'apply-to': 'exchanges', priority: 0, definition: { 'alternate-exchange': `x${aePolicy.to}` } });
      }
      return defs;
    });
}

/** Topologies (see topologyDefinitions); a counterexample prints as `Topology.fromDefinitions(…)`. */
export function topology(opts: TopologyOptions = {}): fc.Arbitrary<Topology> {
  return topologyDefinitions(opts).map((defs) => printable(Topology.fromDefinitions(defs), `Topology.fromDefinitions(${JSON.stringify(defs)})`));
}

export interface MessageOptions {
  /** Publish only to these exchanges (default: every exchange of the vhost that is not internal, the default exchange and amq.* included). */
  exchanges?: readonly string[];
  /** Default '/'. */
  vhost?: string;
  /** Extra routing keys to draw from, besides the topology's binding keys, its queue names and generated keys. */
  keys?: readonly string[];
  /** Words of generated keys (default a, b, c). */
  words?: readonly string[];
  /** Whether to add CC and BCC headers now and then (default true). */
  ccBcc?: boolean;
  /**
   * Now and then, a message the broker refuses: to an internal exchange (403), to one that
   * does not exist (404), with a CC header that is not an array (406). Default false.
   */
  refused?: boolean;
}

/**
 * Messages for a topology: an exchange of it, a routing key drawn from its binding keys,
 * its queue names (for the default exchange) and generated keys, headers that often match
 * its headers bindings, and now and then CC and BCC.
 */
export function message(t: Topology, opts: MessageOptions = {}): fc.Arbitrary<RouteMessage> {
  const vhost = opts.vhost ?? '/';
  const all = t.exchanges(vhost);
  const exchanges = opts.exchanges ?? all.filter((x) => !x.internal).map((x) => x.name);
  if (exchanges.length === 0) throw new Error('message(): no exchange to publish to');
  // Mostly exchanges that have bindings (or the default exchange, when there are queues).
  const sources = new Set(t.bindings(vhost).map((b) => b.source));
  if (t.queues(vhost).length > 0) sources.add('');
  const busy = exchanges.filter((x) => sources.has(x));
  const exchange = busy.length > 0 ? fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...busy) }, { weight: 1, arbitrary: fc.constantFrom(...exchanges) }) : fc.constantFrom(...exchanges);
  const known = [...new Set([...t.bindings(vhost).map((b) => b.routingKey).filter((k) => !k.includes('*') && !k.includes('#')), ...t.queues(vhost), ...(opts.keys ?? [])])];
  const keyArb = known.length > 0 ? fc.oneof(fc.constantFrom(...known), routingKey({ words: opts.words ?? WORDS })) : routingKey({ words: opts.words ?? WORDS });
  const cc = fc.array(keyArb, { maxLength: 2 });
  const headers = fc
    .record({
      table: fc.option(headerTable(), { nil: undefined }),
      cc: opts.ccBcc === false ? fc.constant(undefined) : fc.option(cc, { nil: undefined, freq: 4 }),
      bcc: opts.ccBcc === false ? fc.constant(undefined) : fc.option(cc, { nil: undefined, freq: 6 }),
    })
    .map(({ table, cc: c, bcc }) => {
      if (table === undefined && c === undefined && bcc === undefined) return undefined;
      const h: FieldTable = { ...table };
      if (c !== undefined) h['CC'] = c;
      if (bcc !== undefined) h['BCC'] = bcc;
      return h;
    });
  const ok = fc.record({ exchange, routingKey: keyArb, headers }).map(({ exchange: x, routingKey: rk, headers: h }) => {
    const m: RouteMessage = { exchange: x, routingKey: rk };
    if (vhost !== '/') m.vhost = vhost;
    if (h !== undefined) m.headers = h;
    return m;
  });
  if (opts.refused !== true) return ok;
  const internal = all.filter((x) => x.internal).map((x) => x.name);
  const refused = fc.record({ m: ok, how: fc.constantFrom('internal', 'missing', 'cc'), cc: fc.constantFrom<FieldValue>('a', 1, true, null) }).map(({ m, how, cc }) => {
    if (how === 'internal' && internal.length > 0) return { ...m, exchange: internal[0]! };
    if (how === 'cc') return { ...m, headers: { ...m.headers, CC: cc } };
    return { ...m, exchange: 'no-such-exchange' };
  });
  return fc.oneof({ weight: 9, arbitrary: ok }, { weight: 1, arbitrary: refused });
}

/** Streams of messages for a topology (default 1 to 10). */
export function messages(t: Topology, opts: MessageOptions & { minLength?: number; maxLength?: number } = {}): fc.Arbitrary<RouteMessage[]> {
  return fc.array(message(t, opts), { minLength: opts.minLength ?? 1, maxLength: opts.maxLength ?? 10 });
}

/** A topology, its definitions and messages for it: the input of a differential or model test. */
export interface RoutingScenario {
  definitions: Definitions;
  topology: Topology;
  messages: RouteMessage[];
}

export function scenario(opts: TopologyOptions & { maxMessages?: number; refused?: boolean } = {}): fc.Arbitrary<RoutingScenario> {
  return topologyDefinitions(opts).chain((definitions) => {
    const t = Topology.fromDefinitions(definitions);
    const mopts = { vhost: opts.vhost ?? '/', words: opts.words ?? WORDS, maxLength: opts.maxMessages ?? 10, refused: opts.refused ?? false };
    return messages(t, mopts).map((msgs) => {
      // A fresh Topology per run: a property may change the one it is given.
      const s = { definitions, messages: msgs } as RoutingScenario;
      Object.defineProperty(s, 'topology', { get: () => Topology.fromDefinitions(definitions), enumerable: false });
      return printable(s, JSON.stringify({ definitions, messages: msgs }, jsonReplacer));
    });
  });
}

/** JSON for counterexamples: Typed values, bigints and Buffers shown as themselves. */
function jsonReplacer(_k: string, v: unknown): unknown {
  if (typeof v === 'bigint') return `${v}n`;
  if (v instanceof Typed) return { [`Typed ${v.type}`]: typeof v.value === 'bigint' ? `${v.value}n` : v.value };
  if (v !== null && typeof v === 'object' && (v as { type?: unknown }).type === 'Buffer' && Array.isArray((v as { data?: unknown }).data)) {
    return { Buffer: Buffer.from((v as { data: number[] }).data).toString('hex') };
  }
  return v;
}

function printable<T extends object>(value: T, text: string): T {
  Object.defineProperty(value, fc.toStringMethod, { value: () => text, enumerable: false });
  return value;
}
