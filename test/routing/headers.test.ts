import { describe, expect, it } from 'vitest';
import { HeadersExchange, Typed, validateHeadersBindingArgs, xMatchOf, type FieldTable } from '../../routing/index.js';
import { queue, routeNames, type Q } from './helpers.js';

const MODES = ['all', 'any', 'all-with-x', 'any-with-x'] as const;
const T = true;
const F = false;

function matchesIn(mode: string | undefined, pattern: FieldTable, headers: FieldTable | undefined): boolean {
  const x = new HeadersExchange<Q>();
  x.bind(queue('q'), '', mode === undefined ? pattern : { ...pattern, 'x-match': mode });
  return routeNames(x, 'ignored', headers).length === 1;
}

describe('headers exchange truth table', () => {
  // Binding: a = int 1, b = "x", c = void (presence only), x-k = "v" (only in -with-x modes).
  const pattern: FieldTable = { a: 1, b: 'x', c: null, 'x-k': 'v' };
  const rows: [string, FieldTable | undefined, [boolean, boolean, boolean, boolean]][] = [
    //                                                                              all any allx anyx
    ['no headers', undefined, [F, F, F, F]],
    ['empty headers', {}, [F, F, F, F]],
    ['all plain keys match, x-k missing', { a: 1, b: 'x', c: 'anything' }, [T, T, F, T]],
    ['everything matches', { a: 1, b: 'x', c: 'z', 'x-k': 'v' }, [T, T, T, T]],
    ['a differs, b matches', { a: 2, b: 'x', c: 1 }, [F, T, F, T]],
    ['nothing matches, c absent', { a: 2, b: 'y' }, [F, F, F, F]],
    ['only c present (as void)', { c: null }, [F, T, F, T]],
    ['only x-k matches', { 'x-k': 'v' }, [F, F, F, T]],
    ['x-k differs, a matches', { 'x-k': 'w', a: 1 }, [F, T, F, T]],
    ['long 1, bytes "x", c false', { a: new Typed('l', 1), b: Buffer.from('x'), c: false }, [T, T, F, T]],
    ['double 1.0, x-k as bytes', { a: new Typed('d', 1.0), b: 'x', c: 0, 'x-k': Buffer.from('v') }, [T, T, T, T]],
    ['byte 1 and short-typed x-k', { a: new Typed('b', 1), b: 'x', c: [], 'x-k': new Typed('S', 'v') }, [T, T, T, T]],
    ['string "1" is not int 1', { a: '1', b: 'x', c: 1 }, [F, T, F, T]],
    ['true is not int 1', { a: true, b: 'y', c: 1 }, [F, T, F, T]],
    ['void header is not int 1', { a: null, b: 'y' }, [F, F, F, F]],
    ['extra headers are ignored', { a: 1, b: 'x', c: 1, extra: 'e', 'x-k': 'v', 'x-other': 1 }, [T, T, T, T]],
    ['keys are case-sensitive', { A: 1, B: 'x', C: 1, 'X-K': 'v' }, [F, F, F, F]],
  ];
  for (const [label, headers, want] of rows) {
    it(label, () => {
      const got = MODES.map((m) => matchesIn(m, pattern, headers));
      expect(got).toEqual(want);
      // x-match absent means all.
      expect(matchesIn(undefined, pattern, headers)).toBe(want[0]);
    });
  }
});

