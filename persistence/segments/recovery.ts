/**
 * Start-up: scan the segment files in order, verify every record's checksum, subtract
 * the ack files, truncate a torn tail, and hand each live record to the caller.
 *
 * Work is proportional to the bytes still on disk, which fully-dead segments (deleted)
 * and compaction (mostly-dead segments rewritten) keep close to the live data.
 */
import { join } from 'node:path';
import {
  ACK_ENTRY_BYTES,
  ACK_HEADER_BYTES,
  ACK_NAME,
  CORRUPT_SUFFIX,
  FLAG_SLOT_LIST,
  RECORD_HEADER_BYTES,
  SEGMENT_HEADER_BYTES,
  SEGMENT_NAME,
  TMP_NAME,
  ackEntryValid,
  ackFileName,
  ackHeaderMatches,
  checkRecord,
  makeId,
  readSegmentHeader,
  type BadRecord,
} from './format.js';
import type { StoreFs, StoreLogger } from './fs-api.js';
import { closeQuiet, readFully, unlinkQuiet } from './io.js';
import { Segment } from './segment.js';

/**
 * A live record handed back at open. The same object is reused for every record and
 * `payload` is a view into a read buffer: both are valid only during the callback, so
 * copy what you keep.
 */
export interface RecoveredRecord {
  /** Its id in this run (the position it was found at). */
  id: number;
  payload: Buffer;
  /** The refs it was appended with. */
  refs: number;
  /** Reference slots not yet released, ascending (length = remaining references). */
  slots: number[];
}

/** A torn or corrupt tail that recovery cut off. */
export interface TruncatedTail {
  file: string;
  /** Byte offset of the first bad record; the file now ends here. */
  offset: number;
  /** Bytes removed. */
  droppedBytes: number;
  reason: BadRecord;
}

export interface RecoveryReport {
  /** Segment files kept. */
  segments: number;
  liveRecords: number;
  /** Payload bytes of the live records. */
  liveBytes: number;
  /** Records found whose references were all released (still on disk until their segment goes). */
  deadRecords: number;
  truncated: TruncatedTail[];
  /** Segment files with a bad header, renamed to *.corrupt and ignored. */
  corruptFiles: string[];
  /** Files deleted: empty or fully-acked segments, stale acks, leftovers of compaction. */
  removedFiles: string[];
  durationMs: number;
}

export interface Recovered {
  segments: Segment[];
  nextSegment: number;
  lastId: number;
  report: RecoveryReport;
}

interface Found {
  lo: number;
  hi: number;
  gen: number;
  name: string;
  fd: number;
  size: number;
}

