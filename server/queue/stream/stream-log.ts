/**
 * The shape of a stream's log as RabbitMQ's osiris lays it out, kept as numbers: which
 * offsets start a chunk (with the chunk's timestamp), and how the log is cut into segments
 * of about x-stream-max-segment-size-bytes. Retention drops whole segments, oldest first,
 * never the one being written. The messages themselves are in the OffsetIndex.
 *
 *  - A chunk is what osiris writes at once: a message that arrives while the writer is idle
 *    is a chunk of its own, and what arrives meanwhile is the next chunk. Warren's writer is
 *    a turn of the event loop: its first message is a chunk, the rest of the turn another.
 *  - A new segment starts, before a chunk, once the current one has reached the maximum
 *    size. Its first offset holds a tracking snapshot, not a message: offsets skip one there.
 *  - Sizes are estimates of osiris's on-disk bytes (chunk and record headers and the
 *    message as AMQP 1.0 encodes it), not Warren's own.
 */
import { GAP, IN_MEMORY, OffsetIndex } from './offset-index.js';

export const DEFAULT_MAX_SEGMENT_BYTES = 500_000_000;
/** osiris: segment file header, chunk header, record header. */
const SEGMENT_HEADER = 8;
const CHUNK_HEADER = 48;
/** The tracking snapshot chunk each segment but the first starts with. */
const SNAPSHOT_CHUNK = 56;
const RECORD_HEADER = 4;
/** The AMQP 1.0 sections rabbit_msg_record wraps a 0-9-1 message in, besides names, properties and body. */
const MESSAGE_OVERHEAD = 83;

interface Segment {
  /** Its first offset (the tracking snapshot's, but for the first segment). */
  first: number;
  bytes: number;
  /** Timestamp of its last chunk, for max-age. */
  lastTs: number;
  messages: number;
}

/** A recovered message's place, gathered during recovery and laid out once it is done. */
export interface RecoveredEntry {
  offset: number;
  id: number;
  slot: number;
  marks: number;
  ts: number;
  bytes: number;
}

/** Marks stored with each message: it starts a chunk; it is the first message of a segment. */
export const MARK_CHUNK = 1;
export const MARK_SEGMENT = 2;

// ---- the event-loop turn: a chunk boundary.
let turn = 1;
let turnArmed = false;
function endTurn(): void {
  turn++;
  turnArmed = false;
}
function currentTurn(): number {
  if (!turnArmed) {
    turnArmed = true;
    process.nextTick(endTurn);
  }
  return turn;
}

/** osiris's estimated bytes for one message of this many name, property and body bytes. */
export function recordBytes(size: number): number {
  return RECORD_HEADER + MESSAGE_OVERHEAD + size;
}

export class StreamLog {
  readonly index = new OffsetIndex();
  private chunkOffsets: number[] = [];
  private chunkTimes: number[] = [];
  private chunkHead = 0;
  private segments: Segment[] = [{ first: 0, bytes: SEGMENT_HEADER, lastTs: 0, messages: 0 }];
  private chunkTurn = 0;
  private turnMessages = 0;
  maxSegmentBytes = DEFAULT_MAX_SEGMENT_BYTES;
  /** A segment was started since the last retention check. */
  rolled = false;

  get first(): number {
    return this.index.first;
  }

  get next(): number {
    return this.index.next;
  }

  /** Messages in RabbitMQ's sense: every offset from the first to the last (snapshots too). */
  get length(): number {
    return this.index.next - this.index.first;
  }

  /**
   * Takes the next offset for a message of `bytes` (recordBytes) written at `now`, and
   * returns it with its marks (MARK_* bits in the high part: offset * 4 + marks).
   */
  reserve(bytes: number, now: number): number {
    const t = currentTurn();
    let marks = 0;
    if (t !== this.chunkTurn) {
      this.chunkTurn = t;
      this.turnMessages = 1;
      marks = MARK_CHUNK;
    } else if (this.turnMessages++ === 1) {
      marks = MARK_CHUNK;
    }
    let seg = this.segments[this.segments.length - 1]!;
    const ix = this.index;
    if (marks !== 0) {
      // A chunk of several messages that filled the segment: the next chunk starts a new one.
      if (seg.bytes >= this.maxSegmentBytes && seg.messages > 0) seg = this.roll(now);
      this.chunkOffsets.push(ix.next);
      this.chunkTimes.push(now);
      seg.bytes += CHUNK_HEADER;
    }
    if (seg.messages++ === 0 && seg.first > 0) marks |= MARK_SEGMENT;
    seg.bytes += bytes;
    seg.lastTs = now;
    const offset = ix.next;
    ix.put(offset, IN_MEMORY, 0, null);
    // A message written as a chunk of its own that filled the segment: osiris starts the next one at once.
    if (this.turnMessages === 1 && seg.bytes >= this.maxSegmentBytes) this.roll(now);
    return offset * 4 + marks;
  }

  /** Starts a segment: its first offset is a tracking snapshot, not a message. */
  private roll(now: number): Segment {
    const seg: Segment = { first: this.index.next, bytes: SEGMENT_HEADER + SNAPSHOT_CHUNK, lastTs: now, messages: 0 };
    this.segments.push(seg);
    this.index.put(this.index.next, GAP, 0, null);
    this.rolled = true;
    return seg;
  }

