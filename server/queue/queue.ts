import { ChannelError } from '../../amqp/errors.js';
import type { FieldTable } from '../../amqp/table.js';
import type { Routable } from '../../routing/exchange.js';
import { MemoryBackingQueue, type BackingQueue, type StoredMessages } from './backing-queue.js';
import type { Consumer, ConsumerChannel, QueueStateObserver } from './consumer.js';
import { QueueEntry, type Message } from './message.js';
import { PriorityBackingQueue } from './priority-backing-queue.js';
import type { QueueSettings } from './queue-args.js';
import { queueTypeOf, type QueueType } from './arg-validation.js';
import type { DeadLetterAttempt } from './dead-letter.js';
import { reportError, scheduleDispatch } from '../ops/scheduler.js';
import { MessageCounters } from '../ops/stats.js';

/** Identifies the connection that owns an exclusive queue. */
export interface QueueOwner {
  readonly id: number;
}

export type DeathReason = 'rejected' | 'expired' | 'maxlen' | 'delivery_limit';

/** A quorum queue's last return of a stored message before a restart (see the delivery log). */
export interface LastReturn {
  /** Returns noted in all. */
  count: number;
  /** To the back (behind `position`, the store's last id then); else to the front. */
  back: boolean;
  /** Its rank among all returns noted. */
  order: number;
  position: number;
}

/** What a queue needs from its virtual host. */
export interface QueueHost {
  readonly name: string;
  deadLetter(q: Queue, msg: Message, reason: DeathReason): void;
  /** Counts a dead-lettering the queue did itself (quorum at-least-once: reason, or 'confirmed'), for statistics. */
  noteDeadLettered?(q: Queue, reason: string, strategy: string): void;
  /** An at-least-once try: routes a copy to the queues not in `done`, and says who took it. */
  deadLetterAttempt(q: Queue, msg: Message, reason: DeathReason, done: ReadonlySet<Queue>): DeadLetterAttempt;
  /** An auto-delete queue lost its last consumer, or an x-expires queue went unused. */
  deleteQueue(q: Queue): number;
  /** Where stored messages are read back from; null without a message store. */
  readonly store: StoredMessages | null;
}

/** Deliveries one queue makes per dispatch turn before yielding to I/O. */
const DISPATCH_BUDGET = 512;

export class Queue implements Routable {
  readonly kind = 'queue' as const;
  /** The type its arguments declare (its arguments, consumer arguments and policies follow it). */
  readonly type: QueueType;
  /** Every message is stored, whatever its delivery mode (quorum queues). */
  readonly storesAll: boolean = false;
  /** The channel's global prefetch limits this queue's consumers (not a quorum queue's: credit only). */
  readonly globalQos: boolean = true;
  /** Sorted by priority, highest first; rotated within a priority for round-robin. */
  readonly consumers: Consumer[] = [];
  backing: BackingQueue;
  /** Messages delivered and not yet acked, over all channels. */
  unacked = 0;
  /** Body bytes of the unacked messages, and how many of them are persistent (statistics). */
  unackedBytes = 0;
  unackedPersistent = 0;
  unackedPersistentBytes = 0;
  /** message_stats for the management plane. */
  readonly counters = new MessageCounters();
  deleted = false;
  dispatchScheduled = false;
  /** The definition of the policy in force (the vhost's to set); null when none applies. */
  policy: object | null = null;
  /** Queue federation's link, while one pulls into this queue. */
  stateObserver: QueueStateObserver | null = null;
  protected nextSeq = 0;
  private hadConsumer = false;
  private expiryTimer: NodeJS.Timeout | null = null;
  private expiryAt = 0;
  /** Set once any message with a TTL arrives; until then expiry needs no clock reads. */
  private ttlSeen = false;
  /** With single active consumer: the one receiving. */
  protected active: Consumer | null = null;
  private unusedTimer: NodeJS.Timeout | null = null;
  private readonly onExpiryTimer = (): void => this.expireTimerFired();
  private readonly onUnusedTimer = (): void => this.unusedTimerFired();

  constructor(
    readonly name: string,
    readonly host: QueueHost,
    readonly durable: boolean,
    readonly owner: QueueOwner | null,
    readonly autoDelete: boolean,
    readonly args: FieldTable,
    public settings: QueueSettings,
  ) {
    this.type = queueTypeOf(args);
    this.backing = settings.maxPriority === null ? new MemoryBackingQueue(this) : new PriorityBackingQueue(settings.maxPriority, this);
    this.touch();
  }

