import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { FrameError } from '../../amqp/errors.js';
import { M } from '../../amqp/generated/constants.js';
import {
  decodeMethod,
  encodeBasicConsume,
  encodeBasicDeliver,
  encodeBasicPublish,
  encodeConnectionStart,
  encodeExchangeDeclare,
  encodeMethod,
  encodeQueueDeclare,
  type Method,
} from '../../amqp/generated/methods.js';
import { Reader } from '../../amqp/reader.js';
import { Typed, type FieldTable } from '../../amqp/table.js';
import {
  SPEC_METHODS,
  amqplibDefs,
  argType,
  camel,
  encode,
  framePayload,
  hex,
  longlongArb,
  longstrArb,
  shortstrArb,
  tableArbs,
  thrown,
  toAmqplibDecoded,
  toAmqplibEncodable,
  type SpecMethodInfo,
} from './helpers.js';

type Fields = Record<string, unknown>;

/** The JS fields of a method: every spec argument except the reserved `ticket`. */
const fieldArgs = (x: SpecMethodInfo) => x.m.arguments.filter((a) => a.name !== 'ticket');

function methodArb(x: SpecMethodInfo, table: fc.Arbitrary<FieldTable>): fc.Arbitrary<Method> {
  const rec: Record<string, fc.Arbitrary<unknown>> = {};
  for (const a of fieldArgs(x)) {
    const t = argType(a);
    rec[camel(a.name)] = (
      {
        bit: fc.boolean(),
        octet: fc.integer({ min: 0, max: 255 }),
        short: fc.integer({ min: 0, max: 0xffff }),
        long: fc.integer({ min: 0, max: 0xffffffff }),
        longlong: longlongArb,
        timestamp: longlongArb,
        shortstr: shortstrArb,
        longstr: longstrArb,
        table,
      } as Record<string, fc.Arbitrary<unknown>>
    )[t]!;
    if (rec[camel(a.name)] === undefined) throw new Error(`no arbitrary for ${t}`);
  }
  return fc.record(rec).map((f) => ({ id: x.id, ...f }) as unknown as Method);
}

const encodeM = (m: Method): Buffer => encode((w) => encodeMethod(w, m));
const decodeAll = (b: Buffer): Method => {
  const r = new Reader(b);
  const m = decodeMethod(r);
  expect(r.pos).toBe(b.length);
  return m;
};

/** amqplib's field object for one of our methods (with the reserved ticket, and its table spelling). */
function toAmqplibFields(x: SpecMethodInfo, m: Method, conv: (v: FieldTable) => unknown): Fields {
  const f: Fields = {};
  for (const a of x.m.arguments) {
    const k = camel(a.name);
    if (a.name === 'ticket') f[k] = 0;
    else f[k] = argType(a) === 'table' ? conv((m as unknown as Fields)[k] as FieldTable) : (m as unknown as Fields)[k];
  }
  return f;
}

const amqplibPayload = (id: number, fields: Fields): Buffer => framePayload(amqplibDefs.encodeMethod(id, 0, fields));

describe('every spec method round-trips (fast-check)', () => {
  const { table } = tableArbs({ typed: true, hostileKeys: true, maxDepth: 2, maxKeys: 4 });
  it.each(SPEC_METHODS.map((x) => [x.name, x] as const))('%s', (_name, x) => {
    fc.assert(
      fc.property(methodArb(x, table), (m) => {
        const bytes = encodeM(m);
        expect(bytes.readUInt32BE(0)).toBe(x.id);
        const back = decodeAll(bytes);
        expect(back).toEqual(m);
        expect(Object.keys(back).sort()).toEqual(Object.keys(m).sort());
        expect(encodeM(back).equals(bytes)).toBe(true);
      }),
      { numRuns: 100 },
    );
  });
});

describe('every spec method matches amqplib (fast-check)', () => {
  // No '__proto__' / '!' keys: amqplib's own table codec cannot carry them.
  const { table } = tableArbs({ typed: true, hostileKeys: false, maxDepth: 2, maxKeys: 3 });
  it.each(SPEC_METHODS.map((x) => [x.name, x] as const))('%s', (_name, x) => {
    fc.assert(
      fc.property(methodArb(x, table), (m) => {
        const ours = encodeM(m);
        const theirs = amqplibPayload(x.id, toAmqplibFields(x, m, toAmqplibEncodable));
        expect(ours.toString('hex')).toBe(theirs.toString('hex'));
        expect(amqplibDefs.decode(x.id, ours.subarray(4))).toEqual(toAmqplibFields(x, m, toAmqplibDecoded));
      }),
      { numRuns: 30 },
    );
  });
});

