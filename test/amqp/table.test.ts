import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { FrameError } from '../../amqp/errors.js';
import { Reader } from '../../amqp/reader.js';
import { Typed, long, plain, readFieldValue, readTable, timestamp, writeTable, type FieldTable, type FieldValue } from '../../amqp/table.js';
import {
  amqplibCodec,
  amqplibTable,
  encode,
  hex,
  tableArbs,
  thrown,
  toAmqplibDecoded,
  toAmqplibEncodable,
} from './helpers.js';

const enc = (t: FieldTable): Buffer => encode((w) => writeTable(w, t));
const dec = (b: Buffer): FieldTable => readTable(new Reader(b));

/** Bytes of a one-entry table {k: <type byte + value bytes>}. */
function oneEntry(valueHex: string): Buffer {
  const entry = Buffer.concat([hex('01 6b'), hex(valueHex)]);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(entry.length);
  return Buffer.concat([len, entry]);
}

/** Unwraps Typed all the way down, for comparing with values that carry no wire type. */
function deepPlain(v: FieldValue): unknown {
  const p = plain(v);
  if (Array.isArray(p)) return p.map(deepPlain);
  if (p !== null && typeof p === 'object' && !Buffer.isBuffer(p) && !(p instanceof Typed)) {
    return Object.fromEntries(Object.entries(p as FieldTable).map(([k, x]) => [k, deepPlain(x)]));
  }
  if (typeof p === 'bigint') return Number(p);
  return p;
}

function expectFrameError(fn: () => unknown, code: number): FrameError {
  const e = thrown(fn);
  expect(e).toBeInstanceOf(FrameError);
  expect((e as FrameError).replyCode).toBe(code);
  expect((e as FrameError).hard).toBe(true);
  return e as FrameError;
}

// Every field type RabbitMQ's rabbit_binary_parser/generator knows, with its exact encoding.
// [label, value we encode, type byte + value bytes, value we decode]
const VECTORS: [string, FieldValue, string, FieldValue][] = [
  ['t true', true, '74 01', true],
  ['t false', false, '74 00', false],
  ['b signed 8', new Typed('b', -2), '62 fe', new Typed('b', -2)],
  ['b min', new Typed('b', -128), '62 80', new Typed('b', -128)],
  ['B unsigned 8', new Typed('B', 200), '42 c8', new Typed('B', 200)],
  ['s signed 16 (RabbitMQ)', new Typed('s', -2), '73 fffe', new Typed('s', -2)],
  ['s min', new Typed('s', -32768), '73 8000', new Typed('s', -32768)],
  ['s max', new Typed('s', 32767), '73 7fff', new Typed('s', 32767)],
  ['u unsigned 16', new Typed('u', 65535), '75 ffff', new Typed('u', 65535)],
  ['I plain int32 max', 2147483647, '49 7fffffff', 2147483647],
  ['I plain int32 min', -2147483648, '49 80000000', -2147483648],
  ['I plain -1', -1, '49 ffffffff', -1],
  ['I typed', new Typed('I', 5), '49 00000005', 5],
  ['i unsigned 32', new Typed('i', 0xfffffffe), '69 fffffffe', new Typed('i', 0xfffffffe)],
  ['l signed 64', new Typed('l', -2), '6c fffffffffffffffe', new Typed('l', -2)],
  ['l via long()', long(1234567890123), '6c 0000011f71fb04cb', new Typed('l', 1234567890123)],
  ['l int64 max (bigint)', new Typed('l', 2n ** 63n - 1n), '6c 7fffffffffffffff', new Typed('l', 2n ** 63n - 1n)],
  ['l int64 min (bigint)', new Typed('l', -(2n ** 63n)), '6c 8000000000000000', new Typed('l', -(2n ** 63n))],
  ['l safe bigint decodes as number', new Typed('l', 7n), '6c 0000000000000007', new Typed('l', 7)],
  ['l plain number beyond int32', 2 ** 40, '6c 0000010000000000', new Typed('l', 2 ** 40)],
  ['l plain bigint', 5n, '6c 0000000000000005', new Typed('l', 5)],
  ['f float32', new Typed('f', 1.5), '66 3fc00000', new Typed('f', 1.5)],
  ['d float64', new Typed('d', -0.5), '64 bfe0000000000000', new Typed('d', -0.5)],
  ['d plain fraction', 1.5, '64 3ff8000000000000', new Typed('d', 1.5)],
  ['D decimal', new Typed('D', { scale: 2, value: 12345 }), '44 02 00003039', new Typed('D', { scale: 2, value: 12345 })],
  ['D unsigned digits', new Typed('D', { scale: 255, value: 0xffffffff }), '44 ff ffffffff', new Typed('D', { scale: 255, value: 0xffffffff })],
  ['S longstr', 'héllo', '53 00000006 68c3a96c6c6f', 'héllo'],
  ['S empty', '', '53 00000000', ''],
  ['A array', [1, 'a', true], '41 0000000d 49 00000001 53 00000001 61 74 01', [1, 'a', true]],
  ['A empty', [], '41 00000000', []],
  ['T timestamp', timestamp(1700000000), '54 000000006553f100', new Typed('T', 1700000000)],
  ['F nested table', { y: false }, '46 00000004 0179 74 00', { y: false }],
  ['F empty', {}, '46 00000000', {}],
  ['V void', null, '56', null],
  ['x byte array', Buffer.from([0, 1, 0xff]), '78 00000003 0001ff', Buffer.from([0, 1, 0xff])],
];

