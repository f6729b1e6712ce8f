import { reportError } from './scheduler.js';

/**
 * One clock for many timeouts: a hashed timer wheel. Every connection's heartbeat,
 * handshake and close deadlines sit in it, and one interval timer advances it, instead of a
 * Node timer per connection. Slots are `resolution` ms wide, fine enough for a heartbeat
 * every half second (heartbeat=1); a deadline further away than one turn of the wheel waits
 * in its slot for the right turn.
 *
 * Time is monotonic (performance.now()), so a wall-clock jump neither fires every deadline at
 * once nor stalls heartbeats for as long as the clock went back.
 */

/** Something the wheel calls back once its deadline has passed. */
export interface WheelTimer {
  /** The wheel's bookkeeping: the slot this timer is due in, 0 when not scheduled. */
  wheelSlot: number;
  onTimer(now: number): void;
}

export class TimerWheel {
  private readonly buckets: WheelTimer[][] = [];
  /** The last slot whose timers have run. */
  private slot: number;
  /** Monotonic ms as of the last advance(). */
  now: number;

  constructor(
    readonly resolution = 50,
    private readonly size = 1024,
    now = performance.now(),
  ) {
    for (let i = 0; i < size; i++) this.buckets.push([]);
    this.now = now;
    this.slot = Math.floor(now / resolution);
  }

  /** Runs t.onTimer once `due` (wheel time) has passed, at the first advance() after it; replaces an earlier schedule of t. */
  schedule(t: WheelTimer, due: number): void {
    let s = Math.ceil(due / this.resolution);
    if (s <= this.slot) s = this.slot + 1;
    if (t.wheelSlot === s) return;
    t.wheelSlot = s;
    // An earlier schedule's entry stays behind in its bucket; it is dropped when swept.
    this.buckets[s % this.size]!.push(t);
  }

  cancel(t: WheelTimer): void {
    t.wheelSlot = 0;
  }

  /** Runs every timer due by `now`. After a long stall each bucket is swept once, firing whatever is overdue. */
  advance(now = performance.now()): void {
    this.now = now;
    const target = Math.floor(now / this.resolution);
    if (target <= this.slot) return;
    const from = Math.max(this.slot + 1, target - this.size + 1);
    this.slot = target;
    for (let s = from; s <= target; s++) this.sweep(s, now);
  }

  private sweep(s: number, now: number): void {
    const bucket = this.buckets[s % this.size]!;
    const n = bucket.length;
    if (n === 0) return;
    let keep = 0;
    for (let i = 0; i < n; i++) {
      const t = bucket[i]!;
      const due = t.wheelSlot;
      // Cancelled, or moved to another bucket since: this entry is stale.
      if (due === 0 || due % this.size !== s % this.size) continue;
      if (due > s) {
        bucket[keep++] = t; // a later turn of the wheel
        continue;
      }
      t.wheelSlot = 0;
      try {
        t.onTimer(now);
      } catch (err) {
        reportError(err, 'timer');
      }
    }
    // Timers that rescheduled themselves a whole turn ahead were appended behind the first n.
    for (let i = n; i < bucket.length; i++) bucket[keep++] = bucket[i]!;
    bucket.length = keep;
  }
}
