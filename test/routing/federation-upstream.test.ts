// The x-federation-upstream exchange type and the hop rules, as pure code.
import { describe, expect, it } from 'vitest';
import { long, Typed, type FieldTable } from '../../amqp/table.js';
import { createExchange, type Routable } from '../../routing/exchange.js';
import { alreadySeen, federationUpstreamArgsError, shouldForward } from '../../routing/plugins/federation-upstream.js';

const hop = (cluster: string, vhost: string): FieldTable => ({ uri: 'amqp://h', exchange: 'x', redelivered: false, 'cluster-name': cluster, vhost });

describe('shouldForward (rabbit_federation_util:should_forward)', () => {
  it('forwards below max-hops unless the downstream is already on the path', () => {
    expect(shouldForward(undefined, 1, 'd', '/')).toBe(true);
    expect(shouldForward({}, 1, 'd', '/')).toBe(true);
    expect(shouldForward({ 'x-received-from': 'not a list' }, 1, 'd', '/')).toBe(true);
    expect(shouldForward({ 'x-received-from': [hop('a', '/')] }, 1, 'd', '/')).toBe(false);
    expect(shouldForward({ 'x-received-from': [hop('a', '/')] }, 2, 'd', '/')).toBe(true);
    expect(shouldForward({ 'x-received-from': [hop('d', '/')] }, 2, 'd', '/')).toBe(false);
    expect(shouldForward({ 'x-received-from': [hop('d', 'other')] }, 2, 'd', '/')).toBe(true);
    // An older downstream that did not say who it is: only max-hops applies.
    expect(shouldForward({ 'x-received-from': [hop('d', '/')] }, 2, null, null)).toBe(true);
    expect(alreadySeen('d', '/', [null, 'x', hop('d', '/')])).toBe(true);
  });
});

describe('the x-federation-upstream type', () => {
  it('needs x-max-hops as a long', () => {
    expect(federationUpstreamArgsError({})).toBe('Argument x-max-hops missing');
    expect(federationUpstreamArgsError({ 'x-max-hops': new Typed('b', 1) })).toBe('Argument x-max-hops must be of type long');
    expect(federationUpstreamArgsError({ 'x-max-hops': 'one' })).toBe('Argument x-max-hops must be of type long');
    expect(federationUpstreamArgsError({ 'x-max-hops': long(1) })).toBeNull();
    expect(federationUpstreamArgsError({ 'x-max-hops': 1 })).toBeNull();
  });

  it('routes like a fanout, minus what must not go downstream', () => {
    const x = createExchange<Routable>('x-federation-upstream', { 'x-max-hops': long(2), 'x-downstream-name': 'd', 'x-downstream-vhost': '/' })!;
    const q1: Routable = { kind: 'queue', name: 'q1' };
    const q2: Routable = { kind: 'queue', name: 'q2' };
    x.bind(q1, 'a', {});
    x.bind(q2, 'b', {});
    const route = (headers?: FieldTable): string[] => {
      const out = new Set<Routable>();
      x.route('zzz', headers, out);
      return [...out].map((d) => d.name).sort();
    };
    expect(route()).toEqual(['q1', 'q2']);
    expect(route({ 'x-received-from': [hop('a', '/')] })).toEqual(['q1', 'q2']);
    expect(route({ 'x-received-from': [hop('a', '/'), hop('b', '/')] })).toEqual([]);
    expect(route({ 'x-received-from': [hop('d', '/')] })).toEqual([]);
    const [b] = [...x.bindings()];
    expect(x.matches(b!, 'any', undefined)).toBe(true);
    expect(x.matches(b!, 'any', { 'x-received-from': [hop('d', '/')] })).toBe(false);
  });
});
