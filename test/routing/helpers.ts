import type { Exchange, ExchangeNode } from '../../routing/index.js';

export interface Q {
  readonly kind: 'queue';
  readonly name: string;
}

export function queue(name: string): Q {
  return { kind: 'queue', name };
}

/** A fixed pool of queue objects so tests can refer to them by name. */
export function queues(...names: string[]): Record<string, Q> {
  const out: Record<string, Q> = {};
  for (const n of names) out[n] = queue(n);
  return out;
}

export function names(set: Iterable<{ name: string }>): string[] {
  return [...set].map((d) => d.name).sort();
}

/** Routes one message and returns the sorted names of the destinations. */
export function routeNames<D extends { kind: 'queue' | 'exchange'; name: string }>(
  x: Exchange<D>,
  routingKey: string,
  headers?: Parameters<Exchange<D>['route']>[1],
): string[] {
  const out = new Set<D>();
  x.route(routingKey, headers, out);
  return names(out);
}

export type Node = ExchangeNode<Q>;
