import { MemoryBackingQueue, type BackingQueue } from './backing-queue.js';
import type { QueueEntry } from './message.js';
import type { Queue } from './queue.js';

/**
 * Backing queue for x-max-priority: one FIFO per priority level, served highest first.
 * A message without a priority counts as 0; one above the maximum counts as the maximum.
 */
export class PriorityBackingQueue implements BackingQueue {
  private readonly levels: (MemoryBackingQueue | undefined)[];
  private count = 0;
  private byteCount = 0;

  constructor(
    private readonly maxPriority: number,
    private readonly queue: Queue,
  ) {
    this.levels = new Array<MemoryBackingQueue | undefined>(maxPriority + 1);
  }

  get length(): number {
    return this.count;
  }

  get bytes(): number {
    return this.byteCount;
  }

  // Statistics: summed over the levels when asked, never on the hot path.
  get persistent(): number {
    return this.sum((l) => l.persistent);
  }

  get persistentBytes(): number {
    return this.sum((l) => l.persistentBytes);
  }

  get pagedOut(): number {
    return this.sum((l) => l.pagedOut);
  }

  get pagedOutBytes(): number {
    return this.sum((l) => l.pagedOutBytes);
  }

  private sum(f: (l: MemoryBackingQueue) => number): number {
    let n = 0;
    for (const l of this.levels) if (l !== undefined) n += f(l);
    return n;
  }

  private level(e: QueueEntry): MemoryBackingQueue {
    const p = e.msg.priority;
    const i = p > this.maxPriority ? this.maxPriority : p;
    return (this.levels[i] ??= new MemoryBackingQueue(this.queue));
  }

  private top(): MemoryBackingQueue | undefined {
    for (let i = this.maxPriority; i >= 0; i--) {
      const l = this.levels[i];
      if (l !== undefined && l.length > 0) return l;
    }
    return undefined;
  }

  publish(entry: QueueEntry): void {
    this.level(entry).publish(entry);
    this.count++;
    this.byteCount += entry.msg.size;
  }

  restore(entry: QueueEntry): void {
    this.level(entry).restore(entry);
    this.count++;
    this.byteCount += entry.msg.size;
  }

  fetch(): QueueEntry | undefined {
    const e = this.top()?.fetch();
    if (e !== undefined) {
      this.count--;
      this.byteCount -= e.msg.size;
    }
    return e;
  }

  requeue(entry: QueueEntry): void {
    this.level(entry).requeue(entry);
    this.count++;
    this.byteCount += entry.msg.size;
  }

  ack(_entry: QueueEntry): void {}

  purge(): number {
    let n = 0;
    for (const l of this.levels) n += l?.purge() ?? 0;
    this.count = 0;
    this.byteCount = 0;
    return n;
  }

  /** Only the head of the whole queue expires (RabbitMQ's documented priority-queue caveat). */
  expiredHead(now: number): QueueEntry | undefined {
    const e = this.top()?.expiredHead(now);
    if (e !== undefined) {
      this.count--;
      this.byteCount -= e.msg.size;
    }
    return e;
  }

  nextExpiry(): number {
    return this.top()?.nextExpiry() ?? 0;
  }
}
