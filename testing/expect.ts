/**
 * Assertions about routes that read well in any test runner (vitest, jest, node:test):
 * failures are node:assert AssertionErrors with `actual` and `expected`, so runners show a
 * diff, and the message carries the path the message took.
 */
import { AssertionError } from 'node:assert';
import fc from 'fast-check';
import type { Topology, RouteMessage, RouteResult } from '../routing/topology/topology.js';
import { message as messageArb, type MessageOptions } from './arbitraries.js';

function describeMessage(m: RouteMessage): string {
  const to = (m.exchange ?? '') === '' ? 'the default exchange' : `exchange '${m.exchange}'`;
  const vhost = m.vhost === undefined || m.vhost === '/' ? '' : ` in vhost '${m.vhost}'`;
  const headers = m.headers === undefined ? '' : ` with headers ${JSON.stringify(m.headers, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v))}`;
  return `a message to ${to}${vhost} with routing key '${m.routingKey ?? ''}'${headers}`;
}

/**
 * Checks that the message reaches exactly these queues (in any order) and returns the
 * route. On failure the error shows both lists and the path the message took.
 */
export function expectRoutes(topology: Topology, message: RouteMessage, queues: readonly string[]): RouteResult {
  const route = topology.route(message);
  const expected = [...new Set(queues)].sort();
  const actual = [...route.queues];
  if (actual.length !== expected.length || actual.some((q, i) => q !== expected[i])) {
    throw new AssertionError({
      message: `expected ${describeMessage(message)} to reach [${expected.join(', ')}] but it reached [${actual.join(', ')}]:\n  ${route.describe().join('\n  ')}`,
      actual,
      expected,
      operator: 'deepStrictEqual',
      stackStartFn: expectRoutes,
    });
  }
  return route;
}

/** Checks that the message reaches no queue (a mandatory publish would come back 312 NO_ROUTE). */
export function expectUnroutable(topology: Topology, message: RouteMessage): RouteResult {
  return expectRoutes(topology, message, []);
}

/** An invariant over one routed message: return false or throw to fail. */
export type RoutingInvariant = (route: RouteResult, message: RouteMessage) => boolean | void;

export interface RoutingPropertyOptions extends MessageOptions {
  /** The messages to try (default: `message(topology, options)` from the arbitraries). */
  messages?: fc.Arbitrary<RouteMessage>;
}

/**
 * A fast-check property: the invariant holds for every generated message routed through
 * the topology. Messages the broker would refuse (an internal exchange, a CC header that is
 * not an array) fail the property with the broker's error unless the invariant's messages
 * avoid them.
 */
export function routingProperty(topology: Topology, invariant: RoutingInvariant, opts: RoutingPropertyOptions = {}): fc.IPropertyWithHooks<[RouteMessage]> {
  const arb = opts.messages ?? messageArb(topology, opts);
  return fc.property(arb, (m) => {
    const route = topology.route(m);
    const ok = invariant(route, m);
    if (ok === false) {
      throw new Error(`the invariant does not hold for ${describeMessage(m)}, which reached [${route.queues.join(', ')}]:\n  ${route.describe().join('\n  ')}`);
    }
  });
}

/** Runs routingProperty with fast-check (numRuns, seed and the rest as fc.assert takes them). */
export function checkRouting(
  topology: Topology,
  invariant: RoutingInvariant,
  opts: RoutingPropertyOptions & fc.Parameters<[RouteMessage]> = {},
): void {
  const { messages, exchanges, vhost, keys, words, ccBcc, refused, ...params } = opts;
  fc.assert(routingProperty(topology, invariant, { messages, exchanges, vhost, keys, words, ccBcc, refused } as RoutingPropertyOptions), params);
}
