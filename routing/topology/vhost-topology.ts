import { ChannelError } from '../../amqp/errors.js';
import type { FieldTable } from '../../amqp/table.js';
import { DefaultExchange } from '../default-exchange.js';
import { createExchange, type Exchange, type ExchangeType } from '../exchange.js';
import { validateHeadersBindingArgs } from '../headers.js';
import { STANDARD_EXCHANGES, unknownExchangeType } from '../publish.js';
import { Router, type ExchangeNode } from '../router.js';
import { TopologyExchange, TopologyQueue } from './nodes.js';
import { bestPolicy, type ApplyTo, type CompiledPolicy } from './policy-match.js';

type Dest = TopologyQueue | ExchangeNode<TopologyQueue>;
type Matcher = Exchange<Dest>;

export interface TopologyPolicy {
  readonly name: string;
  readonly pattern: string;
  readonly applyTo: ApplyTo;
  readonly priority: number;
  readonly definition: Readonly<Record<string, unknown>>;
}

/**
 * One vhost of a Topology: its exchanges (the default exchange and amq.* included, as in
 * every RabbitMQ vhost), queues, bindings and policies, and the broker's Router over them.
 * Declarations are checked as the broker checks them, with the same reply codes and texts.
 */
export class VhostTopology {
  readonly exchanges = new Map<string, TopologyExchange>();
  readonly queues = new Map<string, TopologyQueue>();
  readonly router: Router<TopologyQueue>;
  private readonly policies = new Map<string, CompiledPolicy<TopologyPolicy>>();

  constructor(readonly name: string) {
    this.router = new Router<TopologyQueue>((n) => this.exchanges.get(n));
    const dflt = new DefaultExchange<TopologyQueue>((n) => this.queues.get(n));
    this.exchanges.set('', new TopologyExchange('', 'direct', true, false, false, {}, dflt));
    for (const [n, type] of STANDARD_EXCHANGES) this.exchanges.set(n, new TopologyExchange(n, type, true, false, false, {}, createExchange<Dest>(type)!));
  }

  private xres(name: string): string {
    return `exchange '${name}' in vhost '${this.name}'`;
  }

  exchangeOrDie(name: string): TopologyExchange {
    const x = this.exchanges.get(name);
    if (x === undefined) throw new ChannelError(404, `no ${this.xres(name)}`);
    return x;
  }

  queueOrDie(name: string): TopologyQueue {
    const q = this.queues.get(name);
    if (q === undefined) throw new ChannelError(404, `no queue '${name}' in vhost '${this.name}'`);
    return q;
  }

  declareExchange(name: string, type: string, durable: boolean, autoDelete: boolean, internal: boolean, args: FieldTable): TopologyExchange {
    if (name === '') throw defaultExchangeError();
    const matcher = createExchange<Dest>(type, args);
    if (matcher === undefined) throw unknownExchangeType(type);
    const existing = this.exchanges.get(name);
    if (existing !== undefined) {
      if (existing.type !== type) {
        throw new ChannelError(406, `inequivalent arg 'type' for ${this.xres(name)}: received '${type}' but current is '${existing.type}'`);
      }
      return existing;
    }
    if (name.startsWith('amq.')) throw new ChannelError(403, `exchange name '${name}' contains reserved prefix 'amq.*'`);
    const x = new TopologyExchange(name, type as ExchangeType, durable, autoDelete, internal, args, matcher);
    this.exchanges.set(name, x);
    this.applyPolicy(x);
    return x;
  }

  declareQueue(name: string, durable: boolean, autoDelete: boolean, args: FieldTable): TopologyQueue {
    if (name === '') throw new Error('a queue of a topology needs a name');
    const existing = this.queues.get(name);
    if (existing !== undefined) return existing;
    if (name.startsWith('amq.')) throw new ChannelError(403, `queue name '${name}' contains reserved prefix 'amq.*'`);
    const q = new TopologyQueue(name, durable, autoDelete, args);
    this.queues.set(name, q);
    return q;
  }

  bind(source: string, dest: Dest, routingKey: string, args: FieldTable): boolean {
    const x = this.exchangeOrDie(source);
    if (x.name === '' || (dest.name === '' && dest.kind === 'exchange')) throw defaultExchangeError();
    if (x.type === 'headers') {
      const err = validateHeadersBindingArgs(args);
      if (err !== null) throw new ChannelError(406, err);
    }
    return (x.router as Matcher).bind(dest, routingKey, args);
  }

  unbind(source: string, dest: Dest, routingKey: string, args: FieldTable): boolean {
    const x = this.exchangeOrDie(source);
    if (x.name === '') throw defaultExchangeError();
    return (x.router as Matcher).unbind(dest, routingKey, args);
  }

  setPolicy(p: TopologyPolicy): void {
    this.policies.set(p.name, { policy: p, re: new RegExp(p.pattern) });
    for (const x of this.exchanges.values()) this.applyPolicy(x);
  }

  policyList(): TopologyPolicy[] {
    return [...this.policies.values()].map((c) => c.policy).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  private applyPolicy(x: TopologyExchange): void {
    if (x.name === '') return;
    const ae = bestPolicy(this.policies.values(), 'exchanges', x.name)?.definition['alternate-exchange'];
    x.alternateExchange = x.argAlternate ?? (typeof ae === 'string' ? ae : null);
  }
}

function defaultExchangeError(): ChannelError {
  return new ChannelError(403, 'operation not permitted on the default exchange');
}