describe('known-answer method encodings', () => {
  const serverProperties: FieldTable = {
    product: 'Warren',
    version: '0.1.0',
    capabilities: { publisher_confirms: true, 'basic.nack': true, consumer_cancel_notify: true },
  };

  it('connection.start', () => {
    const ours = encode((w) => encodeConnectionStart(w, 0, 9, serverProperties, 'PLAIN AMQPLAIN', 'en_US'));
    const theirs = amqplibPayload(M.ConnectionStart, {
      versionMajor: 0,
      versionMinor: 9,
      serverProperties,
      mechanisms: Buffer.from('PLAIN AMQPLAIN'),
      locales: Buffer.from('en_US'),
    });
    expect(ours.toString('hex')).toBe(theirs.toString('hex'));
    // id, version 0-9, then the table; mechanisms and locales are longstr at the end.
    expect(ours.subarray(0, 6).toString('hex')).toBe('000a000a0009');
    expect(ours.subarray(-(4 + 14 + 4 + 5)).toString('hex')).toBe(
      hex('0000000e').toString('hex') + Buffer.from('PLAIN AMQPLAIN').toString('hex') + '00000005' + Buffer.from('en_US').toString('hex'),
    );
    // A Buffer longstr encodes exactly like the string.
    const withBuffers = encode((w) =>
      encodeConnectionStart(w, 0, 9, serverProperties, Buffer.from('PLAIN AMQPLAIN'), Buffer.from('en_US')),
    );
    expect(withBuffers.equals(ours)).toBe(true);
    expect(decodeAll(ours)).toEqual({
      id: M.ConnectionStart,
      versionMajor: 0,
      versionMinor: 9,
      serverProperties,
      mechanisms: Buffer.from('PLAIN AMQPLAIN'),
      locales: Buffer.from('en_US'),
    });
  });

  it('queue.declare with arguments', () => {
    const args: FieldTable = {
      'x-queue-type': 'quorum',
      'x-max-length': 10,
      'x-message-ttl': new Typed('l', 60000),
      'x-dead-letter-exchange': 'dlx',
    };
    const ours = encode((w) => encodeQueueDeclare(w, 'orders', false, true, false, false, false, args));
    const theirs = amqplibPayload(M.QueueDeclare, {
      ticket: 0,
      queue: 'orders',
      passive: false,
      durable: true,
      exclusive: false,
      autoDelete: false,
      nowait: false,
      arguments: {
        'x-queue-type': 'quorum',
        'x-max-length': { '!': 'int32', value: 10 },
        'x-message-ttl': { '!': 'int64', value: 60000 },
        'x-dead-letter-exchange': 'dlx',
      },
    });
    expect(ours.toString('hex')).toBe(theirs.toString('hex'));
    const tableBytes = Buffer.concat([
      hex('0c'), Buffer.from('x-queue-type'), hex('53 00000006'), Buffer.from('quorum'),
      hex('0c'), Buffer.from('x-max-length'), hex('49 0000000a'),
      hex('0d'), Buffer.from('x-message-ttl'), hex('6c 000000000000ea60'),
      hex('16'), Buffer.from('x-dead-letter-exchange'), hex('53 00000003'), Buffer.from('dlx'),
    ]);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(tableBytes.length);
    expect(ours.toString('hex')).toBe(
      Buffer.concat([hex('0032000a 0000 06'), Buffer.from('orders'), hex('02'), len, tableBytes]).toString('hex'),
    );
    expect(decodeAll(ours)).toEqual({
      id: M.QueueDeclare,
      queue: 'orders',
      passive: false,
      durable: true,
      exclusive: false,
      autoDelete: false,
      nowait: false,
      arguments: args,
    });
  });

  it('basic.publish', () => {
    const ours = encode((w) => encodeBasicPublish(w, 'ex', 'rk', true, false));
    expect(ours.toString('hex')).toBe('003c0028' + '0000' + '026578' + '02726b' + '01');
    const theirs = amqplibPayload(M.BasicPublish, { ticket: 0, exchange: 'ex', routingKey: 'rk', mandatory: true, immediate: false });
    expect(ours.toString('hex')).toBe(theirs.toString('hex'));
    const both = encode((w) => encodeBasicPublish(w, '', 'q', true, true));
    expect(both.toString('hex')).toBe('003c0028' + '0000' + '00' + '0171' + '03');
    expect(decodeAll(ours)).toEqual({ id: M.BasicPublish, exchange: 'ex', routingKey: 'rk', mandatory: true, immediate: false });
  });

  it('basic.deliver', () => {
    const tag = 2 ** 40 + 5;
    const ours = encode((w) => encodeBasicDeliver(w, 'ctag', tag, true, '', 'q'));
    expect(ours.toString('hex')).toBe('003c003c' + '0463746167' + '0000010000000005' + '01' + '00' + '0171');
    const theirs = amqplibPayload(M.BasicDeliver, { consumerTag: 'ctag', deliveryTag: tag, redelivered: true, exchange: '', routingKey: 'q' });
    expect(ours.toString('hex')).toBe(theirs.toString('hex'));
    expect(decodeAll(ours)).toEqual({ id: M.BasicDeliver, consumerTag: 'ctag', deliveryTag: tag, redelivered: true, exchange: '', routingKey: 'q' });
    // The largest exact delivery tag.
    const max = encode((w) => encodeBasicDeliver(w, '', Number.MAX_SAFE_INTEGER, false, '', ''));
    expect(max.subarray(5, 13).toString('hex')).toBe('001fffffffffffff');
    expect((decodeAll(max) as { deliveryTag: number }).deliveryTag).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('basic.consume with bits', () => {
    const args: FieldTable = { 'x-priority': 5 };
    const ours = encode((w) => encodeBasicConsume(w, 'q', '', false, true, true, false, args));
    expect(ours.toString('hex')).toBe(
      '003c0014' + '0000' + '0171' + '00' + '06' + '00000010' + '0a' + Buffer.from('x-priority').toString('hex') + '4900000005',
    );
    const theirs = amqplibPayload(M.BasicConsume, {
      ticket: 0,
      queue: 'q',
      consumerTag: '',
      noLocal: false,
      noAck: true,
      exclusive: true,
      nowait: false,
      arguments: { 'x-priority': { '!': 'int32', value: 5 } },
    });
    expect(ours.toString('hex')).toBe(theirs.toString('hex'));
    // noLocal=1, noAck=2, exclusive=4, nowait=8
    const flags = (noLocal: boolean, noAck: boolean, exclusive: boolean, nowait: boolean) =>
      encode((w) => encodeBasicConsume(w, '', '', noLocal, noAck, exclusive, nowait, {}))[8]; // id 4 + ticket 2 + two empty shortstr
    expect([flags(true, false, false, false), flags(false, true, false, false), flags(false, false, true, false), flags(false, false, false, true)]).toEqual([1, 2, 4, 8]);
    expect(flags(true, true, true, true)).toBe(15);
    expect(decodeAll(ours)).toEqual({
      id: M.BasicConsume,
      queue: 'q',
      consumerTag: '',
      noLocal: false,
      noAck: true,
      exclusive: true,
      nowait: false,
      arguments: args,
    });
  });

  it('a method with no fields is just its id', () => {
    expect(encodeM({ id: M.TxSelect } as Method).toString('hex')).toBe('005a000a');
    expect(encodeM({ id: M.ConnectionCloseOk } as Method).toString('hex')).toBe('000a0033');
    expect(decodeAll(hex('005a000a'))).toEqual({ id: M.TxSelect });
  });

  it('the reserved ticket is written as zero and dropped on decode', () => {
    expect(encodeM({ id: M.AccessRequestOk } as Method).toString('hex')).toBe('001e000b0000');
    expect(decodeAll(hex('001e000b0001'))).toEqual({ id: M.AccessRequestOk });
    expect(decodeAll(hex('003c0028 1234 00 00 00'))).toEqual({ id: M.BasicPublish, exchange: '', routingKey: '', mandatory: false, immediate: false });
  });
});

describe('bit packing', () => {
  const FLAGS = ['passive', 'durable', 'autoDelete', 'internal', 'nowait'] as const;
  const declare = (on: Partial<Record<(typeof FLAGS)[number], boolean>>) =>
    encode((w) =>
      encodeExchangeDeclare(w, 'e', 'topic', !!on.passive, !!on.durable, !!on.autoDelete, !!on.internal, !!on.nowait, {}),
    );
  // id 4 + ticket 2 + "e" 2 + "topic" 6
  const BITS_AT = 14;

  it.each(FLAGS.map((f, i) => [f, i] as const))('exchange.declare %s is bit %i on its own', (flag, i) => {
    const bytes = declare({ [flag]: true });
    expect(bytes.toString('hex')).toBe('0028000a' + '0000' + '0165' + '05746f706963' + (1 << i).toString(16).padStart(2, '0') + '00000000');
    expect(bytes[BITS_AT]).toBe(1 << i);
    const m = decodeAll(bytes) as unknown as Fields;
    for (const g of FLAGS) expect(m[g]).toBe(g === flag);
    // Clearing just this flag from all-set leaves the other four.
    const allBut = declare(Object.fromEntries(FLAGS.map((g) => [g, g !== flag])));
    expect(allBut[BITS_AT]).toBe(31 & ~(1 << i));
    const m2 = decodeAll(allBut) as unknown as Fields;
    for (const g of FLAGS) expect(m2[g]).toBe(g !== flag);
    const theirs = amqplibPayload(M.ExchangeDeclare, { ticket: 0, exchange: 'e', type: 'topic', ...Object.fromEntries(FLAGS.map((g) => [g, g === flag])), arguments: {} });
    expect(bytes.equals(theirs)).toBe(true);
  });

  it('exchange.declare: all 32 flag combinations', () => {
    for (let v = 0; v < 32; v++) {
      const on = Object.fromEntries(FLAGS.map((g, i) => [g, (v & (1 << i)) !== 0]));
      const bytes = declare(on);
      expect(bytes[BITS_AT]).toBe(v);
      expect(decodeAll(bytes)).toEqual({ id: M.ExchangeDeclare, exchange: 'e', type: 'topic', ...on, arguments: {} });
    }
  });

  it('the decoder ignores unused high bits', () => {
    const bytes = Buffer.from(declare({ durable: true }));
    bytes[BITS_AT] = 0xe2;
    expect(decodeAll(bytes)).toEqual({ id: M.ExchangeDeclare, exchange: 'e', type: 'topic', passive: false, durable: true, autoDelete: false, internal: false, nowait: false, arguments: {} });
  });

  // Generic: in every method, each bit field sets exactly one bit of one octet, by position in its run of bits.
  const withBits = SPEC_METHODS.filter((x) => fieldArgs(x).some((a) => argType(a) === 'bit'));
  it.each(withBits.map((x) => [x.name, x] as const))('%s: each bit flag independently', (_name, x) => {
    const base: Fields = { id: x.id };
    const bitPos = new Map<string, number>();
    let run = -1;
    for (const a of x.m.arguments) {
      const t = argType(a);
      if (t === 'bit') {
        run = run < 0 ? 0 : run + 1;
        bitPos.set(camel(a.name), run);
      } else run = -1;
      if (a.name === 'ticket') continue;
      base[camel(a.name)] = { bit: false, shortstr: 'x', longstr: Buffer.from('y'), table: {} }[t as 'bit'] ?? 7;
    }
    const zero = encodeM(base as unknown as Method);
    for (const [name, pos] of bitPos) {
      expect(pos).toBeLessThan(8); // 0-9-1 has no method with more than 8 consecutive bits
      const one = encodeM({ ...base, [name]: true } as unknown as Method);
      expect(one.length).toBe(zero.length);
      const diff = [...one.keys()].filter((i) => one[i] !== zero[i]);
      expect(diff).toHaveLength(1);
      expect(one[diff[0]!]! ^ zero[diff[0]!]!).toBe(1 << pos);
      expect(decodeAll(one)).toEqual({ ...base, [name]: true });
    }
  });
});

describe('malformed method frames', () => {
  const { table } = tableArbs({ typed: true, maxDepth: 2, maxKeys: 3 });
  const anyMethod = fc.constantFrom(...SPEC_METHODS).chain((x) => methodArb(x, table));

  it('every truncation throws FrameError 502', () => {
    fc.assert(
      fc.property(anyMethod, (m) => {
        const bytes = encodeM(m);
        for (let cut = 0; cut < bytes.length; cut++) {
          let e: unknown;
          try {
            decodeMethod(new Reader(bytes, 0, cut));
          } catch (x) {
            e = x;
          }
          if (!(e instanceof FrameError) || e.replyCode !== 502) {
            throw new Error(`cut at ${cut}/${bytes.length}: expected FrameError 502, got ${String(e)}`);
          }
        }
      }),
      { numRuns: 200 },
    );
  });

  it('an unknown class/method id throws a hard FrameError 540', () => {
    for (const id of ['000a00ff', '00ff000a', '003c0000', 'ffffffff']) {
      const e = thrown(() => decodeMethod(new Reader(hex(id))));
      expect(e).toBeInstanceOf(FrameError);
      expect((e as FrameError).replyCode).toBe(540);
      expect((e as FrameError).hard).toBe(true);
    }
  });

  it('a shortstr over 255 bytes is refused by the encoder', () => {
    expect(() => encode((w) => encodeBasicPublish(w, 'x'.repeat(256), '', false, false))).toThrow(RangeError);
    expect(() => encode((w) => encodeBasicPublish(w, 'é'.repeat(128), '', false, false))).toThrow(RangeError);
    expect(encode((w) => encodeBasicPublish(w, 'é'.repeat(127) + 'x', '', false, false))[6]).toBe(255);
  });
});
