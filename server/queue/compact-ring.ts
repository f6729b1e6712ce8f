/**
 * A FIFO of stored, durable messages kept as numbers only: store id, queue order (seq),
 * slot and redelivered flag, and (once a TTL is seen) expiry. 16 bytes per message (24
 * with expiry) in blocks of typed arrays, no object per message: a backlog of
 * millions costs RAM for this index, not for bodies or objects. The entry object is
 * rebuilt when the message leaves the ring (to be delivered, expired or dropped).
 */

const BLOCK = 4096;
const REDELIVERED = 0x10000;
const MAX_DELTA = 0xffffffff;

class Block {
  readonly ids = new Float64Array(BLOCK);
  /** seq − base: seqs only grow within a block, and a gap too large starts a new block. */
  readonly deltas = new Uint32Array(BLOCK);
  /** slot (16 bits) | REDELIVERED */
  readonly meta = new Int32Array(BLOCK);
  expires: Float64Array | null = null;
  /** Entries written. */
  n = 0;
  constructor(readonly base: number) {}
}

export class CompactRing {
  private blocks: Block[] = [];
  /** Index of the head in blocks[0]. */
  private head = 0;
  private count = 0;

  get length(): number {
    return this.count;
  }

  push(id: number, seq: number, slot: number, redelivered: boolean, expiresAt: number): void {
    let b = this.blocks[this.blocks.length - 1];
    if (b === undefined || b.n === BLOCK || seq - b.base > MAX_DELTA) {
      b = new Block(seq);
      this.blocks.push(b);
    }
    const i = b.n++;
    b.ids[i] = id;
    b.deltas[i] = seq - b.base;
    b.meta[i] = slot | (redelivered ? REDELIVERED : 0);
    if (expiresAt !== 0) (b.expires ??= new Float64Array(BLOCK))[i] = expiresAt;
    this.count++;
  }

  // The head's fields; only valid while length > 0.
  get headId(): number {
    return this.blocks[0]!.ids[this.head]!;
  }
  get headSeq(): number {
    const b = this.blocks[0]!;
    return b.base + b.deltas[this.head]!;
  }
  get headSlot(): number {
    return this.blocks[0]!.meta[this.head]! & 0xffff;
  }
  get headRedelivered(): boolean {
    return (this.blocks[0]!.meta[this.head]! & REDELIVERED) !== 0;
  }
  get headExpiresAt(): number {
    const e = this.blocks[0]!.expires;
    return e === null ? 0 : e[this.head]!;
  }

  /** Drops the head. */
  shift(): void {
    this.count--;
    if (++this.head === this.blocks[0]!.n) {
      this.blocks.shift();
      this.head = 0;
    }
  }

  /** Visits every entry: id, slot, redelivered (purge). */
  forEach(fn: (id: number, slot: number, redelivered: boolean) => void): void {
    for (let k = 0; k < this.blocks.length; k++) {
      const b = this.blocks[k]!;
      for (let i = k === 0 ? this.head : 0; i < b.n; i++) fn(b.ids[i]!, b.meta[i]! & 0xffff, (b.meta[i]! & REDELIVERED) !== 0);
    }
  }

  clear(): void {
    this.blocks = [];
    this.head = 0;
    this.count = 0;
  }
}
