import { CompactRing } from './compact-ring.js';
import type { RecordRun } from '../../persistence/segments/index.js';
import { QueueEntry, type Message, type StoredBodies } from './message.js';
import type { DeathReason, Queue } from './queue.js';
import { RingBuffer } from './ring-buffer.js';

/**
 * Where a queue keeps its ready messages. The queue process decides who gets what;
 * the backing queue decides where the bytes live, as RabbitMQ's backing_queue
 * behaviour does.
 */
export interface BackingQueue {
  /** Ready messages. */
  readonly length: number;
  /** Body bytes of ready messages. */
  readonly bytes: number;
  /** Ready persistent messages, and their body bytes (statistics). */
  readonly persistent: number;
  readonly persistentBytes: number;
  /** Ready messages held on disk only (index in RAM), and their body bytes (statistics). */
  readonly pagedOut: number;
  readonly pagedOutBytes: number;
  publish(entry: QueueEntry): void;
  /** A message recovered from the store at start-up (already on disk), appended in order. */
  restore(entry: QueueEntry): void;
  /** Removes and returns the next ready entry. */
  fetch(): QueueEntry | undefined;
  /** Puts a delivered entry back at its original position. */
  requeue(entry: QueueEntry): void;
  /** A delivered entry is done with. */
  ack(entry: QueueEntry): void;
  /** Drops every ready entry, releasing stored copies; returns how many there were. */
  purge(): number;
  /** Removes and returns the head if it has expired by `now`; only heads are looked at. */
  expiredHead(now: number): QueueEntry | undefined;
  /** The earliest expiry among heads (epoch ms), or 0 if no head expires. */
  nextExpiry(): number;
}

/** What a backing queue needs from the message store to keep stored messages as numbers. */
export interface StoredMessages extends StoredBodies {
  /** Highest store id on disk. */
  readonly durableId: number;
  /** The message of a live record, read back from disk. */
  materialize(id: number): Message;
  /**
   * The payloads of the live records from `id` on, with one read (a stream's read-ahead);
   * returns how many, 0 when they must be read one by one (materialize).
   */
  readRun(id: number, run: RecordRun): number;
  release(id: number, slot: number): void;
  /** A stored message was delivered (remembered for the redelivered flag and delivery counts). */
  noteDelivered(id: number, slot: number): void;
  /** A quorum queue keeps a stored message as an at-least-once dead letter. */
  noteHeld(id: number, slot: number, reason: DeathReason): void;
  /** A quorum queue put a stored message back, to the front or the back. */
  noteReturned(id: number, slot: number, back: boolean): void;
  /** Calls `w` as records become durable (or fail), until it answers false. */
  waitFor(w: DurableWaiter): void;
}

/** Told when stored records are on disk, or failed to get there (see MessageStore). */
export interface DurableWaiter {
  /** Every record with id ≤ upTo is durable; returns false when it waits for nothing more. */
  durable(upTo: number): boolean;
  /** Records fromId..toId were not stored; returns false when it waits for nothing more. */
  failed(fromId: number, toId: number): boolean;
}

const NONE = 0;
const SORTED = 1;
const RING = 2;
const PENDING = 3;
const COMPACT = 4;

/**
 * The backing queue of every queue (one per level for x-max-priority). Ready entries sit
 * in one of four lists, each in queue order (seq); the head of the queue is whichever
 * list's head has the lowest seq:
 *  - `ring`: messages that are not stored (transient, or in a transient queue), as objects;
 *  - `pending`: stored messages not yet on disk, as objects (their bodies are in memory);
 *  - `compact`: stored messages on disk, as numbers only (see CompactRing);
 *  - `sorted`: requeued entries, and the rare stored entry whose write failed, as objects.
 * Stored entries move from `pending` to `compact` once the store reports them durable.
 */
export class MemoryBackingQueue implements BackingQueue {
  private readonly ring = new RingBuffer<QueueEntry>();
  private readonly pending = new RingBuffer<QueueEntry>();
  private readonly compact = new CompactRing();
  private readonly sorted: QueueEntry[] = [];
  private byteCount = 0;
  persistent = 0;
  persistentBytes = 0;
  pagedOutBytes = 0;

  constructor(private readonly queue: Queue) {}

  get length(): number {
    return this.ring.length + this.pending.length + this.compact.length + this.sorted.length;
  }

  get bytes(): number {
    return this.byteCount;
  }

  get pagedOut(): number {
    return this.compact.length;
  }

  private count(m: Message, sign: number): void {
    if (!m.persistent) return;
    this.persistent += sign;
    this.persistentBytes += sign * m.size;
  }

