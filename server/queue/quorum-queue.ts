/**
 * A quorum queue as RabbitMQ 3.10's rabbit_fifo serves it, on one node (no replicas):
 *  - every message is stored, whatever its delivery mode; a confirm waits for the disk;
 *  - a message that comes back counts a delivery (x-delivery-count, redelivered) and is
 *    dead-lettered with reason delivery_limit past x-delivery-limit;
 *  - where it comes back: a closed channel's messages go to the front, in consumer-tag
 *    order; a reject, nack or recover sends them to the back, unless a delivery limit is
 *    set, when they too go to the front (rabbit_fifo returns them without re-enqueueing);
 *  - overflow reject-publish takes the message that crosses the limit and refuses the
 *    next ones until the queue is down to 80%; any other overflow is drop-head;
 *  - at-least-once dead-lettering keeps a dead message (counting against the limit)
 *    until every queue it routes to has it, on disk where the copy is stored;
 *  - single active consumer follows arrival order, not priority; exclusive consumes are
 *    not exclusive; a consumer without prefetch gets 2000; the consumer count includes
 *    basic.get and cancelled consumers still holding messages, and no waiting consumers.
 */
import { ChannelError, ConnectionError } from '../../amqp/errors.js';
import type { Consumer } from './consumer.js';
import { byteOrder, QueueEntry, withDeliveryCount, type Message } from './message.js';
import { Queue, type DeathReason, type LastReturn } from './queue.js';
import type { QueueSettings } from './queue-args.js';
import { reportError } from '../ops/scheduler.js';

/** rabbit_quorum_queue:consume gives a consumer without prefetch this much credit. */
const DEFAULT_PREFETCH = 2000;
/** reject-publish lets publishers in again at or below this share of the limit (rabbit_fifo's ?LOW_LIMIT). */
const LOW_LIMIT = 0.8;
/** Front returns are numbered from here: before every message, in the order they came back. */
const FRONT = -(2 ** 52);
/**
 * How long an at-least-once dead letter waits before the next try when some queue did not
 * take it (RabbitMQ's dead_letter_worker_publisher_confirm_timeout); a policy change, or a
 * restart, tries at once.
 */
const DEAD_LETTER_RETRY_MS = 180_000;

/** An at-least-once dead letter that not every target has yet. */
interface Held {
  entry: QueueEntry;
  reason: DeathReason;
  /** Queues that took the copy already. */
  done: Set<Queue>;
  /** Store id of a copy waiting for the disk; -1 when not waiting. */
  waitFor: number;
}

export class QuorumQueue extends Queue {
  override readonly type = 'quorum' as const;
  override readonly storesAll = true;
  override readonly globalQos = false;
  /** Over its limit under reject-publish: publishes are refused until it is at or below 80%. */
  private rejecting = false;
  private frontSeq = FRONT;
  /** A closed channel's returns, put back in RabbitMQ's order by requeued(). */
  private readonly downReturns: { key: string; tag: number; entry: QueueEntry }[] = [];
  /** Unsettled basic.get deliveries: each is a consumer in RabbitMQ's count. */
  private gets = 0;
  /** Cancelled consumers still holding messages: counted until those are settled. */
  private readonly leaving = new Set<Consumer>();
  /** Consumers in arrival order: single active consumer hands over in this order. */
  private readonly arrivals: Consumer[] = [];
  private readonly held: Held[] = [];
  private heldBytes = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  /** Recovered past the delivery limit: dead-lettered once recovery is done. */
  private overLimit: QueueEntry[] = [];
  /** Recovered messages that had come back, put in their places once recovery is done. */
  private recoveredReturns: { entry: QueueEntry; ret: LastReturn | undefined }[] = [];

  /** At-least-once dead letters kept until every target queue has them (RabbitMQ's messages_dlx). */
  get dlxMessages(): number {
    return this.held.length;
  }

  get dlxBytes(): number {
    return this.heldBytes;
  }

  override get consumerCount(): number {
    const live = this.settings.singleActiveConsumer ? (this.active !== null ? 1 : 0) : this.consumers.length;
    return live + this.leaving.size + this.gets;
  }

