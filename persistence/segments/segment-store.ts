/**
 * The disk message store: append-only segment files, group commit, per-segment ack
 * files, reference counts, recovery and compaction. docs/persistence.md has the format,
 * the guarantees and an example of how a durable queue uses it.
 *
 * Hot path (append, release, read): no Promise, no closure, no log call, no per-message
 * object. append copies the record into a pooled write buffer (the one copy of a body);
 * a batch of buffers is written with fs.write and made durable with one fdatasync per
 * segment it touched, off the event loop; then onDurable(upToId) reports every record
 * up to that id at once.
 */
import { join } from 'node:path';
import { crc32c } from './crc32c.js';
import { StoreError } from './errors.js';
import {
  MAX_REFS,
  MAX_SEGMENT,
  MAX_SEGMENT_BYTES,
  OFFSET_UNITS,
  RECORD_HEADER_BYTES,
  SEGMENT_HEADER_BYTES,
  ackFileName,
  align8,
  segmentFileName,
  segmentOf,
  writeSegmentHeader,
} from './format.js';
import { defaultFs, silentLogger, type StoreFs, type StoreLogger } from './fs-api.js';
import { closeQuiet, readFully, unlinkQuiet } from './io.js';
import { queueAck, writeAcks } from './ack-files.js';
import { BatchWriter, type Chunk } from './batch-writer.js';
import { pickCompactionRun, replaceWithCompacted } from './compaction.js';
import { recover, type RecoveryReport } from './recovery.js';
import { findSegment, Segment } from './segment.js';
import { readRun, type RecordRun } from './record-run.js';
import type { SegmentStoreOptions, StoreStats, SyncMode } from './store-types.js';

interface Waiter {
  target: number;
  resolve: () => void;
  reject: (err: Error) => void;
}

const EMPTY = Buffer.alloc(0);

export type { SegmentStoreOptions, StoreStats, SyncMode } from './store-types.js';

export class SegmentStore {
  readonly dir: string;
  readonly segmentBytes: number;
  readonly sync: SyncMode;
  readonly syncIntervalMs: number;
  readonly syncBatchBytes: number;
  readonly writeBufferBytes: number;
  autoCompact: boolean;
  readonly compactLiveRatio: number;
  readonly compactIntervalMs: number;
  onDurable: ((upToId: number) => void) | undefined;
  onFailed: ((fromId: number, toId: number, err: StoreError) => void) | undefined;
  readonly recovery: RecoveryReport;
  readonly stats: StoreStats = {
    appends: 0,
    appendedBytes: 0,
    releases: 0,
    batches: 0,
    writes: 0,
    fdatasyncs: 0,
    dirSyncs: 0,
    failures: 0,
    ackWriteErrors: 0,
    compactions: 0,
    segmentsCreated: 0,
    segmentsDeleted: 0,
  };

  private readonly fs: StoreFs;
  private readonly logger: StoreLogger;
  private readonly dirFd: number;
  /** Segment files in order (ascending lo); the active one, if any, is last. */
  private readonly segments: Segment[];
  private active: Segment | null = null;
  private nextSegment: number;
  private lastAppended: number;
  private durable: number;

  private readonly writer: BatchWriter;
  private dirDirty = false;
  private lastCompact = 0;

  private readonly ackQueue: Segment[] = [];
  private readonly doomed: Segment[] = [];
  private waiters: Waiter[] = [];
  private closed = false;

  /** Opens (and recovers) the store in options.dir. Synchronous: call it at start-up. */
  static open(options: SegmentStoreOptions): SegmentStore {
    return new SegmentStore(options);
  }