  /**
   * Lays out recovered messages (any order). Returns those to let go (repeated offsets,
   * leftovers of a dropped segment) and the anchor to keep, if the log had been emptied
   * by retention (see StreamQueue.applyRetention).
   */
  restore(all: RecoveredEntry[]): { drop: RecoveredEntry[]; anchor: RecoveredEntry | null } {
    if (all.length === 0) return { drop: [], anchor: null };
    all.sort((a, b) => a.offset - b.offset);
    const dup: RecoveredEntry[] = [];
    // A first message that does not start a segment (nor the log) is in a segment retention
    // dropped: only some of its releases reached the disk, or it is the anchor of an emptied
    // log. Its segment goes; with nothing after it, the log continues past its snapshot.
    let i0 = 0;
    if ((all[0]!.marks & MARK_SEGMENT) === 0 && all[0]!.offset > 0) {
      while (i0 < all.length && (all[i0]!.marks & MARK_SEGMENT) === 0) i0++;
      if (i0 === all.length) {
        const anchor = all[all.length - 1]!;
        this.index.reset(anchor.offset + 1);
        this.segments = [{ first: anchor.offset + 1, bytes: SEGMENT_HEADER + SNAPSHOT_CHUNK, lastTs: anchor.ts, messages: 0 }];
        this.index.put(anchor.offset + 1, GAP, 0, null);
        this.chunkOffsets = [];
        this.chunkTimes = [];
        this.chunkHead = 0;
        return { drop: all.slice(0, -1), anchor };
      }
    }
    dup.push(...all.slice(0, i0));
    const entries = all.slice(i0);
    const e0 = entries[0]!;
    const start = (e0.marks & MARK_SEGMENT) !== 0 ? e0.offset - 1 : e0.offset;
    this.index.reset(start);
    this.segments = [{ first: start, bytes: start === e0.offset ? SEGMENT_HEADER : SEGMENT_HEADER + SNAPSHOT_CHUNK, lastTs: e0.ts, messages: 0 }];
    this.chunkOffsets = [];
    this.chunkTimes = [];
    this.chunkHead = 0;
    let prev = -1;
    for (const e of entries) {
      if (e.offset === prev) {
        dup.push(e);
        continue;
      }
      prev = e.offset;
      let seg = this.segments[this.segments.length - 1]!;
      if ((e.marks & MARK_SEGMENT) !== 0 && e !== e0) {
        seg = { first: e.offset - 1, bytes: SEGMENT_HEADER + SNAPSHOT_CHUNK, lastTs: e.ts, messages: 0 };
        this.segments.push(seg);
      }
      // A chunk whose first message was lost (a torn tail) still starts where its rest does.
      const lastChunk = this.chunkOffsets.length > 0 ? this.chunkOffsets[this.chunkOffsets.length - 1]! : -1;
      if ((e.marks & MARK_CHUNK) !== 0 || lastChunk < seg.first) {
        this.chunkOffsets.push(e.offset);
        this.chunkTimes.push(e.ts);
        seg.bytes += CHUNK_HEADER;
      }
      seg.bytes += e.bytes;
      seg.lastTs = e.ts;
      seg.messages++;
      this.index.put(e.offset, e.id, e.slot, null);
    }
    // The last message was a chunk of its own and filled its segment: the next one had started.
    const seg = this.segments[this.segments.length - 1]!;
    const n = this.chunkOffsets.length;
    if (seg.bytes >= this.maxSegmentBytes && n > 0 && this.chunkOffsets[n - 1] === this.index.next - 1) this.roll(seg.lastTs);
    return { drop: dup, anchor: null };
  }

  /** Offset of the last chunk's first message (RabbitMQ's `last`), or next when empty. */
  get lastChunk(): number {
    const n = this.chunkOffsets.length;
    return n > this.chunkHead ? this.chunkOffsets[n - 1]! : this.index.next;
  }

  /** First offset of the first chunk written at or after `ts` (epoch ms); next if none. */
  chunkAtOrAfter(ts: number): number {
    const times = this.chunkTimes;
    let lo = this.chunkHead;
    let hi = times.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (times[mid]! < ts) lo = mid + 1;
      else hi = mid;
    }
    return lo < times.length ? this.chunkOffsets[lo]! : this.index.next;
  }

  /**
   * osiris's retention: whole segments, oldest first, never the one being written: while
   * the log is over `maxBytes`, and while a segment's last chunk is older than `maxAgeMs`.
   * Returns the new first offset (unchanged when nothing goes).
   */
  retain(maxBytes: number | null, maxAgeMs: number | null, now: number): number {
    this.rolled = false;
    const segs = this.segments;
    let drop = 0;
    if (maxBytes !== null) {
      let total = 0;
      for (const s of segs) total += s.bytes;
      while (drop < segs.length - 1 && total > maxBytes) total -= segs[drop++]!.bytes;
    }
    if (maxAgeMs !== null) while (drop < segs.length - 1 && segs[drop]!.lastTs < now - maxAgeMs) drop++;
    if (drop === 0) return this.index.first;
    const first = segs[drop]!.first;
    segs.splice(0, drop);
    let h = this.chunkHead;
    while (h < this.chunkOffsets.length && this.chunkOffsets[h]! < first) h++;
    this.chunkHead = h;
    if (h > 4096 && h * 2 > this.chunkOffsets.length) {
      this.chunkOffsets = this.chunkOffsets.slice(h);
      this.chunkTimes = this.chunkTimes.slice(h);
      this.chunkHead = 0;
    }
    return first;
  }
}
