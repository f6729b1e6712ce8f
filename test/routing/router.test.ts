import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DefaultExchange, Router, createExchange, routingKeysFor, type Exchange, type ExchangeNode, type FieldTable } from '../../routing/index.js';
import { names, queue, type Q } from './helpers.js';

type D = Q | ExchangeNode<Q>;

class XNode implements ExchangeNode<Q> {
  readonly kind = 'exchange' as const;
  routeCalls = 0;
  constructor(
    readonly name: string,
    readonly router: Exchange<D> | DefaultExchange<Q>,
    public alternateExchange: string | null = null,
  ) {
    // Count route calls to prove each exchange is visited once per publish.
    const inner = router.route.bind(router) as (rk: string, h: FieldTable | undefined, out: Set<D>) => void;
    (router as { route: typeof inner }).route = (rk, h, out) => {
      this.routeCalls++;
      inner(rk, h, out);
    };
  }
}

function world() {
  const xs = new Map<string, XNode>();
  const qs = new Map<string, Q>();
  const q = (n: string) => {
    let v = qs.get(n);
    if (!v) qs.set(n, (v = queue(n)));
    return v;
  };
  const x = (n: string, type: string, ae: string | null = null) => {
    const node = new XNode(n, createExchange<D>(type)!, ae);
    xs.set(n, node);
    return node;
  };
  const router = new Router<Q>((n) => xs.get(n));
  const route = (start: XNode, rk: string | string[], headers?: FieldTable) => {
    const out = new Set<Q>();
    router.route(start, rk, headers, out);
    return names(out);
  };
  const bind = (src: XNode, dest: D, key = '', args: FieldTable = {}) => (src.router as Exchange<D>).bind(dest, key, args);
  return { xs, q, x, router, route, bind };
}

describe('router: exchange-to-exchange', () => {
  it('follows bindings to other exchanges', () => {
    const w = world();
    const a = w.x('a', 'direct');
    const b = w.x('b', 'fanout');
    const c = w.x('c', 'topic');
    w.bind(a, b, 'k');
    w.bind(a, w.q('qa'), 'k');
    w.bind(b, w.q('qb1'));
    w.bind(b, w.q('qb2'));
    w.bind(b, c);
    w.bind(c, w.q('qc'), '*.x'); // c sees the original key "k", which does not match
    expect(w.route(a, 'k')).toEqual(['qa', 'qb1', 'qb2']);
    expect(w.route(a, 'other')).toEqual([]);
  });

  it('terminates on cycles, visits each exchange once and dedupes queues', () => {
    const w = world();
    const a = w.x('a', 'fanout');
    const b = w.x('b', 'fanout');
    const shared = w.q('shared');
    w.bind(a, b);
    w.bind(b, a);
    w.bind(a, a); // self-binding
    w.bind(a, shared);
    w.bind(b, shared);
    w.bind(b, w.q('qb'));
    expect(w.route(a, '')).toEqual(['qb', 'shared']);
    expect(a.routeCalls).toBe(1);
    expect(b.routeCalls).toBe(1);
    expect(w.route(b, '')).toEqual(['qb', 'shared']); // scratch state was reset between calls
  });

  it('handles long walks (beyond the linear-scan limit) and stays reusable afterwards', () => {
    const w = world();
    const ring = Array.from({ length: 40 }, (_, i) => w.x(`r${i}`, 'fanout'));
    ring.forEach((x, i) => {
      w.bind(x, ring[(i + 1) % ring.length]!); // a 40-exchange cycle
      w.bind(x, ring[(i * 7) % ring.length]!); // plus chords back into it
      w.bind(x, w.q(`q${i % 10}`));
    });
    const want = Array.from({ length: 10 }, (_, i) => `q${i}`).sort();
    expect(w.route(ring[3]!, '')).toEqual(want);
    for (const x of ring) expect(x.routeCalls).toBe(1);
    const small = w.x('small', 'direct', 'ring-missing');
    expect(w.route(small, 'k')).toEqual([]);
    expect(w.route(ring[0]!, '')).toEqual(want);
    for (const x of ring) expect(x.routeCalls).toBe(2);
  });

  it('adds to out without clearing it', () => {
    const w = world();
    const a = w.x('a', 'fanout');
    w.bind(a, w.q('q1'));
    const prior = queue('prior');
    const out = new Set<Q>([prior]);
    w.router.route(a, '', undefined, out);
    expect(names(out)).toEqual(['prior', 'q1']);
  });
});

