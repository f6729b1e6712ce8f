// Shared arbitraries and the amqplib reference codec for the AMQP codec tests.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import fc from 'fast-check';
import { Typed, type FieldTable, type FieldValue } from '../../amqp/table.js';
import { Writer } from '../../amqp/writer.js';

// ---------------------------------------------------------------- amqplib (reference implementation)
// amqplib's package "exports" hides lib/, so load the files by path next to its entry point.
const require = createRequire(import.meta.url);
const amqplibDir = dirname(require.resolve('amqplib'));

export interface AmqplibCodec {
  encodeTable(buf: Buffer, val: unknown, offset: number): number;
  decodeFields(slice: Buffer): Record<string, unknown>;
}
export interface AmqplibDefs {
  encodeMethod(id: number, channel: number, fields: Record<string, unknown>): Buffer;
  decode(id: number, buf: Buffer): Record<string, unknown>;
  encodeProperties(classId: number, channel: number, size: number, fields: Record<string, unknown>): Buffer;
  info(id: number): { name: string; args: { name: string; type: string }[] };
}
export const amqplibCodec = require(join(amqplibDir, 'lib', 'codec.js')) as AmqplibCodec;
export const amqplibDefs = require(join(amqplibDir, 'lib', 'defs.js')) as AmqplibDefs;

/** amqplib's encoding of a field table (length-prefixed), as a fresh buffer. */
export function amqplibTable(val: unknown): Buffer {
  const buf = Buffer.alloc(256 * 1024);
  const n = amqplibCodec.encodeTable(buf, val, 0);
  return Buffer.from(buf.subarray(0, n));
}

/** The payload of a whole frame amqplib produced (drops the 7-byte header and the end octet). */
export function framePayload(frame: Buffer): Buffer {
  if (frame[frame.length - 1] !== 0xce) throw new Error('not a frame');
  if (frame.readUInt32BE(3) !== frame.length - 8) throw new Error('bad frame size');
  return frame.subarray(7, frame.length - 1);
}

const AMQPLIB_TYPE: Record<string, string> = {
  b: 'int8',
  B: 'uint8',
  s: 'int16',
  u: 'uint16',
  I: 'int32',
  i: 'uint32',
  l: 'int64',
  f: 'float',
  d: 'double',
  T: 'timestamp',
  D: 'decimal',
};

/** Our field value → the value amqplib needs to produce the same bytes (its `{'!': type}` trapdoor). */
export function toAmqplibEncodable(v: FieldValue): unknown {
  if (v instanceof Typed) {
    const t = AMQPLIB_TYPE[v.type];
    if (t === undefined) throw new Error(`no amqplib spelling for ${v.type}`);
    if (v.type === 'D') {
      const d = v.value as { scale: number; value: number };
      return { '!': t, value: { places: d.scale, digits: d.value } };
    }
    return { '!': t, value: v.value };
  }
  if (typeof v === 'number') return { '!': 'int32', value: v };
  if (Array.isArray(v)) return v.map(toAmqplibEncodable);
  if (v === null || typeof v !== 'object' || Buffer.isBuffer(v)) return v;
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toAmqplibEncodable(x)]));
}

/** Our field value → what amqplib's decoder returns for the same bytes. */
export function toAmqplibDecoded(v: FieldValue): unknown {
  if (v instanceof Typed) {
    switch (v.type) {
      case 'l':
        return Number(v.value as number | bigint);
      case 'T':
        return { '!': 'timestamp', value: v.value };
      case 'D': {
        const d = v.value as { scale: number; value: number };
        return { '!': 'decimal', value: { places: d.scale, digits: d.value } };
      }
      default:
        return v.value;
    }
  }
  if (Array.isArray(v)) return v.map(toAmqplibDecoded);
  if (v === null || typeof v !== 'object' || Buffer.isBuffer(v)) return v;
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toAmqplibDecoded(x)]));
}

// ---------------------------------------------------------------- arbitraries

/** Cuts a string to at most `max` UTF-8 bytes on a code point boundary. */
export function utf8Trunc(s: string, max: number): string {
  let bytes = 0;
  let out = '';
  for (const ch of s) {
    const n = Buffer.byteLength(ch);
    if (bytes + n > max) break;
    bytes += n;
    out += ch;
  }
  return out;
}

/**
 * Any Unicode scalar value (no lone surrogates), as a string unit. Built by hand:
 * fast-check's `unit: 'binary'` costs about a second to construct.
 */
const codePointArb = fc
  .integer({ min: 0, max: 0x10ffff - 0x800 })
  .map((c) => String.fromCodePoint(c >= 0xd800 ? c + 0x800 : c));
export const unicodeArb = (maxLength: number): fc.Arbitrary<string> => fc.string({ unit: codePointArb, maxLength });

/** A shortstr: any valid Unicode, at most 255 UTF-8 bytes, with the 255-byte edge cases. */
export const shortstrArb: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 40 }),
  unicodeArb(255).map((s) => utf8Trunc(s, 255)),
  fc.constantFrom('', 'x'.repeat(255), '€'.repeat(85), 'amq.gen-' + 'é'.repeat(123)),
);

export const longstrArb: fc.Arbitrary<Buffer> = fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a));

export const longlongArb: fc.Arbitrary<number> = fc.oneof(
  fc.maxSafeNat(),
  fc.constantFrom(0, 1, 0xffffffff, 0x100000000, Number.MAX_SAFE_INTEGER),
);

const int64Max = 2n ** 63n - 1n;
const safeMax = BigInt(Number.MAX_SAFE_INTEGER);

