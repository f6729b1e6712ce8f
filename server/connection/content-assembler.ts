import { ChannelError, ConnectionError, FrameError } from '../../amqp/errors.js';
import { frameErrorText } from '../../amqp/frame-reader.js';
import { CLASS, FRAME_BODY, FRAME_HEADER, FRAME_HEARTBEAT, FRAME_METHOD } from '../../amqp/generated/constants.js';
import type { BasicPublish, Method } from '../../amqp/generated/methods.js';
import { decodeMethodFrame } from '../../amqp/method-frame.js';
import { Reader } from '../../amqp/reader.js';
import { pool, type BodyLease } from '../queue/body-pool.js';

/** RabbitMQ's unexpected_frame text: the frame, without a reason. */
export function frameText(type: number, buf: Buffer, start: number, end: number): string {
  return frameErrorText(type, buf, start, end, '').slice(0, -2);
}

export interface ContentSink {
  /** `lease`: the body is a pooled buffer (large bodies), to return once its holders are known to be done. */
  onContent(p: BasicPublish, props: Buffer, body: Buffer, lease: BodyLease | null): void;
}

const EXPECT_METHOD = 0;
const EXPECT_HEADER = 1;
const EXPECT_BODY = 2;
const EMPTY = Buffer.alloc(0);
// Decoding is synchronous and never re-entered, so one reader serves every channel.
const reader = new Reader();

/**
 * The method → content header → body state machine of one channel. The body is
 * copied exactly once, into a buffer of its final size, so that no frame view pins
 * a whole read chunk.
 */
export class ContentAssembler {
  private state = EXPECT_METHOD;
  private publish: BasicPublish | null = null;
  private props: Buffer = EMPTY;
  private body: Buffer = EMPTY;
  /** The pooled buffer the body is a view of, if it is one. */
  private lease: BodyLease | null = null;
  private received = 0;
  /** Declared size of a body over the limit, being skipped; 0 otherwise. */
  private oversize = 0;

  constructor(
    private readonly sink: ContentSink,
    private readonly maxMessageSize: number,
  ) {}

  expectContent(p: BasicPublish): void {
    this.publish = p;
    this.state = EXPECT_HEADER;
  }

  reset(): void {
    this.state = EXPECT_METHOD;
    this.oversize = 0;
    this.publish = null;
    this.props = this.body = EMPTY;
    this.lease = null;
  }

  /**
   * Where the payload of the next body frame (size bytes) belongs, so the frame reader
   * can put it there directly; null when that frame is not the next part of a body.
   */
  bodyTarget(size: number): Buffer | null {
    if (this.state !== EXPECT_BODY || this.oversize > 0 || this.received + size > this.body.length) return null;
    return this.body.subarray(this.received, this.received + size);
  }

  /** Returns the decoded method for a method frame; null for content frames. */
  onFrame(type: number, buf: Buffer, start: number, end: number): Method | null {
    switch (type) {
      case FRAME_METHOD:
        if (this.state !== EXPECT_METHOD) throw this.unexpected();
        return decodeMethodFrame(reader, buf, start, end, false);
      case FRAME_HEADER:
        if (this.state !== EXPECT_HEADER) throw this.unexpected();
        this.onHeader(buf, start, end);
        return null;
      case FRAME_BODY:
        if (this.state !== EXPECT_BODY) throw this.unexpected();
        this.onBody(buf, start, end);
        return null;
      case FRAME_HEARTBEAT:
        throw new ConnectionError(505, frameText(type, buf, start, end));
      default:
        throw new FrameError(frameErrorText(type, buf, start, end, 'unknown_frame'));
    }
  }

  private onHeader(buf: Buffer, start: number, end: number): void {
    const r = reader.reset(buf, start, end);
    const classId = r.u16();
    r.u16(); // weight
    const size = r.u64();
    if (classId !== CLASS.basic) {
      throw new ConnectionError(505, `expected content header for class ${CLASS.basic}, got one for class ${classId} instead`, CLASS.basic, 40);
    }
    this.props = Buffer.from(buf.subarray(r.pos, end));
    if (size > this.maxMessageSize) {
      // Like RabbitMQ, refuse once the body is in; but count it instead of keeping it.
      this.oversize = size;
      this.body = EMPTY;
      this.received = 0;
      this.state = EXPECT_BODY;
      return;
    }
    if (size === 0) {
      this.complete(EMPTY);
      return;
    }
    const lease = (this.lease = pool.take(size));
    this.body = lease !== null ? lease.body : Buffer.allocUnsafe(size);
    this.received = 0;
    this.state = EXPECT_BODY;
  }

  private onBody(buf: Buffer, start: number, end: number): void {
    const n = end - start;
    if (this.oversize > 0) {
      this.received += n;
      if (this.received < this.oversize) return;
      const size = this.oversize;
      this.reset();
      throw new ChannelError(406, `message size ${size} is larger than configured max size ${this.maxMessageSize}`, CLASS.basic, 40);
    }
    if (this.received + n > this.body.length) {
      throw new ConnectionError(501, `content body is larger than the ${this.body.length} bytes its header declared`);
    }
    // A frame filled in place (bodyTarget) is already where it belongs.
    if (buf.buffer !== this.body.buffer || buf.byteOffset + start !== this.body.byteOffset + this.received) {
      buf.copy(this.body, this.received, start, end);
    }
    this.received += n;
    if (this.received === this.body.length) this.complete(this.body);
  }

  private complete(body: Buffer): void {
    const p = this.publish!;
    const props = this.props;
    const lease = this.lease;
    this.reset();
    this.sink.onContent(p, props, body, lease);
  }

  private unexpected(): ConnectionError {
    switch (this.state) {
      case EXPECT_HEADER:
        return new ConnectionError(505, `expected content header for class ${CLASS.basic}, got non content header frame instead`, CLASS.basic, 40);
      case EXPECT_BODY:
        return new ConnectionError(505, 'expected content body, got non content body frame instead', CLASS.basic, 40);
      default:
        return new ConnectionError(505, 'expected method frame, got non method frame instead');
    }
  }
}
