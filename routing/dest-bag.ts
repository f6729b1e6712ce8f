import type { RouteTarget } from './exchange.js';

// A multiset of destinations kept as a dense array, so routing can copy it into the
// caller's target with an indexed loop (no iterator) and removal stays O(1).
// Several bindings can lead to the same destination (same key, different args; or
// different patterns in one trie node), hence the reference count.

interface Slot {
  count: number;
  index: number;
}

export class DestBag<D> {
  private readonly items: D[] = [];
  private readonly slots = new Map<D, Slot>();

  get size(): number {
    return this.items.length;
  }

  /** Adds one reference; true if dest was not present before. */
  add(dest: D): boolean {
    const slot = this.slots.get(dest);
    if (slot !== undefined) {
      slot.count++;
      return false;
    }
    this.slots.set(dest, { count: 1, index: this.items.length });
    this.items.push(dest);
    return true;
  }

  /** Drops one reference; true if that was the last one and dest left the bag. */
  remove(dest: D): boolean {
    const slot = this.slots.get(dest);
    if (slot === undefined) return false;
    if (--slot.count > 0) return false;
    this.slots.delete(dest);
    const last = this.items.pop()!;
    if (slot.index < this.items.length) {
      this.items[slot.index] = last;
      this.slots.get(last)!.index = slot.index;
    }
    return true;
  }

  addTo(out: RouteTarget<D>): void {
    const items = this.items;
    for (let i = 0; i < items.length; i++) out.add(items[i]!);
  }
}
