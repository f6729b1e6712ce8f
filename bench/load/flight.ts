/**
 * The in-flight bound (`--in-flight N`): each publisher keeps at most N messages
 * published but not yet delivered to a consumer. One Int32 slot per publisher in a
 * SharedArrayBuffer, shared by every worker thread: the publisher adds the number of
 * deliveries a message will make (the fanout) when it sends one, a consumer subtracts
 * one per delivery, reading the publisher's index from body bytes 8–11. Nothing is
 * allocated per message; a publisher at its bound parks on Atomics.waitAsync and the
 * consumer whose delivery frees the first slot wakes it with Atomics.notify.
 */

/** Where the publisher's index sits in the body (after the 8-byte send time). */
export const PUBLISHER_INDEX_AT = 8;
/** Bodies must be at least this long to carry the send time and the publisher index. */
export const MIN_TAGGED_BODY = 12;

/** Atomics.waitAsync (Node 16+; not in the ES2022 lib this project compiles against). */
type WaitAsync = (a: Int32Array, index: number, value: number) => { async: false; value: string } | { async: true; value: Promise<string> };
const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;

export class FlightGauge {
  private readonly slots: Int32Array;
  /** A publisher may send while its slot is at most this (N - 1 messages' deliveries). */
  private readonly lowWater: number;

  constructor(
    buffer: SharedArrayBuffer,
    /** Messages each publisher may have in flight. */
    readonly limit: number,
    /** Deliveries each message makes (1 for a direct queue, the queue count for fanout). */
    readonly fanout: number,
  ) {
    this.slots = new Int32Array(buffer);
    this.lowWater = (limit - 1) * fanout;
  }

  /** Shared memory for `publishers` gauges. */
  static buffer(publishers: number): SharedArrayBuffer {
    return new SharedArrayBuffer(4 * Math.max(1, publishers));
  }

  /** Counts one message from publisher i as in flight; false (and nothing counted) when at the bound. */
  take(i: number): boolean {
    // Only publisher i adds to slot i, so the check and the add cannot race past the bound.
    if (Atomics.load(this.slots, i) > this.lowWater) return false;
    Atomics.add(this.slots, i, this.fanout);
    return true;
  }

  /**
   * One delivery of a message from publisher i reached its consumer. Returns how many
   * of that publisher's messages were in flight, this one included.
   */
  release(i: number): number {
    if (i < 0 || i >= this.slots.length) return 0;
    const before = Atomics.sub(this.slots, i, 1);
    // Exactly one release sees the slot cross from lowWater + 1 to lowWater: that one wakes the publisher.
    if (before === this.lowWater + 1) Atomics.notify(this.slots, i);
    return Math.ceil(before / this.fanout);
  }

  /** Messages of publisher i in flight (deliveries outstanding / fanout, rounded up). */
  inFlight(i: number): number {
    return Math.ceil(Atomics.load(this.slots, i) / this.fanout);
  }

  /**
   * Calls wake(owner) once publisher i is below its bound again (at once, from a
   * microtask, if it already is). One Promise per wait, never one per message.
   */
  whenFree<T>(i: number, owner: T, wake: (owner: T) => void): void {
    for (;;) {
      const v = Atomics.load(this.slots, i);
      if (v <= this.lowWater) {
        queueMicrotask(() => wake(owner));
        return;
      }
      const r = waitAsync(this.slots, i, v);
      // 'not-equal': a release came in between the load and the wait; look again.
      if (r.async) {
        r.value.then(() => wake(owner));
        return;
      }
    }
  }
}