  // ---- publishing: reject-publish with rabbit_fifo's hysteresis.

  override refuses(_msg: Message): boolean {
    if (!this.rejecting) return false;
    if (this.belowSoftLimit()) {
      this.rejecting = false;
      return false;
    }
    return true;
  }

  protected override afterChange(): void {
    super.afterChange();
    if (this.settings.overflow === 'reject-publish' && !this.rejecting && this.isOverLimit()) this.rejecting = true;
  }

  private isOverLimit(): boolean {
    const s = this.settings;
    return (
      (s.maxLength !== null && this.backing.length + this.held.length > s.maxLength) ||
      (s.maxLengthBytes !== null && this.backing.bytes + this.heldBytes > s.maxLengthBytes)
    );
  }

  private belowSoftLimit(): boolean {
    const s = this.settings;
    return (
      (s.maxLength === null || this.backing.length + this.held.length <= Math.trunc(s.maxLength * LOW_LIMIT)) &&
      (s.maxLengthBytes === null || this.backing.bytes + this.heldBytes <= Math.trunc(s.maxLengthBytes * LOW_LIMIT))
    );
  }

  // ---- deliveries and their returns.

  override delivered(entry: QueueEntry, noAck: boolean): void {
    if (noAck) {
      super.delivered(entry, noAck);
      return;
    }
    this.unacked++;
    if (entry.consumer === null) this.gets++;
    const m = entry.msg;
    // Every delivery is noted: after a crash their number is the message's delivery count.
    if (entry.slot >= 0 && m.storeId >= 0) this.host.store!.noteDelivered(m.storeId, entry.slot);
  }

  /** The properties a basic.get sends: x-delivery-count is always there, 0 the first time. */
  override getProps(entry: QueueEntry, props: Buffer): Buffer {
    return withDeliveryCount(props, entry.deliveryCount);
  }

  protected override forget(entry: QueueEntry): void {
    this.letGo(entry);
    super.forget(entry);
  }

  /** Consumer-count bookkeeping when a delivered entry leaves its holder (who already counted it down). */
  private letGo(entry: QueueEntry): void {
    const c = entry.consumer;
    if (c === null) this.gets--;
    else if (c.unacked === 0) this.leaving.delete(c);
  }

  override requeue(entry: QueueEntry, down = false): void {
    this.letGo(entry);
    const key = entry.consumer?.tag ?? String(entry.deliveryTag);
    const tag = entry.deliveryTag;
    entry.deliveryTag = 0;
    entry.consumer = null;
    this.unacked--;
    if (this.deleted) {
      entry.release();
      return;
    }
    // rabbit_fifo returns to the front unless the return is the client's and no limit is set.
    if (down) this.downReturns.push({ key, tag, entry });
    else this.putBack(entry, this.settings.deliveryLimit !== null);
  }

  override requeued(): void {
    const d = this.downReturns;
    if (d.length > 0) {
      // A closed channel's consumers are handled in tag order (basic.get ones are named by
      // their delivery tag), each one's messages in delivery order.
      d.sort((a, b) => byteOrder(a.key, b.key) || a.tag - b.tag);
      for (const r of d) {
        if (this.deleted) r.entry.release();
        else this.putBack(r.entry, true);
      }
      d.length = 0;
    }
    super.requeued();
  }

  private putBack(entry: QueueEntry, front: boolean): void {
    entry.deliveryCount++;
    entry.redelivered = true;
    const limit = this.settings.deliveryLimit;
    if (limit !== null && entry.deliveryCount > limit) {
      this.discard(entry, 'delivery_limit');
      return;
    }
    entry.seq = front ? this.frontSeq++ : this.nextSeq++;
    this.backing.requeue(entry);
    const m = entry.msg;
    if (entry.slot >= 0 && m.storeId >= 0) this.host.store!.noteReturned(m.storeId, entry.slot, !front);
  }

  // ---- consumers.

  override addConsumer(c: Consumer): void {
    this.arrivals.push(c);
    super.addConsumer(c);
  }