  get vhost(): string {
    return this.host.name;
  }

  get messageCount(): number {
    return this.backing.length;
  }

  get consumerCount(): number {
    return this.consumers.length;
  }

  get resource(): string {
    return `queue '${this.name}' in vhost '${this.host.name}'`;
  }

  /**
   * Takes a routed message. Returns false when the queue refuses it (overflow
   * reject-publish*), so that a confirming publisher gets a nack.
   */
  enqueue(msg: Message, slot = -1): boolean {
    const s = this.settings;
    if (s.overflow !== 'drop-head' && this.refuses(msg)) {
      if (s.overflow === 'reject-publish-dlx') this.host.deadLetter(this, msg, 'maxlen');
      if (slot >= 0 && msg.storeId >= 0) msg.store!.release(msg.storeId, slot);
      return false;
    }
    this.counters.publish++;
    const entry = new QueueEntry(msg, this, this.nextSeq++);
    entry.slot = slot;
    const ttl = this.ttlFor(msg);
    if (ttl >= 0) {
      entry.expiresAt = Date.now() + ttl;
      this.ttlSeen = true;
    }
    // Nothing waiting: hand it straight to a consumer, as RabbitMQ's deliver_or_enqueue does.
    // (So a TTL of 0 means "delivered now, or expired".)
    if (this.backing.length === 0 && this.consumers.length > 0 && this.deliverNow(entry)) {
      if (this.stateObserver !== null) this.stateObserver.queueStateChanged(this);
      return true;
    }
    this.backing.publish(entry);
    this.afterChange();
    if (this.consumers.length > 0) scheduleDispatch(this);
    return true;
  }

  /** A stream's offset (× 4 + marks) for a message about to be stored, kept in its record; -1 for others. */
  reserveOffset(_msg: Message): number {
    return -1;
  }

  /** Whether overflow reject-publish(-dlx) refuses this message now. */
  refuses(msg: Message): boolean {
    return this.settings.overflow !== 'drop-head' && this.isFullFor(msg.size);
  }

  /** The queue's TTL or the message's, whichever is lower; -1 for none. */
  private ttlFor(msg: Message): number {
    const q = this.settings.messageTtl;
    return q === null ? msg.ttl : msg.ttl < 0 ? q : Math.min(q, msg.ttl);
  }

  /**
   * A message recovered from the store at start-up, in publish order, with the number of
   * deliveries noted for it. Its expiry counts from the original publish; limits and expiry
   * apply once recovery is done (recovered()). Quorum queues also get `held` (an
   * at-least-once dead letter that no target had yet) and its last return.
   */
  recover(msg: Message, slot: number, deliveries: number, publishedAt: number, _held: DeathReason | null = null, ret?: LastReturn, _mark = -1): void {
    const entry = new QueueEntry(msg, this, this.nextSeq++);
    entry.slot = slot;
    entry.redelivered = deliveries > 0;
    const ttl = this.ttlFor(msg);
    if (ttl >= 0) {
      entry.expiresAt = publishedAt + ttl;
      this.ttlSeen = true;
    }
    this.restore(entry, deliveries, ret);
  }

  protected restore(entry: QueueEntry, _deliveries: number, _ret?: LastReturn): void {
    this.backing.restore(entry);
  }

  /** Every recovered message is in: apply limits and expiry, as after any change. */
  recovered(): void {
    if (this.backing.length > 0) this.afterChange();
  }

  /**
   * After the ready list grew or its head changed: drop heads over the length limit,
   * dead-letter an expired head, and time the next head's expiry (RabbitMQ's
   * maybe_drop_head and drop_expired_msgs).
   */
  protected afterChange(): void {
    const s = this.settings;
    if (s.overflow === 'drop-head' && (s.maxLength !== null || s.maxLengthBytes !== null)) this.dropHeadOverLimit();
    if (!this.ttlSeen) return;
    const now = Date.now();
    this.dropExpired(now);
    this.armExpiry(now);
  }

  protected isFullFor(size: number): boolean {
    const s = this.settings;
    return (
      (s.maxLength !== null && this.backing.length >= s.maxLength) ||
      (s.maxLengthBytes !== null && this.backing.bytes + size > s.maxLengthBytes)
    );
  }

