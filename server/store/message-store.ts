/**
 * The broker's side of the segment store: which messages are stored (persistent ones
 * routed to a durable queue, every one routed to a quorum queue, and any message while
 * paging; once, with a slot for each
 * queue holding it), confirms that wait for fdatasync, paging bodies out once durable,
 * flow control for publishers that outrun the disk, and putting messages back in their
 * queues at start-up. The store itself (persistence/) knows nothing of queues.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import { decodeHead, encodeHead, type MessageHead } from '../../persistence/message-record.js';
import { SegmentStore, StoreError, type RecordRun } from '../../persistence/segments/index.js';
import type { BrokerConfig } from '../ops/config.js';
import type { DurableWaiter, StoredMessages } from '../queue/backing-queue.js';
import { DeliveryLog, deliveryKey, heldSlot, returnEntries } from './delivery-log.js';
import { Message, placement, type StoredBodies } from '../queue/message.js';
import { parseExpiration } from '../queue/queue-args.js';
import type { DeathReason, Queue } from '../queue/queue.js';
import { RingBuffer } from '../queue/ring-buffer.js';
import { PAUSE_FLOW } from '../ops/read-pause.js';
import type { VirtualHost } from '../vhost/vhost.js';

/** A publisher (or a quorum queue's dead letter) waiting for stored messages to be durable. */
export type { DurableWaiter };

/**
 * Flow control: while this many stored messages wait for the disk (or this many bytes wait
 * to be written), connections that publish stored messages stop being read, as RabbitMQ's
 * credit flow holds publishers to the message store's pace. They resume below half.
 */
const FLOW_HIGH_MESSAGES = 16_384;
const FLOW_HIGH_BYTES = 64 * 1024 * 1024;

/** A connection the store can stop reading from. */
export interface FlowControlled {
  pauseReading(reason: number): void;
  resumeReading(reason: number): void;
}

const allTargets: Queue[] = [];
const names: string[] = [];
const streamMarks: number[] = [];

/** Whether a queue keeps persistent messages across a restart: it does if its definition does. */
export function storesMessages(q: Queue): boolean {
  return q.durable && q.owner === null;
}

export class MessageStore implements StoredBodies, StoredMessages {
  readonly segments: SegmentStore;
  /** Stored messages not yet durable, in id order: paged out when the store reports them. */
  private readonly notDurable = new RingBuffer<Message>();
  private readonly waiters = new Set<DurableWaiter>();
  /** Connections paused for flow control. */
  private readonly throttled = new Set<FlowControlled>();
  /** Which stored messages were delivered: the redelivered flag after a restart. */
  private readonly deliveries: DeliveryLog;
  /**
   * Set (by the broker's memory check) while the process is above its paging threshold:
   * transient messages then go to the store too, so that queue backlogs leave RAM.
   */
  paging = false;
  private readonly queuePagingLength: number;
  /** Queues that got messages back at start-up; see finishRecovery(). */
  private recoveredQueues: Set<Queue> | null = new Set();