describe('router: alternate exchanges', () => {
  it('uses the alternate exchange only when the exchange routed nothing', () => {
    const w = world();
    const x = w.x('x', 'direct', 'ae');
    const ae = w.x('ae', 'fanout');
    w.bind(x, w.q('q1'), 'k');
    w.bind(ae, w.q('unrouted'));
    expect(w.route(x, 'k')).toEqual(['q1']);
    expect(ae.routeCalls).toBe(0);
    expect(w.route(x, 'nope')).toEqual(['unrouted']);
  });

  it('counts a route to another exchange as a result, even if that exchange routes nowhere', () => {
    const w = world();
    const x = w.x('x', 'fanout', 'ae');
    const y = w.x('y', 'direct');
    w.x('ae', 'fanout');
    w.bind(w.xs.get('ae')!, w.q('unrouted'));
    w.bind(x, y);
    expect(w.route(x, 'k')).toEqual([]);
    // ... but y's own alternate applies to y.
    y.alternateExchange = 'ae';
    expect(w.route(x, 'k')).toEqual(['unrouted']);
  });

  it('counts an already-visited exchange as a result (no alternate)', () => {
    const w = world();
    const a = w.x('a', 'fanout');
    const b = w.x('b', 'fanout', 'ae');
    w.x('ae', 'fanout');
    w.bind(w.xs.get('ae')!, w.q('unrouted'));
    w.bind(a, b);
    w.bind(b, a);
    expect(w.route(a, '')).toEqual([]);
  });

  it('follows chains of alternates and ignores missing or visited ones', () => {
    const w = world();
    const x = w.x('x', 'direct', 'y');
    w.x('y', 'direct', 'z');
    const z = w.x('z', 'fanout');
    w.bind(z, w.q('qz'));
    expect(w.route(x, 'k')).toEqual(['qz']);

    z.alternateExchange = 'missing';
    w.x('lonely', 'direct', 'missing');
    expect(w.route(w.xs.get('lonely')!, 'k')).toEqual([]);

    const p = w.x('p', 'direct', 'q');
    w.x('q', 'direct', 'p'); // alternates pointing at each other
    expect(w.route(p, 'k')).toEqual([]);
    const self = w.x('self', 'direct', 'self');
    expect(w.route(self, 'k')).toEqual([]);
    expect(self.routeCalls).toBe(1);
  });

  it('routes all of CC/BCC through each exchange before deciding on the alternate', () => {
    const w = world();
    const x = w.x('x', 'direct', 'ae');
    w.x('ae', 'fanout');
    w.bind(w.xs.get('ae')!, w.q('unrouted'));
    w.bind(x, w.q('q1'), 'k1');
    w.bind(x, w.q('q2'), 'k2');
    const headers = { CC: ['k2', 'k3'], BCC: ['k1'] };
    expect(w.route(x, routingKeysFor('zz', headers) as string[])).toEqual(['q1', 'q2']);
    expect(w.route(x, routingKeysFor('zz', { CC: ['k9'] }) as string[])).toEqual(['unrouted']);
  });
});

describe('router: default exchange', () => {
  it('routes by queue name for every key and never uses an alternate', () => {
    const w = world();
    const known = new Map([['a', w.q('a')], ['b', w.q('b')]]);
    const dflt = new XNode('', new DefaultExchange<Q>((n) => known.get(n)), 'ae');
    w.x('ae', 'fanout');
    w.bind(w.xs.get('ae')!, w.q('unrouted'));
    expect(w.route(dflt, 'a')).toEqual(['a']);
    expect(w.route(dflt, ['a', 'b', 'a', 'c'])).toEqual(['a', 'b']);
    expect(w.route(dflt, 'c')).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------
// Property: the Router agrees with a literal transcription of rabbit_exchange:route1 over
// a declarative model of random small graphs.

interface Model {
  types: ('direct' | 'fanout')[];
  edges: { from: number; toExchange: boolean; to: number; key: string }[];
  ae: (number | null)[]; // index, null, or an index >= exchanges (a missing exchange)
}

function referenceRoute(m: Model, start: number, keys: string[]): string[] {
  const n = m.types.length;
  const own = (x: number) => {
    const out: string[] = [];
    for (const e of m.edges) {
      if (e.from !== x) continue;
      if (m.types[x] === 'fanout' || keys.includes(e.key)) out.push(e.toExchange ? `x${e.to}` : `q${e.to}`);
    }
    return out;
  };
  const seen = new Set<string>([`x${start}`]);
  const work = [start];
  const qs = new Set<string>();
  while (work.length > 0) {
    const x = work.pop()!;
    const dests = own(x);
    const alt = dests.length === 0 && m.ae[x] !== null ? [`x${m.ae[x]}`] : [];
    for (const d of [...alt, ...dests]) {
      if (d.startsWith('q')) qs.add(d);
      else if (!seen.has(d)) {
        seen.add(d);
        const i = Number(d.slice(1));
        if (i < n) work.push(i); // cons_if_present
      }
    }
  }
  return [...qs].sort();
}

describe('router against a reference walk', () => {
  const key = fc.constantFrom('k1', 'k2', 'k3');
  const model = fc.integer({ min: 1, max: 5 }).chain((n) =>
    fc.record({
      types: fc.array(fc.constantFrom('direct' as const, 'fanout' as const), { minLength: n, maxLength: n }),
      edges: fc.array(
        fc.record({ from: fc.nat(n - 1), toExchange: fc.boolean(), to: fc.nat(Math.max(n - 1, 3)), key }),
        { maxLength: 12 },
      ),
      ae: fc.array(fc.option(fc.nat(n), { nil: null }), { minLength: n, maxLength: n }),
    }),
  );

  it('matches on random graphs', () => {
    fc.assert(
      fc.property(model, fc.nat(4), fc.array(key, { minLength: 1, maxLength: 3 }), (m, s, keys) => {
        const n = m.types.length;
        const start = s % n;
        const w = world();
        const nodes = m.types.map((t, i) => w.x(`x${i}`, t, m.ae[i] === null ? null : `x${m.ae[i]}`));
        for (const e of m.edges) {
          if (e.toExchange && e.to >= n) continue; // a binding needs an existing destination
          w.bind(nodes[e.from]!, e.toExchange ? nodes[e.to]! : w.q(`q${e.to}`), e.key);
        }
        // Edges the model keeps must exist in the world too.
        const kept: Model = { ...m, edges: m.edges.filter((e) => !(e.toExchange && e.to >= n)) };
        const rk = keys.length === 1 ? keys[0]! : keys;
        expect(w.route(nodes[start]!, rk)).toEqual(referenceRoute(kept, start, keys));
        for (const x of nodes) expect(x.routeCalls).toBeLessThanOrEqual(keys.length);
      }),
      { numRuns: 1000 },
    );
  });
});