  private constructor(o: SegmentStoreOptions) {
    this.dir = o.dir;
    this.segmentBytes = o.segmentBytes ?? 8 * 1024 * 1024;
    if (!(this.segmentBytes >= 1024 && this.segmentBytes <= MAX_SEGMENT_BYTES)) {
      throw new StoreError('ERR_STORE_ARGUMENT', `segmentBytes must be 1 KiB .. 128 MiB`);
    }
    this.sync = o.sync ?? 'batch';
    this.syncIntervalMs = o.syncIntervalMs ?? 0;
    this.syncBatchBytes = o.syncBatchBytes ?? 4 * 1024 * 1024;
    this.writeBufferBytes = Math.min(o.writeBufferBytes ?? 1024 * 1024, this.segmentBytes);
    this.autoCompact = o.autoCompact ?? true;
    this.compactLiveRatio = o.compactLiveRatio ?? 0.5;
    this.compactIntervalMs = o.compactIntervalMs ?? 1000;
    this.onDurable = o.onDurable;
    this.onFailed = o.onFailed;
    this.fs = o.fs ?? defaultFs;
    this.logger = o.logger ?? silentLogger;

    this.fs.mkdirSync(this.dir, { recursive: true });
    this.dirFd = this.fs.openSync(this.dir, 'r');
    const store = this;
    this.writer = new BatchWriter(
      {
        get closed() {
          return store.closed;
        },
        beforeBatch: () => this.housekeeping(this.autoCompact),
        takeDirSync: () => {
          const d = this.dirDirty;
          this.dirDirty = false;
          return d;
        },
        idle: () => {
          if (this.dirDirty) this.fsyncDir();
          this.settleWaiters();
        },
        done: (upTo) => this.batchDone(upTo),
        failed: (chunks, cause) => this.batchFailed(chunks, cause),
        hasHousework: () => this.ackQueue.length > 0 || this.doomed.length > 0,
      },
      this.fs,
      this.dirFd,
      this.stats,
      this.sync,
      this.syncIntervalMs,
      this.syncBatchBytes,
      this.writeBufferBytes,
    );
    const r = recover(this.dir, this.fs, this.logger, o.onRecord);
    this.segments = r.segments;
    this.nextSegment = r.nextSegment;
    this.lastAppended = r.lastId;
    this.durable = r.lastId;
    this.recovery = r.report;
    if (r.report.removedFiles.length > 0) this.fsyncDir();
  }

  // ------------------------------------------------------------------ hot path

  /** Appends a record with `refs` references; returns its id. Durable once onDurable reports an id ≥ it. */
  append(payload: Uint8Array, refs = 1): number {
    return this.append2(EMPTY, payload, refs);
  }

  /**
   * Appends the record head ++ body (say, the broker's encoded metadata and the body)
   * without concatenating them first.
   */
  append2(head: Uint8Array, body: Uint8Array, refs = 1): number {
    if (this.closed) throw new StoreError('ERR_STORE_CLOSED', 'store is closed');
    if (!(refs >= 1 && refs <= MAX_REFS) || refs !== (refs | 0)) {
      throw new StoreError('ERR_STORE_ARGUMENT', `refs must be 1..${MAX_REFS}`);
    }
    const len = head.length + body.length;
    const bytes = align8(RECORD_HEADER_BYTES + len);
    let seg = this.active;
    if (seg === null || (seg.size + bytes > this.segmentBytes && seg.size > SEGMENT_HEADER_BYTES)) {
      seg = this.roll(bytes);
    }
    const c = this.writer.chunkFor(seg, bytes);
    const buf = c.buf;
    const p = c.len;
    buf.writeUInt32LE(len, p + 4);
    buf.writeUInt32LE(refs, p + 8); // refs (u16) and flags (u16) = 0
    buf.writeUInt32LE(0, p + 12); // K and reserved
    buf.set(head, p + RECORD_HEADER_BYTES);
    buf.set(body, p + RECORD_HEADER_BYTES + head.length);
    const end = p + RECORD_HEADER_BYTES + len;
    for (let i = end; i < p + bytes; i++) buf[i] = 0;
    buf.writeUInt32LE(crc32c(buf, p + 4, end), p);

    const off = seg.size;
    const id = seg.lo * OFFSET_UNITS + off / 8;
    seg.size += bytes;
    c.len += bytes;
    if (c.firstId === 0) c.firstId = id;
    c.lastId = id;
    seg.push(off, len, refs, refs, id);
    this.lastAppended = id;
    this.writer.pendingBytes += bytes;
    this.stats.appends++;
    this.stats.appendedBytes += len;
    this.writer.appended();
    return id;
  }

  /**
   * Releases one reference of a record. `slot` names which of the record's refs
   * (0..refs-1) is released, so that recovery can tell the broker which ones remain;
   * without it the next unreleased slot in order is taken. Do not mix the two forms on
   * one record. At 0 references the record is dead; its segment is deleted when all of
   * its records are dead.
   */
  release(id: number, slot = -1): void {
    if (this.closed) throw new StoreError('ERR_STORE_CLOSED', 'store is closed');
    const seg = this.findSegment(id);
    const i = seg === null ? -1 : seg.find(id);
    if (seg === null || i < 0) throw new StoreError('ERR_STORE_UNKNOWN_ID', `no record ${id}`);
    const rc = seg.rc[i]!;
    const remaining = rc & 0xffff;
    const refs = rc >>> 16;
    if (remaining === 0) throw new StoreError('ERR_STORE_RELEASED', `record ${id} is already released`);
    if (slot < 0) slot = refs - remaining;
    else if (slot >= refs) throw new StoreError('ERR_STORE_ARGUMENT', `slot ${slot} ≥ refs ${refs}`);
    seg.rc[i] = rc - 1;
    if (queueAck(seg, seg.offs[i]!, slot)) this.ackQueue.push(seg);
    if (remaining === 1) {
      seg.live--;
      seg.liveBytes -= align8(RECORD_HEADER_BYTES + seg.lens[i]!);
      if (seg.live === 0 && seg !== this.active) this.doom(seg);
    }
    this.stats.releases++;
    this.writer.schedule();
  }

