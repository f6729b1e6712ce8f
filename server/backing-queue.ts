import type { QueueEntry } from './message.js';
import { RingBuffer } from './ring-buffer.js';

/**
 * Where a queue keeps its ready messages. The queue process decides who gets what;
 * the backing queue decides where the bytes live (memory now, segment files later),
 * as RabbitMQ's backing_queue behaviour does.
 */
export interface BackingQueue {
  /** Ready messages. */
  readonly length: number;
  /** Body bytes of ready messages. */
  readonly bytes: number;
  publish(entry: QueueEntry): void;
  /** Removes and returns the next ready entry. */
  fetch(): QueueEntry | undefined;
  /** The next ready entry, without removing it. */
  peek(): QueueEntry | undefined;
  /** Puts a delivered entry back at its original position. */
  requeue(entry: QueueEntry): void;
  /** A delivered entry is done with. */
  ack(entry: QueueEntry): void;
  /** Drops every ready entry; returns them in order. */
  purge(): QueueEntry[];
  /** Removes and returns the head if it has expired by `now`; only heads are looked at. */
  expiredHead(now: number): QueueEntry | undefined;
  /** The earliest expiry among heads (epoch ms), or 0 if no head expires. */
  nextExpiry(): number;
  /** Visits every ready entry (not the hot path: shutdown bookkeeping). */
  forEach(fn: (e: QueueEntry) => void): void;
}

/** Fetches every ready entry, in order: the purge of any backing queue. */
export function drain(bq: BackingQueue): QueueEntry[] {
  const out: QueueEntry[] = [];
  let e: QueueEntry | undefined;
  while ((e = bq.fetch()) !== undefined) out.push(e);
  return out;
}

/**
 * In-memory backing queue: a ring for entries in publish order plus a small sorted
 * list of requeued ones, which are older than most of the ring and so come first.
 */
export class MemoryBackingQueue implements BackingQueue {
  private readonly ring = new RingBuffer<QueueEntry>();
  private readonly requeued: QueueEntry[] = [];
  private byteCount = 0;

  get length(): number {
    return this.ring.length + this.requeued.length;
  }

  get bytes(): number {
    return this.byteCount;
  }

  publish(entry: QueueEntry): void {
    this.ring.push(entry);
    this.byteCount += entry.msg.size;
  }

  fetch(): QueueEntry | undefined {
    const e = this.takeFromRequeued() ? this.requeued.shift() : this.ring.shift();
    if (e !== undefined) this.byteCount -= e.msg.size;
    return e;
  }

  peek(): QueueEntry | undefined {
    return this.takeFromRequeued() ? this.requeued[0] : this.ring.peek();
  }

  requeue(entry: QueueEntry): void {
    this.byteCount += entry.msg.size;
    const r = this.requeued;
    // Usually requeues arrive in order, so the append check is the common case.
    if (r.length === 0 || r[r.length - 1]!.seq < entry.seq) {
      r.push(entry);
      return;
    }
    let lo = 0;
    let hi = r.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (r[mid]!.seq < entry.seq) lo = mid + 1;
      else hi = mid;
    }
    r.splice(lo, 0, entry);
  }

  ack(_entry: QueueEntry): void {
    // Memory needs no bookkeeping: the entry is garbage once nobody holds it.
  }

  purge(): QueueEntry[] {
    return drain(this);
  }

  expiredHead(now: number): QueueEntry | undefined {
    const head = this.peek();
    if (head === undefined || head.expiresAt === 0 || head.expiresAt > now) return undefined;
    return this.fetch();
  }

  nextExpiry(): number {
    return this.peek()?.expiresAt ?? 0;
  }

  forEach(fn: (e: QueueEntry) => void): void {
    for (const e of this.requeued) fn(e);
    for (let i = 0; i < this.ring.length; i++) fn(this.ring.at(i)!);
  }

  private takeFromRequeued(): boolean {
    if (this.requeued.length === 0) return false;
    const head = this.ring.peek();
    return head === undefined || this.requeued[0]!.seq < head.seq;
  }
}
