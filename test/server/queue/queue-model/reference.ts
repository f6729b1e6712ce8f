/**
 * A reference model of one RabbitMQ 3.x classic queue, small enough to check by eye.
 *
 * It follows rabbit_amqqueue_process, rabbit_queue_consumers and rabbit_priority_queue
 * (the behaviour, not the code), with one idealisation: the TTL timer is perfect. At
 * every point where the broker is at rest, no expired message sits at the head, and a
 * head found expired while the queue works (after a fetch, a requeue, a publish) is
 * dead-lettered there and then. RabbitMQ gets close to this (drop_expired_msgs after
 * every fetch, requeue and publish that changes the head, plus its ttl timer), but it
 * rounds timers and skips the check on a few paths; no client may rely on that slack.
 *
 * Semantics modelled:
 * - Ready messages live in one FIFO per priority level (one level without
 *   x-max-priority), ordered by publish sequence. A missing priority is 0; one above
 *   the maximum counts as the maximum. The head is the head of the highest non-empty
 *   level.
 * - Expiry looks at the head only (per-message TTL and x-message-ttl, the lower wins).
 *   In a priority queue that is the head of the whole queue, so an expired
 *   lower-priority message stays behind a live higher-priority one (RabbitMQ's priority
 *   docs say so; rabbit_priority_queue:dropwhile stops at the first level whose head
 *   is live). A message with TTL 0 is no exception: if no consumer takes it at once it
 *   is enqueued, and dead-lettered as soon as it is the head (at once if it is).
 * - A requeued message goes back to its place by publish sequence, redelivered, with
 *   its original expiry. A nack/reject with multiple=true requeues its messages as one
 *   batch (one requeue_and_run), so drop-head and expiry run once, after all are back.
 * - Length limits count ready messages only. drop-head: after a publish and after a
 *   requeue, heads are dropped (reason maxlen) while over a limit (maybe_drop_head).
 *   reject-publish(-dlx): a publish that would exceed a limit is refused, even if a
 *   consumer could take it (will_overflow), and -dlx dead-letters it (maxlen).
 * - Publishing first tries to hand the message straight to a consumer
 *   (attempt_delivery); otherwise it is enqueued.
 * - Consumers: rabbit_queue_consumers. Registered consumers sit in a priority queue
 *   (highest x-priority first, FIFO within a priority). Delivery takes the first one;
 *   if it has no prefetch credit it is moved to the blocked list and the next is tried;
 *   one that got a message goes to the back of its priority (round-robin). A blocked
 *   consumer rejoins the back of its priority when an ack/nack/reject gives it credit
 *   again.
 * - Single active consumer: the first consumer registered is the active one and the
 *   only one delivered to; when it is cancelled the next one is the first of the
 *   remaining consumers in that priority queue (highest x-priority, then oldest).
 * - basic.cancel leaves the consumer's unacked messages with its channel (AMQP 0-9-1).
 * - basic.get takes the head regardless of prefetch. Purge drops every ready message
 *   without dead-lettering and returns how many.
 * - Dead-lettering is recorded for every death, as if the queue had a DLX.
 *
 * Not modelled: global (channel-wide) prefetch, flow control, consumer timeout, queue
 * expiry / auto-delete / deletion, and the order of dead-letters within one
 * multiple=true reject on a priority queue (RabbitMQ's is an artefact of its per-level
 * backing queues; here it is delivery-tag order).
 */

export type Overflow = 'drop-head' | 'reject-publish' | 'reject-publish-dlx';
export type Reason = 'rejected' | 'expired' | 'maxlen';

export interface ModelSettings {
  messageTtl: number | null;
  maxLength: number | null;
  maxLengthBytes: number | null;
  overflow: Overflow;
  maxPriority: number | null;
  singleActiveConsumer: boolean;
}

export interface ModelMessage {
  readonly body: string;
  readonly seq: number;
  readonly size: number;
  readonly level: number;
  /** Clock ms at which it is dead; null = never. */
  readonly expiresAt: number | null;
  redelivered: boolean;
}

export interface ModelConsumer {
  readonly tag: string;
  readonly priority: number;
  /** 0 = unlimited. */
  readonly prefetch: number;
  readonly noAck: boolean;
  readonly channel: ModelChannel;
  unacked: number;
  registered: boolean;
}

export interface ModelUnacked {
  readonly msg: ModelMessage;
  readonly consumer: ModelConsumer | null;
}

/** A channel's unacked deliveries, in delivery-tag order. */
export class ModelChannel {
  readonly unacked: ModelUnacked[] = [];
}

/** [consumer tag, body, redelivered] */
export type Delivery = readonly [string, string, boolean];
/** [body, reason] */
export type DeadLetter = readonly [string, Reason];

