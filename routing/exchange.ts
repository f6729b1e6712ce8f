import type { FieldTable } from '../amqp/table.js';
import { DirectExchange } from './direct.js';
import { FanoutExchange } from './fanout.js';
import { FederationUpstreamExchange } from './plugins/federation-upstream.js';
import { HeadersExchange } from './headers.js';
import { TopicExchange } from './topic.js';

/** Anything a binding can point at. Identity is by object: one live object per queue or exchange. */
export interface Routable {
  readonly kind: 'queue' | 'exchange';
  readonly name: string;
}

export interface Binding<D> {
  readonly destination: D;
  readonly routingKey: string;
  readonly args: FieldTable;
}

export type ExchangeType = 'direct' | 'fanout' | 'topic' | 'headers' | 'x-federation-upstream';

/**
 * Where route() puts its matches. A Set<D> is one; the Router passes a lighter collector
 * because Set.prototype.clear() is a slow builtin call and it needs a fresh one per exchange.
 */
export interface RouteTarget<D> {
  add(dest: D): unknown;
}

export interface Exchange<D extends Routable> {
  readonly type: ExchangeType;
  /** False if an identical binding (same destination, key and arguments) already exists. */
  bind(dest: D, routingKey: string, args: FieldTable): boolean;
  /** False if there is no such binding. */
  unbind(dest: D, routingKey: string, args: FieldTable): boolean;
  /** Removes every binding to dest (it was deleted); returns how many were removed. */
  unbindAll(dest: D): number;
  hasBinding(dest: D, routingKey: string, args: FieldTable): boolean;
  /** Adds the matching destinations to out (usually a Set<D>); never clears it. */
  route(routingKey: string, headers: FieldTable | undefined, out: RouteTarget<D>): void;
  bindings(): IterableIterator<Binding<D>>;
  /** The bindings to one destination (none: empty). */
  bindingsTo(dest: D): Iterable<Binding<D>>;
  readonly bindingCount: number;
  /**
   * Whether this one binding matches the key and headers on its own. For explanations
   * (warren/routing): slower than route(), never on the publish path.
   */
  matches(binding: Binding<D>, routingKey: string, headers: FieldTable | undefined): boolean;
}

export const EXCHANGE_TYPES: readonly string[] = Object.freeze(['direct', 'fanout', 'topic', 'headers']);

/**
 * A new, empty exchange of the named type, or undefined for a type this broker does not
 * know. `args`: the exchange's arguments, for a type that routes by them.
 */
export function createExchange<D extends Routable>(type: string, args: FieldTable = {}): Exchange<D> | undefined {
  switch (type) {
    case 'direct':
      return new DirectExchange<D>();
    case 'fanout':
      return new FanoutExchange<D>();
    case 'topic':
      return new TopicExchange<D>();
    case 'headers':
      return new HeadersExchange<D>();
    case 'x-federation-upstream':
      return new FederationUpstreamExchange<D>(args);
    default:
      return undefined;
  }
}
