import { FrameError } from './errors.js';
import { FIELD_BAD_TABLE, FIELD_OK, type Reader } from './reader.js';
import type { Writer } from './writer.js';

/**
 * A field value whose AMQP type is not implied by its JS type: integers of other
 * widths, floats, decimals and timestamps. Keeping the type lets a table be
 * re-encoded exactly as it arrived (x-death `count` stays a long, `time` a timestamp).
 */
export class Typed {
  constructor(
    public readonly type: string,
    public readonly value: unknown,
  ) {}
}

export type FieldValue = boolean | number | string | bigint | Buffer | null | Typed | FieldValue[] | FieldTable;
export interface FieldTable {
  [key: string]: FieldValue;
}

/** A decimal as AMQP carries it: value * 10^-scale. */
export interface Decimal {
  scale: number;
  value: number;
}

export function timestamp(seconds: number): Typed {
  return new Typed('T', seconds);
}

export function long(v: number | bigint): Typed {
  return new Typed('l', v);
}

/** The JS value behind a field, with Typed unwrapped (for comparisons). */
export function plain(v: FieldValue): unknown {
  return v instanceof Typed ? v.value : v;
}

export function readTable(r: Reader): FieldTable {
  const len = r.u32();
  r.need(len);
  const end = r.pos + len;
  const outerEnd = r.end;
  r.end = end;
  const t: FieldTable = {};
  while (r.pos < end) {
    const key = r.shortstr();
    const value = readFieldValue(r);
    // '__proto__' is an ordinary key on the wire; assigning it would replace the prototype instead.
    if (key === '__proto__') Object.defineProperty(t, key, { value, enumerable: true, writable: true, configurable: true });
    else t[key] = value;
  }
  r.end = outerEnd;
  return t;
}

/**
 * A method's table field: its length must fit the frame (else the method cannot be
 * decoded), but a malformed body (an unknown type, a value running past the table) only
 * sets the reader's fieldError and reads as {}, so that the rest of the layout is still
 * checked, as RabbitMQ parses table bodies after matching the whole method.
 */
export function readMethodTable(r: Reader): FieldTable {
  const len = r.u32();
  r.need(len);
  const start = r.pos - 4;
  const end = r.pos + len;
  const outerEnd = r.end;
  try {
    r.pos = start;
    return readTable(r);
  } catch (err) {
    if (!(err instanceof FrameError)) throw err;
    if (r.fieldError === FIELD_OK) r.fieldError = FIELD_BAD_TABLE;
    r.pos = end;
    r.end = outerEnd;
    return {};
  }
}

function readArray(r: Reader): FieldValue[] {
  const len = r.u32();
  r.need(len);
  const end = r.pos + len;
  const outerEnd = r.end;
  r.end = end;
  const a: FieldValue[] = [];
  while (r.pos < end) a.push(readFieldValue(r));
  r.end = outerEnd;
  return a;
}

export function readFieldValue(r: Reader): FieldValue {
  const type = r.u8();
  switch (type) {
    case 0x74: // t
      return r.u8() !== 0;
    case 0x62: // b
      return new Typed('b', r.i8());
    case 0x42: // B
      return new Typed('B', r.u8());
    case 0x73: // s (RabbitMQ: signed 16-bit)
      return new Typed('s', r.i16());
    case 0x75: // u
      return new Typed('u', r.u16());
    case 0x49: // I
      return r.i32();
    case 0x69: // i
      return new Typed('i', r.u32());
    case 0x6c: // l
      return new Typed('l', r.i64());
    case 0x66: // f
      return new Typed('f', r.f32());
    case 0x64: // d
      return new Typed('d', r.f64());
    case 0x44: {
      // D
      const scale = r.u8();
      const value = r.u32();
      return new Typed('D', { scale, value } satisfies Decimal);
    }
    case 0x53: // S
      return r.longstr();
    case 0x41: // A
      return readArray(r);
    case 0x54: // T
      return new Typed('T', r.u64());
    case 0x46: // F
      return readTable(r);
    case 0x56: // V
      return null;
    case 0x78: // x
      return r.longstrBytes();
    default:
      throw new FrameError(`unknown field type '${String.fromCharCode(type)}'`, 502);
  }
}

export function writeTable(w: Writer, t: FieldTable): void {
  w.ensure(4);
  const sizeAt = w.pos;
  w.pos += 4;
  for (const key in t) {
    const v = t[key];
    if (v === undefined) continue;
    w.shortstr(key);
    writeFieldValue(w, v);
  }
  w.buf.writeUInt32BE(w.pos - sizeAt - 4, sizeAt);
}

function writeArray(w: Writer, a: readonly FieldValue[]): void {
  w.ensure(4);
  const sizeAt = w.pos;
  w.pos += 4;
  for (const v of a) writeFieldValue(w, v);
  w.buf.writeUInt32BE(w.pos - sizeAt - 4, sizeAt);
}

export function writeFieldValue(w: Writer, v: FieldValue): void {
  switch (typeof v) {
    case 'boolean':
      w.u8(0x74);
      w.u8(v ? 1 : 0);
      return;
    case 'string':
      w.u8(0x53);
      w.longstr(v);
      return;
    case 'number':
      if (Number.isInteger(v) && v >= -0x80000000 && v <= 0x7fffffff) {
        w.u8(0x49);
        w.i32(v);
      } else if (Number.isSafeInteger(v)) {
        w.u8(0x6c);
        w.i64(v);
      } else {
        w.u8(0x64);
        w.f64(v);
      }
      return;
    case 'bigint':
      w.u8(0x6c);
      w.i64(v);
      return;
    case 'undefined':
      w.u8(0x56);
      return;
    case 'object':
      break;
    default:
      throw new TypeError(`cannot encode a ${typeof v} in a field table`);
  }
  if (v === null) {
    w.u8(0x56);
  } else if (Buffer.isBuffer(v)) {
    w.u8(0x78);
    w.longstr(v);
  } else if (Array.isArray(v)) {
    w.u8(0x41);
    writeArray(w, v);
  } else if (v instanceof Typed) {
    writeTyped(w, v);
  } else {
    w.u8(0x46);
    writeTable(w, v as FieldTable);
  }
}

function writeTyped(w: Writer, v: Typed): void {
  const x = v.value;
  w.u8(v.type.charCodeAt(0));
  switch (v.type) {
    case 'b':
      return w.i8(Number(x));
    case 'B':
      return w.u8(Number(x));
    case 's':
      return w.i16(Number(x));
    case 'u':
      return w.u16(Number(x));
    case 'I':
      return w.i32(Number(x));
    case 'i':
      return w.u32(Number(x));
    case 'l':
      return w.i64(x as number | bigint);
    case 'f':
      return w.f32(Number(x));
    case 'd':
      return w.f64(Number(x));
    case 'D': {
      const d = x as Decimal;
      w.u8(d.scale);
      return w.u32(d.value);
    }
    case 'T':
      return w.u64(Number(x));
    case 't':
      return w.u8(x ? 1 : 0);
    case 'S':
      return w.longstr(x as string | Buffer);
    case 'x':
      return w.longstr(x as Buffer);
    case 'V':
      return;
    case 'A':
      return writeArray(w, x as FieldValue[]);
    case 'F':
      return writeTable(w, x as FieldTable);
    default:
      throw new TypeError(`unknown field type '${v.type}'`);
  }
}
