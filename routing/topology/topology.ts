import { ConnectionError } from '../../amqp/errors.js';
import type { FieldTable } from '../../amqp/table.js';
import type { Definitions } from '../../persistence/definitions.js';
import type { ExchangeType } from '../exchange.js';
import { publishExchange, publishRoutingKeys } from '../publish.js';
import { DefinitionsError, topologySections, toJson } from './definitions.js';
import { formatPath, PathRecorder, type RouteVisit } from './explain.js';
import { QueueCollector, type TopologyExchange, type TopologyQueue } from './nodes.js';
import type { ApplyTo } from './policy-match.js';
import { VhostTopology } from './vhost-topology.js';

/** A message to route: where it is published and what it carries that routing looks at. */
export interface RouteMessage {
  /** Default '/'. */
  vhost?: string;
  /** Default '' (the default exchange). */
  exchange?: string;
  /** Default ''. */
  routingKey?: string;
  /** Message headers: what a headers exchange matches, and CC/BCC. */
  headers?: FieldTable;
}

/** Where a message goes. */
export interface RouteResult {
  /** The queues reached, each once, sorted by name. */
  readonly queues: readonly string[];
  /** False when no queue was reached (a mandatory publish would be returned, 312 NO_ROUTE). */
  readonly routed: boolean;
  /** Why: every exchange visited and the bindings that matched; worked out on first access. */
  readonly path: readonly RouteVisit[];
  /** The path as lines of text. */
  describe(): string[];
}

export interface ExchangeOptions {
  vhost?: string;
  durable?: boolean;
  autoDelete?: boolean;
  internal?: boolean;
  /** Exchange arguments (`alternate-exchange` is the one routing reads). */
  arguments?: FieldTable;
  /** Shorthand for the `alternate-exchange` argument. */
  alternateExchange?: string;
}

export interface QueueOptions {
  vhost?: string;
  durable?: boolean;
  autoDelete?: boolean;
  arguments?: FieldTable;
}

export interface BindOptions {
  vhost?: string;
  /** Needed only when a queue and an exchange share the destination's name. */
  destinationType?: 'queue' | 'exchange';
}

export interface PolicyOptions {
  vhost?: string;
  name: string;
  pattern: string;
  applyTo?: ApplyTo;
  priority?: number;
  definition: Record<string, unknown>;
}

class Route implements RouteResult {
  private computed: RouteVisit[] | null = null;

  constructor(
    readonly queues: readonly string[],
    private readonly topology: Topology,
    private readonly version: number,
    private readonly vhost: VhostTopology,
    private readonly start: TopologyExchange,
    private readonly keys: string | string[],
    private readonly headers: FieldTable | undefined,
  ) {}

  get routed(): boolean {
    return this.queues.length > 0;
  }

  get path(): readonly RouteVisit[] {
    if (this.computed === null) {
      if (this.topology.version !== this.version) throw new Error('the topology changed since this route was taken; route the message again');
      const recorder = new PathRecorder(this.start, this.keys, this.headers);
      this.vhost.router.route(this.start, this.keys, this.headers, new Set(), recorder);
      this.computed = recorder.path;
    }
    return this.computed;
  }

  describe(): string[] {
    return formatPath(this.path);
  }
}

/**
 * Exchanges, queues, bindings and policies, as a RabbitMQ definitions file describes them,
 * routed by the broker's own routing code (the exchange types, the exchange-to-exchange
 * walk, alternate exchanges, CC/BCC) without a socket, a timer or the disk. Build one with
 * `Topology.fromDefinitions(json)` or the builder calls `exchange`, `queue` and `bind`.
 */
export class Topology {
  private readonly vhostMap = new Map<string, VhostTopology>();
  /** Bumped by every change, so that a route's lazily computed path is never stale. */
  version = 0;
  private readonly found = new QueueCollector();

  /** Reads RabbitMQ's definitions format (an export of RabbitMQ, or Warren's data/definitions.json). */
  static fromDefinitions(defs: Definitions | string | object, opts: { vhost?: string } = {}): Topology {
    const t = new Topology();
    t.load(defs, opts);
    return t;
  }

