import { describe, expect, it } from 'vitest';
import { DefaultExchange, DirectExchange, EXCHANGE_TYPES, FanoutExchange, Typed, createExchange, type Routable } from '../../routing/index.js';
import { queue, queues, routeNames, type Q } from './helpers.js';

describe('direct exchange', () => {
  it('routes by exact key and leaves no trace of a miss', () => {
    const x = new DirectExchange<Q>();
    const { a, b } = queues('a', 'b');
    x.bind(a!, 'k1', {});
    x.bind(b!, 'k2', {});
    expect(x.keyCount).toBe(2);
    for (let i = 0; i < 1000; i++) expect(routeNames(x, `miss-${i}`)).toEqual([]);
    expect(routeNames(x, 'K1')).toEqual([]);
    expect(routeNames(x, '')).toEqual([]);
    expect(x.keyCount).toBe(2);
    expect(x.bindingCount).toBe(2);
    expect(routeNames(x, 'k1')).toEqual(['a']);
    expect(routeNames(x, 'k2')).toEqual(['b']);
  });

  it('treats the same key with different arguments as different bindings', () => {
    const x = new DirectExchange<Q>();
    const q = queue('q');
    expect(x.bind(q, 'k', {})).toBe(true);
    expect(x.bind(q, 'k', {})).toBe(false);
    expect(x.bind(q, 'k', { a: 1 })).toBe(true);
    expect(x.bind(q, 'k', { a: new Typed('l', 1) })).toBe(true);
    expect(x.bind(q, 'k', { a: 1 })).toBe(false);
    expect(x.bindingCount).toBe(3);
    expect(x.hasBinding(q, 'k', { a: 1 })).toBe(true);
    expect(x.hasBinding(q, 'k', { a: 2 })).toBe(false);
    const out = new Set<Q>();
    x.route('k', undefined, out);
    expect([...out]).toEqual([q]);

    expect(x.unbind(q, 'k', { a: 2 })).toBe(false);
    expect(x.unbind(q, 'k', { a: 1 })).toBe(true);
    expect(x.unbind(q, 'k', { a: 1 })).toBe(false);
    expect(routeNames(x, 'k')).toEqual(['q']);
    expect(x.unbind(q, 'k', {})).toBe(true);
    expect(x.unbind(q, 'k', { a: new Typed('l', 1) })).toBe(true);
    expect(routeNames(x, 'k')).toEqual([]);
    expect(x.keyCount).toBe(0);
    expect(x.bindingCount).toBe(0);
  });

  it('unbindAll removes every binding of one destination only', () => {
    const x = new DirectExchange<Q>();
    const { a, b } = queues('a', 'b');
    x.bind(a!, 'k1', {});
    x.bind(a!, 'k2', {});
    x.bind(a!, 'k2', { v: 'x' });
    x.bind(b!, 'k2', {});
    expect(x.unbindAll(a!)).toBe(3);
    expect(x.unbindAll(a!)).toBe(0);
    expect(x.bindingCount).toBe(1);
    expect(routeNames(x, 'k1')).toEqual([]);
    expect(routeNames(x, 'k2')).toEqual(['b']);
    expect(x.keyCount).toBe(1);
  });

  it('lists its bindings', () => {
    const x = new DirectExchange<Q>();
    const { a, b } = queues('a', 'b');
    x.bind(a!, 'k1', {});
    x.bind(b!, 'k2', { z: 1 });
    const listed = [...x.bindings()].map((bd) => [bd.destination.name, bd.routingKey, bd.args]);
    expect(listed).toEqual([
      ['a', 'k1', {}],
      ['b', 'k2', { z: 1 }],
    ]);
  });

  it('does not clear out', () => {
    const x = new DirectExchange<Q>();
    x.bind(queue('a'), 'k', {});
    const out = new Set<Q>([queue('prior')]);
    x.route('k', undefined, out);
    expect([...out].map((q) => q.name)).toEqual(['prior', 'a']);
  });
});

describe('fanout exchange', () => {
  it('routes to every destination once, whatever the key', () => {
    const x = new FanoutExchange<Q>();
    const { a, b } = queues('a', 'b');
    x.bind(a!, 'k1', {});
    x.bind(a!, 'k2', {});
    x.bind(b!, '', { any: true });
    expect(x.bindingCount).toBe(3);
    const out = new Set<Q>();
    x.route('whatever', { h: 1 }, out);
    expect([...out].map((q) => q.name).sort()).toEqual(['a', 'b']);
    expect(x.unbind(a!, 'k1', {})).toBe(true);
    expect(routeNames(x, '')).toEqual(['a', 'b']);
    expect(x.unbind(a!, 'k2', {})).toBe(true);
    expect(routeNames(x, '')).toEqual(['b']);
    expect(x.unbindAll(b!)).toBe(1);
    expect(routeNames(x, '')).toEqual([]);
  });

  it('keeps routing correct across many removals (swap-remove bookkeeping)', () => {
    const x = new FanoutExchange<Q>();
    const qs = Array.from({ length: 50 }, (_, i) => queue(`q${i}`));
    for (const q of qs) x.bind(q, '', {});
    for (let i = 0; i < 50; i += 3) x.unbindAll(qs[i]!);
    const want = qs.filter((_, i) => i % 3 !== 0).map((q) => q.name).sort();
    expect(routeNames(x, '')).toEqual(want);
  });
});

describe('default exchange', () => {
  it('routes to the queue named by the key, if it exists', () => {
    const { a } = queues('a');
    const x = new DefaultExchange<Q>((name) => (name === 'a' ? a : undefined));
    expect(routeNames(x, 'a')).toEqual(['a']);
    expect(routeNames(x, 'b')).toEqual([]);
    expect(routeNames(x, '')).toEqual([]);
  });

  it('stores no bindings', () => {
    const q = queue('q');
    const x = new DefaultExchange<Q>(() => q);
    expect(x.bind()).toBe(false);
    expect(x.unbind()).toBe(false);
    expect(x.unbindAll()).toBe(0);
    expect(x.hasBinding()).toBe(false);
    expect(x.bindingCount).toBe(0);
    expect([...x.bindings()]).toEqual([]);
    expect(x.type).toBe('direct');
  });
});

describe('createExchange', () => {
  it('builds the four standard types and rejects others', () => {
    expect(EXCHANGE_TYPES).toEqual(['direct', 'fanout', 'topic', 'headers']);
    for (const t of EXCHANGE_TYPES) {
      const x = createExchange<Routable>(t);
      expect(x?.type).toBe(t);
      expect(x?.bindingCount).toBe(0);
    }
    expect(createExchange('x-delayed-message')).toBeUndefined();
    expect(createExchange('Direct')).toBeUndefined();
    expect(createExchange('')).toBeUndefined();
  });
});
