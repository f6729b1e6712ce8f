/**
 * A stream's messages as it delivers them (with their x-stream-offset header), by offset,
 * shared by its consumers: ten consumers reading from `first` read each message from disk
 * and decode it once between them, not once each.
 *
 * A miss reads ahead: one pread of the run of records that follows (RecordRun, up to
 * 256 KiB) fills the cache with every message of the run, so consumers close to each other
 * (within the cache's span, which holds many prefetch windows) find theirs there. Bodies are
 * views of the run's buffer, not copies.
 *
 * Bounded: at most SLOTS messages and MAX_BYTES of property and body bytes (plus a fixed
 * charge per message for its objects); the oldest entries go first. Bodies over MAX_BODY
 * are not cached (they are read alone, each time).
 */
import { HeadReader } from '../../../persistence/message-record.js';
import { RecordRun } from '../../../persistence/segments/index.js';
import type { StoredMessages } from '../backing-queue.js';
import { Message, placement } from '../message.js';
import { atOffset, withStreamOffset } from './offset-header.js';
import type { OffsetIndex } from './offset-index.js';

/**
 * Slots (direct-mapped by offset). Consumers drift apart by far more than their prefetch
 * windows: ten reading 1M messages from `first` (S11) were up to 60-80k offsets apart, and
 * each group outside the cache's span decodes every message again.
 */
const SLOTS = 1 << 17;
const MASK = SLOTS - 1;
/** Property and body bytes the cache holds at most. */
const MAX_BYTES = 64 * 1024 * 1024;
/** Larger bodies are read back from disk rather than cached. */
export const MAX_BODY = 64 * 1024;
/** What a cached message costs besides its bytes (the Message, two Buffer views). */
const ENTRY_OVERHEAD = 320;
/** How close to its bounds the cache counts as full (a run's worth of small messages). */
const FULL_MARGIN = 4096;

/**
 * Messages decoded for one reader alone, after it fell behind everything the shared cache
 * holds (the cache is full and all of it is newer): the read-ahead of its own last run.
 */
export class PrivateRun {
  private from = 0;
  private readonly msgs: (Message | undefined)[] = [];

  get(offset: number): Message | undefined {
    const i = offset - this.from;
    if (i < 0 || i >= this.msgs.length) {
      // Passed (or never reached): let the messages go.
      if (this.msgs.length > 0) this.msgs.length = 0;
      return undefined;
    }
    return this.msgs[i];
  }

  /** Starts again at `from`, empty. */
  reset(from: number): void {
    this.from = from;
    this.msgs.length = 0;
  }

  set(offset: number, m: Message): void {
    this.msgs[offset - this.from] = m;
  }
}

export class StreamCache {
  /** Offset held by each slot (-1: none); allocated at the first put. */
  private offsets: Float64Array | null = null;
  private msgs: (Message | undefined)[] = [];
  private costs: Uint32Array | null = null;
  /** Offsets in the order they were put (a ring): the oldest are evicted first. */
  private order: Float64Array | null = null;
  private orderHead = 0;
  private orderCount = 0;
  private bytes = 0;
  private run: RecordRun | null = null;
  private readonly head = new HeadReader();
  /** The last message decoded: the next one with the same names shares its encoded names. */
  private last: Message | null = null;

  get(offset: number): Message | undefined {
    const offsets = this.offsets;
    if (offsets === null) return undefined;
    const k = offset & MASK;
    return offsets[k] === offset ? this.msgs[k] : undefined;
  }

  /** Keeps `m` as the message at `offset`, evicting the oldest entries as the bounds require. */
  put(offset: number, m: Message, propsBytes: number): void {
    if (m.size > MAX_BODY) return;
    let offsets = this.offsets;
    if (offsets === null) {
      offsets = this.offsets = new Float64Array(SLOTS).fill(-1);
      this.msgs = new Array<Message | undefined>(SLOTS);
      this.costs = new Uint32Array(SLOTS);
      this.order = new Float64Array(SLOTS);
    }
    const k = offset & MASK;
    if (offsets[k]! >= 0) this.evictSlot(k);
    const cost = m.size + propsBytes + ENTRY_OVERHEAD;
    while (this.orderCount > 0 && (this.orderCount === SLOTS || this.bytes + cost > MAX_BYTES)) this.evictOldest();
    offsets[k] = offset;
    this.msgs[k] = m;
    this.costs![k] = cost;
    this.bytes += cost;
    this.order![(this.orderHead + this.orderCount++) & MASK] = offset;
  }

