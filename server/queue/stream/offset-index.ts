import type { Message } from '../message.js';

const BLOCK_BITS = 12;
const BLOCK = 1 << BLOCK_BITS;
const MASK = BLOCK - 1;

/** Store id of an offset that holds no message (the segment start RabbitMQ fills with a tracking snapshot). */
export const GAP = -2;
/** Store id of a message kept in memory only (no data dir, or its write failed). */
export const IN_MEMORY = -1;

class Block {
  readonly ids = new Float64Array(BLOCK).fill(GAP);
  readonly slots = new Uint16Array(BLOCK);
  /** Messages kept in memory (IN_MEMORY entries only); null until one is. */
  msgs: (Message | undefined)[] | null = null;
}

/**
 * A stream's offsets and where each message is: its store id and slot, in blocks of
 * typed arrays (10 bytes a message, no object per stored message), or the message itself
 * when there is no store. Offsets are dense from `first` to `next`; whole blocks are
 * dropped from the front as retention moves `first` up.
 */
export class OffsetIndex {
  private blocks: Block[] = [];
  /** Offset of blocks[0]'s first entry (a multiple of BLOCK). */
  private base = 0;
  first = 0;
  next = 0;

  /** Starts empty at `offset` (recovery of a stream whose first segments were dropped). */
  reset(offset: number): void {
    this.blocks = [];
    this.base = offset - (offset & MASK);
    this.first = this.next = offset;
  }

  private block(offset: number): Block {
    const i = (offset - this.base) >>> BLOCK_BITS;
    let b = this.blocks[i];
    while (b === undefined) {
      this.blocks.push(new Block());
      b = this.blocks[i];
    }
    return b;
  }

  /** Sets the entry at `offset` (>= next: offsets in between become gaps). */
  put(offset: number, id: number, slot: number, msg: Message | null): void {
    const b = this.block(offset);
    const k = offset & MASK;
    b.ids[k] = id;
    b.slots[k] = slot;
    if (msg !== null) (b.msgs ??= new Array<Message | undefined>(BLOCK))[k] = msg;
    if (offset >= this.next) this.next = offset + 1;
  }

  /** Store id at `offset` (GAP, IN_MEMORY or >= 0); offsets outside [first, next) are GAP. */
  id(offset: number): number {
    if (offset < this.first || offset >= this.next) return GAP;
    return this.blocks[(offset - this.base) >>> BLOCK_BITS]!.ids[offset & MASK]!;
  }

  slot(offset: number): number {
    return this.blocks[(offset - this.base) >>> BLOCK_BITS]!.slots[offset & MASK]!;
  }

  message(offset: number): Message | undefined {
    return this.blocks[(offset - this.base) >>> BLOCK_BITS]!.msgs?.[offset & MASK];
  }

  /** Moves `first` up to `to`, calling `drop` for each stored entry let go; frees whole blocks. */
  dropTo(to: number, drop: (id: number, slot: number) => void): void {
    for (let o = this.first; o < to; o++) {
      const id = this.id(o);
      if (id >= 0) drop(id, this.slot(o));
    }
    if (to > this.first) this.first = Math.min(to, this.next);
    while (this.blocks.length > 1 && this.first - this.base >= BLOCK) {
      this.blocks.shift();
      this.base += BLOCK;
    }
    if (this.first === this.next && this.blocks.length === 1 && this.first - this.base >= BLOCK) this.reset(this.first);
  }
}
