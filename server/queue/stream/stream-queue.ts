/**
 * A stream queue as RabbitMQ 3.10.8 serves one over AMQP 0-9-1, on one node:
 *  - an append-only log: every message gets the next offset, consuming removes nothing,
 *    and the message count is the log's length;
 *  - every message is stored, whatever its delivery mode, with its offset in its record,
 *    so that a restart gives every message back at the same offset;
 *  - each consumer reads from its own position (x-stream-offset), needs a prefetch and
 *    manual acks; an ack only frees a prefetch slot; nack, reject, basic.get, purge and
 *    basic.recover are refused as RabbitMQ refuses them;
 *  - every delivery carries x-stream-offset;
 *  - retention (x-max-length-bytes, x-max-age, per segment of x-stream-max-segment-size-bytes)
 *    drops whole segments, oldest first, when a segment is started or the policy changes.
 * Messages stay on disk: the stream keeps store ids (OffsetIndex) and a bounded cache of
 * messages as it delivers them (StreamCache, filled by reading runs of records ahead), so a
 * long backlog costs no bodies in memory.
 */
import { ConnectionError, ChannelError } from '../../../amqp/errors.js';
import type { FieldTable } from '../../../amqp/table.js';
import type { Consumer } from '../consumer.js';
import { QueueEntry, type Message } from '../message.js';
import { Queue, type DeathReason, type LastReturn } from '../queue.js';
import type { QueueSettings } from '../queue-args.js';
import type { DurableWaiter } from '../backing-queue.js';
import { scheduleDispatch } from '../../ops/scheduler.js';
import { atOffset } from './offset-header.js';
import { PrivateRun, StreamCache } from './stream-cache.js';
import { GAP, IN_MEMORY } from './offset-index.js';
import { OffsetKind, parseStreamOffset } from './stream-offset.js';
import { DEFAULT_MAX_SEGMENT_BYTES, recordBytes, StreamLog, type RecoveredEntry } from './stream-log.js';

/** Deliveries one stream makes per dispatch turn, over all its consumers. */
const DISPATCH_BUDGET = 512;
/** Settled entries kept for reuse: about the deliveries of ten consumers' prefetch windows. */
const SPARE_ENTRIES = 16 * 1024;

/** A consumer's read position. */
interface Reader {
  readonly c: Consumer;
  next: number;
  /** Its own read-ahead, once it has fallen behind the shared cache. */
  own: PrivateRun | null;
}

export class StreamQueue extends Queue {
  override readonly type = 'stream' as const;
  override readonly storesAll = true;
  override readonly globalQos = false;
  readonly log = new StreamLog();
  private readonly readers: Reader[] = [];
  /** Settled delivery entries, for reuse (entryFor). */
  private readonly spare: QueueEntry[] = [];
  /** Reader to start at in the next dispatch, so that a budget cut does not favour the first. */
  private turnStart = 0;
  /** The offset (× 4 + marks) reserved for the message being stored, until it is enqueued. */
  private reserved = -1;
  /** Messages as delivered, by offset: consumers close together share them. */
  private readonly cache = new StreamCache();
  /** Offsets below this are on disk (or kept in memory only): consumers read up to it. */
  private visible = 0;
  private waiting = false;
  /**
   * Told when stored records reach the disk. Records that failed to get there are let through
   * (their publishers got nacks; the cache may still serve them).
   */
  private readonly waiter: DurableWaiter = {
    durable: (upTo) => this.onDurable(upTo),
    failed: (_from, to) => this.onDurable(to),
  };
  /** A dropped message's record kept on disk while the log has no message (see applyRetention). */
  private anchor: { id: number; slot: number } | null = null;
  private recovering: RecoveredEntry[] | null = null;
  private legacy: RecoveredEntry[] | null = null;

  constructor(...a: ConstructorParameters<typeof Queue>) {
    super(...a);
    this.log.maxSegmentBytes = this.settings.maxSegmentBytes ?? DEFAULT_MAX_SEGMENT_BYTES;
  }

  override get messageCount(): number {
    return this.log.length;
  }

  /** queue.declare-ok of a stream says 0 consumers, whatever reads it (RabbitMQ's stat/1). */
  override get consumerCount(): number {
    return 0;
  }

  // ---- appending.

  override reserveOffset(msg: Message): number {
    if (this.reserved < 0) this.reserved = this.log.reserve(recordBytes(charge(msg)), Date.now());
    return this.reserved;
  }

  override enqueue(msg: Message, slot = -1): boolean {
    this.counters.publish++;
    const r = this.reserved >= 0 ? this.reserved : this.log.reserve(recordBytes(charge(msg)), Date.now());
    this.reserved = -1;
    const offset = Math.floor(r / 4);
    if (msg.storeId >= 0 && slot >= 0) {
      this.log.index.put(offset, msg.storeId, slot, null);
      // Kept for the consumers reading the tail; without any, a later one reads it from disk.
      if (this.readers.length > 0) {
        const own = atOffset(msg, offset);
        this.cache.put(offset, own, own.props.length);
      }
    } else {
      this.log.index.put(offset, IN_MEMORY, 0, atOffset(msg, offset));
    }
    if (this.log.rolled) this.applyRetention();
    this.advance(-1);
    if (this.readers.length > 0) scheduleDispatch(this);
    return true;
  }

