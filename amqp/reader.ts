import { isUtf8 } from 'node:buffer';
import { FrameError } from './errors.js';

/** Why a method's fields, well framed, were still refused (Reader.fieldError): the first such field wins. */
export const FIELD_OK = 0;
export const FIELD_BAD_UTF8 = 1;
export const FIELD_BAD_TABLE = 2;

/**
 * Cursor over a region of a buffer. One instance is reused for every frame of a
 * connection, so decoding allocates only the values it returns.
 */
export class Reader {
  buf: Buffer;
  pos: number;
  end: number;
  /**
   * Set by checkedShortstr() and readMethodTable() instead of throwing, so that the whole
   * layout is checked first and the first bad field is reported, in RabbitMQ's order.
   */
  fieldError = FIELD_OK;

  constructor(buf: Buffer = Buffer.alloc(0), pos = 0, end = buf.length) {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
  }

  reset(buf: Buffer, pos: number, end: number): this {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
    this.fieldError = FIELD_OK;
    return this;
  }

  need(n: number): void {
    if (this.pos + n > this.end) throw new FrameError('frame too short for its content', 502);
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }

  i8(): number {
    this.need(1);
    return this.buf.readInt8(this.pos++);
  }

  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  i16(): number {
    this.need(2);
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  i32(): number {
    this.need(4);
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  /** Unsigned 64-bit as a number; exact below 2^53, which covers delivery tags and sizes. */
  u64(): number {
    this.need(8);
    const hi = this.buf.readUInt32BE(this.pos);
    const lo = this.buf.readUInt32BE(this.pos + 4);
    this.pos += 8;
    return hi * 0x100000000 + lo;
  }

  i64(): number | bigint {
    this.need(8);
    const v = this.buf.readBigInt64BE(this.pos);
    this.pos += 8;
    return v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v;
  }

  f32(): number {
    this.need(4);
    const v = this.buf.readFloatBE(this.pos);
    this.pos += 4;
    return v;
  }

  f64(): number {
    this.need(8);
    const v = this.buf.readDoubleBE(this.pos);
    this.pos += 8;
    return v;
  }

  shortstr(): string {
    const len = this.u8();
    this.need(len);
    const s = this.buf.toString('utf8', this.pos, this.pos + len);
    this.pos += len;
    return s;
  }

  /**
   * A shortstr that must be valid UTF-8 (those of methods without content, as RabbitMQ
   * checks them). An invalid one sets fieldError; different invalid byte strings must never
   * decode silently into the same name.
   */
  checkedShortstr(): string {
    const len = this.u8();
    this.need(len);
    const p = this.pos;
    const s = this.buf.toString('utf8', p, p + len);
    this.pos += len;
    // One UTF-16 unit per byte means ASCII, unless a byte was replaced by U+FFFD.
    const bad = s.length === len ? s.includes('\uFFFD') : !isUtf8(this.buf.subarray(p, p + len));
    if (bad && this.fieldError === FIELD_OK) this.fieldError = FIELD_BAD_UTF8;
    return s;
  }

  longstrBytes(): Buffer {
    const len = this.u32();
    this.need(len);
    // Copy: the frame's chunk must not be pinned by a long-lived value.
    const b = Buffer.from(this.buf.subarray(this.pos, this.pos + len));
    this.pos += len;
    return b;
  }

  longstr(): string {
    const len = this.u32();
    this.need(len);
    const s = this.buf.toString('utf8', this.pos, this.pos + len);
    this.pos += len;
    return s;
  }
}
