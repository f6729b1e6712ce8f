import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { FrameError } from '../../amqp/errors.js';
import { writeContent } from '../../amqp/frame-writer.js';
import { PROP, readProperties, writeProperties, type BasicProperties } from '../../amqp/generated/properties.js';
import { Reader } from '../../amqp/reader.js';
import { Typed } from '../../amqp/table.js';
import {
  amqplibDefs,
  camel,
  encode,
  framePayload,
  hex,
  longlongArb,
  shortstrArb,
  spec,
  tableArbs,
  thrown,
  toAmqplibDecoded,
  toAmqplibEncodable,
} from './helpers.js';

const PROP_NAMES = spec.classes.find((c) => c.name === 'basic')!.properties!.map((p) => camel(p.name));

function propsArb(hostileKeys: boolean): fc.Arbitrary<BasicProperties> {
  const { table } = tableArbs({ typed: true, hostileKeys, maxDepth: 2, maxKeys: 4 });
  const octet = fc.integer({ min: 0, max: 255 });
  return fc.record(
    {
      contentType: shortstrArb,
      contentEncoding: shortstrArb,
      headers: table,
      deliveryMode: octet,
      priority: octet,
      correlationId: shortstrArb,
      replyTo: shortstrArb,
      expiration: shortstrArb,
      messageId: shortstrArb,
      timestamp: longlongArb,
      type: shortstrArb,
      userId: shortstrArb,
      appId: shortstrArb,
      clusterId: shortstrArb,
    },
    { requiredKeys: [] },
  );
}

const enc = (p: BasicProperties): Buffer => encode((w) => writeProperties(w, p));
function dec(b: Buffer): BasicProperties {
  const r = new Reader(b);
  const p = readProperties(r);
  expect(r.pos).toBe(b.length);
  return p;
}

/** amqplib's content header payload minus class id, weight and body size: flags + property list. */
function amqplibProps(p: BasicProperties, size = 0): Buffer {
  const fields: Record<string, unknown> = { ...p };
  if (p.headers !== undefined) fields['headers'] = toAmqplibEncodable(p.headers);
  return framePayload(amqplibDefs.encodeProperties(60, 0, size, fields)).subarray(12);
}

const ALL: Required<BasicProperties> = {
  contentType: 'application/json',
  contentEncoding: 'gzip',
  headers: { 'x-retries': 3, trace: 'abc', nested: { ok: true } },
  deliveryMode: 2,
  priority: 9,
  correlationId: 'corr-1',
  replyTo: 'amq.rabbitmq.reply-to',
  expiration: '60000',
  messageId: 'msg-42',
  timestamp: 1700000000,
  type: 'order.created',
  userId: 'guest',
  appId: 'warren-test',
  clusterId: 'c1',
};

describe('basic properties', () => {
  it('the spec has 14 basic properties and PROP gives them bits 15..2', () => {
    expect(PROP_NAMES).toEqual(Object.keys(PROP));
    expect(PROP_NAMES).toHaveLength(14);
    PROP_NAMES.forEach((n, i) => expect(PROP[n as keyof typeof PROP]).toBe(1 << (15 - i)));
  });

  it('no properties: flags 0 and nothing else', () => {
    expect(enc({}).toString('hex')).toBe('0000');
    expect(dec(hex('0000'))).toEqual({});
    expect(Object.keys(dec(hex('0000')))).toEqual([]);
  });

  it('known answer: content-type and delivery-mode', () => {
    const bytes = enc({ contentType: 'text/plain', deliveryMode: 2 });
    expect(bytes.toString('hex')).toBe('9000' + '0a' + Buffer.from('text/plain').toString('hex') + '02');
    expect(dec(bytes)).toEqual({ contentType: 'text/plain', deliveryMode: 2 });
    expect(amqplibProps({ contentType: 'text/plain', deliveryMode: 2 }).equals(bytes)).toBe(true);
  });

  it('known answer: timestamp and headers', () => {
    const bytes = enc({ headers: { a: new Typed('s', -1) }, timestamp: 2 ** 33 });
    expect(bytes.toString('hex')).toBe('2040' + '00000005' + '0161' + '73ffff' + '0000000200000000');
    expect(dec(bytes)).toEqual({ headers: { a: new Typed('s', -1) }, timestamp: 2 ** 33 });
  });

  it('all 14 properties set: flags 0xfffc, same bytes as amqplib', () => {
    const bytes = enc(ALL);
    expect(bytes.readUInt16BE(0)).toBe(0xfffc);
    expect(dec(bytes)).toEqual(ALL);
    expect(bytes.toString('hex')).toBe(amqplibProps(ALL).toString('hex'));
  });

  it.each(PROP_NAMES)('%s alone sets only its own flag', (name) => {
    const p = { [name]: ALL[name as keyof BasicProperties] } as BasicProperties;
    const bytes = enc(p);
    expect(bytes.readUInt16BE(0)).toBe(PROP[name as keyof typeof PROP]);
    expect(dec(bytes)).toEqual(p);
    expect(bytes.toString('hex')).toBe(amqplibProps(p).toString('hex'));
  });

  it('any subset round-trips and sets exactly the flags of the present properties (fast-check)', () => {
    fc.assert(
      fc.property(propsArb(true), (p) => {
        const bytes = enc(p);
        let flags = 0;
        for (const k of Object.keys(p)) flags |= PROP[k as keyof typeof PROP];
        expect(bytes.readUInt16BE(0)).toBe(flags);
        const back = dec(bytes);
        expect(back).toEqual(p);
        expect(Object.keys(back).sort()).toEqual(Object.keys(p).sort());
        expect(enc(back).equals(bytes)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('any subset encodes like amqplib, and amqplib decodes ours (fast-check)', () => {
    fc.assert(
      fc.property(propsArb(false), fc.maxSafeNat(), (p, size) => {
        const ours = enc(p);
        expect(ours.toString('hex')).toBe(amqplibProps(p, size).toString('hex'));
        const want: Record<string, unknown> = { ...p };
        if (p.headers !== undefined) want['headers'] = toAmqplibDecoded(p.headers);
        expect(amqplibDefs.decode(60, ours)).toEqual(want);
      }),
      { numRuns: 200 },
    );
  });

  it('undefined properties are absent, not written', () => {
    const bytes = enc({ contentType: undefined, priority: 0, headers: undefined });
    expect(bytes.toString('hex')).toBe('0800' + '00');
  });

  it('a truncated property list throws FrameError 502', () => {
    const bytes = enc(ALL);
    for (let cut = 0; cut < bytes.length; cut++) {
      const e = thrown(() => readProperties(new Reader(bytes, 0, cut)));
      expect(e).toBeInstanceOf(FrameError);
      expect((e as FrameError).replyCode).toBe(502);
    }
  });
});

describe('content header frame', () => {
  it('writeContent writes the same header frame as amqplib', () => {
    for (const [p, size, channel] of [
      [ALL, 12345, 7],
      [{}, 0, 1],
      [{ deliveryMode: 1, headers: { n: 1 } }, 300000, 65535],
    ] as [BasicProperties, number, number][]) {
      const props = enc(p);
      const out = encode((w) => writeContent(w, channel, 60, props, Buffer.alloc(size, 0x61), 131072));
      const header = out.subarray(0, 7 + 12 + props.length + 1);
      const fields: Record<string, unknown> = { ...p };
      if (p.headers !== undefined) fields['headers'] = toAmqplibEncodable(p.headers);
      expect(header.toString('hex')).toBe(amqplibDefs.encodeProperties(60, channel, size, fields).toString('hex'));
    }
  });
});
