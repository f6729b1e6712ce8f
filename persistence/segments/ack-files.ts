/**
 * Ack files: each release of a record's slot becomes an 8-byte entry (offset, slot, check)
 * in its segment's ack file, buffered per segment and written (page cache, no fsync) at
 * the start of each batch cycle. The format is in docs/persistence.md.
 */
import { ACK_ENTRY_BYTES, ACK_HEADER_BYTES, writeAckEntry, writeAckHeader } from './format.js';
import type { StoreFs, StoreLogger } from './fs-api.js';
import { closeQuiet, writeFully } from './io.js';
import type { Segment } from './segment.js';
import type { StoreStats } from './store-types.js';

/** Buffers the release of `slot` of the record at `offset`; true if the segment must join the write queue. */
export function queueAck(seg: Segment, offset: number, slot: number): boolean {
  let ab = seg.ackBuf;
  if (ab === null || seg.ackLen + ACK_ENTRY_BYTES > ab.length) {
    const grown = Buffer.allocUnsafe(ab === null ? 512 : ab.length * 2);
    if (ab !== null) ab.copy(grown, 0, 0, seg.ackLen);
    seg.ackBuf = ab = grown;
  }
  writeAckEntry(ab, seg.ackLen, offset, slot);
  seg.ackLen += ACK_ENTRY_BYTES;
  if (seg.ackQueued) return false;
  seg.ackQueued = true;
  return true;
}

/** Appends the buffered entries of every queued segment to its ack file; true if a file was created. */
export function writeAcks(fs: StoreFs, logger: StoreLogger, stats: StoreStats, queue: Segment[]): boolean {
  let created = false;
  for (const seg of queue) {
    seg.ackQueued = false;
    if (seg.doomed || seg.ackLen === 0) {
      seg.ackLen = 0;
      continue;
    }
    try {
      if (seg.ackFd < 0) {
        const fd = fs.openSync(seg.ackPath, 'w+');
        const h = Buffer.allocUnsafe(ACK_HEADER_BYTES);
        writeAckHeader(h, 0, seg.lo, seg.gen);
        try {
          writeFully(fs, fd, h, 0, ACK_HEADER_BYTES, 0);
        } catch (err) {
          closeQuiet(fs, fd);
          throw err;
        }
        seg.ackFd = fd;
        seg.ackSize = ACK_HEADER_BYTES;
        created = true;
      }
      writeFully(fs, seg.ackFd, seg.ackBuf!, 0, seg.ackLen, seg.ackSize);
      seg.ackSize += seg.ackLen;
    } catch (err) {
      // The releases stand in memory; after a crash these records may come back (at-least-once).
      stats.ackWriteErrors++;
      logger.error({ err, file: seg.ackPath }, 'segment store: ack write failed');
    }
    seg.ackLen = 0;
  }
  queue.length = 0;
  return created;
}