  private dropHeadOverLimit(): void {
    const s = this.settings;
    while (
      (s.maxLength !== null && this.backing.length > s.maxLength) ||
      (s.maxLengthBytes !== null && this.backing.bytes > s.maxLengthBytes)
    ) {
      this.discard(this.backing.fetch()!, 'maxlen');
    }
  }

  private deliverNow(entry: QueueEntry): boolean {
    const i = this.nextConsumer();
    if (i < 0) return false;
    const c = this.consumers[i]!;
    c.channel.deliver(c, entry);
    this.rotate(i);
    return true;
  }

  private countUnacked(m: Message, sign: number): void {
    this.unackedBytes += sign * m.size;
    if (!m.persistent) return;
    this.unackedPersistent += sign;
    this.unackedPersistentBytes += sign * m.size;
  }

  /** With single active consumer: the one receiving (statistics). */
  get activeConsumer(): Consumer | null {
    return this.active;
  }

  /** basic.get: the next live ready entry, ignoring prefetch. */
  fetch(): QueueEntry | undefined {
    this.touch();
    if (this.stateObserver !== null) this.stateObserver.queueStateChanged(this);
    if (!this.ttlSeen) return this.backing.fetch();
    const now = Date.now();
    this.dropExpired(now);
    const e = this.backing.fetch();
    this.dropExpired(now);
    this.armExpiry(now);
    return e;
  }

  /** The property bytes a basic.get sends for this entry. */
  getProps(_entry: QueueEntry, props: Buffer): Buffer {
    return props;
  }

  /** Called by the channel for every delivery (consume or get), once its content is written. */
  delivered(entry: QueueEntry, noAck: boolean): void {
    if (!noAck) {
      this.unacked++;
      const m = entry.msg;
      this.countUnacked(m, 1);
      // The first delivery of a stored persistent message is remembered: a crash brings it back redelivered.
      if (!entry.redelivered && entry.slot >= 0 && m.persistent && m.storeId >= 0) this.host.store!.noteDelivered(m.storeId, entry.slot);
      return;
    }
    this.backing.ack(entry);
    entry.release();
  }

  /**
   * A ready entry leaves for good: dead-lettered (before its stored copy is released, so
   * the dead-letter copy can still read it), then released.
   */
  protected discard(entry: QueueEntry, reason: DeathReason): void {
    this.host.deadLetter(this, entry.msg, reason);
    this.backing.ack(entry);
    entry.release();
  }

  /**
   * Puts a delivered entry back in its place; call requeued() after a batch of these.
   * `down`: its channel closed (rather than the client asking), which quorum queues treat apart.
   */
  requeue(entry: QueueEntry, _down = false): void {
    entry.redelivered = true;
    entry.deliveryTag = 0;
    entry.consumer = null;
    this.unacked--;
    this.countUnacked(entry.msg, -1);
    if (this.deleted) {
      entry.release();
      return;
    }
    this.backing.requeue(entry);
  }

  /** A batch of requeues is done: limits and expiry apply to the batch as a whole, then delivery, as in RabbitMQ. */
  requeued(): void {
    if (this.deleted) return;
    this.afterChange();
    this.dispatchNow();
  }

  /**
   * Delivers now rather than at the end of the turn, where the order of events matters:
   * a requeue or an ack followed by basic.cancel in the same read must see the
   * redelivery first, as RabbitMQ's queue process handles them in order.
   */
  dispatchNow(): void {
    if (this.consumers.length > 0 && this.dispatch()) scheduleDispatch(this);
  }

  /** A delivered entry was acked, or rejected without requeue. */
  settle(entry: QueueEntry): void {
    this.forget(entry);
    entry.release();
  }

  /** A delivered entry is no longer this queue's to track (its stored copy is not released). */
  protected forget(entry: QueueEntry): void {
    entry.deliveryTag = 0;
    entry.consumer = null;
    this.unacked--;
    this.countUnacked(entry.msg, -1);
    this.backing.ack(entry);
  }

  /** Rejected without requeue: dead-lettered with reason `rejected`, then settled. */
  reject(entry: QueueEntry): void {
    if (!this.deleted) this.host.deadLetter(this, entry.msg, 'rejected');
    this.settle(entry);
  }

  purge(): number {
    const n = this.backing.purge();
    this.cancelExpiryTimer();
    if (this.stateObserver !== null) this.stateObserver.queueStateChanged(this);
    return n;
  }