  /** Adds what a definitions object declares to this topology. */
  load(defs: Definitions | string | object, opts: { vhost?: string } = {}): this {
    const s = topologySections(defs, opts.vhost ?? '/');
    for (const v of s.vhosts) this.vhostFor(v);
    const at = (what: string, fn: () => void) => {
      try {
        fn();
      } catch (err) {
        throw new DefinitionsError(`${what}: ${(err as Error).message}`);
      }
    };
    for (const p of s.policies) this.policy(p);
    for (const x of s.exchanges) {
      if (x.name === '' || (x.name.startsWith('amq.') && this.vhostFor(x.vhost).exchanges.has(x.name))) continue;
      at(`exchange '${x.name}' in vhost '${x.vhost}'`, () =>
        this.vhostFor(x.vhost).declareExchange(x.name, x.type, x.durable, x.autoDelete, x.internal, x.args),
      );
    }
    for (const q of s.queues) at(`queue '${q.name}' in vhost '${q.vhost}'`, () => this.vhostFor(q.vhost).declareQueue(q.name, q.durable, q.autoDelete, q.args));
    for (const b of s.bindings) {
      at(`binding of ${b.destinationType} '${b.destination}' to exchange '${b.source}' in vhost '${b.vhost}'`, () =>
        this.bind(b.source, b.destination, b.routingKey, b.args, { vhost: b.vhost, destinationType: b.destinationType }),
      );
    }
    this.version++;
    return this;
  }

  /** Declares an exchange (like exchange.declare: redeclaring with the same type is a no-op). */
  exchange(name: string, type: ExchangeType | string = 'direct', opts: ExchangeOptions = {}): this {
    const args: FieldTable = { ...opts.arguments };
    if (opts.alternateExchange !== undefined) args['alternate-exchange'] = opts.alternateExchange;
    this.vhostFor(opts.vhost ?? '/').declareExchange(name, type, opts.durable ?? true, opts.autoDelete ?? false, opts.internal ?? false, args);
    this.version++;
    return this;
  }

  /** Declares a queue. */
  queue(name: string, opts: QueueOptions = {}): this {
    this.vhostFor(opts.vhost ?? '/').declareQueue(name, opts.durable ?? true, opts.autoDelete ?? false, { ...opts.arguments });
    this.version++;
    return this;
  }

  /** Binds a queue or an exchange (the destination) to the source exchange. */
  bind(source: string, destination: string, routingKey = '', args: FieldTable = {}, opts: BindOptions = {}): this {
    const v = this.vhostOrDie(opts.vhost ?? '/');
    v.bind(source, this.destination(v, destination, opts.destinationType), routingKey, args);
    this.version++;
    return this;
  }

  /** Removes a binding; false if there was none. */
  unbind(source: string, destination: string, routingKey = '', args: FieldTable = {}, opts: BindOptions = {}): boolean {
    const v = this.vhostOrDie(opts.vhost ?? '/');
    this.version++;
    return v.unbind(source, this.destination(v, destination, opts.destinationType), routingKey, args);
  }

  /** Sets a policy; routing reads its `alternate-exchange` key (an exchange's own argument wins). */
  policy(p: PolicyOptions): this {
    this.vhostFor(p.vhost ?? '/').setPolicy({
      name: p.name,
      pattern: p.pattern,
      applyTo: p.applyTo ?? 'all',
      priority: p.priority ?? 0,
      definition: { ...p.definition },
    });
    this.version++;
    return this;
  }

  /**
   * Where a message published to `exchange` with `routingKey` and `headers` goes, as the
   * broker routes it. Throws the broker's channel error (`replyCode`, `replyText`) where the
   * broker would refuse the publish: no such vhost or exchange (404), an internal exchange
   * (403), a CC or BCC header that is not an array (406).
   */
  route(msg: RouteMessage): RouteResult {
    const v = this.vhostOrDie(msg.vhost ?? '/');
    const exchange = msg.exchange ?? '';
    const x = publishExchange(v.exchanges.get(exchange), exchange, v.name);
    const headers = msg.headers;
    const keys = publishRoutingKeys(msg.routingKey ?? '', headers);
    const found = this.found;
    found.begin();
    v.router.route(x, keys, headers, found);
    return new Route(found.sortedNames(), this, this.version, v, x, keys, headers);
  }

