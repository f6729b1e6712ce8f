/**
 * A run of consecutive records read with one pread: a reader that walks the store in
 * append order (a stream's consumers) gets a few hundred records per system call instead
 * of one. The buffer of each read is new, so views of it (a body, say) stay valid after
 * the next read; the index arrays are reused.
 */
import { RECORD_HEADER_BYTES, OFFSET_UNITS, ALIGN } from './format.js';
import type { StoreFs } from './fs-api.js';
import { readFully } from './io.js';
import type { Segment } from './segment.js';
import { StoreError } from './errors.js';

export class RecordRun {
  /** The bytes of the last read; payload k is buf[starts[k], starts[k] + lens[k]). */
  buf: Buffer = Buffer.alloc(0);
  /** Live records in the last read, in file order (ascending ids). */
  count = 0;
  readonly ids: Float64Array;
  readonly starts: Uint32Array;
  readonly lens: Uint32Array;

  /**
   * @param maxBytes file bytes one read covers at most (a larger first record is read alone)
   * @param maxRecords records one read returns at most
   */
  constructor(
    readonly maxBytes = 256 * 1024,
    maxRecords = 4096,
  ) {
    this.ids = new Float64Array(maxRecords);
    this.starts = new Uint32Array(maxRecords);
    this.lens = new Uint32Array(maxRecords);
  }
}

/**
 * Reads the records of `seg` from index `i` on into `run`: one pread of at most
 * run.maxBytes (the first record whole, whatever its size), only bytes already written
 * to the file. Dead records inside the range are skipped. Returns run.count, 0 when
 * record i is not yet written (it is still in a write buffer: read it alone).
 */
export function readRun(fs: StoreFs, seg: Segment, i: number, run: RecordRun): number {
  run.count = 0;
  const offs = seg.offs;
  const lens = seg.lens;
  const from = offs[i]!;
  const limit = Math.min(seg.written, from + run.maxBytes);
  // Payload ends (the slot list compaction writes after a payload is not needed).
  let end = from + RECORD_HEADER_BYTES + lens[i]!;
  if (end > seg.written) return 0;
  let j = i + 1;
  const max = run.ids.length;
  while (j < seg.count && j - i < max) {
    const e = offs[j]! + RECORD_HEADER_BYTES + lens[j]!;
    if (e > limit) break;
    end = e;
    j++;
  }
  const len = end - from;
  const buf = Buffer.allocUnsafeSlow(len);
  const got = readFully(fs, seg.fd, buf, 0, len, from);
  if (got !== len) throw new StoreError('ERR_STORE_IO', `short read at ${seg.path}:${from}`);
  const keys = seg.keys;
  const rc = seg.rc;
  const base = seg.lo * OFFSET_UNITS;
  let n = 0;
  for (let k = i; k < j; k++) {
    if ((rc[k]! & 0xffff) === 0) continue;
    run.ids[n] = keys === null ? base + offs[k]! / ALIGN : keys[k]!;
    run.starts[n] = offs[k]! - from + RECORD_HEADER_BYTES;
    run.lens[n] = lens[k]!;
    n++;
  }
  run.buf = buf;
  run.count = n;
  return n;
}