  addConsumer(c: Consumer): void {
    const list = this.consumers;
    let i = list.length;
    while (i > 0 && list[i - 1]!.priority < c.priority) i--;
    list.splice(i, 0, c);
    if (this.settings.singleActiveConsumer && this.active === null) this.active = c;
    this.hadConsumer = true;
    this.touch();
    scheduleDispatch(this);
    if (this.stateObserver !== null) this.stateObserver.queueStateChanged(this);
  }

  removeConsumer(c: Consumer): void {
    const i = this.consumers.indexOf(c);
    if (i < 0) return;
    this.consumers.splice(i, 1);
    if (this.active === c) this.active = this.successor();
    if (this.deleted) return;
    if (this.autoDelete && this.hadConsumer && this.consumers.length === 0) {
      this.host.deleteQueue(this);
      return;
    }
    this.touch();
    // Another consumer (the next single active one, or a lower priority) may now take messages.
    if (this.consumers.length > 0) scheduleDispatch(this);
    if (this.stateObserver !== null) this.stateObserver.queueStateChanged(this);
  }

  /** The next single active consumer: the highest priority, then the oldest (the list's order). */
  protected successor(): Consumer | null {
    return this.consumers[0] ?? null;
  }

  /** basic.consume checks of the queue itself (before the consumer exists). */
  checkConsume(exclusive: boolean, _globalPrefetch: number, _prefetch = 0, _noAck = false, _args: FieldTable = {}): void {
    if (this.hasExclusiveConsumer() || (exclusive && this.consumers.length > 0)) {
      throw new ChannelError(403, `${this.resource} in exclusive use`);
    }
  }

  /** basic.get checks of the queue itself. */
  checkGet(): void {}

  /** basic.nack and basic.reject checks of the queue itself (for a delivery it made). */
  checkReject(): void {}

  /** queue.delete checks for if-empty and if-unused. */
  checkDelete(ifUnused: boolean, ifEmpty: boolean): void {
    if (ifEmpty && this.messageCount > 0) throw new ChannelError(406, `${this.resource} not empty`);
    if (ifUnused && this.consumerCount > 0) throw new ChannelError(406, `${this.resource} in use`);
  }

  /** A new consumer's prefetch, given the channel's (0 = unlimited). */
  consumerPrefetch(prefetch: number): number {
    return prefetch;
  }

  hasExclusiveConsumer(): boolean {
    for (const c of this.consumers) if (c.exclusive) return true;
    return false;
  }

  /**
   * Hands ready messages to consumers with capacity: the highest priority first,
   * round-robin among equals. Returns true when the budget ran out with work left.
   */
  dispatch(): boolean {
    if (this.stateObserver !== null) this.stateObserver.queueStateChanged(this);
    if (this.backing.length === 0 || this.consumers.length === 0) return false;
    const ttl = this.ttlSeen;
    const now = ttl ? Date.now() : 0;
    let sent = 0;
    let more = false;
    for (;;) {
      // The head is checked before every fetch: an expired one is never delivered.
      if (ttl) this.dropExpired(now);
      if (this.backing.length === 0) break;
      const i = this.nextConsumer();
      if (i < 0) break;
      const c = this.consumers[i]!;
      c.channel.deliver(c, this.backing.fetch()!);
      this.rotate(i);
      if (++sent >= DISPATCH_BUDGET) {
        more = this.backing.length > 0;
        break;
      }
    }
    // The head changed: its expiry (if any) needs the timer.
    if (ttl && sent > 0 && this.backing.length > 0) this.armExpiry(now);
    return more;
  }

  /** Index of the consumer that should get the next message, or -1 if none can take one. */
  private nextConsumer(): number {
    const list = this.consumers;
    if (this.settings.singleActiveConsumer) return this.nextActive();
    for (let i = 0; i < list.length; i++) {
      const c = list[i]!;
      if (c.channel.canDeliver(c)) return i;
      c.blocked = true;
    }
    return -1;
  }

  /**
   * A consumer may take messages again (an ack, a qos change, a drained socket). One
   * that a dispatch found blocked rejoins behind the others of its priority, as in
   * rabbit_queue_consumers:unblock.
   */
  creditReturned(c: Consumer): void {
    if (this.deleted) return;
    if (c.blocked) {
      c.blocked = false;
      const i = this.consumers.indexOf(c);
      if (i >= 0) this.rotate(i);
    }
    scheduleDispatch(this);
  }

