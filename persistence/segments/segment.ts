/**
 * One segment file and the small in-memory index of its records.
 *
 * The index is four parallel typed arrays in file order, so a record costs 12 bytes of
 * RAM (20 in a compacted file) and no object. Lookups are binary searches: by offset in
 * an ordinary file (the id encodes the offset), by original id in a compacted one (the
 * records moved, the ids the broker holds did not).
 */
import { ALIGN, OFFSET_UNITS, recordBytes, segmentOf } from './format.js';

export class Segment {
  /** Open read/write file descriptor of the segment file. */
  fd: number;
  /** Descriptor of the ack file, opened on the first ack; -1 before. */
  ackFd = -1;
  /** Bytes in the ack file (header included) once it exists. */
  ackSize = 0;
  /** Ack entries not yet written to the ack file. */
  ackBuf: Buffer | null = null;
  ackLen = 0;
  /** Queued in the store's list of segments with unwritten acks. */
  ackQueued = false;

  /** Bytes appended so far (header included), written or not. */
  size: number;
  /** Bytes known to be written to the OS (reads below this go to the file). */
  written: number;

  /** Records in the index, live or dead. */
  count = 0;
  /** Records with at least one live reference. */
  live = 0;
  /** Padded bytes of all indexed records, and of the live ones. */
  recordBytes = 0;
  liveBytes = 0;
  /** Queued for deletion (all records dead). */
  doomed = false;

  /** Record start offsets, ascending. */
  offs = new Uint32Array(64);
  /** Payload lengths. */
  lens = new Uint32Array(64);
  /** refs << 16 | remaining references. */
  rc = new Uint32Array(64);
  /** Ids the broker holds for records moved here by compaction (ascending); null otherwise. */
  keys: Float64Array | null = null;

  constructor(
    public readonly lo: number,
    public readonly hi: number,
    public readonly gen: number,
    public readonly path: string,
    public readonly ackPath: string,
    fd: number,
    size: number,
  ) {
    this.fd = fd;
    this.size = size;
    this.written = size;
  }

  /** Appends an index entry (offsets must ascend). */
  push(off: number, len: number, refs: number, remaining: number, key: number): void {
    if (this.count === this.offs.length) this.grow();
    const i = this.count++;
    this.offs[i] = off;
    this.lens[i] = len;
    this.rc[i] = (refs << 16) | remaining;
    if (this.keys !== null) this.keys[i] = key;
    const bytes = recordBytes(len, 0);
    this.recordBytes += bytes;
    if (remaining > 0) {
      this.live++;
      this.liveBytes += bytes;
    }
  }

  private grow(): void {
    const n = this.offs.length * 2;
    const offs = new Uint32Array(n);
    offs.set(this.offs);
    this.offs = offs;
    const lens = new Uint32Array(n);
    lens.set(this.lens);
    this.lens = lens;
    const rc = new Uint32Array(n);
    rc.set(this.rc);
    this.rc = rc;
    if (this.keys !== null) {
      const keys = new Float64Array(n);
      keys.set(this.keys);
      this.keys = keys;
    }
  }

  /** Index of the record with this id, or -1. */
  find(id: number): number {
    const keys = this.keys;
    let lo = 0;
    let hi = this.count - 1;
    if (keys === null) {
      const off = (id % OFFSET_UNITS) * ALIGN;
      const offs = this.offs;
      while (lo <= hi) {
        const mid = (lo + hi) >>> 1;
        const v = offs[mid]!;
        if (v === off) return mid;
        if (v < off) lo = mid + 1;
        else hi = mid - 1;
      }
    } else {
      while (lo <= hi) {
        const mid = (lo + hi) >>> 1;
        const v = keys[mid]!;
        if (v === id) return mid;
        if (v < id) lo = mid + 1;
        else hi = mid - 1;
      }
    }
    return -1;
  }

  /** Drops index entries from `i` on (records lost with a failed write). */
  truncateIndex(i: number): void {
    for (let j = i; j < this.count; j++) {
      const bytes = recordBytes(this.lens[j]!, 0);
      this.recordBytes -= bytes;
      if ((this.rc[j]! & 0xffff) > 0) {
        this.live--;
        this.liveBytes -= bytes;
      }
    }
    this.count = Math.min(this.count, i);
  }

  /** First index whose record starts at or after `off`. */
  lowerBound(off: number): number {
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.offs[mid]! < off) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** The segment holding record `id`: the active one, or a binary search of the others (by their id range). */
export function findSegment(segs: readonly Segment[], active: Segment | null, id: number): Segment | null {
  const n = segmentOf(id);
  if (active !== null && n === active.lo) return active;
  let lo = 0;
  let hi = segs.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const s = segs[mid]!;
    if (n < s.lo) hi = mid - 1;
    else if (n > s.hi) lo = mid + 1;
    else return s;
  }
  return null;
}
