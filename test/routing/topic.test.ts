import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TopicExchange, splitTopic } from '../../routing/index.js';
import { routingKey, topicPattern } from '../../testing/index.js';
import { queue, queues, routeNames, type Q } from './helpers.js';

/** Reference matcher: word-by-word recursion straight from the AMQP/RabbitMQ definition. */
function refMatch(pattern: readonly string[], key: readonly string[]): boolean {
  if (pattern.length === 0) return key.length === 0;
  const [p, ...rest] = pattern;
  if (p === '#') return refMatch(rest, key) || (key.length > 0 && refMatch(pattern, key.slice(1)));
  if (key.length === 0) return false;
  return (p === '*' || p === key[0]) && refMatch(rest, key.slice(1));
}

function matches(pattern: string, key: string): boolean {
  return refMatch(splitTopic(pattern), splitTopic(key));
}

describe('topic word splitting', () => {
  it('treats "" as zero words and keeps empty words', () => {
    expect(splitTopic('')).toEqual([]);
    expect(splitTopic('a..b')).toEqual(['a', '', 'b']);
    expect(splitTopic('.')).toEqual(['', '']);
    expect(splitTopic('a.')).toEqual(['a', '']);
  });
});

describe('topic exchange: RabbitMQ test vectors', () => {
  // The bindings and expectations of RabbitMQ's own topic exchange test (rabbit_tests test_topic_matching).
  const bindings: [string, string][] = [
    ['a.b.c', 't1'], ['a.*.c', 't2'], ['a.#.b', 't3'], ['a.b.b.c', 't4'], ['#', 't5'], ['#.#', 't6'],
    ['#.b', 't7'], ['*.*', 't8'], ['a.*', 't9'], ['*.b.c', 't10'], ['a.#', 't11'], ['a.#.#', 't12'],
    ['b.b.c', 't13'], ['a.b.b', 't14'], ['a.b', 't15'], ['b.c', 't16'], ['', 't17'], ['*.*.*', 't18'],
    ['vodka.martini', 't19'], ['a.b.c', 't20'], ['*.#', 't21'], ['#.*.#', 't22'], ['*.#.#', 't23'],
    ['#.#.#', 't24'], ['*', 't25'], ['#.b.#', 't26'],
  ];
  const sortT = (xs: string[]) => [...xs].sort();
  const build = () => {
    const x = new TopicExchange<Q>();
    const qs: Record<string, Q> = {};
    for (const [key, q] of bindings) x.bind((qs[q] ??= queue(q)), key, {});
    return { x, qs };
  };

  it('matches before removal', () => {
    const { x } = build();
    const expected: Record<string, string[]> = {
      'a.b.c': ['t1', 't2', 't5', 't6', 't10', 't11', 't12', 't18', 't20', 't21', 't22', 't23', 't24', 't26'],
      'a.b': ['t3', 't5', 't6', 't7', 't8', 't9', 't11', 't12', 't15', 't21', 't22', 't23', 't24', 't26'],
      'a.b.b': ['t3', 't5', 't6', 't7', 't11', 't12', 't14', 't18', 't21', 't22', 't23', 't24', 't26'],
      '': ['t5', 't6', 't17', 't24'],
      'b.c.c': ['t5', 't6', 't18', 't21', 't22', 't23', 't24', 't26'],
      'a.a.a.a.a': ['t5', 't6', 't11', 't12', 't21', 't22', 't23', 't24'],
      'vodka.gin': ['t5', 't6', 't8', 't21', 't22', 't23', 't24'],
      'vodka.martini': ['t5', 't6', 't8', 't19', 't21', 't22', 't23', 't24'],
      'b.b.c': ['t5', 't6', 't10', 't13', 't18', 't21', 't22', 't23', 't24', 't26'],
      'nothing.here.at.all': ['t5', 't6', 't21', 't22', 't23', 't24'],
      oneword: ['t5', 't6', 't21', 't22', 't23', 't24', 't25'],
    };
    for (const [key, want] of Object.entries(expected)) expect(routeNames(x, key), key).toEqual(sortT(want));
  });

  it('matches after removing t1, t5, t11, t19, t21, and nothing after removing all', () => {
    const { x, qs } = build();
    for (const i of [1, 5, 11, 19, 21]) {
      const [key, q] = bindings[i - 1]!;
      expect(x.unbind(qs[q]!, key, {})).toBe(true);
    }
    const expected: Record<string, string[]> = {
      'a.b.c': ['t2', 't6', 't10', 't12', 't18', 't20', 't22', 't23', 't24', 't26'],
      'a.b': ['t3', 't6', 't7', 't8', 't9', 't12', 't15', 't22', 't23', 't24', 't26'],
      'a.b.b': ['t3', 't6', 't7', 't12', 't14', 't18', 't22', 't23', 't24', 't26'],
      '': ['t6', 't17', 't24'],
      'b.c.c': ['t6', 't18', 't22', 't23', 't24', 't26'],
      'a.a.a.a.a': ['t6', 't12', 't22', 't23', 't24'],
      'vodka.gin': ['t6', 't8', 't22', 't23', 't24'],
      'vodka.martini': ['t6', 't8', 't22', 't23', 't24'],
      'b.b.c': ['t6', 't10', 't13', 't18', 't22', 't23', 't24', 't26'],
      'nothing.here.at.all': ['t6', 't22', 't23', 't24'],
      oneword: ['t6', 't22', 't23', 't24', 't25'],
    };
    for (const [key, want] of Object.entries(expected)) expect(routeNames(x, key), key).toEqual(sortT(want));
    for (const q of Object.values(qs)) x.unbindAll(q);
    expect(x.bindingCount).toBe(0);
    expect(x.trieNodes).toBe(1);
    for (const key of ['a.b.c', 'b.b.c', '']) expect(routeNames(x, key)).toEqual([]);
  });

  it('follows the tutorial example', () => {
    const { q1, q2 } = queues('q1', 'q2');
    const x = new TopicExchange<Q>();
    x.bind(q1!, '*.orange.*', {});
    x.bind(q2!, '*.*.rabbit', {});
    x.bind(q2!, 'lazy.#', {});
    expect(routeNames(x, 'quick.orange.rabbit')).toEqual(['q1', 'q2']);
    expect(routeNames(x, 'lazy.orange.elephant')).toEqual(['q1', 'q2']);
    expect(routeNames(x, 'quick.orange.fox')).toEqual(['q1']);
    expect(routeNames(x, 'lazy.brown.fox')).toEqual(['q2']);
    expect(routeNames(x, 'lazy.pink.rabbit')).toEqual(['q2']);
    expect(routeNames(x, 'quick.brown.fox')).toEqual([]);
    expect(routeNames(x, 'orange')).toEqual([]);
    expect(routeNames(x, 'quick.orange.new.rabbit')).toEqual([]);
    expect(routeNames(x, 'lazy.orange.new.rabbit')).toEqual(['q2']);
  });

  it('handles empty words and wildcard edge cases', () => {
    const cases: [string, string, boolean][] = [
      ['#', '', true],
      ['#.#', '', true],
      ['*', '', false],
      ['', '', true],
      ['', 'a', false],
      ['a.#.b', 'a.b', true],
      ['a.#.b', 'a.x.y.b', true],
      ['a.#.b', 'a.b.c', false],
      ['a.*.b', 'a..b', true],
      ['a..b', 'a..b', true],
      ['a..b', 'a.b', false],
      ['*.*', '.', true],
      ['*', '.', false],
      ['#', 'a..b.', true],
      ['a.#', 'a', true],
      ['#.a', 'a', true],
      ['*.#', '', false],
      ['#.*', 'x', true],
      ['#.*.#', '', false],
      ['a.*', 'a.', true],
      ['a.*', 'a', false],
      ['a.*.#', 'a.b', true],
      ['a', 'A', false],
    ];
    for (const [pattern, key, want] of cases) {
      expect(matches(pattern, key), `reference ${pattern} ~ ${key}`).toBe(want);
      const x = new TopicExchange<Q>();
      x.bind(queue('q'), pattern, {});
      expect(routeNames(x, key), `${pattern} ~ ${JSON.stringify(key)}`).toEqual(want ? ['q'] : []);
    }
  });

  it('treats "*" and "#" in a routing key as ordinary words', () => {
    const x = new TopicExchange<Q>();
    x.bind(queue('lit'), 'a.b', {});
    x.bind(queue('star'), 'a.*', {});
    expect(routeNames(x, 'a.#')).toEqual(['star']);
    expect(routeNames(x, 'a.*')).toEqual(['star']);
  });
});