  constructor(
    dataDir: string,
    config: BrokerConfig,
    private readonly log: Logger,
    vhosts: ReadonlyMap<string, VirtualHost>,
  ) {
    this.queuePagingLength = config.queuePagingLength;
    this.deliveries = new DeliveryLog(join(dataDir, 'msg_store.delivered'), log, (id) => this.segments.refsOf(id) > 0);
    const delivered = this.deliveries.read();
    const keep: number[] = [];
    // Quorum queues' last returns, rewritten after the rest in the order they happened.
    const lastReturns: { id: number; slot: number; back: boolean; order: number; position: number }[] = [];
    const orphans: number[] = [];
    const touched = this.recoveredQueues!;
    let recovered = 0;
    let unreadable = 0;
    this.segments = SegmentStore.open({
      dir: join(dataDir, 'msg_store'),
      sync: config.storeSync,
      syncIntervalMs: config.storeSyncIntervalMs,
      segmentBytes: config.storeSegmentBytes,
      logger: log,
      onDurable: (upTo) => this.durable(upTo),
      onFailed: (from, to, err) => this.failed(from, to, err),
      onRecord: (rec) => {
        let h: MessageHead;
        try {
          h = decodeHead(rec.payload);
        } catch (err) {
          // Checksummed, so not torn: a format this version cannot read. Kept on disk, not lost.
          if (unreadable++ === 0) log.error({ err, id: rec.id }, 'message store record unreadable; left on disk');
          return;
        }
        if (h.transient) {
          // Paged out to save memory, never meant to outlive the broker.
          for (const slot of rec.slots) orphans.push(rec.id, slot);
          return;
        }
        const pl = placement(rec.payload.subarray(h.propsAt, h.bodyAt));
        const ttl = pl.expiration === undefined ? -1 : safeExpiration(pl.expiration);
        // Index only: the payload view is valid during this call alone.
        const msg = Message.stored(h.exchange, h.routingKey, h.routingKeys, ttl, pl.priority, !h.notPersistent, null, null, rec.payload.length - h.bodyAt, this, rec.id, h.propsAt, h.bodyAt);
        const vhost = vhosts.get(h.vhost);
        for (const slot of rec.slots) {
          const q = vhost?.queues.get(h.queues[slot] ?? '');
          // Its queue was deleted (or redeclared transient) before the release reached disk,
          // or it is a transient message in a queue that only keeps persistent ones.
          if (q === undefined || !storesMessages(q) || (h.notPersistent && !q.storesAll)) {
            orphans.push(rec.id, slot);
            continue;
          }
          const key = deliveryKey(rec.id, slot);
          const n = delivered.counts.get(key) ?? 0;
          for (let i = 0; i < n; i++) keep.push(rec.id, slot);
          const held = delivered.held.get(key) ?? null;
          if (held !== null) keep.push(rec.id, heldSlot(slot, held));
          const ret = delivered.returns.get(key);
          if (q.storesAll && n > 0) {
            // Every delivery came back: those whose holder went with the broker come back now.
            for (let i = 1; i < n; i++) keep.push(...returnEntries(rec.id, slot, false, 0));
            const now = ret === undefined || ret.count < n;
            lastReturns.push({ id: rec.id, slot, back: !now && ret.back, order: now ? Number.MAX_VALUE : ret.order, position: ret?.position ?? 0 });
          }
          q.recover(msg, slot, n, h.publishedAt, held, ret, h.streams?.[slot] ?? -1);
          touched.add(q);
          recovered++;
        }
      },
    });
    for (let i = 0; i < orphans.length; i += 2) this.segments.release(orphans[i]!, orphans[i + 1]!);
    lastReturns.sort((a, b) => a.order - b.order);
    for (const r of lastReturns) keep.push(...returnEntries(r.id, r.slot, r.back, r.position));
    this.deliveries.open(keep);
    const r = this.segments.recovery;
    if (recovered > 0 || r.truncated.length > 0 || unreadable > 0) {
      log.info({ messages: recovered, queues: touched.size, truncated: r.truncated.length, unreadable }, 'messages recovered');
    }
  }

  /**
   * Applies limits and expiry to the recovered queues (which may dead-letter), once the
   * virtual hosts can route through this store.
   */
  finishRecovery(): void {
    const qs = this.recoveredQueues;
    this.recoveredQueues = null;
    if (qs !== null) for (const q of qs) q.recovered();
  }

  /**
   * Enqueues a routed message in each target. A persistent one routed to a durable queue,
   * any one routed to a quorum queue (or any message while paging) is first stored once,
   * each target holding one slot. Returns true if some queue refused it.
   */
  enqueue(msg: Message, targets: Iterable<Queue>, vhost: string): boolean {
    let refused = false;
    let durable = false;
    const persistent = msg.persistent;
    for (const q of targets) {
      if (q.storesAll || (persistent && storesMessages(q))) {
        durable = true;
        break;
      }
    }
    if (durable || this.paging || this.longQueue(targets)) {
      // Every queue holding the message holds a slot, transient ones too: once paged out, the
      // body is only on disk, and must stay there until the last queue lets go.
      allTargets.length = 0;
      for (const q of targets) allTargets.push(q);
      // A record is recovered only if a durable queue holds it; otherwise it only saves memory.
      // Not stored (say, no new segment file could be made): kept in memory, and nacked.
      if (!this.append(msg, allTargets, vhost, !durable) && durable) refused = true;
    }
    if (msg.storeId < 0) {
      for (const q of targets) if (!q.enqueue(msg)) refused = true;
      return refused;
    }
    let slot = 0;
    for (const q of targets) if (!q.enqueue(msg, slot++)) refused = true;
    return refused;
  }

  /** A transient message is paged out (to all its queues) when one of them already holds a long backlog. */
  private longQueue(targets: Iterable<Queue>): boolean {
    const limit = this.queuePagingLength;
    if (limit <= 0) return false;
    for (const q of targets) if (q.backing.length >= limit) return true;
    return false;
  }

  private append(msg: Message, queues: readonly Queue[], vhost: string, transient: boolean): boolean {
    names.length = 0;
    let streams: number[] | null = null;
    for (let i = 0; i < queues.length; i++) {
      const q = queues[i]!;
      names.push(q.name);
      // A stream's offset goes in the record: recovery puts the message back at it.
      const mark = q.reserveOffset(msg);
      if (mark >= 0) {
        if (streams === null) {
          streams = streamMarks;
          streams.length = 0;
          for (let j = 0; j < queues.length; j++) streams.push(-1);
        }
        streams[i] = mark;
      }
    }
    const { props, body } = msg.content();
    const head = encodeHead(Date.now(), vhost, names, msg.exchange, msg.routingKey, msg.routingKeys, props, transient, !msg.persistent, streams);
    try {
      msg.storeId = this.segments.append2(head, body, queues.length);
    } catch (err) {
      if (!(err instanceof StoreError)) throw err;
      this.log.error({ err }, 'message store append failed; the message is kept in memory only and its publisher gets a nack');
      return false;
    }
    msg.store = this;
    msg.durable = !transient;
    msg.bodyAt = head.length;
    msg.propsAt = head.length - props.length;
    this.notDurable.push(msg);
    return true;
  }