  /** The payload of a live record, as a new Buffer. A synchronous pread (or a copy from a write buffer). */
  read(id: number): Buffer {
    const seg = this.findSegment(id);
    const i = seg === null ? -1 : seg.find(id);
    if (seg === null || i < 0 || (seg.rc[i]! & 0xffff) === 0) {
      throw new StoreError('ERR_STORE_UNKNOWN_ID', `no live record ${id}`);
    }
    const len = seg.lens[i]!;
    const out = Buffer.allocUnsafe(len);
    this.copyOut(seg, seg.offs[i]! + RECORD_HEADER_BYTES, out, 0, len);
    return out;
  }

  /** Copies a live record's payload into `target` at `targetOffset`; returns its length. */
  readInto(id: number, target: Uint8Array, targetOffset = 0): number {
    const seg = this.findSegment(id);
    const i = seg === null ? -1 : seg.find(id);
    if (seg === null || i < 0 || (seg.rc[i]! & 0xffff) === 0) {
      throw new StoreError('ERR_STORE_UNKNOWN_ID', `no live record ${id}`);
    }
    const len = seg.lens[i]!;
    if (targetOffset + len > target.length) throw new StoreError('ERR_STORE_ARGUMENT', 'target too small');
    this.copyOut(seg, seg.offs[i]! + RECORD_HEADER_BYTES, target, targetOffset, len);
    return len;
  }

  /**
   * The live records from `id` on, in file order, with one pread (record-run.ts); the
   * record with `id` first. Returns how many; 0 if it is not yet written (use read()).
   */
  readRun(id: number, run: RecordRun): number {
    const seg = this.findSegment(id);
    const i = seg === null ? -1 : seg.find(id);
    if (seg === null || i < 0 || (seg.rc[i]! & 0xffff) === 0) {
      throw new StoreError('ERR_STORE_UNKNOWN_ID', `no live record ${id}`);
    }
    return readRun(this.fs, seg, i, run);
  }

  /** Payload length of a live record, or -1. */
  sizeOf(id: number): number {
    const seg = this.findSegment(id);
    const i = seg === null ? -1 : seg.find(id);
    return seg === null || i < 0 || (seg.rc[i]! & 0xffff) === 0 ? -1 : seg.lens[i]!;
  }

  /** Unreleased references of a record (0 if unknown or dead). */
  refsOf(id: number): number {
    const seg = this.findSegment(id);
    const i = seg === null ? -1 : seg.find(id);
    return seg === null || i < 0 ? 0 : seg.rc[i]! & 0xffff;
  }

  // ---------------------------------------------------------------- state

  /** Highest id reported durable (recovered records count as durable). 0 if none. */
  get durableId(): number {
    return this.durable;
  }
  /** Id of the last append (or the last recovered record). 0 if none. */
  get lastId(): number {
    return this.lastAppended;
  }
  /** Bytes appended but not yet handed to a write: a backpressure signal for the broker. */
  get pendingBytes(): number {
    return this.writer.pendingBytes;
  }
  get segmentCount(): number {
    return this.segments.length;
  }
  get liveRecords(): number {
    let n = 0;
    for (const s of this.segments) n += s.live;
    return n;
  }
  /** Padded on-disk bytes of the live records. */
  get liveBytes(): number {
    let n = 0;
    for (const s of this.segments) n += s.liveBytes;
    return n;
  }
  /** Segment file names in order (for tests and diagnostics). */
  segmentFiles(): string[] {
    return this.segments.map((s) => segmentFileName(s.lo));
  }

  /** Free bytes for an unprivileged user on the store's file system (for disk_free_limit). */
  freeDiskBytes(): number {
    const s = this.fs.statfsSync(this.dir);
    return Number(s.bavail) * Number(s.bsize);
  }

