import type { FieldTable } from '../amqp/table.js';
import type { Routable } from '../routing/exchange.js';
import { MemoryBackingQueue, type BackingQueue } from './backing-queue.js';
import type { Consumer } from './consumer.js';
import { QueueEntry, type Message } from './message.js';
import { PriorityBackingQueue } from './priority-backing-queue.js';
import type { QueueSettings } from './queue-args.js';
import { scheduleDispatch } from './scheduler.js';

/** Identifies the connection that owns an exclusive queue. */
export interface QueueOwner {
  readonly id: number;
}

export type DeathReason = 'rejected' | 'expired' | 'maxlen';

/** What a queue needs from its virtual host. */
export interface QueueHost {
  readonly name: string;
  deadLetter(q: Queue, msg: Message, reason: DeathReason): void;
  /** An auto-delete queue lost its last consumer, or an x-expires queue went unused. */
  deleteQueue(q: Queue): number;
}

/** Deliveries one queue makes per dispatch turn before yielding to I/O. */
const DISPATCH_BUDGET = 512;

export class Queue implements Routable {
  readonly kind = 'queue' as const;
  /** Sorted by priority, highest first; rotated within a priority for round-robin. */
  readonly consumers: Consumer[] = [];
  backing: BackingQueue;
  /** Messages delivered and not yet acked, over all channels. */
  unacked = 0;
  deleted = false;
  dispatchScheduled = false;
  private nextSeq = 0;
  private hadConsumer = false;
  private expiryTimer: NodeJS.Timeout | null = null;
  private expiryAt = 0;
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
    this.backing = settings.maxPriority === null ? new MemoryBackingQueue() : new PriorityBackingQueue(settings.maxPriority);
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
  enqueue(msg: Message): boolean {
    const s = this.settings;
    if (s.overflow !== 'drop-head' && this.isFullFor(msg.body.length)) {
      if (s.overflow === 'reject-publish-dlx') this.host.deadLetter(this, msg, 'maxlen');
      return false;
    }
    const entry = new QueueEntry(msg, this, this.nextSeq++);
    const ttl = s.messageTtl === null ? msg.ttl : msg.ttl < 0 ? s.messageTtl : Math.min(s.messageTtl, msg.ttl);
    const now = ttl >= 0 ? Date.now() : 0;
    if (ttl >= 0) entry.expiresAt = now + ttl;
    // Nothing waiting: hand it straight to a consumer, as RabbitMQ's deliver_or_enqueue does.
    if (this.backing.length === 0 && this.consumers.length > 0 && this.deliverNow(entry)) return true;
    if (ttl === 0) {
      // A TTL of 0 means "now or never".
      this.host.deadLetter(this, msg, 'expired');
      return true;
    }
    this.backing.publish(entry);
    if (s.maxLength !== null || s.maxLengthBytes !== null) this.dropHeadOverLimit();
    if (ttl > 0) this.armExpiry(now);
    if (this.consumers.length > 0) scheduleDispatch(this);
    return true;
  }

  private isFullFor(size: number): boolean {
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
      const e = this.backing.fetch()!;
      this.backing.ack(e);
      this.host.deadLetter(this, e.msg, 'maxlen');
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

  /** basic.get: the next live ready entry, ignoring prefetch. */
  fetch(): QueueEntry | undefined {
    this.touch();
    const now = Date.now();
    this.dropExpired(now);
    const e = this.backing.fetch();
    this.armExpiry(now);
    return e;
  }

  /** Called by the channel for every delivery (consume or get). */
  delivered(entry: QueueEntry, noAck: boolean): void {
    if (noAck) this.backing.ack(entry);
    else this.unacked++;
  }

  requeue(entry: QueueEntry): void {
    entry.redelivered = true;
    entry.deliveryTag = 0;
    entry.consumer = null;
    this.unacked--;
    if (this.deleted) return;
    this.backing.requeue(entry);
    if (entry.expiresAt !== 0) this.armExpiry(Date.now());
    scheduleDispatch(this);
  }

  /** A delivered entry was acked, or rejected without requeue. */
  settle(entry: QueueEntry): void {
    entry.deliveryTag = 0;
    entry.consumer = null;
    this.unacked--;
    this.backing.ack(entry);
  }

  /** Rejected without requeue: settled, then dead-lettered with reason `rejected`. */
  reject(entry: QueueEntry): void {
    this.settle(entry);
    if (!this.deleted) this.host.deadLetter(this, entry.msg, 'rejected');
  }

  purge(): number {
    const n = this.backing.purge().length;
    this.cancelExpiryTimer();
    return n;
  }

  addConsumer(c: Consumer): void {
    const list = this.consumers;
    let i = list.length;
    // Single active consumer keeps registration order: the first one is the active one.
    if (!this.settings.singleActiveConsumer) while (i > 0 && list[i - 1]!.priority < c.priority) i--;
    list.splice(i, 0, c);
    this.hadConsumer = true;
    this.touch();
    scheduleDispatch(this);
  }

  removeConsumer(c: Consumer): void {
    const i = this.consumers.indexOf(c);
    if (i < 0) return;
    this.consumers.splice(i, 1);
    if (this.deleted) return;
    if (this.autoDelete && this.hadConsumer && this.consumers.length === 0) {
      this.host.deleteQueue(this);
      return;
    }
    this.touch();
    // Another consumer (the next single active one, or a lower priority) may now take messages.
    if (this.consumers.length > 0) scheduleDispatch(this);
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
    if (this.backing.length === 0 || this.consumers.length === 0) return false;
    const now = Date.now();
    this.dropExpired(now);
    let sent = 0;
    let more = false;
    while (this.backing.length > 0) {
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
    if (sent > 0 && this.backing.length > 0) this.armExpiry(now);
    return more;
  }

  /** Index of the consumer that should get the next message, or -1 if none can take one. */
  private nextConsumer(): number {
    const list = this.consumers;
    if (this.settings.singleActiveConsumer) return list.length > 0 && list[0]!.channel.canDeliver(list[0]!) ? 0 : -1;
    for (let i = 0; i < list.length; i++) if (list[i]!.channel.canDeliver(list[i]!)) return i;
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

  /** Moves consumer i behind the others of its priority, for round-robin. */
  private rotate(i: number): void {
    if (this.settings.singleActiveConsumer) return;
    const list = this.consumers;
    const c = list[i]!;
    let j = i;
    while (j + 1 < list.length && list[j + 1]!.priority === c.priority) {
      list[j] = list[j + 1]!;
      j++;
    }
    list[j] = c;
  }

  // ---- message TTL: only the head is checked, by one timer per queue, as in RabbitMQ.

  private dropExpired(now: number): void {
    let e = this.backing.expiredHead(now);
    while (e !== undefined) {
      this.backing.ack(e);
      this.host.deadLetter(this, e.msg, 'expired');
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
    this.dropExpired(now);
    this.armExpiry(now);
  }

  // ---- queue TTL (x-expires): deleted after going unused for that long.

  /** New settings from a policy change: limits apply at once, TTLs to new messages. */
  applySettings(s: QueueSettings): void {
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
    this.host.deleteQueue(this);
  }
}