  /**
   * Moves the delivery horizon over the messages now on disk (all of them up to store id
   * `upTo`, or the store's durable id): a consumer never sees an offset that a crash could
   * give to another message, as osiris readers see only written chunks. Waits for the store
   * while some are not.
   */
  private advance(upTo: number): void {
    const store = this.host.store;
    const ix = this.log.index;
    const end = ix.next;
    if (store === null) {
      this.visible = end;
      return;
    }
    const durable = Math.max(upTo, store.durableId);
    let v = Math.max(this.visible, ix.first);
    while (v < end) {
      const id = ix.id(v);
      if (id >= 0 && id > durable) break;
      v++;
    }
    this.visible = v;
    if (v < end && !this.waiting) {
      this.waiting = true;
      store.waitFor(this.waiter);
    }
  }

  /** The store's news; returns whether the stream still waits (so stays registered). */
  private onDurable(upTo: number): boolean {
    if (this.deleted) {
      this.waiting = false;
      return false;
    }
    const before = this.visible;
    this.advance(upTo);
    if (this.visible > before && this.readers.length > 0) scheduleDispatch(this);
    this.waiting = this.visible < this.log.index.next;
    return this.waiting;
  }

  override refuses(_msg: Message): boolean {
    return false;
  }

  /** The message at `offset` as delivered (with its x-stream-offset header); null for a gap. */
  private messageAt(offset: number, r: Reader): Message | null {
    const ix = this.log.index;
    const id = ix.id(offset);
    if (id === GAP) return null;
    if (id === IN_MEMORY) return ix.message(offset) ?? null;
    const m = this.cache.get(offset) ?? r.own?.get(offset);
    if (m !== undefined) return m;
    const store = this.host.store;
    if (store === null) return null;
    return this.cache.load(offset, id, ix, this.visible, store, (r.own ??= new PrivateRun()));
  }

  // ---- retention.

  private applyRetention(): void {
    const s = this.settings;
    const before = this.log.first;
    const first = this.log.retain(s.maxLengthBytes, s.maxAge, Date.now());
    if (first === before) return;
    const store = this.host.store;
    const ix = this.log.index;
    // Nothing left but the snapshot of the segment just started: the last message stays on
    // disk as an anchor, so that a restart (which drops it again) continues the offsets.
    let keep = -1;
    if (store !== null && first === this.log.next - 1) {
      for (let o = first - 1; o >= before && keep < 0; o--) if (ix.id(o) >= 0) keep = ix.id(o);
    }
    const prev = this.anchor;
    this.anchor = null;
    ix.dropTo(first, (id, slot) => {
      if (id === keep) this.anchor = { id, slot };
      else store?.release(id, slot);
    });
    if (prev !== null) store?.release(prev.id, prev.slot);
  }

  override applySettings(s: QueueSettings, policyChanged = true): void {
    super.applySettings(s, policyChanged);
    this.log.maxSegmentBytes = s.maxSegmentBytes ?? DEFAULT_MAX_SEGMENT_BYTES;
    this.applyRetention();
  }

  // ---- consumers.

  override checkConsume(_exclusive: boolean, _globalPrefetch: number, prefetch = 0, noAck = false, args: FieldTable = {}): void {
    parseStreamOffset(args['x-stream-offset'], this.resource, Date.now());
    if (prefetch === 0) throw new ChannelError(406, `consumer prefetch count is not set for '${this.resource}'`);
    if (noAck) throw new ConnectionError(540, `automatic acknowledgement not supported by stream queues ${this.resource}`);
  }

  override checkGet(): void {
    throw new ConnectionError(540, `basic.get not supported by stream queues ${this.resource}`);
  }

  override checkReject(): void {
    throw new ConnectionError(540, `basic.nack and basic.reject not supported by stream queues ${this.resource}`);
  }

  override purge(): number {
    throw new ConnectionError(540, `queue.purge not supported by stream queues ${this.resource}`);
  }

  override addConsumer(c: Consumer): void {
    this.readers.push({ c, next: this.startOf(c.args), own: null });
    super.addConsumer(c);
  }

  override removeConsumer(c: Consumer): void {
    const i = this.readers.findIndex((r) => r.c === c);
    if (i >= 0) this.readers.splice(i, 1);
    super.removeConsumer(c);
  }

  /** Where a new consumer starts reading (osiris's attach). */
  private startOf(args: FieldTable): number {
    const spec = parseStreamOffset(args['x-stream-offset'], this.resource, Date.now());
    const log = this.log;
    switch (spec.kind) {
      case OffsetKind.First:
        return log.first;
      case OffsetKind.Last:
        return log.lastChunk;
      case OffsetKind.Next:
        return log.next;
      case OffsetKind.Timestamp:
        return log.chunkAtOrAfter(spec.value);
      default:
        // Past the end, the consumer waits until the log reaches that offset.
        return Math.max(spec.value, log.first);
    }
  }