  /**
   * Resolves when every record appended before the call is durable and pending acks are
   * written; rejects if a write failed meanwhile. One Promise per call: not for the hot path.
   */
  flush(): Promise<void> {
    if (this.closed) return Promise.reject(new StoreError('ERR_STORE_CLOSED', 'store is closed'));
    return new Promise((resolve, reject) => {
      this.waiters.push({ target: this.lastAppended, resolve, reject });
      this.writer.schedule();
    });
  }

  /** Flushes, syncs the ack files, and closes every file. */
  async close(): Promise<void> {
    if (this.closed) return;
    try {
      await this.flush();
    } finally {
      while (this.writer.inFlight) await new Promise((r) => setImmediate(r));
      this.writer.stop();
      this.housekeeping(false);
      for (const s of this.segments) {
        if (s.ackFd >= 0 && this.sync !== 'never') {
          try {
            this.fs.fdatasyncSync(s.ackFd);
          } catch (err) {
            this.logger.error({ err, file: s.ackPath }, 'segment store: ack file sync failed');
          }
        }
        closeQuiet(this.fs, s.fd);
        closeQuiet(this.fs, s.ackFd);
      }
      if (this.dirDirty) this.fsyncDir();
      closeQuiet(this.fs, this.dirFd);
      this.closed = true;
    }
  }

  /**
   * Compacts every worthwhile run of mostly-dead segments now (the store also does this
   * by itself when autoCompact is on). Returns the number of segment files removed.
   * Synchronous: it blocks the event loop for the copy and one fdatasync per run.
   */
  compact(): number {
    if (this.writer.inFlight) return 0;
    this.writeAcks();
    let removed = 0;
    for (;;) {
      const n = this.compactOnce();
      if (n < 0) break;
      removed += n;
    }
    return removed;
  }

  // ------------------------------------------------------------- write path

  private roll(bytes: number): Segment {
    if (this.nextSegment > MAX_SEGMENT) throw new StoreError('ERR_STORE_FULL', 'segment numbers exhausted');
    const n = this.nextSegment++;
    const path = join(this.dir, segmentFileName(n));
    let fd: number;
    try {
      fd = this.fs.openSync(path, 'wx+');
    } catch (err) {
      throw new StoreError('ERR_STORE_IO', `cannot create ${path}`, { cause: err });
    }
    const seg = new Segment(n, n, 0, path, join(this.dir, ackFileName(n)), fd, 0);
    this.segments.push(seg);
    const old = this.active;
    this.active = seg;
    if (old !== null && old.live === 0) this.doom(old);
    this.dirDirty = true;
    this.stats.segmentsCreated++;
    const c = this.writer.newChunk(seg, SEGMENT_HEADER_BYTES + bytes);
    writeSegmentHeader(c.buf, 0, n, n, 0);
    c.len = SEGMENT_HEADER_BYTES;
    seg.size = SEGMENT_HEADER_BYTES;
    this.writer.pendingBytes += SEGMENT_HEADER_BYTES;
    return seg;
  }

  /** The writer finished a batch: everything up to upTo is durable. */
  private batchDone(upTo: number): void {
    if (upTo > this.durable) {
      this.durable = upTo;
      const cb = this.onDurable;
      if (cb !== undefined) {
        try {
          cb(upTo);
        } catch (err) {
          this.logger.error({ err }, 'segment store: onDurable threw');
        }
      }
    }
    this.settleWaiters();
  }