  override removeConsumer(c: Consumer): void {
    const i = this.arrivals.indexOf(c);
    if (i < 0) return;
    this.arrivals.splice(i, 1);
    if (c.unacked > 0) this.leaving.add(c);
    super.removeConsumer(c);
  }

  protected override successor(): Consumer | null {
    return this.arrivals[0] ?? null;
  }

  override checkConsume(_exclusive: boolean, globalPrefetch: number): void {
    if (globalPrefetch > 0) throw new ConnectionError(540, `${this.resource} does not support global qos`);
  }

  override checkGet(): void {
    if (this.settings.singleActiveConsumer) {
      throw new ChannelError(
        405,
        `cannot obtain access to locked ${this.resource}. basic.get operations are not supported by quorum queues with single active consumer`,
      );
    }
  }

  override checkDelete(ifUnused: boolean, ifEmpty: boolean): void {
    const flag = ifUnused ? 'if-unused' : ifEmpty ? 'if-empty' : null;
    if (flag === null) return;
    throw new ConnectionError(540, `cannot delete ${this.resource}. queue.delete operations with ${flag} flag set are not supported by quorum queues`);
  }

  override consumerPrefetch(prefetch: number): number {
    return prefetch === 0 ? DEFAULT_PREFETCH : prefetch;
  }

  // ---- dead-lettering: at-most-once as classic queues, or at-least-once.

  private get atLeastOnce(): boolean {
    return this.settings.deadLetterStrategy === 'at-least-once';
  }

  protected override discard(entry: QueueEntry, reason: DeathReason): void {
    if (!this.atLeastOnce) {
      super.discard(entry, reason);
      return;
    }
    this.backing.ack(entry);
    this.hold(entry, reason);
  }

  override reject(entry: QueueEntry): void {
    if (!this.atLeastOnce || this.deleted) {
      super.reject(entry);
      return;
    }
    this.forget(entry);
    this.hold(entry, 'rejected');
  }

  private hold(entry: QueueEntry, reason: DeathReason, recovered = false): void {
    const h: Held = { entry, reason, done: new Set(), waitFor: -1 };
    this.held.push(h);
    this.heldBytes += entry.msg.size;
    if (recovered) return;
    this.host.noteDeadLettered?.(this, reason, 'at_least_once');
    const m = entry.msg;
    // Noted, so that a restart keeps it dead (and tries again) rather than ready.
    if (entry.slot >= 0 && m.storeId >= 0) this.host.store!.noteHeld(m.storeId, entry.slot, reason);
    this.attempt(h);
  }

  /** Routes the dead letter to the queues that lack it; lets go of it once all have it (on disk). */
  private attempt(h: Held): void {
    if (h.waitFor >= 0 || this.deleted) return;
    const r = this.host.deadLetterAttempt(this, h.entry.msg, h.reason, h.done);
    for (const q of r.accepted) h.done.add(q);
    if (r.refused > 0 || h.done.size === 0) {
      this.armRetry();
      return;
    }
    const store = this.host.store;
    if (r.waitFor >= 0 && store !== null && store.durableId < r.waitFor) {
      h.waitFor = r.waitFor;
      store.waitFor({
        durable: (upTo) => {
          if (upTo < h.waitFor) return true;
          this.letGoHeld(h);
          return false;
        },
        failed: (from, to) => {
          if (h.waitFor < from || h.waitFor > to) return true;
          // The copy did not reach the disk: try again later.
          h.waitFor = -1;
          h.done.clear();
          this.armRetry();
          return false;
        },
      });
      return;
    }
    this.letGoHeld(h);
  }

  private letGoHeld(h: Held): void {
    const i = this.held.indexOf(h);
    if (i < 0) return;
    this.host.noteDeadLettered?.(this, 'confirmed', 'at_least_once');
    this.held.splice(i, 1);
    this.heldBytes -= h.entry.msg.size;
    h.entry.release();
  }