  /** Each consumer gets every message from its position on, as far as its prefetch lets it. */
  override dispatch(): boolean {
    const readers = this.readers;
    const n = readers.length;
    if (n === 0) return false;
    const log = this.log;
    const end = this.visible;
    let budget = DISPATCH_BUDGET;
    const start = this.turnStart % n;
    for (let j = 0; j < n; j++) {
      const r = readers[(start + j) % n]!;
      const c = r.c;
      if (r.next < log.first) r.next = log.first;
      while (r.next < end) {
        if (budget === 0) {
          this.turnStart = (start + j) % n;
          return true;
        }
        if (!c.channel.canDeliver(c)) break;
        const offset = r.next++;
        const m = this.messageAt(offset, r);
        if (m === null) continue;
        c.channel.deliver(c, this.entryFor(m, offset));
        budget--;
      }
    }
    this.turnStart = start + 1;
    return false;
  }

  // ---- settling: an ack is credit only; nothing leaves the log.

  override delivered(_entry: QueueEntry, _noAck: boolean): void {}

  override settle(entry: QueueEntry): void {
    // Already settled (a second settle must not put it in the pool twice).
    if (entry.deliveryTag === 0 && entry.consumer === null) return;
    entry.deliveryTag = 0;
    entry.consumer = null;
    if (this.spare.length < SPARE_ENTRIES) this.spare.push(entry);
  }

  /**
   * An entry for a delivery, reusing a settled one: a delivery's entry lives only until its
   * ack, and making one per delivery was a good part of a stream read's garbage. Nothing
   * holds an entry once the channel has settled it (the channel dropped it from its
   * unacked deliveries first), and a pooled entry only ever serves this queue.
   */
  private entryFor(m: Message, offset: number): QueueEntry {
    const e = this.spare.pop();
    if (e === undefined) return new QueueEntry(m, this, offset);
    e.msg = m;
    e.seq = offset;
    e.redelivered = false;
    e.deliveryCount = 0;
    e.expiresAt = 0;
    e.deliveredAt = 0;
    e.slot = -1;
    return e;
  }

  override reject(entry: QueueEntry): void {
    this.settle(entry);
  }

  /**
   * A closed channel's deliveries just go. basic.recover crashes RabbitMQ's channel (a bare
   * 541); Warren refuses it as it refuses basic.get, with 540 naming the method.
   */
  override requeue(entry: QueueEntry, down = false): void {
    if (!down) throw new ConnectionError(540, `basic.recover not supported by stream queues ${this.resource}`);
    this.settle(entry);
  }

  override requeued(): void {
    if (!this.deleted) this.dispatchNow();
  }

  // ---- recovery and deletion.

  override recover(msg: Message, slot: number, _deliveries: number, publishedAt: number, _held: DeathReason | null = null, _ret?: LastReturn, mark = -1): void {
    if (mark < 0) {
      // Stored without an offset (by a Warren that served streams as classic queues): it
      // is given one after the others, once recovery is done.
      (this.legacy ??= []).push({ offset: -1, id: msg.storeId, slot, marks: 0, ts: publishedAt, bytes: recordBytes(charge(msg)) });
      return;
    }
    (this.recovering ??= []).push({ offset: Math.floor(mark / 4), id: msg.storeId, slot, marks: mark & 3, ts: publishedAt, bytes: recordBytes(charge(msg)) });
  }

  override recovered(): void {
    const entries = this.recovering;
    this.recovering = null;
    if (entries !== null) {
      const { drop, anchor } = this.log.restore(entries);
      for (const e of drop) this.host.store?.release(e.id, e.slot);
      if (anchor !== null) this.anchor = { id: anchor.id, slot: anchor.slot };
    }
    this.visible = this.log.first;
    const legacy = this.legacy;
    this.legacy = null;
    if (legacy !== null) {
      for (const e of legacy) this.log.index.put(Math.floor(this.log.reserve(e.bytes, e.ts) / 4), e.id, e.slot, null);
    }
    this.applyRetention();
    this.advance(-1);
  }

  /** RabbitMQ deletes a stream whatever if-empty and if-unused say. */
  override checkDelete(_ifUnused: boolean, _ifEmpty: boolean): void {}

  /** Returns 0, as RabbitMQ's delete-ok for a stream says, however long the log was. */
  override delete(): number {
    super.delete();
    this.readers.length = 0;
    const store = this.host.store;
    this.log.index.dropTo(this.log.next, (id, slot) => store?.release(id, slot));
    if (this.anchor !== null) store?.release(this.anchor.id, this.anchor.slot);
    this.anchor = null;
    this.cache.clear();
    return 0;
  }
}

/** The bytes of a message that count towards its size on RabbitMQ's disk, besides fixed overheads. */
function charge(m: Message): number {
  return m.size + m.exchange.length + m.routingKey.length;
}
