import { describe, expect, it } from 'vitest';
import { Typed, hasBcc, routingKeysFor, stripBcc, validateRoutingHeaders, type FieldTable } from '../../routing/index.js';

describe('CC/BCC routing keys', () => {
  it('returns the plain key when there is nothing to add', () => {
    expect(routingKeysFor('rk', undefined)).toBe('rk');
    expect(routingKeysFor('rk', {})).toBe('rk');
    expect(routingKeysFor('rk', { cc: ['lowercase'] })).toBe('rk');
    expect(routingKeysFor('rk', { CC: 'not-an-array' })).toBe('rk');
    expect(routingKeysFor('rk', { CC: [] })).toBe('rk');
    expect(routingKeysFor('rk', { CC: [1, Buffer.from('bytes'), null] })).toBe('rk');
  });

  it('appends CC then BCC longstr entries', () => {
    expect(routingKeysFor('rk', { CC: ['a', 'b'] })).toEqual(['rk', 'a', 'b']);
    expect(routingKeysFor('rk', { BCC: ['z'] })).toEqual(['rk', 'z']);
    expect(routingKeysFor('rk', { BCC: ['z'], CC: ['a'] })).toEqual(['rk', 'a', 'z']);
    expect(routingKeysFor('rk', { CC: ['a', 7, Buffer.from('x'), new Typed('S', 's'), 'rk'] })).toEqual([
      'rk',
      'a',
      's',
      'rk',
    ]);
    expect(routingKeysFor('', { CC: [''] })).toEqual(['', '']);
  });

  it('detects and strips BCC without touching the original', () => {
    const h: FieldTable = { a: 1, BCC: ['x'], CC: ['y'] };
    expect(hasBcc(h)).toBe(true);
    expect(hasBcc({ CC: ['y'] })).toBe(false);
    expect(hasBcc(undefined)).toBe(false);
    const stripped = stripBcc(h);
    expect(stripped).toEqual({ a: 1, CC: ['y'] });
    expect(h.BCC).toEqual(['x']);
  });

  it('copies a "__proto__" header as data', () => {
    const h: FieldTable = { BCC: ['x'] };
    Object.defineProperty(h, '__proto__', { value: 'p', enumerable: true, writable: true, configurable: true });
    const stripped = stripBcc(h);
    expect(Object.getPrototypeOf(stripped)).toBe(Object.prototype);
    expect(Object.keys(stripped)).toEqual(['__proto__']);
    expect(Object.getOwnPropertyDescriptor(stripped, '__proto__')?.value).toBe('p');
  });

  it('reports non-array CC/BCC the way RabbitMQ refuses the publish', () => {
    expect(validateRoutingHeaders(undefined)).toBeNull();
    expect(validateRoutingHeaders({ CC: ['a'], BCC: [] })).toBeNull();
    expect(validateRoutingHeaders({ CC: 'a' })).toBe('invalid message: {unacceptable_type_in_header,"CC",longstr}');
    expect(validateRoutingHeaders({ CC: ['ok'], BCC: 1 })).toBe(
      'invalid message: {unacceptable_type_in_header,"BCC",signedint}',
    );
    expect(validateRoutingHeaders({ BCC: null, CC: true })).toBe(
      'invalid message: {unacceptable_type_in_header,"CC",bool}',
    );
  });
});