  /** Id of the last stored message; a confirm for it waits until durable. */
  get lastId(): number {
    return this.segments.lastId;
  }

  get durableId(): number {
    return this.segments.durableId;
  }

  /** Whether the disk is behind: a connection that just published a stored message should stop reading. */
  get congested(): boolean {
    return this.notDurable.length >= FLOW_HIGH_MESSAGES || this.segments.pendingBytes >= FLOW_HIGH_BYTES;
  }

  throttle(c: FlowControlled): void {
    if (this.throttled.has(c)) return;
    this.throttled.add(c);
    c.pauseReading(PAUSE_FLOW);
  }

  private maybeUnthrottle(): void {
    if (this.throttled.size === 0) return;
    if (this.notDurable.length > FLOW_HIGH_MESSAGES / 2 || this.segments.pendingBytes > FLOW_HIGH_BYTES / 2) return;
    for (const c of this.throttled) c.resumeReading(PAUSE_FLOW);
    this.throttled.clear();
  }

  waitFor(w: DurableWaiter): void {
    this.waiters.add(w);
  }

  read(id: number): Buffer {
    return this.segments.read(id);
  }

  readRun(id: number, run: RecordRun): number {
    return this.segments.readRun(id, run);
  }

  /** A stored message read back for delivery (its entry was a number in a compact ring). */
  materialize(id: number): Message {
    const p = this.segments.read(id);
    const h = decodeHead(p);
    const props = p.subarray(h.propsAt, h.bodyAt);
    const pl = placement(props);
    const ttl = pl.expiration === undefined ? -1 : safeExpiration(pl.expiration);
    return Message.stored(h.exchange, h.routingKey, h.routingKeys, ttl, pl.priority, !h.transient && !h.notPersistent, props, p.subarray(h.bodyAt), p.length - h.bodyAt, this, id, h.propsAt, h.bodyAt);
  }

  release(id: number, slot: number): void {
    try {
      this.segments.release(id, slot);
    } catch (err) {
      // A bookkeeping bug must not take the connection down with it; the record just stays.
      this.log.error({ err, id, slot }, 'message store release failed');
    }
  }

  private durable(upTo: number): void {
    const q = this.notDurable;
    for (let m = q.peek(); m !== undefined && m.storeId <= upTo; m = q.peek()) {
      q.shift();
      m.pageOut();
    }
    for (const w of this.waiters) if (!w.durable(upTo)) this.waiters.delete(w);
    this.maybeUnthrottle();
  }

  /** The records were not stored: their messages stay in memory as transient ones, and their publishers get nacks. */
  private failed(from: number, to: number, err: StoreError): void {
    this.log.error({ err, fromId: from, toId: to }, 'message store write failed; those messages are not persisted and their publishers get nacks');
    const q = this.notDurable;
    for (let m = q.peek(); m !== undefined && m.storeId <= to; m = q.peek()) {
      q.shift();
      if (m.storeId >= from) {
        m.storeId = -1;
        m.durable = false;
      } else {
        m.pageOut();
      }
    }
    for (const w of this.waiters) if (!w.failed(from, to)) this.waiters.delete(w);
    this.maybeUnthrottle();
  }

  /** Stops the store after the connections have closed (their unacked messages are back in their queues). */
  async close(): Promise<void> {
    await this.segments.close();
    this.deliveries.close();
  }

  /** A stored message was delivered: after a crash it comes back redelivered (and counted). */
  noteDelivered(id: number, slot: number): void {
    this.deliveries.note(id, slot);
  }

  /** A quorum queue put a stored message back: to the back means behind everything stored so far. */
  noteReturned(id: number, slot: number, back: boolean): void {
    this.deliveries.noteAll(returnEntries(id, slot, back, this.segments.lastId));
  }

  /** A quorum queue keeps a stored message as an at-least-once dead letter (until released). */
  noteHeld(id: number, slot: number, reason: DeathReason): void {
    const field = heldSlot(slot, reason);
    if (field >= 0) this.deliveries.note(id, field);
  }
}

/** A stored expiration was valid when published; guard anyway rather than fail recovery. */
function safeExpiration(s: string): number {
  try {
    return parseExpiration(s);
  } catch {
    return -1;
  }
}
