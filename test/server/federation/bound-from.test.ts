// How far a binding goes up a chain of federated exchanges (x-bound-from), as pure code.
import { describe, expect, it } from 'vitest';
import type { FieldTable, Typed } from '../../../amqp/table.js';
import { forwardedBindingArgs } from '../../../server/federation/exchange/bound-from.js';

describe('bindings going upstream (update_binding)', () => {
  const link = { clusterName: 'c', vhost: '/', exchange: '/:x B', maxHops: 2, upstreamCluster: 'b', upstreamVhost: '/' };
  const hops = (args: FieldTable | null) => (args === null ? null : (args['x-bound-from'] as FieldTable[]).map((e) => [e['cluster-name'], (e['hops'] as Typed).value]));

  it('starts at max-hops, then counts down from the most restrictive link passed', () => {
    const first = forwardedBindingArgs({ k: 1 }, link);
    expect(Object.keys(first!)).toEqual(['k', 'x-bound-from']);
    expect(hops(first)).toEqual([['c', 2]]);
    // Coming from another link with hops 2: one less, capped by this link's max-hops.
    const second = forwardedBindingArgs(first!, { ...link, clusterName: 'b2', upstreamCluster: 'a', maxHops: 5 });
    expect(hops(second)).toEqual([
      ['b2', 1],
      ['c', 2],
    ]);
    // Then no further.
    expect(forwardedBindingArgs(second!, { ...link, clusterName: 'a2', upstreamCluster: 'z', maxHops: 5 })).toBeNull();
  });

  it('stops where the binding has already been (a cycle)', () => {
    const first = forwardedBindingArgs({}, { ...link, maxHops: 5 });
    // Back towards c itself: already seen.
    expect(forwardedBindingArgs(first!, { ...link, clusterName: 'b', upstreamCluster: 'c', maxHops: 5 })).toBeNull();
  });
});