describe('headers exchange edge cases', () => {
  it('all with nothing to compare matches every message; any matches none', () => {
    const cases: [FieldTable, FieldTable | undefined, boolean][] = [
      [{}, undefined, T],
      [{}, { a: 1 }, T],
      [{ 'x-match': 'all' }, {}, T],
      [{ 'x-match': 'any' }, { a: 1 }, F],
      [{ 'x-match': 'all', 'x-foo': 1 }, {}, T],
      [{ 'x-match': 'any', 'x-foo': 1 }, { 'x-foo': 1 }, F],
      [{ 'x-match': 'all-with-x', 'x-foo': 1 }, {}, F],
      [{ 'x-match': 'all-with-x', 'x-foo': 1 }, { 'x-foo': new Typed('l', 1) }, T],
      [{ 'x-match': 'any-with-x', 'x-foo': 1 }, { 'x-foo': new Typed('b', 1) }, T],
      [{ 'x-match': 'all-with-x' }, {}, T],
      [{ 'x-match': 'any-with-x' }, { 'x-match': 'any-with-x' }, F],
      // An unvalidated, unknown x-match value falls back to all, as RabbitMQ's parse_x_match.
      [{ 'x-match': 'bogus', a: 1 }, { a: 1 }, T],
      [{ 'x-match': Buffer.from('any'), a: 1, b: 2 }, { a: 1 }, F],
      [{ 'x-match': new Typed('S', 'any'), a: 1, b: 2 }, { a: 1 }, T],
      // Void pattern values ask only for presence, whatever the header's type.
      [{ a: null }, { a: null }, T],
      [{ a: null }, { a: { nested: 1 } }, T],
      [{ a: new Typed('V', null) }, { a: 'v' }, T],
      [{ a: null }, {}, F],
    ];
    for (const [args, headers, want] of cases) {
      const x = new HeadersExchange<Q>();
      x.bind(queue('q'), '', args);
      expect(routeNames(x, '', headers).length === 1, JSON.stringify([args, headers])).toBe(want);
    }
  });

  it('compares nested tables and arrays exactly: element types and key order count, as in RabbitMQ', () => {
    const x = new HeadersExchange<Q>();
    x.bind(queue('q'), '', { t: { x: 1, y: [2, 'a'] } });
    expect(routeNames(x, '', { t: { x: 1, y: [2, 'a'] } })).toEqual(['q']);
    expect(routeNames(x, '', { t: { y: [2, 'a'], x: 1 } })).toEqual([]);
    expect(routeNames(x, '', { t: { x: new Typed('l', 1), y: [2, 'a'] } })).toEqual([]);
    expect(routeNames(x, '', { t: { x: 1, y: [new Typed('s', 2), 'a'] } })).toEqual([]);
    expect(routeNames(x, '', { t: { x: 1, y: [2] } })).toEqual([]);
    expect(routeNames(x, '', { t: { x: 1, y: [2, 'a'], z: 3 } })).toEqual([]);
  });

  it('treats bindings with different args as distinct and routes each destination once', () => {
    const x = new HeadersExchange<Q>();
    const q = queue('q');
    expect(x.bind(q, '', { a: 1 })).toBe(true);
    expect(x.bind(q, '', { a: 2 })).toBe(true);
    expect(x.bind(q, '', { a: new Typed('l', 1) })).toBe(true); // long 1 is a different argument from int 1
    expect(x.bind(q, '', { a: 1 })).toBe(false);
    expect(x.bindingCount).toBe(3);
    const out = new Set<Q>();
    x.route('', { a: 1 }, out);
    expect(out.size).toBe(1);
    expect(x.unbind(q, '', { a: 1 })).toBe(true);
    expect(routeNames(x, '', { a: 1 })).toEqual(['q']); // still via the long-1 binding
    expect(x.unbind(q, '', { a: new Typed('l', 1) })).toBe(true);
    expect(routeNames(x, '', { a: 1 })).toEqual([]);
    expect(routeNames(x, '', { a: 2 })).toEqual(['q']);
    expect(x.unbindAll(q)).toBe(1);
    expect(routeNames(x, '', { a: 2 })).toEqual([]);
  });

  it('ignores the routing key', () => {
    const x = new HeadersExchange<Q>();
    x.bind(queue('q'), 'some-key', { a: 1 });
    expect(routeNames(x, 'other', { a: 1 })).toEqual(['q']);
  });
});

describe('x-match validation', () => {
  it('accepts the four modes and an absent x-match', () => {
    for (const m of MODES) expect(validateHeadersBindingArgs({ 'x-match': m, a: 1 })).toBeNull();
    expect(validateHeadersBindingArgs({ a: 1 })).toBeNull();
    expect(validateHeadersBindingArgs({})).toBeNull();
  });

  it('uses RabbitMQ wording for bad values and types', () => {
    expect(validateHeadersBindingArgs({ 'x-match': 'foo' })).toBe(
      'Invalid x-match field value <<"foo">>; expected all, any, all-with-x, or any-with-x',
    );
    expect(validateHeadersBindingArgs({ 'x-match': 'ALL' })).toBe(
      'Invalid x-match field value <<"ALL">>; expected all, any, all-with-x, or any-with-x',
    );
    expect(validateHeadersBindingArgs({ 'x-match': 'a"b' })).toBe(
      'Invalid x-match field value <<"a\\"b">>; expected all, any, all-with-x, or any-with-x',
    );
    expect(validateHeadersBindingArgs({ 'x-match': 1 })).toBe(
      'Invalid x-match field type signedint (value 1); expected longstr',
    );
    expect(validateHeadersBindingArgs({ 'x-match': Buffer.from('all') })).toBe(
      'Invalid x-match field type binary (value <<"all">>); expected longstr',
    );
    expect(validateHeadersBindingArgs({ 'x-match': true })).toBe(
      'Invalid x-match field type bool (value true); expected longstr',
    );
    expect(validateHeadersBindingArgs({ 'x-match': null })).toBe(
      'Invalid x-match field type void (value undefined); expected longstr',
    );
    expect(validateHeadersBindingArgs({ 'x-match': new Typed('l', 5) })).toBe(
      'Invalid x-match field type long (value 5); expected longstr',
    );
    expect(validateHeadersBindingArgs({ 'x-match': new Typed('d', 2) })).toBe(
      'Invalid x-match field type double (value 2.0); expected longstr',
    );
  });

  it('reports the mode used for matching', () => {
    expect(xMatchOf({})).toBe('all');
    expect(xMatchOf({ 'x-match': 'any-with-x' })).toBe('any-with-x');
    expect(xMatchOf({ 'x-match': 'nonsense' })).toBe('all');
  });
});
