import { erlBinary } from './erl-term.js';
import { FrameError } from './errors.js';
import { FRAME_END } from './generated/constants.js';

/** Receives each complete frame as a view into the read buffer; it must copy what it keeps. */
export interface FrameSink {
  onFrame(type: number, channel: number, buf: Buffer, start: number, end: number): void;
}

const HEADER = 7;

/**
 * Bytes → frames. Complete frames are handed out in place (no copy); only a frame
 * that straddles two chunks is assembled, into one reusable stash buffer.
 */
export class FrameReader {
  /** Largest frame accepted, header and end octet included; 0 = no limit. */
  frameMax: number;
  private stash: Buffer = Buffer.allocUnsafe(0);
  private stashLen = 0;
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
    if (this.stashLen > 0) {
      pos = this.fillStash(chunk, len);
      if (pos < 0) return;
    }
    while (len - pos >= HEADER && !this.held) {
      const size = chunk.readUInt32BE(pos + 3);
      this.checkSize(chunk[pos]!, size);
      const frameEnd = pos + HEADER + size;
      if (frameEnd >= len) break; // need the end octet too
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
    return this.stashLen > 0;
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
