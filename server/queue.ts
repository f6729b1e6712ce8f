import type { FieldTable } from '../amqp/table.js';
import type { Routable } from '../routing/exchange.js';
import { MemoryBackingQueue, type BackingQueue } from './backing-queue.js';
import type { Consumer } from './consumer.js';
import { QueueEntry, type Message } from './message.js';
import { scheduleDispatch } from './scheduler.js';

/** Identifies the connection that owns an exclusive queue. */
export interface QueueOwner {
  readonly id: number;
}

/** Deliveries one queue makes per dispatch turn before yielding to I/O. */
const DISPATCH_BUDGET = 512;

export class Queue implements Routable {
  readonly kind = 'queue' as const;
  /** Sorted by priority, highest first; rotated within a priority for round-robin. */
  readonly consumers: Consumer[] = [];
  readonly backing: BackingQueue = new MemoryBackingQueue();
  /** Messages delivered and not yet acked, over all channels. */
  unacked = 0;
  deleted = false;
  dispatchScheduled = false;
  private nextSeq = 0;
  private hadConsumer = false;

  constructor(
    readonly name: string,
    readonly vhost: string,
    readonly durable: boolean,
    readonly owner: QueueOwner | null,
    readonly autoDelete: boolean,
    readonly args: FieldTable,
    /** Called when an auto-delete queue loses its last consumer. */
    private readonly onUnused: (q: Queue) => void,
  ) {}

  get messageCount(): number {
    return this.backing.length;
  }

  get consumerCount(): number {
    return this.consumers.length;
  }

  get resource(): string {
    return `queue '${this.name}' in vhost '${this.vhost}'`;
  }

  enqueue(msg: Message): void {
    this.backing.publish(new QueueEntry(msg, this, this.nextSeq++));
    if (this.consumers.length > 0) scheduleDispatch(this);
  }

  /** basic.get: the next ready entry, ignoring prefetch. */
  fetch(): QueueEntry | undefined {
    return this.backing.fetch();
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
    scheduleDispatch(this);
  }

  /** A delivered entry was acked, or rejected without requeue. */
  settle(entry: QueueEntry): void {
    entry.deliveryTag = 0;
    entry.consumer = null;
    this.unacked--;
    this.backing.ack(entry);
  }

  purge(): number {
    return this.backing.purge().length;
  }

  addConsumer(c: Consumer): void {
    const list = this.consumers;
    let i = list.length;
    while (i > 0 && list[i - 1]!.priority < c.priority) i--;
    list.splice(i, 0, c);
    this.hadConsumer = true;
    scheduleDispatch(this);
  }

  removeConsumer(c: Consumer): void {
    const i = this.consumers.indexOf(c);
    if (i < 0) return;
    this.consumers.splice(i, 1);
    if (this.autoDelete && this.hadConsumer && this.consumers.length === 0 && !this.deleted) this.onUnused(this);
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
    const list = this.consumers;
    let sent = 0;
    while (this.backing.length > 0 && list.length > 0) {
      let i = 0;
      while (i < list.length && !list[i]!.channel.canDeliver(list[i]!)) i++;
      if (i === list.length) return false;
      const c = list[i]!;
      c.channel.deliver(c, this.backing.fetch()!);
      this.rotate(i);
      if (++sent >= DISPATCH_BUDGET) return this.backing.length > 0;
    }
    return false;
  }

  /** Marks the queue deleted, cancels its consumers and drops its ready messages; returns how many. */
  delete(): number {
    this.deleted = true;
    const count = this.backing.length;
    const consumers = this.consumers.splice(0);
    for (const c of consumers) c.channel.cancelledByQueue(c);
    this.backing.purge();
    return count;
  }

  /** Moves consumer i behind the others of its priority, for round-robin. */
  private rotate(i: number): void {
    const list = this.consumers;
    const c = list[i]!;
    let j = i;
    while (j + 1 < list.length && list[j + 1]!.priority === c.priority) {
      list[j] = list[j + 1]!;
      j++;
    }
    list[j] = c;
  }
}
