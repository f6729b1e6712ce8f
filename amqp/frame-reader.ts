import { erlBinary } from './erl-term.js';
import { FrameError } from './errors.js';
import { FRAME_BODY, FRAME_END } from './generated/constants.js';

/** Receives each complete frame as a view into the read buffer; it must copy what it keeps. */
export interface FrameSink {
  onFrame(type: number, channel: number, buf: Buffer, start: number, end: number): void;
  /**
   * Optional. A body frame of `size` payload bytes on `channel` did not arrive whole:
   * the sink may return where its payload will end up (a writable view of exactly `size`
   * bytes), and the reader puts the pieces there as they come (or lends that space to
   * the socket, see nextReadBuffer) instead of assembling the frame in its stash. The
   * frame is then handed to onFrame as that view, already filled. Null: the usual way.
   */
  bodyTarget?(channel: number, size: number): Buffer | null;
}

const HEADER = 7;
/** Reads straight into a body are worth a system call of their own from this size on. */
const MIN_LEND = 4096;

/**
 * Bytes → frames. Complete frames are handed out in place (no copy); only a frame
 * that straddles two chunks is assembled, into one reusable stash buffer.
 */
export class FrameReader {
  /** Largest frame accepted, header and end octet included; 0 = no limit. */
  frameMax: number;
  private stash: Buffer = Buffer.allocUnsafe(0);
  private stashLen = 0;
  /** A body frame's payload being filled in place (see FrameSink.bodyTarget), its channel and bytes so far. */
  private target: Buffer | null = null;
  private targetChannel = 0;
  private targetGot = 0;
  /** The part of target last handed out by nextReadBuffer, i.e. where the next read went. */
  private lent: Buffer | null = null;
  /**
   * After a frame filled in place, the next read takes only the end octet and the next
   * frame's header (8 bytes, or 7 when the end octet is in): if that is another body
   * frame, its whole payload can then be read into place. 0 = a full read.
   */
  private headRead = 0;
  /**
   * Set by the sink to stop handing out frames, even those already read (a connection
   * blocked by a resource alarm, as RabbitMQ's reader stops); bytes wait in the stash
   * until release().
   */
  held = false;

  constructor(
    private readonly sink: FrameSink,
    frameMax = 0,
  ) {
    this.frameMax = frameMax;
  }

  /**
   * Takes the first len bytes of chunk. The chunk may be reused for other bytes as soon
   * as this returns (a read buffer shared by every connection): what must wait is copied.
   */
  push(chunk: Buffer, len = chunk.length): void {
    if (this.held) {
      this.reserve(this.stashLen + len);
      chunk.copy(this.stash, this.stashLen, 0, len);
      this.stashLen += len;
      return;
    }
    let pos = 0;
    this.headRead = 0;
    if (this.target !== null) {
      pos = this.fillTarget(chunk, len);
      if (pos < 0) return;
    } else if (this.stashLen > 0) {
      pos = this.fillStash(chunk, len);
      if (pos < 0) return;
    }
    while (len - pos >= HEADER && !this.held) {
      const size = chunk.readUInt32BE(pos + 3);
      this.checkSize(chunk[pos]!, size);
      const frameEnd = pos + HEADER + size;
      if (frameEnd >= len) {
        // Need the end octet too. A body frame can be put together where its payload belongs.
        if (chunk[pos] === FRAME_BODY && size > 0 && this.sink.bodyTarget !== undefined && this.startTarget(chunk, pos, len, size)) return;
        break;
      }
      if (chunk[frameEnd] !== FRAME_END) throw badEnd(chunk, pos, frameEnd);
      this.sink.onFrame(chunk[pos]!, chunk.readUInt16BE(pos + 1), chunk, pos + HEADER, frameEnd);
      pos = frameEnd + 1;
    }
    if (pos < len) this.stashRest(chunk, pos, len);
  }

  /** Hands out the frames held back since `held` was set. */
  release(): void {
    this.held = false;
    if (this.stashLen === 0) return;
    const rest = Buffer.from(this.stash.subarray(0, this.stashLen));
    this.stashLen = 0;
    this.push(rest);
  }

  /** True while part of a frame is waiting for more bytes. */
  get partial(): boolean {
    return this.stashLen > 0 || this.target !== null;
  }

  /**
   * Where the next read from the socket should go: the rest of the payload of a body
   * frame being filled in place, so that the bytes land where they belong without a copy,
   * or else `fallback` (the shared read buffer). push() must then be given that buffer.
   * What is lent stays referenced here until it has been filled, as the socket holds only
   * its address.
   */
  nextReadBuffer(fallback: Buffer): Buffer {
    const t = this.target;
    if (t !== null && !this.held && t.length - this.targetGot >= MIN_LEND) return (this.lent = t.subarray(this.targetGot));
    this.lent = null;
    return this.headRead > 0 && !this.held ? fallback.subarray(0, this.headRead) : fallback;
  }

