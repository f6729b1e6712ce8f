import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { loadMallocTrim, type Trim } from './malloc-trim.js';

/**
 * Gives memory back once a backlog has drained. V8 keeps the heap pages that held a big
 * backlog, and the ArrayBuffers that died with it, until its next major collection, and
 * an idle broker may never reach one: after 1,000,000 queued 100 B messages had been
 * drained, RSS stayed 210 MiB above where it started for as long as it was watched.
 * RabbitMQ has the same problem with its queue processes and answers it the same way, by
 * collecting explicitly (its background_gc).
 *
 * Rule, checked on the broker's one-second tick: when RSS has grown by GROWTH_BYTES since
 * the last collection, and the messages held in queues have fallen to 1/1024 of their
 * peak since then (so the heap is mostly garbage and a full collection is short), collect
 * once, then again every FOLLOW_UP_MS while that still shrinks V8's heap: the first
 * collection frees the dead objects and ArrayBuffers, the next ones let V8 give back the
 * pages they left empty, a step at a time (1M drained 100 B messages: V8's heap 140 MiB,
 * then 67, 42, 11). Never more often than MIN_INTERVAL_MS.
 *
 * Before each follow-up, and once more FOLLOW_UP_MS after the last, glibc's heap is
 * trimmed (malloc_trim, where native/malloc-trim was built): the ArrayBuffers a collection
 * frees go back to malloc, and free() returns only the top of the heap to the kernel, so
 * the freed middle of it would stay in RSS for good (1M drained 100 B messages: 102 MiB
 * left above the start without, 24 with).
 */
const GROWTH_BYTES = 64 * 1024 * 1024;
const MIN_INTERVAL_MS = 10_000;
/** Drained: at most 1/DRAINED of the peak is still queued. */
const DRAINED = 1024;
const FOLLOW_UP_MS = 2_000;
const MAX_FOLLOW_UPS = 4;
/** A follow-up that shrinks V8's heap by less than this is the last. */
const WORTH_BYTES = 4 * 1024 * 1024;

export class MemoryReleaser {
  private baseRss = -1;
  private peakQueued = 0;
  private lastAt = 0;
  /** When the next follow-up collection is due (0 = none), how many are left, and V8's heap size before it. */
  private followUpAt = 0;
  private followUps = 0;
  private heapBefore = 0;
  /** Collections run so far. */
  collections = 0;

  constructor(
    private readonly readRss: () => number = () => process.memoryUsage.rss(),
    private gc: (() => void) | null | undefined = undefined,
    private trim: Trim | null | undefined = undefined,
  ) {}

  /**
   * One tick. `queued` is the number of messages held in queues now. Returns the RSS
   * that made it collect, or -1 when it did not (the memory comes back over the next
   * second, as V8 sweeps and unmaps concurrently).
   */
  tick(queued: number, now: number): number {
    let rss: number;
    try {
      rss = this.readRss();
    } catch {
      return -1; // e.g. EMFILE: /proc could not be read; try again next tick
    }
    if (this.followUpAt !== 0 && now >= this.followUpAt) {
      this.followUpAt = 0;
      this.trimmer()?.();
      if (this.followUps > 0) {
        this.gc?.();
        this.collections++;
        this.baseRss = -1;
        const heap = getHeapStatistics().total_heap_size;
        // Another collection while they still shrink V8's heap; after the last, only a trim.
        if (--this.followUps > 0 && this.heapBefore - heap < WORTH_BYTES) this.followUps = 0;
        this.followUpAt = now + FOLLOW_UP_MS;
        this.heapBefore = heap;
        return -1;
      }
    }
    if (queued > this.peakQueued) this.peakQueued = queued;
    if (this.baseRss < 0 || rss < this.baseRss) this.baseRss = rss;
    if (rss - this.baseRss < GROWTH_BYTES || queued * DRAINED > this.peakQueued || now - this.lastAt < MIN_INTERVAL_MS) return -1;
    const gc = this.collector();
    if (gc === null) return -1;
    gc();
    this.collections++;
    this.lastAt = now;
    this.followUpAt = now + FOLLOW_UP_MS;
    this.followUps = MAX_FOLLOW_UPS;
    this.heapBefore = getHeapStatistics().total_heap_size;
    // The floor is found again from the next readings, once the memory has come back.
    this.baseRss = -1;
    this.peakQueued = queued;
    return rss;
  }

  private trimmer(): Trim | null {
    if (this.trim === undefined) this.trim = loadMallocTrim();
    return this.trim;
  }

  /** V8's gc(), reached without --expose-gc on the command line; null where that is refused. */
  private collector(): (() => void) | null {
    if (this.gc !== undefined) return this.gc;
    const own = (globalThis as { gc?: () => void }).gc;
    if (typeof own === 'function') return (this.gc = own);
    try {
      setFlagsFromString('--expose-gc');
      const gc = runInNewContext('gc') as unknown;
      this.gc = typeof gc === 'function' ? (gc as () => void) : null;
    } catch {
      this.gc = null;
    }
    return this.gc;
  }
}
