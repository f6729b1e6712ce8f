import { describe, expect, it } from 'vitest';
import { Typed, bindingId, canonicalTable, fieldEquals, plainValue, type FieldValue } from '../../routing/index.js';

describe('fieldEquals (Erlang == on decoded values)', () => {
  const equal: [FieldValue, FieldValue][] = [
    [1, new Typed('l', 1)],
    [1, new Typed('b', 1)],
    [1, new Typed('B', 1)],
    [1, new Typed('s', 1)],
    [1, new Typed('u', 1)],
    [1, new Typed('i', 1)],
    [1, new Typed('d', 1.0)],
    [1, new Typed('f', 1.0)],
    [1, new Typed('T', 1)], // timestamps are plain integers in RabbitMQ
    [new Typed('l', 2n ** 60n), new Typed('l', 2n ** 60n)],
    [new Typed('l', 2n ** 60n), new Typed('d', 2 ** 60)],
    [new Typed('l', 5n), 5],
    [new Typed('f', Math.fround(0.1)), new Typed('d', Math.fround(0.1))],
    ['abc', Buffer.from('abc')],
    ['é', Buffer.from('é', 'utf8')],
    [Buffer.from([1, 2]), Buffer.from([1, 2])],
    [new Typed('S', 'v'), 'v'],
    [null, null],
    [null, new Typed('V', null)],
    [false, false],
    [new Typed('D', { scale: 1, value: 10 }), new Typed('D', { scale: 1, value: 10 })],
    [[1, 'a'], [1, 'a']],
    [{ x: 1, y: [2] }, { x: 1, y: [2] }],
    [{}, {}],
  ];
  const different: [FieldValue, FieldValue][] = [
    [1, '1'],
    [1, true],
    [0, false],
    [1, 2],
    [1, new Typed('d', 1.5)],
    [new Typed('f', Math.fround(0.1)), new Typed('d', 0.1)],
    [new Typed('l', 2n ** 60n + 1n), new Typed('l', 2n ** 60n)],
    [new Typed('l', 3n), 3.5],
    ['abc', 'abd'],
    ['abc', Buffer.from('abcd')],
    [Buffer.from([1]), Buffer.from([2])],
    [null, 0],
    [null, ''],
    [new Typed('D', { scale: 1, value: 10 }), 1],
    [new Typed('D', { scale: 1, value: 10 }), new Typed('D', { scale: 0, value: 1 })],
    [[1], [1, 1]],
    [[1], { 0: 1 }],
    [{ x: 1 }, { x: 1, y: 1 }],
    [{ x: 1 }, { y: 1 }],
    ['', []],
    // Inside arrays and tables RabbitMQ compares {Type, Value} in wire order (checked on 3.10).
    [[1, 'a'], [new Typed('l', 1), Buffer.from('a')]],
    [{ x: 1, y: [2] }, { y: [2], x: 1 }],
    [{ x: 1 }, { x: new Typed('l', 1) }],
  ];
  it.each(equal)('%o == %o', (a, b) => {
    expect(fieldEquals(a, b)).toBe(true);
    expect(fieldEquals(b, a)).toBe(true);
  });
  it.each(different)('%o /= %o', (a, b) => {
    expect(fieldEquals(a, b)).toBe(false);
    expect(fieldEquals(b, a)).toBe(false);
  });

  it('unwraps Typed values that carry nothing extra', () => {
    expect(plainValue(new Typed('l', 7n))).toBe(7);
    expect(plainValue(new Typed('S', 's'))).toBe('s');
    expect(plainValue(new Typed('t', 1))).toBe(true);
    const big = new Typed('l', 2n ** 62n);
    expect(plainValue(big)).toBe(2n ** 62n);
    const dec = new Typed('D', { scale: 2, value: 5 });
    expect(plainValue(dec)).toBe(dec);
  });
});

describe('binding identity (exact, type-sensitive, key-order-insensitive)', () => {
  it('ignores key order but not types', () => {
    expect(canonicalTable({ a: 1, b: 'x' })).toBe(canonicalTable({ b: 'x', a: 1 }));
    expect(canonicalTable({ a: 1 })).not.toBe(canonicalTable({ a: new Typed('l', 1) }));
    expect(canonicalTable({ a: 1 })).toBe(canonicalTable({ a: new Typed('I', 1) }));
    expect(canonicalTable({ a: new Typed('l', 1) })).toBe(canonicalTable({ a: new Typed('l', 1n) }));
    expect(canonicalTable({ a: new Typed('l', 1) })).toBe(canonicalTable({ a: new Typed('L', 1) }));
    expect(canonicalTable({ a: 'x' })).not.toBe(canonicalTable({ a: Buffer.from('x') }));
    expect(canonicalTable({ a: true })).not.toBe(canonicalTable({ a: 1 }));
    expect(canonicalTable({ a: null })).not.toBe(canonicalTable({ a: 'V' }));
    expect(canonicalTable({ a: [1, 2] })).not.toBe(canonicalTable({ a: [2, 1] }));
    expect(canonicalTable({ t: { y: 1, x: 2 } })).toBe(canonicalTable({ t: { x: 2, y: 1 } }));
    expect(canonicalTable({ 'a:1': 'b' })).not.toBe(canonicalTable({ a: '1:b' }));
  });

  it('cannot confuse a routing key with the arguments', () => {
    expect(bindingId('a', {})).not.toBe(bindingId('aF{}', {}));
    expect(bindingId('', { k: 'v' })).not.toBe(bindingId('F{"k":Sv}', {}));
  });
});