  private armRetry(): void {
    if (this.retryTimer !== null || this.deleted) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      try {
        this.retryHeld();
      } catch (err) {
        reportError(err, 'dead-letter retry');
      }
    }, DEAD_LETTER_RETRY_MS);
    this.retryTimer.unref();
  }

  /** Tries every kept dead letter again (RabbitMQ's worker on its timer and on a policy change). */
  retryHeld(): void {
    for (const h of [...this.held]) this.attempt(h);
  }

  private dropHeld(): void {
    for (const h of this.held.splice(0)) h.entry.release();
    this.heldBytes = 0;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }

  // ---- settings, recovery, deletion.

  override applySettings(s: QueueSettings, policyChanged = true): void {
    const wasAtLeastOnce = this.atLeastOnce;
    super.applySettings(s, policyChanged);
    // Leaving at-least-once deletes what it kept, as rabbit_fifo_dlx:switch_from does.
    if (wasAtLeastOnce && !this.atLeastOnce) this.dropHeld();
    if (s.overflow !== 'reject-publish') this.rejecting = false;
    else if (this.isOverLimit()) this.rejecting = true;
    // RabbitMQ's worker looks the topology up again when the queue's policy changes.
    if (policyChanged) this.retryHeld();
  }

  override recover(msg: Message, slot: number, deliveries: number, publishedAt: number, held: DeathReason | null = null, ret?: LastReturn): void {
    // Recovered messages are numbered by store id, so that a return to the back can be put
    // back behind the messages published before it.
    if (msg.storeId >= this.nextSeq) this.nextSeq = msg.storeId;
    if (held === null) {
      super.recover(msg, slot, deliveries, publishedAt, null, ret);
      return;
    }
    const entry = new QueueEntry(msg, this, this.nextSeq++);
    entry.slot = slot;
    this.hold(entry, held, true);
  }

  protected override restore(entry: QueueEntry, deliveries: number, ret?: LastReturn): void {
    if (deliveries === 0) {
      super.restore(entry, 0);
      return;
    }
    entry.deliveryCount = deliveries;
    entry.redelivered = true;
    const limit = this.settings.deliveryLimit;
    if (limit !== null && deliveries > limit) this.overLimit.push(entry);
    else this.recoveredReturns.push({ entry, ret });
  }

  /**
   * Puts recovered messages that had come back where rabbit_fifo has them: the front returns
   * in the order they happened, then those whose holder went with the broker (returned now,
   * so after the others), then the back returns behind what was published before them.
   */
  private placeRecoveredReturns(): void {
    const all = this.recoveredReturns;
    this.recoveredReturns = [];
    const front = all.filter((r) => r.ret !== undefined && r.ret.count >= r.entry.deliveryCount && !r.ret.back);
    const held = all.filter((r) => r.ret === undefined || r.ret.count < r.entry.deliveryCount);
    const back = all.filter((r) => r.ret !== undefined && r.ret.count >= r.entry.deliveryCount && r.ret.back);
    front.sort((a, b) => a.ret!.order - b.ret!.order);
    for (const r of [...front, ...held]) {
      r.entry.seq = this.frontSeq++;
      this.backing.requeue(r.entry);
    }
    back.sort((a, b) => a.ret!.position - b.ret!.position || a.ret!.order - b.ret!.order);
    for (let i = 0; i < back.length; i++) {
      const p = back[i]!.ret!.position;
      // Just behind the record at `position`, ahead of any published after it; a position
      // lost to a torn tail puts it at the end.
      const seq = Number.isFinite(p) ? p + (i + 1) / (back.length + 1) : this.nextSeq + i;
      back[i]!.entry.seq = seq;
      this.backing.requeue(back[i]!.entry);
      if (seq >= this.nextSeq) this.nextSeq = Math.floor(seq) + 1;
    }
  }

  override recovered(): void {
    const dead = this.overLimit;
    this.overLimit = [];
    for (const e of dead) this.discard(e, 'delivery_limit');
    this.placeRecoveredReturns();
    super.recovered();
    if (this.settings.overflow === 'reject-publish' && this.isOverLimit()) this.rejecting = true;
    this.retryHeld();
  }

  override delete(): number {
    const n = super.delete();
    this.dropHeld();
    return n;
  }
}