export class ReferenceQueue {
  readonly deliveries: Delivery[] = [];
  readonly deadLetters: DeadLetter[] = [];
  /** The channel basic.get deliveries are tracked on. */
  readonly getChannel = new ModelChannel();
  private seq = 0;
  private readonly levels: ModelMessage[][];
  /** rabbit_queue_consumers' priority queue of consumers that may be tried. */
  private active: ModelConsumer[] = [];
  /** Consumers found without credit when tried; they rejoin when they get credit back. */
  private blocked: ModelConsumer[] = [];
  /** Single active consumer mode: registered consumers in priority-queue order, and the active one. */
  private sacOrder: ModelConsumer[] = [];
  private sacActive: ModelConsumer | null = null;

  constructor(
    readonly settings: ModelSettings,
    public now: number,
  ) {
    this.levels = Array.from({ length: (settings.maxPriority ?? 0) + 1 }, () => []);
  }

  get messageCount(): number {
    let n = 0;
    for (const l of this.levels) n += l.length;
    return n;
  }

  get bytes(): number {
    let n = 0;
    for (const l of this.levels) for (const m of l) n += m.size;
    return n;
  }

  /** Unacked deliveries over all channels. */
  unackedCount(channels: readonly ModelChannel[]): number {
    let n = 0;
    for (const ch of channels) n += ch.unacked.length;
    return n;
  }

  get consumerCount(): number {
    return this.settings.singleActiveConsumer ? this.sacOrder.length : this.active.length + this.blocked.length;
  }

  // ---- publishing

  /** basic.publish routed to this queue; false when refused (reject-publish*). */
  publish(body: string, size: number, ttl: number | undefined, priority: number | undefined): boolean {
    const s = this.settings;
    if (s.overflow !== 'drop-head' && this.wouldOverflow(size)) {
      if (s.overflow === 'reject-publish-dlx') this.deadLetters.push([body, 'maxlen']);
      return false;
    }
    const effTtl = s.messageTtl === null ? ttl : ttl === undefined ? s.messageTtl : Math.min(ttl, s.messageTtl);
    const msg: ModelMessage = {
      body,
      seq: this.seq++,
      size,
      level: this.levelOf(priority),
      expiresAt: effTtl === undefined ? null : this.now + effTtl,
      redelivered: false,
    };
    // attempt_delivery: a consumer that can take it gets it without it ever being ready.
    const c = this.pickConsumer();
    if (c !== null) {
      this.deliver(c, msg);
      return true;
    }
    this.levels[msg.level]!.push(msg);
    this.dropHeadOverLimit();
    this.expireHeads();
    return true;
  }

  private wouldOverflow(size: number): boolean {
    const s = this.settings;
    return (s.maxLength !== null && this.messageCount + 1 > s.maxLength) || (s.maxLengthBytes !== null && this.bytes + size > s.maxLengthBytes);
  }

  private levelOf(priority: number | undefined): number {
    const max = this.settings.maxPriority;
    if (max === null) return 0;
    const p = priority ?? 0;
    return p > max ? max : p;
  }

  // ---- the ready messages

  private topLevel(): ModelMessage[] | undefined {
    for (let i = this.levels.length - 1; i >= 0; i--) if (this.levels[i]!.length > 0) return this.levels[i];
    return undefined;
  }

  private head(): ModelMessage | undefined {
    return this.topLevel()?.[0];
  }

  private fetchHead(): ModelMessage | undefined {
    return this.topLevel()?.shift();
  }

  /** drop_expired_msgs: dead-letters the head while it has expired. */
  private expireHeads(): void {
    for (let h = this.head(); h !== undefined && h.expiresAt !== null && h.expiresAt <= this.now; h = this.head()) {
      this.fetchHead();
      this.deadLetters.push([h.body, 'expired']);
    }
  }

  /** maybe_drop_head: only with overflow drop-head. */
  private dropHeadOverLimit(): void {
    const s = this.settings;
    if (s.overflow !== 'drop-head') return;
    while ((s.maxLength !== null && this.messageCount > s.maxLength) || (s.maxLengthBytes !== null && this.bytes > s.maxLengthBytes)) {
      const m = this.fetchHead()!;
      this.deadLetters.push([m.body, 'maxlen']);
    }
  }

  private putBack(msg: ModelMessage): void {
    const level = this.levels[msg.level]!;
    let i = level.length;
    while (i > 0 && level[i - 1]!.seq > msg.seq) i--;
    level.splice(i, 0, msg);
  }

  // ---- consumers

  private static hasCredit(c: ModelConsumer): boolean {
    return c.noAck || c.prefetch === 0 || c.unacked < c.prefetch;
  }

  /** priority_queue:in — behind every consumer of the same or higher priority. */
  private static enqueueConsumer(list: ModelConsumer[], c: ModelConsumer): void {
    let i = list.length;
    while (i > 0 && list[i - 1]!.priority < c.priority) i--;
    list.splice(i, 0, c);
  }