/** Table keys; `hostile` adds keys that trip naive JS objects or amqplib's type trapdoor. */
export function keyArb(hostile: boolean): fc.Arbitrary<string> {
  const special = hostile ? ['__proto__', 'constructor', 'toString', '!', ''] : ['x-death', 'x-match', ''];
  const any = fc.oneof({ weight: 1, arbitrary: fc.constantFrom(...special) }, { weight: 6, arbitrary: shortstrArb });
  // fast-check itself likes to generate '__proto__'; keep it out unless asked for.
  return hostile ? any : any.filter((k) => k !== '__proto__' && k !== '!');
}

/** Field values that decode back to exactly themselves (Typed where the JS type does not imply the AMQP type). */
export const typedArb: fc.Arbitrary<Typed> = fc.oneof(
  fc.integer({ min: -128, max: 127 }).map((v) => new Typed('b', v)),
  fc.integer({ min: 0, max: 255 }).map((v) => new Typed('B', v)),
  fc.integer({ min: -32768, max: 32767 }).map((v) => new Typed('s', v)),
  fc.integer({ min: 0, max: 65535 }).map((v) => new Typed('u', v)),
  fc.integer({ min: 0, max: 0xffffffff }).map((v) => new Typed('i', v)),
  fc.maxSafeInteger().map((v) => new Typed('l', v)),
  fc
    .oneof(fc.bigInt({ min: safeMax + 1n, max: int64Max }), fc.bigInt({ min: -int64Max - 1n, max: -safeMax - 1n }))
    .map((v) => new Typed('l', v)),
  fc.float().map((v) => new Typed('f', v)),
  fc.double().map((v) => new Typed('d', v)),
  fc
    .record({ scale: fc.integer({ min: 0, max: 255 }), value: fc.integer({ min: 0, max: 0xffffffff }) })
    .map((v) => new Typed('D', v)),
  fc.maxSafeNat().map((v) => new Typed('T', v)),
);

export const plainLeafArb: fc.Arbitrary<FieldValue> = fc.oneof(
  fc.boolean(),
  unicodeArb(40),
  fc.integer(), // int32: encoded as 'I', decoded as a plain number
  fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)),
  fc.constant(null),
);

export interface TableArbOptions {
  typed?: boolean;
  hostileKeys?: boolean;
  maxDepth?: number;
  maxKeys?: number;
}

/** Arbitrary nested field tables (and their values) that round-trip exactly. */
export function tableArbs(opts: TableArbOptions = {}): { table: fc.Arbitrary<FieldTable>; value: fc.Arbitrary<FieldValue> } {
  const { typed = true, hostileKeys = false, maxDepth = 3, maxKeys = 6 } = opts;
  const leaf: fc.Arbitrary<FieldValue> = typed ? fc.oneof(plainLeafArb, typedArb) : plainLeafArb;
  const key = keyArb(hostileKeys);
  const arbs = fc.letrec<{ value: FieldValue; array: FieldValue[]; table: FieldTable }>((tie) => ({
    value: fc.oneof({ maxDepth, depthIdentifier: 'field' }, leaf, tie('array'), tie('table')),
    array: fc.array(tie('value'), { maxLength: 4, depthIdentifier: 'field' }),
    table: fc
      .uniqueArray(fc.tuple(key, tie('value')), { maxLength: maxKeys, selector: (e) => e[0], depthIdentifier: 'field' })
      // Object.fromEntries defines own properties, so '__proto__' stays an ordinary key.
      .map((entries) => Object.fromEntries(entries) as FieldTable),
  }));
  return { table: arbs.table, value: arbs.value };
}

// ---------------------------------------------------------------- small utilities

/** Runs `fn` against a fresh Writer and returns the bytes it wrote. */
export function encode(fn: (w: Writer) => void, slab = 1024): Buffer {
  const w = new Writer(slab);
  fn(w);
  return w.take();
}

export function hex(s: string): Buffer {
  return Buffer.from(s.replace(/\s+/g, ''), 'hex');
}

/** Catches what `fn` throws (fails if it does not throw). */
export function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected an exception');
}

// ---------------------------------------------------------------- the vendored spec

export interface SpecArg {
  name: string;
  type?: string;
  domain?: string;
}
export interface SpecMethod {
  name: string;
  id: number;
  arguments: SpecArg[];
  content?: boolean;
  synchronous?: boolean;
}
export interface SpecClass {
  name: string;
  id: number;
  methods: SpecMethod[];
  properties?: SpecArg[];
}
export interface Spec {
  domains: [string, string][];
  constants: { name: string; value: number; class?: string }[];
  classes: SpecClass[];
}

export const SPEC_PATH = fileURLToPath(new URL('../../amqp/spec/amqp-rabbitmq-0.9.1.json', import.meta.url));
export const spec = JSON.parse(readFileSync(SPEC_PATH, 'utf8')) as Spec;
const domainType = new Map(spec.domains);
export const argType = (a: SpecArg): string => a.type ?? domainType.get(a.domain!)!;
export const camel = (s: string): string => s.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
export const pascal = (s: string): string => camel(s).replace(/^./, (c) => c.toUpperCase());

export interface SpecMethodInfo {
  cls: SpecClass;
  m: SpecMethod;
  id: number;
  key: string;
  name: string;
}
export const SPEC_METHODS: SpecMethodInfo[] = spec.classes.flatMap((cls) =>
  cls.methods.map((m) => ({
    cls,
    m,
    id: ((cls.id << 16) | m.id) >>> 0,
    key: pascal(cls.name) + pascal(m.name),
    name: `${cls.name}.${m.name}`,
  })),
);