  private evictOldest(): void {
    const o = this.order![this.orderHead]!;
    this.orderHead = (this.orderHead + 1) & MASK;
    this.orderCount--;
    const k = o & MASK;
    if (this.offsets![k] === o) this.evictSlot(k);
  }

  private evictSlot(k: number): void {
    this.offsets![k] = -1;
    this.msgs[k] = undefined;
    this.bytes -= this.costs![k]!;
  }

  clear(): void {
    this.offsets = null;
    this.msgs = [];
    this.costs = null;
    this.order = null;
    this.orderHead = this.orderCount = this.bytes = 0;
    this.run = null;
    this.last = null;
  }

  /**
   * The message at `offset` (store record `id`) read from disk, and with it, from the same
   * read, the messages at the offsets that follow up to `end`, as far as they are the next
   * records of the store. All go in the cache, or in `own` when the reader is behind all of a
   * full cache.
   */
  load(offset: number, id: number, ix: OffsetIndex, end: number, store: StoredMessages, own: PrivateRun): Message {
    const run = (this.run ??= new RecordRun());
    const n = store.readRun(id, run);
    if (n === 0) {
      const one = atOffset(store.materialize(id), offset);
      this.put(offset, one, one.props.length);
      return one;
    }
    // A reader behind the whole cache decodes for itself: putting its run in the cache would
    // push out newer messages that the readers ahead of it still need, they would then miss
    // too, and each miss would push out more (ten S11 readers decoded each message four times).
    const alone = this.behind(offset);
    if (alone) own.reset(offset);
    const ids = run.ids;
    let first: Message | null = null;
    let k = 0;
    for (let o = offset; o < end && k < n; o++) {
      const oid = ix.id(o);
      if (oid < 0) continue; // a gap (segment start) or a message kept in memory
      while (k < n && ids[k]! < oid) k++;
      if (k === n || ids[k] !== oid) break;
      let m = o === offset ? undefined : this.get(o);
      if (m === undefined) {
        if (o !== offset && run.lens[k]! > MAX_BODY) break; // would not be cached: read it when needed
        m = this.decode(run, k, o, store, alone ? own : null);
      }
      if (first === null) first = m;
      k++;
    }
    return first!;
  }

  /** Whether the cache is full and everything in it is newer than `offset`. */
  private behind(offset: number): boolean {
    if (this.orderCount === 0 || offset >= this.order![this.orderHead]!) return false;
    return this.orderCount + FULL_MARGIN >= SLOTS || this.bytes + FULL_MARGIN * ENTRY_OVERHEAD >= MAX_BYTES;
  }

  /** Record k of the run as the stream delivers it at `offset`: cached, or kept in `own`. */
  private decode(run: RecordRun, k: number, offset: number, store: StoredMessages, own: PrivateRun | null): Message {
    const b = run.buf;
    const at = run.starts[k]!;
    const end = at + run.lens[k]!;
    const h = this.head;
    h.read(b, at, end);
    const props = withStreamOffset(b, offset, h.propsAt, h.bodyAt);
    const priority = placement(props).priority;
    const size = end - h.bodyAt;
    const m = Message.stored(h.exchange, h.routingKey, h.routingKeys, -1, priority, !h.transient && !h.notPersistent, props, b.subarray(h.bodyAt, end), size, store, run.ids[k]!, h.propsAt - at, h.bodyAt - at);
    const last = this.last;
    if (last !== null && last.exchange === h.exchange && last.routingKey === h.routingKey) m.shareExchangeAndKey(last);
    this.last = m;
    if (own !== null) own.set(offset, m);
    else this.put(offset, m, props.length);
    return m;
  }
}