  /**
   * The consumer the next message goes to, or null. Without single active consumer,
   * the chosen one is taken out of `active`; deliver() puts it back at the end of its
   * priority.
   */
  private pickConsumer(): ModelConsumer | null {
    if (this.settings.singleActiveConsumer) {
      const c = this.sacActive;
      return c !== null && ReferenceQueue.hasCredit(c) ? c : null;
    }
    while (this.active.length > 0) {
      const c = this.active.shift()!;
      if (ReferenceQueue.hasCredit(c)) return c;
      this.blocked.push(c);
    }
    return null;
  }

  private deliver(c: ModelConsumer, msg: ModelMessage): void {
    if (!c.noAck) {
      c.unacked++;
      c.channel.unacked.push({ msg, consumer: c });
    }
    this.deliveries.push([c.tag, msg.body, msg.redelivered]);
    if (!this.settings.singleActiveConsumer) ReferenceQueue.enqueueConsumer(this.active, c);
  }

  /** run_message_queue */
  private dispatch(): void {
    while (this.messageCount > 0) {
      const c = this.pickConsumer();
      if (c === null) break;
      const msg = this.fetchHead()!;
      this.deliver(c, msg);
      // fetch/2 in rabbit_amqqueue_process: the new head is checked right after.
      this.expireHeads();
    }
  }

  addConsumer(c: ModelConsumer): void {
    c.registered = true;
    if (this.settings.singleActiveConsumer) {
      ReferenceQueue.enqueueConsumer(this.sacOrder, c);
      if (this.sacActive === null) this.sacActive = c;
    } else {
      ReferenceQueue.enqueueConsumer(this.active, c);
    }
    this.dispatch();
  }

  cancelConsumer(c: ModelConsumer): void {
    if (!c.registered) return;
    c.registered = false;
    const drop = (list: ModelConsumer[]): void => {
      const i = list.indexOf(c);
      if (i >= 0) list.splice(i, 1);
    };
    drop(this.active);
    drop(this.blocked);
    drop(this.sacOrder);
    if (this.sacActive === c) this.sacActive = this.sacOrder[0] ?? null;
    this.dispatch();
  }

  /** A consumer got credit back: a blocked one rejoins the round-robin (rabbit_queue_consumers:unblock). */
  private unblock(consumers: Iterable<ModelConsumer>): void {
    for (const c of consumers) {
      const i = this.blocked.indexOf(c);
      if (i >= 0 && ReferenceQueue.hasCredit(c)) {
        this.blocked.splice(i, 1);
        ReferenceQueue.enqueueConsumer(this.active, c);
      }
    }
  }

  /** Takes entries out of a channel's unacked list and gives their consumers credit back. */
  private release(ch: ModelChannel, entries: readonly ModelUnacked[]): void {
    const consumers = new Set<ModelConsumer>();
    for (const e of entries) {
      ch.unacked.splice(ch.unacked.indexOf(e), 1);
      if (e.consumer !== null) {
        e.consumer.unacked--;
        consumers.add(e.consumer);
      }
    }
    this.unblock(consumers);
  }

  // ---- settling (basic.ack / basic.nack / basic.reject); entries in delivery-tag order

  ack(ch: ModelChannel, entries: readonly ModelUnacked[]): void {
    this.release(ch, entries);
    this.dispatch();
  }

  /** requeue_and_run: back in place, then drop-head over a limit, then expiry, then dispatch. */
  requeue(ch: ModelChannel, entries: readonly ModelUnacked[]): void {
    this.release(ch, entries);
    for (const e of entries) {
      e.msg.redelivered = true;
      this.putBack(e.msg);
    }
    this.dropHeadOverLimit();
    this.expireHeads();
    this.dispatch();
  }

  /** Rejected without requeue: dead-lettered with reason rejected. */
  reject(ch: ModelChannel, entries: readonly ModelUnacked[]): void {
    this.release(ch, entries);
    for (const e of entries) this.deadLetters.push([e.msg.body, 'rejected']);
    this.dispatch();
  }

  // ---- the rest

  /** basic.get: [body, redelivered], or null when the queue is empty. */
  get(noAck: boolean): [string, boolean] | null {
    const msg = this.fetchHead();
    if (msg === undefined) return null;
    if (!noAck) this.getChannel.unacked.push({ msg, consumer: null });
    this.expireHeads();
    return [msg.body, msg.redelivered];
  }

  purge(): number {
    const n = this.messageCount;
    for (const l of this.levels) l.length = 0;
    return n;
  }

  /** The clock moves on; the (perfect) TTL timer expires heads as they come due. */
  advance(ms: number): void {
    this.now += ms;
    this.expireHeads();
  }
}
