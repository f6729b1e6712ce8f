import { ChannelError, ConnectionError } from '../amqp/errors.js';
import { CLASS, FRAME_BODY, FRAME_HEADER, FRAME_HEARTBEAT, FRAME_METHOD } from '../amqp/generated/constants.js';
import { decodeMethod, type BasicPublish, type Method } from '../amqp/generated/methods.js';
import { Reader } from '../amqp/reader.js';

export interface ContentSink {
  onContent(p: BasicPublish, props: Buffer, body: Buffer): void;
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
  private received = 0;

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
    this.publish = null;
    this.props = this.body = EMPTY;
  }

  /** Returns the decoded method for a method frame; null for content frames. */
  onFrame(type: number, buf: Buffer, start: number, end: number): Method | null {
    switch (type) {
      case FRAME_METHOD:
        if (this.state !== EXPECT_METHOD) throw this.unexpected();
        return decodeMethod(reader.reset(buf, start, end));
      case FRAME_HEADER:
        if (this.state !== EXPECT_HEADER) throw this.unexpected();
        this.onHeader(buf, start, end);
        return null;
      case FRAME_BODY:
        if (this.state !== EXPECT_BODY) throw this.unexpected();
        this.onBody(buf, start, end);
        return null;
      case FRAME_HEARTBEAT:
        throw new ConnectionError(501, 'heartbeat frame on a non-zero channel');
      default:
        throw new ConnectionError(501, `unknown frame type ${type}`);
    }
  }

  private onHeader(buf: Buffer, start: number, end: number): void {
    const r = reader.reset(buf, start, end);
    const classId = r.u16();
    r.u16(); // weight
    const size = r.u64();
    if (classId !== CLASS.basic) {
      throw new ConnectionError(505, `expected content header for class ${CLASS.basic}, got one for class ${classId} instead`);
    }
    if (size > this.maxMessageSize) {
      this.reset();
      throw new ChannelError(406, `message size ${size} is larger than configured max size ${this.maxMessageSize}`, CLASS.basic, 40);
    }
    this.props = Buffer.from(buf.subarray(r.pos, end));
    if (size === 0) {
      this.complete(EMPTY);
      return;
    }
    this.body = Buffer.allocUnsafe(size);
    this.received = 0;
    this.state = EXPECT_BODY;
  }

  private onBody(buf: Buffer, start: number, end: number): void {
    const n = end - start;
    if (this.received + n > this.body.length) {
      throw new ConnectionError(501, `content body is larger than the ${this.body.length} bytes its header declared`);
    }
    buf.copy(this.body, this.received, start, end);
    this.received += n;
    if (this.received === this.body.length) this.complete(this.body);
  }

  private complete(body: Buffer): void {
    const p = this.publish!;
    const props = this.props;
    this.reset();
    this.sink.onContent(p, props, body);
  }

  private unexpected(): ConnectionError {
    switch (this.state) {
      case EXPECT_HEADER:
        return new ConnectionError(505, `expected content header for class ${CLASS.basic}, got non content header frame instead`);
      case EXPECT_BODY:
        return new ConnectionError(505, 'expected content body, got non content body frame instead');
      default:
        return new ConnectionError(505, 'expected method frame, got non method frame instead');
    }
  }
}