  private get store(): StoredMessages | null {
    return this.queue.host.store;
  }

  publish(entry: QueueEntry): void {
    this.byteCount += entry.msg.size;
    this.count(entry.msg, 1);
    if (entry.slot >= 0 && entry.msg.storeId >= 0) {
      this.pending.push(entry);
      this.settlePending();
    } else {
      this.ring.push(entry);
    }
  }

  restore(entry: QueueEntry): void {
    this.byteCount += entry.msg.size;
    this.count(entry.msg, 1);
    this.pagedOutBytes += entry.msg.size;
    this.compact.push(entry.msg.storeId, entry.seq, entry.slot, entry.redelivered, entry.expiresAt);
  }

  fetch(): QueueEntry | undefined {
    if (this.pending.length > 0) this.settlePending();
    let e: QueueEntry | undefined;
    switch (this.head()) {
      case NONE:
        return undefined;
      case SORTED:
        e = this.sorted.shift();
        break;
      case RING:
        e = this.ring.shift();
        break;
      case PENDING:
        e = this.pending.shift();
        break;
      default:
        e = this.fromCompact();
    }
    this.byteCount -= e!.msg.size;
    this.count(e!.msg, -1);
    return e;
  }

  requeue(entry: QueueEntry): void {
    this.byteCount += entry.msg.size;
    this.count(entry.msg, 1);
    insertBySeq(this.sorted, entry);
  }

  ack(_entry: QueueEntry): void {
    // Memory needs no bookkeeping: the entry is garbage once nobody holds it.
  }

  purge(): number {
    const n = this.length;
    for (const e of this.sorted) e.release();
    for (let e = this.ring.shift(); e !== undefined; e = this.ring.shift()) e.release();
    for (let e = this.pending.shift(); e !== undefined; e = this.pending.shift()) e.release();
    const store = this.store;
    if (store !== null) this.compact.forEach((id, slot) => store.release(id, slot));
    this.sorted.length = 0;
    this.compact.clear();
    this.byteCount = 0;
    this.persistent = 0;
    this.persistentBytes = 0;
    this.pagedOutBytes = 0;
    return n;
  }

  expiredHead(now: number): QueueEntry | undefined {
    const at = this.headExpiresAt();
    if (at === 0 || at > now) return undefined;
    return this.fetch();
  }

  nextExpiry(): number {
    return this.headExpiresAt();
  }

  /** Stored entries the store has made durable leave their objects behind for the compact ring. */
  private settlePending(): void {
    const store = this.store;
    if (store === null) return;
    const durable = store.durableId;
    const p = this.pending;
    for (let e = p.peek(); e !== undefined; e = p.peek()) {
      const m = e.msg;
      if (m.storeId < 0) {
        // The write failed: it stays a message in memory.
        p.shift();
        insertBySeq(this.sorted, e);
        continue;
      }
      if (m.storeId > durable) return;
      p.shift();
      this.compact.push(m.storeId, e.seq, e.slot, e.redelivered, e.expiresAt);
      this.pagedOutBytes += m.size;
    }
  }

  private fromCompact(): QueueEntry {
    const c = this.compact;
    const msg = this.store!.materialize(c.headId);
    const e = new QueueEntry(msg, this.queue, c.headSeq);
    e.slot = c.headSlot;
    e.redelivered = c.headRedelivered;
    e.expiresAt = c.headExpiresAt;
    c.shift();
    this.pagedOutBytes -= msg.size;
    return e;
  }

  /** Which list holds the head of the queue: the lowest seq among the lists' heads. */
  private head(): number {
    let which = NONE;
    let seq = Infinity;
    if (this.sorted.length > 0) {
      which = SORTED;
      seq = this.sorted[0]!.seq;
    }
    const r = this.ring.peek();
    if (r !== undefined && r.seq < seq) {
      which = RING;
      seq = r.seq;
    }
    const p = this.pending.peek();
    if (p !== undefined && p.seq < seq) {
      which = PENDING;
      seq = p.seq;
    }
    if (this.compact.length > 0 && this.compact.headSeq < seq) which = COMPACT;
    return which;
  }

  private headExpiresAt(): number {
    switch (this.head()) {
      case SORTED:
        return this.sorted[0]!.expiresAt;
      case RING:
        return this.ring.peek()!.expiresAt;
      case PENDING:
        return this.pending.peek()!.expiresAt;
      case COMPACT:
        return this.compact.headExpiresAt;
      default:
        return 0;
    }
  }
}

/** Inserts in seq order; usually requeues arrive in order, so the append check is the common case. */
function insertBySeq(r: QueueEntry[], entry: QueueEntry): void {
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