export function recover(
  dir: string,
  fs: StoreFs,
  logger: StoreLogger,
  onRecord: ((rec: RecoveredRecord) => void) | undefined,
): Recovered {
  const t0 = performance.now();
  const report: RecoveryReport = {
    segments: 0,
    liveRecords: 0,
    liveBytes: 0,
    deadRecords: 0,
    truncated: [],
    corruptFiles: [],
    removedFiles: [],
    durationMs: 0,
  };
  const remove = (name: string): void => {
    const err = unlinkQuiet(fs, join(dir, name));
    if (err !== null) logger.warn({ file: name, err }, 'segment store: could not delete file');
    else report.removedFiles.push(name);
  };

  let maxNumber = 0;
  const ackNames = new Map<number, string>();
  const found: Found[] = [];
  let buf: Buffer = Buffer.allocUnsafe(64 * 1024);

  for (const name of fs.readdirSync(dir).sort()) {
    const lead = /^(\d{10})/.exec(name);
    if (lead !== null) maxNumber = Math.max(maxNumber, Number(lead[1]));
    if (TMP_NAME.test(name)) {
      remove(name); // a compaction that did not reach its rename
      continue;
    }
    const ack = ACK_NAME.exec(name);
    if (ack !== null) {
      ackNames.set(Number(ack[1]), name);
      continue;
    }
    const seg = SEGMENT_NAME.exec(name);
    if (seg === null) continue;
    const path = join(dir, name);
    const fd = fs.openSync(path, 'r+');
    const size = fs.fstatSync(fd).size;
    const got = readFully(fs, fd, buf, 0, Math.min(size, SEGMENT_HEADER_BYTES), 0);
    const header = readSegmentHeader(buf, got);
    if (header === null || header.lo !== Number(seg[1])) {
      closeQuiet(fs, fd);
      if (size < SEGMENT_HEADER_BYTES) {
        remove(name); // created, then the crash came before its first write was durable
      } else {
        fs.renameSync(path, path + CORRUPT_SUFFIX);
        report.corruptFiles.push(name);
        logger.error({ file: name }, 'segment store: bad segment header; file renamed to *.corrupt');
      }
      continue;
    }
    maxNumber = Math.max(maxNumber, header.hi);
    found.push({ lo: header.lo, hi: header.hi, gen: header.gen, name, fd, size });
  }

  found.sort((a, b) => a.lo - b.lo);
  const segments: Segment[] = [];
  let coveredTo = 0;
  let lastId = 0;
  const rec: RecoveredRecord = { id: 0, payload: buf.subarray(0, 0), refs: 0, slots: [] };
  const acked = new Map<number, number[]>();

  for (const f of found) {
    if (f.lo <= coveredTo) {
      // Merged into an earlier file by a compaction that crashed before deleting it.
      closeQuiet(fs, f.fd);
      remove(f.name);
      if (ackNames.has(f.lo)) remove(ackNames.get(f.lo)!);
      ackNames.delete(f.lo);
      continue;
    }
    coveredTo = f.hi;
    const ackName = ackFileName(f.lo);
    const seg = new Segment(f.lo, f.hi, f.gen, join(dir, f.name), join(dir, ackName), f.fd, f.size);

    // Acks: offset -> released slots.
    acked.clear();
    if (ackNames.has(f.lo)) {
      ackNames.delete(f.lo);
      const afd = fs.openSync(seg.ackPath, 'r+');
      const asize = fs.fstatSync(afd).size;
      if (buf.length < asize) buf = Buffer.allocUnsafe(asize);
      const got = readFully(fs, afd, buf, 0, asize, 0);
      if (!ackHeaderMatches(buf, got, f.lo, f.gen)) {
        closeQuiet(fs, afd);
        remove(ackName); // belongs to an earlier generation of this file name
      } else {
        const entries = Math.floor((got - ACK_HEADER_BYTES) / ACK_ENTRY_BYTES);
        const end = ACK_HEADER_BYTES + entries * ACK_ENTRY_BYTES;
        for (let p = ACK_HEADER_BYTES; p < end; p += ACK_ENTRY_BYTES) {
          if (!ackEntryValid(buf, p)) continue;
          const off = buf.readUInt32LE(p);
          const slot = buf.readUInt16LE(p + 4);
          const list = acked.get(off);
          if (list === undefined) acked.set(off, [slot]);
          else list.push(slot);
        }
        if (end !== got) fs.ftruncateSync(afd, end); // a torn entry at the end
        seg.ackFd = afd;
        seg.ackSize = end;
      }
    }

    // Records.
    if (buf.length < f.size) buf = Buffer.allocUnsafe(f.size);
    const size = readFully(fs, f.fd, buf, 0, f.size, 0);
    let pos = SEGMENT_HEADER_BYTES;
    while (pos < size) {
      const r = checkRecord(buf, pos, size);
      if (typeof r === 'string') {
        fs.ftruncateSync(f.fd, pos);
        fs.fdatasyncSync(f.fd);
        const t: TruncatedTail = { file: f.name, offset: pos, droppedBytes: size - pos, reason: r };
        report.truncated.push(t);
        logger.warn(t, 'segment store: torn or corrupt tail truncated');
        break;
      }
      const len = buf.readUInt32LE(pos + 4);
      const refs = buf.readUInt16LE(pos + 8);
      const hasList = (buf.readUInt16LE(pos + 10) & FLAG_SLOT_LIST) !== 0;
      const k = buf.readUInt16LE(pos + 12);
      const slots = rec.slots;
      slots.length = 0;
      const released = acked.get(pos);
      if (hasList) {
        const at = pos + RECORD_HEADER_BYTES + len;
        for (let j = 0; j < k; j++) {
          const s = buf.readUInt16LE(at + 2 * j);
          if (released === undefined || !released.includes(s)) slots.push(s);
        }
      } else {
        for (let s = 0; s < refs; s++) if (released === undefined || !released.includes(s)) slots.push(s);
      }
      const id = makeId(f.lo, pos);
      seg.push(pos, len, refs, slots.length, id);
      if (slots.length > 0) {
        report.liveRecords++;
        report.liveBytes += len;
        lastId = id;
        if (onRecord !== undefined) {
          rec.id = id;
          rec.payload = buf.subarray(pos + RECORD_HEADER_BYTES, pos + RECORD_HEADER_BYTES + len);
          rec.refs = refs;
          onRecord(rec);
        }
      } else {
        report.deadRecords++;
      }
      pos += r;
    }
    seg.size = seg.written = Math.min(pos, size);

    if (seg.live === 0) {
      closeQuiet(fs, seg.fd);
      closeQuiet(fs, seg.ackFd);
      remove(f.name);
      if (seg.ackFd >= 0) remove(ackName);
      continue;
    }
    segments.push(seg);
  }

  // Acks whose segment is gone (deleted, or never made durable).
  for (const name of ackNames.values()) remove(name);

  report.segments = segments.length;
  report.durationMs = performance.now() - t0;
  return { segments, nextSegment: maxNumber + 1, lastId, report };
}
