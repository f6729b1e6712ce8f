import type { FieldTable } from './table.js';
import { writeTable } from './table.js';

/**
 * A growable output slab. Frames are encoded in place and sizes back-patched,
 * so a batch of frames becomes one buffer and one socket write.
 */
export class Writer {
  buf: Buffer;
  /** Start of bytes not yet handed out by detach(); bytes before it may still be in flight. */
  start = 0;
  pos = 0;
  /** Chunks queued ahead of the slab's bytes (detached slab parts and external buffers). */
  private chunks: Buffer[] = [];

  constructor(private readonly slabSize = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(slabSize);
  }

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    // Bytes before `start` belong to earlier writes still queued on a socket: never move them.
    // Live bytes keep their offsets in the new slab, so positions held for back-patching
    // (table and frame sizes) stay valid across the switch.
    let size = Math.max(this.slabSize, 1024);
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, this.start, this.start, this.pos);
    this.buf = next;
  }

  get length(): number {
    return this.pos - this.start + this.chunks.length;
  }

  /**
   * Hands out the bytes written since the last detach as a view, without copying.
   * The slab is only ever appended to, so the view stays valid while a socket holds it.
   */
  detach(): Buffer {
    const out = this.buf.subarray(this.start, this.pos);
    this.start = this.pos;
    // A slab grown for a big write is let go at once: keeping it would keep growing it.
    if (this.buf.length > this.slabSize || this.buf.length - this.pos < this.slabSize >>> 2) {
      this.buf = Buffer.allocUnsafe(this.slabSize);
      this.start = this.pos = 0;
    }
    return out;
  }

  /**
   * Queues a large buffer by reference instead of copying it into the slab. What was
   * written before it becomes its own chunk; takeChunks() returns everything in order.
   * The buffer must not change until it has been written.
   */
  external(b: Buffer): void {
    if (this.pos > this.start) this.chunks.push(this.detach());
    this.chunks.push(b);
  }

  /** Everything written since the last call, as buffers to write in order. */
  takeChunks(): Buffer[] {
    if (this.chunks.length === 0) return this.pos > this.start ? [this.detach()] : [];
    const out = this.chunks;
    this.chunks = [];
    if (this.pos > this.start) out.push(this.detach());
    return out;
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }

  i8(v: number): void {
    this.ensure(1);
    this.buf.writeInt8(v, this.pos++);
  }

  u16(v: number): void {
    this.ensure(2);
    this.buf.writeUInt16BE(v, this.pos);
    this.pos += 2;
  }

  i16(v: number): void {
    this.ensure(2);
    this.buf.writeInt16BE(v, this.pos);
    this.pos += 2;
  }

  u32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32BE(v >>> 0, this.pos);
    this.pos += 4;
  }

  i32(v: number): void {
    this.ensure(4);
    this.buf.writeInt32BE(v, this.pos);
    this.pos += 4;
  }

  u64(v: number): void {
    this.ensure(8);
    const hi = Math.floor(v / 0x100000000);
    this.buf.writeUInt32BE(hi >>> 0, this.pos);
    this.buf.writeUInt32BE(v >>> 0, this.pos + 4);
    this.pos += 8;
  }

  i64(v: number | bigint): void {
    this.ensure(8);
    this.buf.writeBigInt64BE(BigInt(v), this.pos);
    this.pos += 8;
  }

  f32(v: number): void {
    this.ensure(4);
    this.buf.writeFloatBE(v, this.pos);
    this.pos += 4;
  }

  f64(v: number): void {
    this.ensure(8);
    this.buf.writeDoubleBE(v, this.pos);
    this.pos += 8;
  }

  shortstr(s: string): void {
    const len = Buffer.byteLength(s);
    if (len > 255) throw new RangeError(`shortstr longer than 255 bytes: ${len}`);
    this.ensure(1 + len);
    this.buf[this.pos] = len;
    this.buf.write(s, this.pos + 1, len, 'utf8');
    this.pos += 1 + len;
  }

  longstr(s: string | Buffer): void {
    if (typeof s === 'string') {
      const len = Buffer.byteLength(s);
      this.ensure(4 + len);
      this.buf.writeUInt32BE(len, this.pos);
      this.buf.write(s, this.pos + 4, len, 'utf8');
      this.pos += 4 + len;
    } else {
      this.ensure(4 + s.length);
      this.buf.writeUInt32BE(s.length, this.pos);
      s.copy(this.buf, this.pos + 4);
      this.pos += 4 + s.length;
    }
  }

  bytes(b: Buffer, start = 0, end = b.length): void {
    const n = end - start;
    this.ensure(n);
    b.copy(this.buf, this.pos, start, end);
    this.pos += n;
  }

  table(t: FieldTable | undefined | null): void {
    writeTable(this, t ?? EMPTY_TABLE);
  }

  /** Takes the encoded bytes out as an owned buffer and resets the writer. */
  take(): Buffer {
    // With external chunks queued (large bodies), join them: only off the hot path.
    if (this.chunks.length > 0) return Buffer.concat(this.takeChunks());
    const out = Buffer.allocUnsafe(this.pos - this.start);
    this.buf.copy(out, 0, this.start, this.pos);
    this.pos = this.start;
    return out;
  }
}

const EMPTY_TABLE: FieldTable = Object.freeze({}) as FieldTable;