  /**
   * A write or sync failed. Everything not yet durable fails with it: the records of
   * this batch, and those appended since (they sit after the failed bytes in the same
   * file). The files are cut back to their last durable byte and appends continue in a
   * new segment, so no id is ever reused and recovery never sees a hole.
   */
  private batchFailed(all: Chunk[], cause: NodeJS.ErrnoException): void {
    let from = 0;
    const cut = new Map<Segment, number>();
    for (const c of all) {
      if (from === 0 && c.firstId !== 0) from = c.firstId;
      if (!cut.has(c.seg)) cut.set(c.seg, c.fileOff);
    }
    const to = this.lastAppended;
    for (const [seg, off] of cut) {
      seg.truncateIndex(seg.lowerBound(off));
      seg.size = off;
      seg.written = Math.min(seg.written, off);
      if (seg === this.active) this.active = null;
      if (off <= SEGMENT_HEADER_BYTES) {
        // Nothing durable in it: the file goes.
        seg.doomed = true;
        this.deleteSegment(seg);
        continue;
      }
      try {
        this.fs.ftruncateSync(seg.fd, off);
      } catch (err) {
        this.logger.error({ err, file: seg.path }, 'segment store: truncate after failed write failed');
      }
      if (seg.live === 0) this.doom(seg);
    }
    this.stats.failures++;
    const err = new StoreError('ERR_STORE_IO', `write or sync failed: ${cause.message}`, { cause });
    this.logger.error({ err: cause, fromId: from, toId: to }, 'segment store: records failed');
    if (from !== 0) {
      const cb = this.onFailed;
      if (cb !== undefined) {
        try {
          cb(from, to, err);
        } catch (e) {
          this.logger.error({ err: e }, 'segment store: onFailed threw');
        }
      }
    }
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) {
      if (w.target <= this.durable) w.resolve();
      else w.reject(err);
    }
    if (this.ackQueue.length > 0 || this.doomed.length > 0) this.writer.schedule();
  }

  private settleWaiters(): void {
    if (this.waiters.length === 0) return;
    const keep: Waiter[] = [];
    for (const w of this.waiters) {
      if (w.target <= this.durable) w.resolve();
      else keep.push(w);
    }
    this.waiters = keep;
  }

  private fsyncDir(): void {
    this.dirDirty = false;
    if (this.sync === 'never') return;
    try {
      this.stats.dirSyncs++;
      this.fs.fsyncSync(this.dirFd);
    } catch (err) {
      this.logger.error({ err, dir: this.dir }, 'segment store: directory fsync failed');
    }
  }

  // ------------------------------------------------------- acks and deletion

  private doom(seg: Segment): void {
    if (seg.doomed) return;
    seg.doomed = true;
    this.doomed.push(seg);
  }

  /** Between batches: delete dead segments, write pending acks, maybe compact. */
  private housekeeping(compact: boolean): void {
    if (this.doomed.length > 0) {
      let k = 0;
      for (const seg of this.doomed) {
        if (seg === this.active || seg.written < seg.size || seg.live > 0) {
          if (seg.live > 0) seg.doomed = false;
          else this.doomed[k++] = seg;
          continue;
        }
        this.deleteSegment(seg);
      }
      this.doomed.length = k;
    }
    this.writeAcks();
    if (compact && this.segments.length > 1) {
      const now = Date.now();
      if (now - this.lastCompact >= this.compactIntervalMs) {
        this.lastCompact = now;
        this.compactOnce();
      }
    }
  }

  private deleteSegment(seg: Segment): void {
    const k = this.segments.indexOf(seg);
    if (k < 0) return; // gone already
    this.segments.splice(k, 1);
    closeQuiet(this.fs, seg.fd);
    closeQuiet(this.fs, seg.ackFd);
    seg.fd = -1;
    seg.ackFd = -1;
    seg.ackLen = 0;
    for (const p of [seg.path, seg.ackPath]) {
      const err = unlinkQuiet(this.fs, p);
      if (err !== null) this.logger.error({ err, file: p }, 'segment store: could not delete file');
    }
    this.dirDirty = true;
    this.stats.segmentsDeleted++;
  }

  private writeAcks(): void {
    if (writeAcks(this.fs, this.logger, this.stats, this.ackQueue)) this.dirDirty = true;
  }

  // ------------------------------------------------------------- reading

  private findSegment(id: number): Segment | null {
    return findSegment(this.segments, this.active, id);
  }

  private copyOut(seg: Segment, pos: number, target: Uint8Array, tOff: number, len: number): void {
    if (pos + len <= seg.written) {
      const got = readFully(this.fs, seg.fd, target, tOff, len, pos);
      if (got !== len) throw new StoreError('ERR_STORE_IO', `short read at ${seg.path}:${pos}`);
      return;
    }
    const c = this.writer.chunkAt(seg, pos);
    if (c === null) throw new StoreError('ERR_STORE_IO', `record at ${seg.path}:${pos} not found`);
    const from = pos - c.fileOff;
    target.set(c.buf.subarray(from, from + len), tOff);
  }

  // ------------------------------------------------------------- compaction

  /** Compacts the first worthwhile run (compaction.ts). Returns the files removed, or -1 if none. */
  private compactOnce(): number {
    const run = pickCompactionRun(this.segments, this.active, this.compactLiveRatio, this.segmentBytes);
    if (run === null) return -1;
    const [i, j] = run;
    const out = replaceWithCompacted(this.fs, this.segments.slice(i, j + 1), this.logger, this.stats);
    if (out === null) return -1;
    this.fsyncDir();
    this.segments.splice(i, j - i + 1, out);
    this.dirDirty = true;
    return j - i;
  }
}
