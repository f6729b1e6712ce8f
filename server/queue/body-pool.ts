/**
 * Large message bodies, reused. A fresh 1 MiB buffer per message cost a third of the
 * broker's time with large bodies: page faults as glibc handed the memory back and took it
 * again, and a full V8 collection every few dozen messages for the external memory they
 * added. A body taken from here is a view of a pooled buffer (its capacity a power of two).
 *
 * A buffer goes back only on the one path where every holder is known (see Publisher and
 * Channel): a transient message routed to one classic queue without dead-lettering,
 * delivered on a TCP socket, once the queue has let it go (a no-ack delivery, or the ack)
 * and every socket write of it has completed. On any other path its lease is simply never
 * settled and the garbage collector frees the buffer as before: a missed return costs
 * speed, a wrong one would hand one message's bytes to another.
 */

import { EXTERNAL_BODY_BYTES } from '../../amqp/frame-writer.js';

/**
 * Bodies at least this big are pooled: the ones deliveries write by reference, which is why a
 * socket write holds them (smaller ones are copied into the output slab).
 */
const POOLED_BODY_BYTES = EXTERNAL_BODY_BYTES;
/** Larger bodies are allocated as before. */
const MAX_POOLED = 16 * 1024 * 1024;
/** Free bytes kept at most, over all sizes. */
const MAX_FREE_BYTES = 64 * 1024 * 1024;

/** One pooled body: who still holds it. */
export class BodyLease {
  /** The queue's hold, then one per socket write under way. */
  holds = 0;
  /** Set when some holder cannot be tracked: the buffer is left to the garbage collector. */
  dead = false;

  constructor(
    /** The pooled buffer (its whole capacity). */
    readonly buf: Buffer,
    /** The message's body: the first `size` bytes of buf. */
    readonly body: Buffer,
  ) {}

  /** A holder is done with it; the last one returns the buffer. */
  release(): void {
    if (--this.holds === 0 && !this.dead) pool.put(this.buf);
  }
}

class BodyPool {
  /** Free buffers by log2 of their capacity. */
  private readonly free: Buffer[][] = [];
  private freeBytes = 0;
  private taken = 0;
  /** Buffers given back since the process started (tests, diagnostics). */
  returned = 0;

  /** A lease on a body of `size` bytes (POOLED_BODY_BYTES <= size), or null when the size is not pooled. */
  take(size: number): BodyLease | null {
    if (size < POOLED_BODY_BYTES || size > MAX_POOLED) return null;
    const k = 32 - Math.clz32(size - 1);
    const list = this.free[k];
    let buf = list?.pop();
    if (buf === undefined) buf = Buffer.allocUnsafeSlow(2 ** k);
    else this.freeBytes -= buf.length;
    this.taken++;
    return new BodyLease(buf, buf.subarray(0, size));
  }

  put(buf: Buffer): void {
    if (this.freeBytes + buf.length > MAX_FREE_BYTES) return;
    const k = 31 - Math.clz32(buf.length);
    this.returned++;
    (this.free[k] ??= []).push(buf);
    this.freeBytes += buf.length;
  }

  /** Called once a second: a pool nobody took from for a while is let go (RSS after a burst of large messages). */
  tick(): void {
    if (this.taken === 0 && this.freeBytes > 0) this.clear();
    this.taken = 0;
  }

  clear(): void {
    this.free.length = 0;
    this.freeBytes = 0;
  }

  /** Free bytes held (tests, diagnostics). */
  get idleBytes(): number {
    return this.freeBytes;
  }
}

/** One pool for the process: brokers in one process share it. */
export const pool = new BodyPool();
