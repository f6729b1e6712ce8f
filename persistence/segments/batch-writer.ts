/**
 * The store's write pipeline (group commit). Appended records wait in pooled write
 * buffers (chunks). A batch is every chunk filled since the last batch: it is written with
 * fs.write (libuv's thread pool, off the event loop), then each segment file it touched
 * gets one fdatasync (plus one fsync of the directory if a file was created or deleted),
 * then the store hears `done(upToId)` once for the whole batch. While a batch is in flight
 * the next one fills, so batches grow with load. A failed write or sync fails everything
 * not yet durable (`failed`), which the store turns into truncation and notifications.
 */
import type { SyncMode, StoreStats } from './store-types.js';
import type { StoreFs } from './fs-api.js';
import type { Segment } from './segment.js';

/** A pooled write buffer holding consecutive records of one segment. */
export class Chunk {
  len = 0;
  written = 0;
  firstId = 0;
  lastId = 0;
  constructor(
    public buf: Buffer,
    public seg: Segment,
    public fileOff: number,
  ) {}
}

/** What the pipeline needs from the store around each batch. */
export interface BatchHost {
  readonly closed: boolean;
  /** Before a batch: delete dead segments, write pending acks, maybe compact. */
  beforeBatch(): void;
  /** Whether a file was created or deleted since the last batch (and clears it): the directory needs an fsync. */
  takeDirSync(): boolean;
  /** Nothing to write: sync the directory if needed and settle flush() waiters. */
  idle(): void;
  /** Every record of the batch, up to upTo, is durable. */
  done(upTo: number): void;
  /** A write or sync failed: these chunks (the batch and all appended since) are not durable. */
  failed(chunks: Chunk[], cause: NodeJS.ErrnoException): void;
  /** Acks to write or segments to delete: another cycle is worth running. */
  hasHousework(): boolean;
}

const POOL_MAX = 4;

export class BatchWriter {
  /** The chunk being filled. */
  cur: Chunk | null = null;
  /** Bytes appended and not yet handed to a write: the store's backpressure signal. */
  pendingBytes = 0;
  inFlight = false;
  private pending: Chunk[] = [];
  private batch: Chunk[] = [];
  private readonly pool: Buffer[] = [];
  private again = false;
  private timer: NodeJS.Timeout | NodeJS.Immediate | null = null;
  private timerIsTimeout = false;
  private batchIdx = 0;
  private readonly syncSegs: Segment[] = [];
  private syncIdx = 0;
  private batchDirSync = false;
  private lastBatchStart = 0;

  private readonly flushCb = (): void => this.runFlush();
  private readonly writeCb = (err: NodeJS.ErrnoException | null, n: number): void => this.onWritten(err, n);
  private readonly syncCb = (err: NodeJS.ErrnoException | null): void => this.onSynced(err);

  constructor(
    private readonly host: BatchHost,
    private readonly fs: StoreFs,
    private readonly dirFd: number,
    private readonly stats: StoreStats,
    private readonly sync: SyncMode,
    private readonly syncIntervalMs: number,
    private readonly syncBatchBytes: number,
    private readonly bufferBytes: number,
  ) {}

  /** The chunk to append `bytes` to in `seg`: the current one, or a new one if it is full or another segment's. */
  chunkFor(seg: Segment, bytes: number): Chunk {
    const c = this.cur;
    return c === null || c.seg !== seg || c.len + bytes > c.buf.length ? this.newChunk(seg, bytes) : c;
  }

  newChunk(seg: Segment, bytes: number): Chunk {
    const c0 = this.cur;
    if (c0 !== null && c0.len > 0) this.pending.push(c0);
    const cap = this.bufferBytes;
    const buf = bytes <= cap && this.pool.length > 0 ? this.pool.pop()! : Buffer.allocUnsafeSlow(Math.max(cap, bytes));
    const c = new Chunk(buf, seg, seg.size);
    this.cur = c;
    return c;
  }

  /** After an append: start a batch soon, or at once if a timed batch has grown big enough. */
  appended(): void {
    if (this.timer === null) this.schedule();
    else if (this.timerIsTimeout && this.pendingBytes >= this.syncBatchBytes && !this.inFlight) {
      clearTimeout(this.timer as NodeJS.Timeout);
      this.timer = null;
      this.schedule();
    }
  }

  /** Runs a cycle soon (or right after the one in flight). */
  schedule(): void {
    if (this.host.closed) return;
    if (this.inFlight) {
      this.again = true;
      return;
    }
    if (this.timer !== null) return;
    const wait =
      this.syncIntervalMs > 0 && this.pendingBytes < this.syncBatchBytes
        ? this.lastBatchStart + this.syncIntervalMs - Date.now()
        : 0;
    if (wait > 0) {
      this.timerIsTimeout = true;
      this.timer = setTimeout(this.flushCb, wait);
    } else {
      this.timerIsTimeout = false;
      this.timer = setImmediate(this.flushCb);
    }
  }