describe('field table known answers', () => {
  it.each(VECTORS)('%s', (_label, value, wire, decoded) => {
    const bytes = oneEntry(wire);
    expect(enc({ k: value }).toString('hex')).toBe(bytes.toString('hex'));
    expect(dec(bytes)).toEqual({ k: decoded });
    // The decoded form re-encodes to the same bytes (the wire type is kept).
    expect(enc(dec(bytes)).toString('hex')).toBe(bytes.toString('hex'));
  });

  it('covers every RabbitMQ field type letter', () => {
    const letters = new Set(VECTORS.map(([, , wire]) => String.fromCharCode(hex(wire)[0]!)));
    expect([...letters].sort().join('')).toBe([...'tbBsuIilfdDSATFVx'].sort().join(''));
  });

  const isInt32 = (v: unknown) => typeof v === 'number' && (v | 0) === v;
  it.each(VECTORS.filter(([, v]) => typeof v !== 'bigint' && (typeof v !== 'number' || isInt32(v))))(
    'amqplib encodes %s the same way and decodes ours',
    (_label, value, wire) => {
      const bytes = oneEntry(wire);
      expect(amqplibTable({ k: toAmqplibEncodable(value) }).toString('hex')).toBe(bytes.toString('hex'));
      expect(amqplibCodec.decodeFields(bytes.subarray(4))).toEqual({ k: toAmqplibDecoded(dec(bytes)['k']!) });
    },
  );

  it('reads s as signed 16-bit, u as unsigned, i as unsigned 32-bit', () => {
    expect(dec(oneEntry('73 ffff'))).toEqual({ k: new Typed('s', -1) });
    expect(dec(oneEntry('75 ffff'))).toEqual({ k: new Typed('u', 65535) });
    expect(dec(oneEntry('69 ffffffff'))).toEqual({ k: new Typed('i', 4294967295) });
    expect(dec(oneEntry('49 ffffffff'))).toEqual({ k: -1 });
    expect(dec(oneEntry('62 ff'))).toEqual({ k: new Typed('b', -1) });
  });

  it('encodes an empty table, skips undefined values and keeps key order', () => {
    expect(enc({}).toString('hex')).toBe('00000000');
    const t = { b: 1, a: undefined, c: 'x' } as unknown as FieldTable;
    expect(enc(t).toString('hex')).toBe('0000000f' + '0162' + '4900000001' + '0163' + '530000000178');
    expect(Object.keys(dec(enc({ z: 1, y: 2, x: 3 })))).toEqual(['z', 'y', 'x']);
  });

  it('keeps a __proto__ key as an ordinary entry', () => {
    // {"__proto__": {}} as it comes off the wire: 0x09 "__proto__" 'F' 00000000.
    const wire = hex('0000000f 09 5f5f70726f746f5f5f 46 00000000');
    const t = dec(wire);
    expect(Object.getPrototypeOf(t)).toBe(Object.prototype);
    expect(Object.keys(t)).toEqual(['__proto__']);
    expect(Object.getOwnPropertyDescriptor(t, '__proto__')?.value).toEqual({});
    expect(enc(t).toString('hex')).toBe(wire.toString('hex'));

    // With an object value, a naive decoder would make it the table's prototype.
    const evil = enc(Object.fromEntries([['__proto__', { 'x-message-ttl': 5 }]]) as FieldTable);
    const t2 = dec(evil);
    expect(Object.getPrototypeOf(t2)).toBe(Object.prototype);
    expect((t2 as Record<string, unknown>)['x-message-ttl']).toBeUndefined();
    expect(Object.keys(t2)).toEqual(['__proto__']);
    expect(enc(t2).toString('hex')).toBe(evil.toString('hex'));
  });

  it('leaves the reader just past the table, with its end restored', () => {
    const w = encode((w) => {
      writeTable(w, { a: { b: [1, { c: 'x' }] } });
      w.u8(0x99);
    });
    const r = new Reader(w);
    expect(readTable(r)).toEqual({ a: { b: [1, { c: 'x' }] } });
    expect(r.end).toBe(w.length);
    expect(r.u8()).toBe(0x99);
    expect(r.pos).toBe(w.length);
  });
});