describe('topic exchange against the reference matcher', () => {
  // warren/testing's arbitraries, with empty words made common.
  const pattern = topicPattern({ words: ['a', 'b', ''], maxWords: 5 });
  const key = routingKey({ words: ['a', 'b', '', 'c'], maxWords: 6 });
  const op = fc.oneof(
    { weight: 4, arbitrary: fc.record({ op: fc.constant('bind' as const), q: fc.nat(4), pattern, tag: fc.nat(1) }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('unbind' as const), q: fc.nat(4), pattern, tag: fc.nat(1) }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('unbindAll' as const), q: fc.nat(4) }) },
    { weight: 4, arbitrary: fc.record({ op: fc.constant('route' as const), key }) },
  );

  it('routes exactly like the reference over random bind/unbind sequences', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), fc.array(key, { minLength: 1, maxLength: 8 }), fc.nat(3), (ops, probes, cap) => {
        const qs = [0, 1, 2, 3, 4].map((i) => queue(`q${i}`));
        const x = new TopicExchange<Q>(cap); // tiny caches exercise eviction too
        // Model: the set of bindings as "q|pattern|tag" strings.
        const model = new Set<string>();
        const refRoute = (k: string) =>
          [...new Set([...model].filter((b) => matches(b.split('|')[1]!, k)).map((b) => b.split('|')[0]!))].sort();
        const check = (k: string) => {
          expect(routeNames(x, k)).toEqual(refRoute(k));
          expect(routeNames(x, k)).toEqual(refRoute(k)); // second call is served from the cache
        };
        for (const o of ops) {
          if (o.op === 'route') check(o.key);
          else if (o.op === 'unbindAll') {
            const before = model.size;
            for (const b of [...model]) if (b.startsWith(`q${o.q}|`)) model.delete(b);
            expect(x.unbindAll(qs[o.q]!)).toBe(before - model.size);
          } else {
            const id = `q${o.q}|${o.pattern}|${o.tag}`;
            const args = { tag: o.tag };
            if (o.op === 'bind') {
              expect(x.bind(qs[o.q]!, o.pattern, args)).toBe(!model.has(id));
              model.add(id);
            } else {
              expect(x.unbind(qs[o.q]!, o.pattern, args)).toBe(model.has(id));
              model.delete(id);
            }
          }
          expect(x.bindingCount).toBe(model.size);
          expect(x.cachedKeys).toBeLessThanOrEqual(cap);
        }
        for (const k of probes) check(k);
        for (const q of qs) x.unbindAll(q);
        expect(x.trieNodes).toBe(1);
      }),
      { numRuns: 400 },
    );
  });
});

