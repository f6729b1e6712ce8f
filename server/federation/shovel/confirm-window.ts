/** What the window tells its owner once confirms resolve a prefix of the publishes. */
export interface ConfirmSink {
  /** Ack the source's deliveries up to `tag` (multiple). */
  ackSource(tag: number): void;
  /** Nack one source delivery (requeue): the destination refused it. */
  nackSource(tag: number): void;
}

const PENDING = 0;
const ACKED = 1;
const NACKED = 2;

/**
 * on-confirm's bookkeeping: publish sequence number → the source's delivery tag, in two
 * typed rings (no allocation per message). Confirms may arrive out of order and several at
 * a time (`multiple`); the source is acked only for the prefix of publishes that are all
 * resolved, with one `multiple` ack per run, so that an ack never covers a message the
 * destination has not confirmed.
 */
export class ConfirmWindow {
  private tags = new Float64Array(1024);
  private states = new Uint8Array(1024);
  private mask = 1023;
  /** Sequence number of the oldest unresolved publish. */
  private base = 1;
  /** Sequence number the next publish gets (a confirm channel counts from 1). */
  private next = 1;

  get size(): number {
    return this.next - this.base;
  }

  /** Records the next publish (call right after publishing on the confirm channel). */
  push(sourceTag: number): void {
    if (this.next - this.base > this.mask) this.grow();
    const i = this.next & this.mask;
    this.tags[i] = sourceTag;
    this.states[i] = PENDING;
    this.next++;
  }

  private grow(): void {
    const cap = (this.mask + 1) * 2;
    const tags = new Float64Array(cap);
    const states = new Uint8Array(cap);
    for (let s = this.base; s < this.next; s++) {
      tags[s & (cap - 1)] = this.tags[s & this.mask]!;
      states[s & (cap - 1)] = this.states[s & this.mask]!;
    }
    this.tags = tags;
    this.states = states;
    this.mask = cap - 1;
  }

  /** A basic.ack or basic.nack from the destination. */
  mark(seq: number, multiple: boolean, nacked: boolean): void {
    const state = nacked ? NACKED : ACKED;
    const last = Math.min(seq, this.next - 1);
    const first = multiple ? this.base : seq;
    for (let s = Math.max(first, this.base); s <= last; s++) {
      const i = s & this.mask;
      if (this.states[i] === PENDING) this.states[i] = state;
    }
  }

  /**
   * Hands the resolved prefix to the sink (one multiple ack per run of acks, a nack for
   * each nack) and forgets it; returns how many publishes it resolved.
   */
  drain(sink: ConfirmSink): number {
    let lastAck = -1;
    let n = 0;
    while (this.base < this.next) {
      const i = this.base & this.mask;
      const st = this.states[i];
      if (st === PENDING) break;
      if (st === ACKED) lastAck = this.tags[i]!;
      else {
        if (lastAck >= 0) sink.ackSource(lastAck);
        lastAck = -1;
        sink.nackSource(this.tags[i]!);
      }
      this.base++;
      n++;
    }
    if (lastAck >= 0) sink.ackSource(lastAck);
    return n;
  }

  /** Forgets everything (the channels are gone: the source requeues what was unacked). */
  reset(): void {
    this.base = 1;
    this.next = 1;
  }
}
