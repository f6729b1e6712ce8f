/**
 * Which stored messages have been delivered, so that after a crash exactly those come
 * back with redelivered=true (RabbitMQ's queue index records deliveries the same way).
 * Classic queues note a message's first delivery. Quorum queues note every delivery (their
 * number is its x-delivery-count after a crash), every return (where it went back to: the
 * front, or the back behind the messages published so far) and the at-least-once dead
 * letters they keep.
 *
 * `<dataDir>/msg_store.delivered` is a list of 10-byte entries (f64 record id, u16 slot
 * field, big-endian). The slot field is the slot for a delivery; with bit 15 set, a kept
 * dead letter (reason in bits 12-13, slot below); with bit 14, a return (bit 13: to the
 * back, followed by a position entry: the store's last id then, and 0x7fff). Entries are
 * appended once per event-loop turn, before that turn's socket writes:
 * a client can only have seen a delivery whose entry is in the file (or, after a power cut,
 * in a page cache that was lost, as RabbitMQ's unsynced journal would be). At start-up it is
 * read, then rewritten with the entries still in use; it is rewritten likewise whenever it
 * grows past a limit, keeping only entries whose records are still live.
 */
import { closeSync, existsSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import type { Logger } from 'pino';
import { schedulePreFlush } from '../ops/scheduler.js';
import type { DeathReason, LastReturn } from '../queue/queue.js';

const ENTRY = 10;
const REWRITE_AT = 64 * 1024 * 1024;
const HELD = 0x8000;
const RETURN = 0x4000;
const BACK = 0x2000;
const POSITION = 0x7fff;
const SLOT_MASK = 0x0fff;
const REASONS: readonly DeathReason[] = ['rejected', 'expired', 'delivery_limit', 'maxlen'];

/** What the previous run noted, by deliveryKey(id, slot). */
export interface Delivered {
  /** How many deliveries were noted. */
  counts: Map<string, number>;
  /** Quorum queues: how many returns, and the last one. */
  returns: Map<string, LastReturn>;
  /** Dead letters a quorum queue kept (at-least-once), with their reason. */
  held: Map<string, DeathReason>;
}

/** The slot field of a kept dead letter's entry; -1 for a slot too high to mark. */
export function heldSlot(slot: number, reason: DeathReason): number {
  return slot > SLOT_MASK ? -1 : HELD | (REASONS.indexOf(reason) << 12) | slot;
}

/** The entries (id, field pairs) of a return; none for a slot too high to mark. */
export function returnEntries(id: number, slot: number, back: boolean, position: number): number[] {
  if (slot > SLOT_MASK) return [];
  return back ? [id, RETURN | BACK | slot, position, POSITION] : [id, RETURN | slot];
}

export class DeliveryLog {
  preFlushScheduled = false;
  private fd = -1;
  private size = 0;
  private readonly pending: number[] = [];
  private buf = Buffer.allocUnsafe(64 * ENTRY);

  constructor(
    private readonly path: string,
    private readonly log: Logger,
    /** Whether a record still exists; entries of dead records are dropped when the file is rewritten. */
    private readonly isLive: (id: number) => boolean,
    private readonly rewriteAt = REWRITE_AT,
  ) {}

  /** What the previous run noted (a torn last entry is ignored). */
  read(): Delivered {
    const out: Delivered = { counts: new Map(), returns: new Map(), held: new Map() };
    const e = this.entries();
    for (let i = 0, order = 0; i < e.length; i += 2) {
      const field = e[i + 1]!;
      if (field === POSITION) continue;
      const slot = field & SLOT_MASK;
      const k = deliveryKey(e[i]!, slot);
      if ((field & HELD) !== 0) {
        out.held.set(k, REASONS[(field >> 12) & 3]!);
      } else if ((field & RETURN) !== 0) {
        const back = (field & BACK) !== 0;
        // A torn tail may have kept a return to the back without its position: at the end.
        const position = back ? (e[i + 3] === POSITION ? e[i + 2]! : Infinity) : 0;
        const count = (out.returns.get(k)?.count ?? 0) + 1;
        out.returns.set(k, { count, back, order: order++, position });
      } else {
        out.counts.set(k, (out.counts.get(k) ?? 0) + 1);
      }
    }
    return out;
  }

  /** The raw (id, slot field) pairs in the file. */
  private entries(): number[] {
    const out: number[] = [];
    if (!existsSync(this.path)) return out;
    const b = readFileSync(this.path);
    for (let p = 0; p + ENTRY <= b.length; p += ENTRY) out.push(b.readDoubleBE(p), b.readUInt16BE(p + 8));
    return out;
  }

  /** Starts a fresh file holding `keep` (id, slot pairs), atomically, and appends to it from now on. */
  open(keep: readonly number[]): void {
    const n = keep.length / 2;
    const b = Buffer.allocUnsafe(n * ENTRY);
    for (let i = 0; i < n; i++) encode(b, i * ENTRY, keep[2 * i]!, keep[2 * i + 1]!);
    const tmp = `${this.path}.tmp`;
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, b, 0, b.length, 0);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.path);
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = openSync(this.path, 'a');
    this.size = b.length;
  }

  /** A stored message was delivered (not no-ack): noted before this turn's writes. */
  note(id: number, slot: number): void {
    this.pending.push(id, slot);
    schedulePreFlush(this);
  }

  /** Entries (id, field pairs) to note together. */
  noteAll(entries: readonly number[]): void {
    if (entries.length === 0) return;
    for (const x of entries) this.pending.push(x);
    schedulePreFlush(this);
  }

  preFlush(): void {
    const p = this.pending;
    const n = p.length / 2;
    if (n === 0 || this.fd < 0) return;
    if (this.buf.length < n * ENTRY) this.buf = Buffer.allocUnsafe(n * ENTRY * 2);
    for (let i = 0; i < n; i++) encode(this.buf, i * ENTRY, p[2 * i]!, p[2 * i + 1]!);
    p.length = 0;
    try {
      writeSync(this.fd, this.buf, 0, n * ENTRY);
      this.size += n * ENTRY;
    } catch (err) {
      // Only the flag is at stake: a crash now could bring these back unmarked.
      this.log.error({ err, path: this.path }, 'delivery log write failed');
    }
    if (this.size >= this.rewriteAt) this.compact();
  }

  /** Rewrites the file with the entries of records that still exist (a position goes with its return). */
  private compact(): void {
    const keep: number[] = [];
    const e = this.entries();
    for (let i = 0, live = false; i < e.length; i += 2) {
      if (e[i + 1] !== POSITION) live = this.isLive(e[i]!);
      if (live) keep.push(e[i]!, e[i + 1]!);
    }
    this.open(keep);
  }

  close(): void {
    this.preFlush();
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}

export function deliveryKey(id: number, slot: number): string {
  return `${id}:${slot}`;
}

function encode(b: Buffer, at: number, id: number, slot: number): void {
  b.writeDoubleBE(id, at);
  b.writeUInt16BE(slot, at + 8);
}