describe('topic match cache', () => {
  it('stays bounded and is invalidated by bind and unbind', () => {
    const x = new TopicExchange<Q>(4);
    const a = queue('a');
    x.bind(a, 'k.*', {});
    for (let i = 0; i < 10; i++) expect(routeNames(x, `k.${i}`)).toEqual(['a']);
    expect(x.cachedKeys).toBeGreaterThan(0);
    expect(x.cachedKeys).toBeLessThanOrEqual(4);
    x.bind(queue('b'), 'k.1', {});
    expect(x.cachedKeys).toBe(0);
    expect(routeNames(x, 'k.1')).toEqual(['a', 'b']);
    x.unbind(a, 'k.*', {});
    expect(routeNames(x, 'k.1')).toEqual(['b']);
    expect(routeNames(x, 'k.2')).toEqual([]);
  });

  it('caps the default cache at 4096 keys', () => {
    const x = new TopicExchange<Q>();
    x.bind(queue('a'), '#', {});
    for (let i = 0; i < 3000; i++) routeNames(x, `key.${i % 1500}`);
    expect(x.cachedKeys).toBe(1500);
    for (let i = 0; i < 20000; i++) routeNames(x, `key.${i}`);
    expect(x.cachedKeys).toBeLessThanOrEqual(4096);
  });

  it('serves repeating keys from the cache, also after a run of keys that never repeat', () => {
    const x = new TopicExchange<Q>();
    x.bind(queue('a'), 'k.#', {});
    x.bind(queue('b'), '*.7', {});
    const trie = (x as unknown as { trie: { match: (...a: unknown[]) => number } }).trie;
    const match = trie.match.bind(trie);
    let walks = 0;
    trie.match = (...a: unknown[]) => {
      walks++;
      return match(...a);
    };
    // Distinct keys: the cache does not pay off, so most of them skip it.
    for (let i = 0; i < 20000; i++) expect(routeNames(x, `k.${i}`)).toEqual(i === 7 ? ['a', 'b'] : ['a']);
    // Then a small set of keys repeats: within a few rounds every one is cached.
    for (let round = 0; round < 300; round++) for (let i = 0; i < 100; i++) routeNames(x, `k.${i}`);
    walks = 0;
    for (let i = 0; i < 100; i++) expect(routeNames(x, `k.${i}`)).toEqual(i === 7 ? ['a', 'b'] : ['a']);
    expect(walks).toBe(0);
  });

  it('adds to out without clearing it', () => {
    const x = new TopicExchange<Q>();
    x.bind(queue('a'), 'x', {});
    const other = queue('other');
    const out = new Set<Q>([other]);
    x.route('x', undefined, out);
    x.route('x', undefined, out);
    expect([...out].map((q) => q.name)).toEqual(['other', 'a']);
  });

  it('keeps many "#" patterns linear in the key length', () => {
    const x = new TopicExchange<Q>(0);
    x.bind(queue('deep'), '#.#.#.#.#.#.#.#.#.#.#.#.z', {});
    x.bind(queue('alt'), '#.a.#.a.#.a.#.a.#.a.#.q', {});
    const key = Array.from({ length: 120 }, () => 'a').join('.');
    const t0 = performance.now();
    expect(routeNames(x, key)).toEqual([]);
    expect(routeNames(x, key + '.z')).toEqual(['deep']);
    expect(routeNames(x, key + '.q')).toEqual(['alt']);
    expect(performance.now() - t0).toBeLessThan(1000);
  });
});
