/**
 * The on-disk format of the segment store: ids, file names, the segment header, the
 * record layout and ack entries. docs/persistence.md describes it byte by byte.
 *
 * All integers are little-endian. Records start on 8-byte boundaries, which gives the
 * id 3 more bits of segment number.
 */
import { crc32c } from './crc32c.js';

// ---------------------------------------------------------------------------- ids
/** id = segment * 2^24 + offset / 8: the offset field covers segments up to 128 MiB. */
export const OFFSET_UNITS = 2 ** 24;
export const ALIGN = 8;
/** Largest configurable segment size: record start offsets must fit the id's offset field. */
export const MAX_SEGMENT_BYTES = OFFSET_UNITS * ALIGN;
/** Segment numbers run 1 .. MAX_SEGMENT (2^29 - 1), so that every id is a safe integer. */
export const MAX_SEGMENT = 2 ** 29 - 1;

/** The id of the record that starts at byte `offset` of segment `segment`. */
export function makeId(segment: number, offset: number): number {
  return segment * OFFSET_UNITS + offset / ALIGN;
}
/** Segment number of an id. */
export function segmentOf(id: number): number {
  return Math.floor(id / OFFSET_UNITS);
}
/** Byte offset of the record in its segment (for an id handed out by recovery or append). */
export function offsetOf(id: number): number {
  return (id % OFFSET_UNITS) * ALIGN;
}

export function align8(n: number): number {
  return (n + 7) & ~7;
}

// ---------------------------------------------------------------------- file names
const NAME_DIGITS = 10;
export function segmentFileName(n: number): string {
  return `${String(n).padStart(NAME_DIGITS, '0')}.seg`;
}
export function ackFileName(n: number): string {
  return `${String(n).padStart(NAME_DIGITS, '0')}.ack`;
}
export const SEGMENT_NAME = /^(\d{10})\.seg$/;
export const ACK_NAME = /^(\d{10})\.ack$/;
export const TMP_NAME = /\.tmp$/;
export const CORRUPT_SUFFIX = '.corrupt';

// ------------------------------------------------------------------ segment header
/**
 *  0  8  magic "WRNSEG\0\x01"
 *  8  4  lo   segment number (the file name)
 * 12  4  hi   last segment number this file covers (> lo after compaction merged files)
 * 16  4  gen  generation of this file name (+1 at each compaction into it)
 * 20  8  reserved, 0
 * 28  4  CRC-32C of bytes 0..28
 */
export const SEGMENT_HEADER_BYTES = 32;
const SEG_MAGIC = Buffer.from('WRNSEG\0\x01', 'latin1');

export interface SegmentHeader {
  lo: number;
  hi: number;
  gen: number;
}

export function writeSegmentHeader(buf: Uint8Array, at: number, lo: number, hi: number, gen: number): void {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  buf.set(SEG_MAGIC, at);
  dv.setUint32(at + 8, lo, true);
  dv.setUint32(at + 12, hi, true);
  dv.setUint32(at + 16, gen, true);
  dv.setUint32(at + 20, 0, true);
  dv.setUint32(at + 24, 0, true);
  dv.setUint32(at + 28, crc32c(buf, at, at + 28), true);
}

/** The header at the start of `buf`, or null if it is short, not ours or corrupt. */
export function readSegmentHeader(buf: Uint8Array, length: number): SegmentHeader | null {
  if (length < SEGMENT_HEADER_BYTES) return null;
  for (let i = 0; i < 8; i++) if (buf[i] !== SEG_MAGIC[i]) return null;
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (dv.getUint32(28, true) !== crc32c(buf, 0, 28)) return null;
  const lo = dv.getUint32(8, true);
  const hi = dv.getUint32(12, true);
  if (lo < 1 || hi < lo) return null;
  return { lo, hi, gen: dv.getUint32(16, true) };
}

// -------------------------------------------------------------------------- records
/**
 *  0  4  CRC-32C of bytes [4, 16 + L + 2K) (the rest of the header, payload and slot list)
 *  4  4  L     payload length
 *  8  2  N     refs: number of reference slots the record was appended with (1..65535)
 * 10  2  flags bit 0: a live-slot list follows the payload (written by compaction)
 * 12  2  K     number of slots in that list (0 when flags bit 0 is clear)
 * 14  2  reserved, 0
 * 16  L  payload
 * 16+L 2K  live slots (u16 each), ascending
 * then zero padding to the next multiple of 8 (not checksummed)
 */
export const RECORD_HEADER_BYTES = 16;
export const FLAG_SLOT_LIST = 1;
export const MAX_REFS = 0xffff;

export function recordBytes(payloadLength: number, slotCount: number): number {
  return align8(RECORD_HEADER_BYTES + payloadLength + 2 * slotCount);
}

/** Why a record could not be read during a scan. */
export type BadRecord = 'short' | 'header' | 'checksum';

/**
 * Checks the record at `pos` in `buf[0, end)`. Returns its total (padded) size, or the
 * reason it is not a valid record.
 */
export function checkRecord(buf: Buffer, pos: number, end: number): number | BadRecord {
  if (pos + RECORD_HEADER_BYTES > end) return 'short';
  const len = buf.readUInt32LE(pos + 4);
  const refs = buf.readUInt16LE(pos + 8);
  const flags = buf.readUInt16LE(pos + 10);
  const k = buf.readUInt16LE(pos + 12);
  if (refs === 0 || flags > FLAG_SLOT_LIST || buf.readUInt16LE(pos + 14) !== 0) return 'header';
  if (flags === 0 ? k !== 0 : k === 0 || k > refs) return 'header';
  const dataEnd = pos + RECORD_HEADER_BYTES + len + 2 * k;
  if (dataEnd > end) return 'short';
  if (buf.readUInt32LE(pos) !== crc32c(buf, pos + 4, dataEnd)) return 'checksum';
  return align8(dataEnd - pos);
}

// ------------------------------------------------------------------------- ack files
/**
 * Ack file header (16 bytes): magic "WRNACK\0\x01", u32 segment number, u32 generation.
 * Then 8-byte entries: u32 record offset, u16 slot, u16 check (low 16 bits of the
 * CRC-32C of the first 6 bytes).
 */
export const ACK_HEADER_BYTES = 16;
export const ACK_ENTRY_BYTES = 8;
const ACK_MAGIC = Buffer.from('WRNACK\0\x01', 'latin1');

export function writeAckHeader(buf: Buffer, at: number, seg: number, gen: number): void {
  buf.set(ACK_MAGIC, at);
  buf.writeUInt32LE(seg, at + 8);
  buf.writeUInt32LE(gen, at + 12);
}

export function ackHeaderMatches(buf: Buffer, length: number, seg: number, gen: number): boolean {
  if (length < ACK_HEADER_BYTES) return false;
  for (let i = 0; i < 8; i++) if (buf[i] !== ACK_MAGIC[i]) return false;
  return buf.readUInt32LE(8) === seg && buf.readUInt32LE(12) === gen;
}

export function writeAckEntry(buf: Buffer, at: number, offset: number, slot: number): void {
  buf.writeUInt32LE(offset, at);
  buf.writeUInt16LE(slot, at + 4);
  buf.writeUInt16LE(crc32c(buf, at, at + 6) & 0xffff, at + 6);
}

export function ackEntryValid(buf: Buffer, at: number): boolean {
  return buf.readUInt16LE(at + 6) === (crc32c(buf, at, at + 6) & 0xffff);
}