  /** Names of the vhosts this topology knows. */
  vhosts(): string[] {
    return [...this.vhostMap.keys()];
  }

  /** The exchanges of a vhost (the default exchange and amq.* included), for generators and tools. */
  exchanges(vhost = '/'): { name: string; type: ExchangeType; internal: boolean; alternateExchange: string | null }[] {
    return [...this.vhostOrDie(vhost).exchanges.values()].map((x) => ({ name: x.name, type: x.type, internal: x.internal, alternateExchange: x.alternateExchange }));
  }

  /** The queue names of a vhost. */
  queues(vhost = '/'): string[] {
    return [...this.vhostOrDie(vhost).queues.keys()];
  }

  /** The bindings of a vhost, as a definitions file lists them. */
  bindings(vhost = '/'): { source: string; destination: string; destinationType: 'queue' | 'exchange'; routingKey: string; arguments: FieldTable }[] {
    const out = [];
    for (const x of this.vhostOrDie(vhost).exchanges.values()) {
      for (const b of x.router.bindings()) {
        out.push({ source: x.name, destination: b.destination.name, destinationType: b.destination.kind, routingKey: b.routingKey, arguments: b.args });
      }
    }
    return out;
  }

  /** The topology in RabbitMQ's definitions format (standard exchanges left out, as RabbitMQ's export does). */
  toDefinitions(): Required<Pick<Definitions, 'vhosts' | 'policies' | 'exchanges' | 'queues' | 'bindings'>> {
    const defs: ReturnType<Topology['toDefinitions']> = { vhosts: [], policies: [], exchanges: [], queues: [], bindings: [] };
    for (const v of this.vhostMap.values()) {
      defs.vhosts.push({ name: v.name });
      for (const p of v.policyList()) {
        defs.policies.push({ vhost: v.name, name: p.name, pattern: p.pattern, 'apply-to': p.applyTo, priority: p.priority, definition: { ...p.definition } });
      }
      for (const x of v.exchanges.values()) {
        if (x.name === '' || x.name.startsWith('amq.')) continue;
        defs.exchanges.push({ name: x.name, vhost: v.name, type: x.type, durable: x.durable, auto_delete: x.autoDelete, internal: x.internal, arguments: toJson(x.args) });
      }
      for (const q of v.queues.values()) {
        defs.queues.push({ name: q.name, vhost: v.name, durable: q.durable, auto_delete: q.autoDelete, arguments: toJson(q.args) });
      }
      for (const b of this.bindings(v.name)) {
        defs.bindings.push({ source: b.source, vhost: v.name, destination: b.destination, destination_type: b.destinationType, routing_key: b.routingKey, arguments: toJson(b.arguments) });
      }
    }
    return defs;
  }

  private vhostFor(name: string): VhostTopology {
    let v = this.vhostMap.get(name);
    if (v === undefined) this.vhostMap.set(name, (v = new VhostTopology(name)));
    return v;
  }

  private vhostOrDie(name: string): VhostTopology {
    const v = this.vhostMap.get(name);
    if (v !== undefined) return v;
    if (name === '/' && this.vhostMap.size === 0) return this.vhostFor(name);
    throw new ConnectionError(530, `vhost ${name} not found`);
  }

  private destination(v: VhostTopology, name: string, type: 'queue' | 'exchange' | undefined): TopologyQueue | TopologyExchange {
    if (type === 'queue') return v.queueOrDie(name);
    if (type === 'exchange') return v.exchangeOrDie(name);
    const q = v.queues.get(name);
    const x = v.exchanges.get(name);
    if (q !== undefined && x !== undefined) {
      throw new Error(`'${name}' is both a queue and an exchange in vhost '${v.name}': say which with { destinationType }`);
    }
    return q ?? x ?? v.queueOrDie(name);
  }
}