describe('field table round trip (fast-check)', () => {
  it('nested tables with typed values decode deep-equal and re-encode to identical bytes', () => {
    const { table } = tableArbs({ typed: true, hostileKeys: true });
    fc.assert(
      fc.property(table, (t) => {
        const bytes = enc(t);
        const back = dec(bytes);
        expect(back).toEqual(t);
        expect(Object.keys(back)).toEqual(Object.keys(t));
        expect(enc(back).equals(bytes)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('a lone field value round-trips through readFieldValue', () => {
    const { value } = tableArbs({ typed: true });
    fc.assert(
      fc.property(value, (v) => {
        const bytes = encode((w) => writeTable(w, { v }));
        // Skip the table length and the key ("\x01v") to land on the value.
        const r = new Reader(bytes, 4 + 2);
        expect(readFieldValue(r)).toEqual(v);
        expect(r.pos).toBe(bytes.length);
      }),
      { numRuns: 200 },
    );
  });
});

describe('field tables against amqplib', () => {
  it('amqplib encodes typed tables to the same bytes and decodes ours', () => {
    const { table } = tableArbs({ typed: true, hostileKeys: false });
    fc.assert(
      fc.property(table, (t) => {
        const ours = enc(t);
        expect(amqplibTable(toAmqplibEncodable(t)).toString('hex')).toBe(ours.toString('hex'));
        expect(amqplibCodec.decodeFields(ours.subarray(4))).toEqual(toAmqplibDecoded(t));
      }),
      { numRuns: 200 },
    );
  });

  it('a table of plain values crosses both ways', () => {
    const plainTable: FieldTable = {
      str: 'hello',
      empty: '',
      utf8: 'ünïcødé ✓',
      yes: true,
      no: false,
      zero: 0,
      small: -5,
      short: 1000,
      int: 70000,
      negInt: -2147483648,
      big: 2 ** 40,
      negBig: -(2 ** 45),
      frac: 2.25,
      nothing: null,
      bin: Buffer.from('00ff10', 'hex'),
      list: [1, 'two', false, null, [3], { four: 4 }],
      nested: { 'x-max-length': 10, 'x-queue-type': 'quorum', deeper: { k: 'v' } },
    };
    // Ours → amqplib's decoder: the same plain values.
    expect(amqplibCodec.decodeFields(enc(plainTable).subarray(4))).toEqual(plainTable);
    // amqplib (which picks b/s/I/l/d by magnitude) → ours: the same values once Typed is unwrapped.
    const theirs = amqplibTable(plainTable);
    const back = dec(theirs);
    expect(deepPlain(back)).toEqual(plainTable);
    expect(back['small']).toEqual(new Typed('b', -5));
    expect(back['short']).toEqual(new Typed('s', 1000));
    expect(back['int']).toBe(70000);
    expect(back['big']).toEqual(new Typed('l', 2 ** 40));
    // Our decoding keeps amqplib's wire types: re-encoding gives amqplib's bytes back.
    expect(enc(back).toString('hex')).toBe(theirs.toString('hex'));
  });

  it('plain tables from amqplib decode to the same plain values (fast-check)', () => {
    const { table } = tableArbs({ typed: false, hostileKeys: false });
    const withNumbers = fc.oneof(
      table,
      fc.dictionary(
        fc.string({ maxLength: 10 }).filter((k) => k !== '__proto__' && k !== '!'),
        fc.oneof(fc.integer(), fc.maxSafeInteger(), // amqplib turns |n| >= 2^50 into an int64 and -0 into a byte 0.
          fc.double({ min: -(2 ** 49), max: 2 ** 49, noNaN: true }).filter((d) => !Object.is(d, -0))),
        { maxKeys: 6, noNullPrototype: true },
      ),
    );
    fc.assert(
      fc.property(withNumbers, (t) => {
        const theirs = amqplibTable(t);
        const back = dec(theirs);
        expect(deepPlain(back)).toEqual(t);
        expect(enc(back).equals(theirs)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });
});

describe('malformed field tables', () => {
  const { table } = tableArbs({ typed: true, maxKeys: 4 });

  it('every truncation throws FrameError 502, never a RangeError', () => {
    fc.assert(
      fc.property(table, (t) => {
        const bytes = enc(t);
        for (let cut = 0; cut < bytes.length; cut++) {
          // Both a short buffer and a reader whose end stops early.
          for (const r of [new Reader(bytes.subarray(0, cut)), new Reader(bytes, 0, cut)]) {
            let e: unknown;
            try {
              readTable(r);
            } catch (x) {
              e = x;
            }
            // Checked by hand: expect() per cut would dominate the runtime.
            if (!(e instanceof FrameError) || e.replyCode !== 502) {
              throw new Error(`cut at ${cut}/${bytes.length}: expected FrameError 502, got ${String(e)}`);
            }
          }
        }
      }),
      { numRuns: 100 },
    );
  });

  it('a table length cut short either ends on a field boundary or throws FrameError 502', () => {
    fc.assert(
      fc.property(table, fc.nat(), (t, n) => {
        const bytes = Buffer.from(enc(t));
        const full = bytes.length - 4;
        if (full === 0) return;
        const len = n % full;
        bytes.writeUInt32BE(len, 0);
        try {
          const r = new Reader(bytes);
          const got = readTable(r);
          expect(r.pos).toBe(4 + len);
          // A boundary cut yields a prefix of the entries.
          const keys = Object.keys(got);
          expect(keys).toEqual(Object.keys(t).slice(0, keys.length));
        } catch (e) {
          expect(e).toBeInstanceOf(FrameError);
          expect((e as FrameError).replyCode).toBe(502);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('a nested length past its parent table throws 502 even when the buffer has more bytes', () => {
    // outer table (7 bytes): key "a", type F, inner length 100; then 200 bytes of valid-looking void fields.
    const junk = Buffer.alloc(200);
    for (let i = 0; i < 200; i += 4) junk.write('\x01z\x56', i, 'latin1');
    const bytes = Buffer.concat([hex('00000007 0161 46 00000064'), junk]);
    expectFrameError(() => readTable(new Reader(bytes)), 502);
    // Same for an array.
    const arr = Buffer.concat([hex('00000007 0161 41 00000064'), Buffer.alloc(200, 0x56)]);
    expectFrameError(() => readTable(new Reader(arr)), 502);
  });

  it('an outer length beyond the buffer throws 502', () => {
    expectFrameError(() => readTable(new Reader(hex('00000010 0161 56'))), 502);
    expectFrameError(() => readTable(new Reader(hex('ffffffff'))), 502);
  });

  it.each([
    ['U (0-9-1 spec short-uint, not used by RabbitMQ)', '55 0001'],
    ['L', '4c 0000000000000001'],
    ['Z', '5a'],
    ['NUL', '00'],
  ])('unknown type byte %s throws FrameError 502', (_label, wire) => {
    const e = expectFrameError(() => dec(oneEntry(wire)), 502);
    expect(e.replyText.startsWith('SYNTAX_ERROR - ')).toBe(true);
  });

  it('an unknown type byte inside an array throws FrameError 502', () => {
    expectFrameError(() => dec(oneEntry('41 00000002 5a 00')), 502);
  });
});