  /** A body frame from chunk[pos] on that the sink wants filled in place; false if it does not. */
  private startTarget(chunk: Buffer, pos: number, len: number, size: number): boolean {
    const channel = chunk.readUInt16BE(pos + 1);
    const t = this.sink.bodyTarget!(channel, size);
    if (t === null) return false;
    if (t.length !== size) throw new RangeError(`body target of ${t.length} bytes for a ${size}-byte frame`);
    const have = Math.min(len - pos - HEADER, size);
    chunk.copy(t, 0, pos + HEADER, pos + HEADER + have);
    this.target = t;
    this.targetChannel = channel;
    this.targetGot = have;
    return true;
  }

  /** Continues a body frame being filled in place; returns the position after it, or -1 if chunk ran out. */
  private fillTarget(chunk: Buffer, len: number): number {
    const t = this.target!;
    let pos: number;
    if (chunk === this.lent) {
      // The socket read straight into the payload: nothing to copy.
      this.lent = null;
      pos = len;
      this.targetGot += len;
    } else {
      pos = Math.min(t.length - this.targetGot, len);
      chunk.copy(t, this.targetGot, 0, pos);
      this.targetGot += pos;
    }
    if (this.targetGot < t.length) return -1;
    if (pos >= len) {
      this.headRead = HEADER + 1; // the end octet, and the next frame's header
      return -1;
    }
    if (chunk[pos] !== FRAME_END) {
      throw new FrameError(frameErrorText(FRAME_BODY, t, 0, t.length, `{invalid_frame_end_marker,${chunk[pos]}}`));
    }
    this.target = null;
    if (pos + 1 === len) this.headRead = HEADER;
    this.sink.onFrame(FRAME_BODY, this.targetChannel, t, 0, t.length);
    return pos + 1;
  }

  /**
   * Like RabbitMQ, lets a payload reach frameMax itself (not frameMax - 8): many
   * clients are off by the 8 bytes of framing, and RabbitMQ tolerates exactly that.
   */
  private checkSize(type: number, size: number): void {
    if (this.frameMax > 0 && size > this.frameMax) {
      throw new FrameError(frameErrorText(type, EMPTY, 0, 0, `{frame_too_large,${size},${this.frameMax - HEADER - 1}}`));
    }
  }

  private stashRest(chunk: Buffer, pos: number, len: number): void {
    const n = len - pos;
    let want = HEADER + 1;
    if (n >= HEADER) want = HEADER + chunk.readUInt32BE(pos + 3) + 1;
    this.reserve(Math.max(want, n));
    chunk.copy(this.stash, 0, pos, len);
    this.stashLen = n;
  }

  private reserve(n: number): void {
    if (this.stash.length >= n) return;
    const next = Buffer.allocUnsafe(Math.max(n, 4096));
    this.stash.copy(next, 0, 0, this.stashLen);
    this.stash = next;
  }

  /** Completes the stashed frame from chunk; returns the position after it, or -1 if chunk ran out. */
  private fillStash(chunk: Buffer, len: number): number {
    let pos = 0;
    if (this.stashLen < HEADER) {
      const take = Math.min(HEADER - this.stashLen, len);
      this.reserve(HEADER + 1);
      chunk.copy(this.stash, this.stashLen, 0, take);
      this.stashLen += take;
      pos = take;
      if (this.stashLen < HEADER) return -1;
    }
    const size = this.stash.readUInt32BE(3);
    this.checkSize(this.stash[0]!, size);
    const total = HEADER + size + 1;
    this.reserve(total);
    const take = Math.min(total - this.stashLen, len - pos);
    chunk.copy(this.stash, this.stashLen, pos, pos + take);
    this.stashLen += take;
    pos += take;
    if (this.stashLen < total) return -1;
    const s = this.stash;
    if (s[total - 1] !== FRAME_END) throw badEnd(s, 0, total - 1);
    this.stashLen = 0;
    this.sink.onFrame(s[0]!, s.readUInt16BE(1), s, HEADER, total - 1);
    return pos;
  }
}

const EMPTY = Buffer.alloc(0);

function badEnd(buf: Buffer, frameStart: number, endAt: number): FrameError {
  return new FrameError(frameErrorText(buf[frameStart]!, buf, frameStart + HEADER, endAt, `{invalid_frame_end_marker,${buf[endAt]}}`));
}

/** RabbitMQ's frame error text: "type 1, all octets = <<0,60,...>>: reason" (first 16 octets of longer payloads). */
export function frameErrorText(type: number, buf: Buffer, start: number, end: number, reason: string): string {
  const long = end - start > 16;
  const octets = erlBinary(buf.subarray(start, long ? start + 16 : end));
  return `type ${type}, ${long ? 'first 16' : 'all'} octets = ${octets}: ${reason}`;
}
