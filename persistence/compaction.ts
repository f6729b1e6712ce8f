/**
 * Compaction's file image: the live records of a run of adjacent segments, in order, with
 * released slots dropped (a partly released record is rewritten with its live-slot list,
 * so the new file needs no ack file). The store writes the image to a temporary file,
 * syncs it and renames it over the first segment of the run (see docs/persistence.md).
 */
import { crc32c } from './crc32c.js';
import { ACK_ENTRY_BYTES, ACK_HEADER_BYTES, FLAG_SLOT_LIST, RECORD_HEADER_BYTES, SEGMENT_HEADER_BYTES, align8, makeId, writeSegmentHeader } from './format.js';
import type { StoreFs, StoreLogger } from './fs-api.js';
import { readFully } from './io.js';
import { Segment } from './segment.js';

export interface CompactedImage {
  /** The new file's bytes, header included, up to `size`. */
  buf: Buffer;
  size: number;
  /** Its index: each record keeps its original id as key, so the broker's ids stay valid. */
  segment: Segment;
}

export function buildCompacted(fs: StoreFs, run: readonly Segment[], logger: StoreLogger): CompactedImage {
  const first = run[0]!;
  const lo = first.lo;
  const hi = run[run.length - 1]!.hi;
  const gen = first.gen + 1;
  const out = new Segment(lo, hi, gen, first.path, first.ackPath, -1, 0);
  out.keys = new Float64Array(out.offs.length);
  let buf: Buffer = Buffer.allocUnsafe(SEGMENT_HEADER_BYTES + run.reduce((n, s) => n + s.liveBytes, 0) + 64);
  writeSegmentHeader(buf, 0, lo, hi, gen);
  let pos = SEGMENT_HEADER_BYTES;
  let inBuf: Buffer = Buffer.allocUnsafe(0);
  const live: number[] = [];
  for (const s of run) {
    if (inBuf.length < s.size) inBuf = Buffer.allocUnsafe(s.size);
    if (readFully(fs, s.fd, inBuf, 0, s.size, 0) !== s.size) throw new Error(`short read of ${s.path}`);
    let acked: Map<number, number[]> | null = null;
    for (let k = 0; k < s.count; k++) {
      const rc = s.rc[k]!;
      const remaining = rc & 0xffff;
      if (remaining === 0) continue;
      const off = s.offs[k]!;
      const len = inBuf.readUInt32LE(off + 4);
      const refs = inBuf.readUInt16LE(off + 8);
      const hasList = (inBuf.readUInt16LE(off + 10) & FLAG_SLOT_LIST) !== 0;
      const kk = inBuf.readUInt16LE(off + 12);
      const before = hasList ? kk : refs;
      let bytes: number;
      let left = remaining;
      if (remaining === before) {
        // Nothing released since it was written: copy verbatim.
        bytes = align8(RECORD_HEADER_BYTES + len + (hasList ? 2 * kk : 0));
        buf = ensure(buf, pos + bytes);
        inBuf.copy(buf, pos, off, off + bytes);
      } else {
        if (acked === null) acked = readAcks(fs, s);
        const rel = acked.get(off);
        live.length = 0;
        if (hasList) {
          for (let q = 0; q < kk; q++) {
            const slot = inBuf.readUInt16LE(off + RECORD_HEADER_BYTES + len + 2 * q);
            if (rel === undefined || !rel.includes(slot)) live.push(slot);
          }
        } else {
          for (let slot = 0; slot < refs; slot++) if (rel === undefined || !rel.includes(slot)) live.push(slot);
        }
        if (live.length !== remaining) {
          logger.warn({ file: s.path, offset: off, remaining, onDisk: live.length }, 'segment store: ack count mismatch');
        }
        if (live.length === 0) continue;
        left = live.length;
        bytes = align8(RECORD_HEADER_BYTES + len + 2 * live.length);
        buf = ensure(buf, pos + bytes);
        buf.writeUInt32LE(len, pos + 4);
        buf.writeUInt16LE(refs, pos + 8);
        buf.writeUInt16LE(FLAG_SLOT_LIST, pos + 10);
        buf.writeUInt16LE(live.length, pos + 12);
        buf.writeUInt16LE(0, pos + 14);
        inBuf.copy(buf, pos + RECORD_HEADER_BYTES, off + RECORD_HEADER_BYTES, off + RECORD_HEADER_BYTES + len);
        const sl = pos + RECORD_HEADER_BYTES + len;
        for (let q = 0; q < live.length; q++) buf.writeUInt16LE(live[q]!, sl + 2 * q);
        const end = sl + 2 * live.length;
        buf.fill(0, end, pos + bytes);
        buf.writeUInt32LE(crc32c(buf, pos + 4, end), pos);
      }
      const key = s.keys !== null ? s.keys[k]! : makeId(s.lo, off);
      out.push(pos, len, refs, left, key);
      pos += bytes;
    }
  }
  return { buf, size: pos, segment: out };
}

/** The released slots recorded in a segment's ack file, by record offset. */
function readAcks(fs: StoreFs, s: Segment): Map<number, number[]> {
  const m = new Map<number, number[]>();
  if (s.ackFd < 0) return m;
  const b = Buffer.allocUnsafe(s.ackSize);
  const got = readFully(fs, s.ackFd, b, 0, s.ackSize, 0);
  for (let p = ACK_HEADER_BYTES; p + ACK_ENTRY_BYTES <= got; p += ACK_ENTRY_BYTES) {
    const off = b.readUInt32LE(p);
    const slot = b.readUInt16LE(p + 4);
    const l = m.get(off);
    if (l === undefined) m.set(off, [slot]);
    else l.push(slot);
  }
  return m;
}

function ensure(buf: Buffer, need: number): Buffer {
  if (need <= buf.length) return buf;
  const b = Buffer.allocUnsafe(Math.max(need, buf.length * 2));
  buf.copy(b);
  return b;
}