  /** Cancels a scheduled cycle (close). */
  stop(): void {
    if (this.timer === null) return;
    if (this.timerIsTimeout) clearTimeout(this.timer as NodeJS.Timeout);
    else clearImmediate(this.timer as NodeJS.Immediate);
    this.timer = null;
  }

  /** The not-yet-written chunk holding file position `pos` of `seg`, if any (reads of fresh records). */
  chunkAt(seg: Segment, pos: number): Chunk | null {
    const c = this.cur;
    if (c !== null && c.seg === seg && pos >= c.fileOff && pos < c.fileOff + c.len) return c;
    for (const list of [this.pending, this.batch]) {
      for (let i = list.length - 1; i >= 0; i--) {
        const x = list[i]!;
        if (x.seg === seg && pos >= x.fileOff && pos < x.fileOff + x.len) return x;
      }
    }
    return null;
  }

  private recycle(c: Chunk): void {
    if (c.buf.length === this.bufferBytes && this.pool.length < POOL_MAX) this.pool.push(c.buf);
  }

  private runFlush(): void {
    this.timer = null;
    if (this.inFlight || this.host.closed) return;
    this.host.beforeBatch();
    const c = this.cur;
    if (c !== null && c.len > 0) {
      this.pending.push(c);
      this.cur = null;
    }
    if (this.pending.length === 0) {
      this.host.idle();
      return;
    }
    const b = this.batch;
    this.batch = this.pending;
    this.pending = b;
    this.pendingBytes = 0;
    this.batchIdx = 0;
    this.inFlight = true;
    this.again = false;
    this.batchDirSync = this.host.takeDirSync() && this.sync !== 'never';
    this.lastBatchStart = Date.now();
    this.stats.batches++;
    this.writeNext();
  }

  private writeNext(): void {
    const c = this.batch[this.batchIdx];
    if (c !== undefined) {
      this.stats.writes++;
      this.fs.write(c.seg.fd, c.buf, c.written, c.len - c.written, c.fileOff + c.written, this.writeCb);
      return;
    }
    if (this.sync === 'never') {
      this.completeBatch();
      return;
    }
    const segs = this.syncSegs;
    segs.length = 0;
    for (const ch of this.batch) if (segs[segs.length - 1] !== ch.seg) segs.push(ch.seg);
    this.syncIdx = 0;
    this.syncNext();
  }

  private onWritten(err: NodeJS.ErrnoException | null, n: number): void {
    if (err === null && n <= 0) err = Object.assign(new Error('short write'), { code: 'EIO' });
    if (err !== null) {
      this.failBatch(err);
      return;
    }
    const c = this.batch[this.batchIdx]!;
    c.written += n;
    if (c.written >= c.len) {
      c.seg.written = Math.max(c.seg.written, c.fileOff + c.len);
      this.batchIdx++;
    }
    this.writeNext();
  }

  private syncNext(): void {
    const seg = this.syncSegs[this.syncIdx++];
    if (seg !== undefined) {
      this.stats.fdatasyncs++;
      this.fs.fdatasync(seg.fd, this.syncCb);
    } else if (this.batchDirSync) {
      this.batchDirSync = false;
      this.stats.dirSyncs++;
      this.fs.fsync(this.dirFd, this.syncCb);
    } else {
      this.completeBatch();
    }
  }

  private onSynced(err: NodeJS.ErrnoException | null): void {
    if (err !== null) this.failBatch(err);
    else this.syncNext();
  }

  private completeBatch(): void {
    let upTo = 0;
    for (const c of this.batch) {
      if (c.lastId > upTo) upTo = c.lastId;
      this.recycle(c);
    }
    this.batch.length = 0;
    this.syncSegs.length = 0;
    this.inFlight = false;
    this.host.done(upTo);
    if (this.again || this.pending.length > 0 || (this.cur !== null && this.cur.len > 0) || this.host.hasHousework()) {
      this.again = false;
      this.schedule();
    }
  }

  private failBatch(cause: NodeJS.ErrnoException): void {
    const all = this.batch.concat(this.pending);
    if (this.cur !== null && this.cur.len > 0) all.push(this.cur);
    this.cur = null;
    this.pending.length = 0;
    this.batch.length = 0;
    this.syncSegs.length = 0;
    this.inFlight = false;
    this.again = false;
    this.pendingBytes = 0;
    for (const c of all) this.recycle(c);
    this.host.failed(all, cause);
  }
}
