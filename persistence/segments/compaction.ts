/**
 * Compaction's file image: the live records of a run of adjacent segments, in order, with
 * released slots dropped (a partly released record is rewritten with its live-slot list,
 * so the new file needs no ack file). The store writes the image to a temporary file,
 * syncs it and renames it over the first segment of the run (see docs/persistence.md).
 */
import { crc32c } from './crc32c.js';
import { ACK_ENTRY_BYTES, ACK_HEADER_BYTES, FLAG_SLOT_LIST, RECORD_HEADER_BYTES, SEGMENT_HEADER_BYTES, align8, makeId, writeSegmentHeader } from './format.js';
import type { StoreFs, StoreLogger } from './fs-api.js';
import { closeQuiet, readFully, unlinkQuiet, writeFully } from './io.js';
import { Segment } from './segment.js';
import type { StoreStats } from './store-types.js';

export interface CompactedImage {
  /** The new file's bytes, header included, up to `size`. */
  buf: Buffer;
  size: number;
  /** Its index: each record keeps its original id as key, so the broker's ids stay valid. */
  segment: Segment;
}

/**
 * The first run of adjacent mostly-dead segments worth rewriting, as [first, last]
 * indexes, or null. A segment qualifies when it is complete on disk, not active, and at
 * most `liveRatio` of its record bytes are live; a run stops before it would outgrow one
 * segment. A lone segment is worth it only when a quarter of a segment would be freed.
 */
export function pickCompactionRun(
  segs: readonly Segment[],
  active: Segment | null,
  liveRatio: number,
  segmentBytes: number,
): [number, number] | null {
  const candidate = (s: Segment): boolean =>
    s !== active && !s.doomed && s.written === s.size && s.live > 0 && s.liveBytes <= liveRatio * s.recordBytes;
  for (let i = 0; i < segs.length; i++) {
    if (!candidate(segs[i]!)) continue;
    let j = i;
    let live = segs[i]!.liveBytes;
    while (j + 1 < segs.length && candidate(segs[j + 1]!) && live + segs[j + 1]!.liveBytes <= segmentBytes) {
      j++;
      live += segs[j]!.liveBytes;
    }
    const first = segs[i]!;
    if (j > i || first.size - first.liveBytes >= segmentBytes / 4) return [i, j];
  }
  return null;
}

/**
 * Rewrites a run's live records, in order, into one file named after the first segment
 * (its generation + 1), which replaces it by rename; the others and every ack file of the
 * run are deleted. Ids do not change: the new file keeps each record's original id as its
 * key (the relocation table), so the broker's ids stay valid until the next restart, when
 * recovery hands out ids by position again. Returns the new segment, or null (logged) when
 * the rewrite failed and the run was left as it was. The caller syncs the directory.
 */
export function replaceWithCompacted(fs: StoreFs, run: readonly Segment[], logger: StoreLogger, stats: StoreStats): Segment | null {
  const first = run[0]!;
  const tmp = first.path + '.tmp';
  let fd = -1;
  let image: CompactedImage;
  try {
    image = buildCompacted(fs, run, logger);
    fd = fs.openSync(tmp, 'w+');
    writeFully(fs, fd, image.buf, 0, image.size, 0);
    fs.fdatasyncSync(fd);
    stats.fdatasyncs++;
    fs.renameSync(tmp, first.path);
  } catch (err) {
    closeQuiet(fs, fd);
    unlinkQuiet(fs, tmp);
    logger.error({ err, file: first.path }, 'segment store: compaction failed; segments left as they were');
    return null;
  }
  const out = image.segment;
  out.fd = fd;
  out.size = out.written = image.size;
  for (const s of run) {
    closeQuiet(fs, s.fd);
    closeQuiet(fs, s.ackFd);
    s.fd = s.ackFd = -1;
    s.doomed = true;
    if (s !== first) unlinkQuiet(fs, s.path);
    const e = unlinkQuiet(fs, s.ackPath);
    if (e !== null) logger.warn({ err: e, file: s.ackPath }, 'segment store: could not delete ack file');
  }
  stats.compactions++;
  stats.segmentsDeleted += run.length - 1;
  return out;
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