  /**
   * A channel can take deliveries again: its consumers that a dispatch found blocked rejoin
   * behind the others of their priority, in the order they were in, as
   * rabbit_queue_consumers:unblock moves a channel's consumers back. (Unblocking them one by
   * one in creation order would put the first-created one in front every time.)
   */
  channelUnblocked(ch: ConsumerChannel): void {
    if (this.deleted) return;
    const list = this.consumers;
    let blocked: Consumer[] | null = null;
    for (const c of list) if (c.blocked && c.channel === ch) (blocked ??= []).push(c);
    if (blocked !== null) {
      for (const c of blocked) {
        c.blocked = false;
        this.rotate(list.indexOf(c));
      }
    }
    scheduleDispatch(this);
  }

  /** Single active consumer: it stays until it leaves; then the highest priority, oldest one takes over. */
  private nextActive(): number {
    const list = this.consumers;
    const c = this.active;
    if (c === null) return -1;
    if (c.channel.canDeliver(c)) return list.indexOf(c);
    c.blocked = true;
    return -1;
  }

  /** Marks the queue deleted, cancels its consumers and drops its ready messages; returns how many. */
  delete(): number {
    this.deleted = true;
    this.cancelExpiryTimer();
    if (this.unusedTimer !== null) clearTimeout(this.unusedTimer);
    const count = this.backing.length;
    const consumers = this.consumers.splice(0);
    for (const c of consumers) c.channel.cancelledByQueue(c);
    this.backing.purge();
    return count;
  }

  /** Moves consumer i behind the others of its priority, for round-robin; false if it already was last. */
  private rotate(i: number): boolean {
    if (this.settings.singleActiveConsumer) return false;
    const list = this.consumers;
    const c = list[i]!;
    let j = i;
    while (j + 1 < list.length && list[j + 1]!.priority === c.priority) {
      list[j] = list[j + 1]!;
      j++;
    }
    list[j] = c;
    return j !== i;
  }

  // ---- message TTL: only the head is checked, by one timer per queue, as in RabbitMQ.

  private dropExpired(now: number): void {
    let e = this.backing.expiredHead(now);
    while (e !== undefined) {
      this.discard(e, 'expired');
      e = this.backing.expiredHead(now);
    }
  }

  private armExpiry(now: number): void {
    const next = this.backing.nextExpiry();
    if (next === 0) return;
    if (this.expiryTimer !== null) {
      if (this.expiryAt <= next) return;
      clearTimeout(this.expiryTimer);
    }
    this.expiryAt = next;
    this.expiryTimer = setTimeout(this.onExpiryTimer, Math.max(0, next - now));
    this.expiryTimer.unref();
  }

  private cancelExpiryTimer(): void {
    if (this.expiryTimer !== null) clearTimeout(this.expiryTimer);
    this.expiryTimer = null;
  }

  private expireTimerFired(): void {
    this.expiryTimer = null;
    if (this.deleted) return;
    const now = Date.now();
    try {
      this.dropExpired(now);
    } catch (err) {
      reportError(err, 'message expiry');
    }
    // Even if dead-lettering failed, the next head must still expire on time.
    this.armExpiry(now);
  }

  // ---- queue TTL (x-expires): deleted after going unused for that long.

  /**
   * New settings from a policy change: limits apply at once, TTLs to new messages.
   * `policyChanged`: the policy in force for this queue is not the one it had.
   */
  applySettings(s: QueueSettings, _policyChanged = true): void {
    const expiresChanged = s.expires !== this.settings.expires;
    this.settings = s;
    if (s.overflow === 'drop-head' && (s.maxLength !== null || s.maxLengthBytes !== null)) this.dropHeadOverLimit();
    if (expiresChanged) {
      if (this.unusedTimer !== null) clearTimeout(this.unusedTimer);
      this.unusedTimer = null;
      this.touch();
    }
  }

  /** Records a use: declare, basic.get, consume, cancel. */
  touch(): void {
    const expires = this.settings.expires;
    if (expires === null || this.deleted) return;
    if (this.unusedTimer !== null) clearTimeout(this.unusedTimer);
    this.unusedTimer = setTimeout(this.onUnusedTimer, expires);
    this.unusedTimer.unref();
  }

  private unusedTimerFired(): void {
    this.unusedTimer = null;
    if (this.deleted) return;
    // Consumers keep a queue in use; the timer restarts when the last one leaves.
    if (this.consumers.length > 0) return;
    try {
      this.host.deleteQueue(this);
    } catch (err) {
      reportError(err, 'queue expiry');
    }
  }
}
