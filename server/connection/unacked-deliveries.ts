import type { QueueEntry } from '../queue/message.js';

/** Slots before the live part that are worth moving everything down for. */
const SHIFT_AT = 1024;

/**
 * A channel's unacked deliveries in delivery-tag order. Tags only grow, so deliveries are
 * appended and clients mostly ack from the oldest: an array with a moving head does that
 * without the hashing and rehashing of a Map (which was a tenth of a stream's delivery
 * profile). A settled delivery leaves a hole; holes at the head are skipped at once, the
 * others are squeezed out once they outnumber the live deliveries, so memory follows the
 * deliveries held, whatever order they are acked in.
 */
export class UnackedDeliveries {
  private tags: number[] = [];
  private items: (QueueEntry | null)[] = [];
  /** Index of the oldest slot that may still be live. */
  private head = 0;
  /** Live deliveries. */
  size = 0;

  /** Adds a delivery; its tag is above every tag already held. */
  push(tag: number, e: QueueEntry): void {
    this.tags.push(tag);
    this.items.push(e);
    this.size++;
  }

  get(tag: number): QueueEntry | undefined {
    const i = this.indexOf(tag);
    return i < 0 ? undefined : (this.items[i] ?? undefined);
  }

  /** Removes the delivery with this tag, if held. */
  delete(tag: number): void {
    const i = this.indexOf(tag);
    if (i < 0 || this.items[i] === null) return;
    this.items[i] = null;
    this.size--;
    if (i === this.head) this.skipHoles();
    else if (this.items.length - this.head > 2 * this.size + 64) this.compact();
  }

  /** The oldest delivery held. */
  oldest(): QueueEntry | undefined {
    return this.size === 0 ? undefined : (this.items[this.head] ?? undefined);
  }

  /** Appends the deliveries with a tag up to `tag` to `out`, oldest first. */
  collectUpTo(tag: number, out: QueueEntry[]): void {
    const { tags, items } = this;
    for (let i = this.head; i < items.length && tags[i]! <= tag; i++) {
      const e = items[i];
      if (e !== null) out.push(e!);
    }
  }

  /** Every delivery held, oldest first. */
  toArray(): QueueEntry[] {
    const out: QueueEntry[] = [];
    this.collectUpTo(Infinity, out);
    return out;
  }

  clear(): void {
    this.tags = [];
    this.items = [];
    this.head = 0;
    this.size = 0;
  }

  /** The slot of `tag`, or -1. Acks come mostly for the oldest delivery, so that is tried first. */
  private indexOf(tag: number): number {
    const tags = this.tags;
    let lo = this.head;
    let hi = tags.length - 1;
    if (lo > hi || tag < tags[lo]! || tag > tags[hi]!) return -1;
    if (tags[lo] === tag) return lo;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const t = tags[mid]!;
      if (t === tag) return mid;
      if (t < tag) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  private skipHoles(): void {
    const items = this.items;
    let h = this.head;
    while (h < items.length && items[h] === null) h++;
    this.head = h;
    // Rarely, so that a channel acking everything at once keeps its arrays' storage.
    if (h >= SHIFT_AT && h * 2 >= items.length) this.compact();
  }

  /** Drops the holes, keeping order. */
  private compact(): void {
    const { tags, items } = this;
    let w = 0;
    for (let r = this.head; r < items.length; r++) {
      const e = items[r];
      if (e === null) continue;
      tags[w] = tags[r]!;
      items[w] = e!;
      w++;
    }
    tags.length = w;
    items.length = w;
    this.head = 0;
  }
}
