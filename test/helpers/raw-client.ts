// A tiny raw-socket AMQP 0-9-1 client for protocol-level tests, built on Warren's own
// codec. It sends exactly what a test asks for (arbitrary bytes, frames, methods) and
// hands back every frame the server sends, so tests can assert on the wire behaviour.
import { connect, type Socket } from 'node:net';
import { beginFrame, beginMethod, endFrame, writeContent } from '../../amqp/frame-writer.js';
import { FrameReader } from '../../amqp/frame-reader.js';
import { FRAME_BODY, FRAME_HEADER, FRAME_HEARTBEAT, FRAME_METHOD, M } from '../../amqp/generated/constants.js';
import {
  decodeMethod,
  encodeMethod,
  type ConnectionStart,
  type ConnectionTune,
  type Method,
} from '../../amqp/generated/methods.js';
import { writeProperties, type BasicProperties } from '../../amqp/generated/properties.js';
import { Reader } from '../../amqp/reader.js';
import { writeFieldValue, type FieldTable } from '../../amqp/table.js';
import { Writer } from '../../amqp/writer.js';

export const PROTOCOL_HEADER = Buffer.from('AMQP\x00\x00\x09\x01', 'latin1');

export interface Frame {
  type: number;
  channel: number;
  /** A copy of the frame payload (without header and end octet). */
  payload: Buffer;
  /** Set for method frames. */
  method?: Method;
}

/** A decoded method frame: the method plus the channel it arrived on. */
export type ReceivedMethod = Method & { channel: number };

export interface HandshakeOptions {
  mechanism?: 'PLAIN' | 'AMQPLAIN' | string;
  user?: string;
  password?: string;
  /** Exact start-ok response bytes; overrides user/password. */
  response?: Buffer;
  /** Client capabilities sent in start-ok client properties (none by default). */
  capabilities?: FieldTable;
  /** tune-ok values; default: whatever the server offered. */
  channelMax?: number;
  frameMax?: number;
  heartbeat?: number;
  /** Vhost for connection.open; null skips connection.open. Default '/'. */
  vhost?: string | null;
}

export interface HandshakeResult {
  start: ConnectionStart & { channel: number };
  tune: ConnectionTune & { channel: number };
}

export class TimeoutError extends Error {}

/** PLAIN response: NUL user NUL password. */
export function plainResponse(user: string, password: string): Buffer {
  return Buffer.from(`\0${user}\0${password}`, 'utf8');
}

/** AMQPLAIN response: field-table contents (no length prefix) with LOGIN and PASSWORD. */
export function amqplainResponse(user: string, password: string): Buffer {
  const w = new Writer(256);
  w.shortstr('LOGIN');
  writeFieldValue(w, user);
  w.shortstr('PASSWORD');
  writeFieldValue(w, password);
  return w.take();
}

export class RawClient implements AsyncDisposable {
  readonly socket: Socket;
  /** Every byte received, in order (for tests of the raw protocol-header reply). */
  readonly received: Buffer[] = [];
  /** Frames received and not yet taken by next*(). */
  private readonly queue: Frame[] = [];
  private waiter: (() => void) | null = null;
  private readonly frames: FrameReader;
  private closedAt: number | null = null;
  /** Resolves when the socket has closed (either side). */
  readonly closed: Promise<void>;
  /** A framing error while parsing the server's bytes (the server sent garbage). */
  parseError: Error | null = null;
  /** Frame max used when this client splits content bodies. */
  frameMax = 131072;

  private constructor(socket: Socket) {
    this.socket = socket;
    this.frames = new FrameReader(
      {
        onFrame: (type, channel, buf, start, end) => {
          const payload = Buffer.from(buf.subarray(start, end));
          const frame: Frame = { type, channel, payload };
          if (type === FRAME_METHOD) frame.method = decodeMethod(new Reader(payload, 0, payload.length));
          this.queue.push(frame);
          this.wake();
        },
      },
      0,
    );
    socket.on('data', (chunk: Buffer) => {
      this.received.push(Buffer.from(chunk));
      if (this.parseError !== null) return;
      try {
        this.frames.push(chunk);
      } catch (err) {
        this.parseError = err as Error;
      }
    });
    socket.on('error', () => {});
    this.closed = new Promise((resolve) => {
      socket.on('close', () => {
        this.closedAt = Date.now();
        this.wake();
        resolve();
      });
    });
  }

  /** Opens a TCP connection (nothing is sent yet). */
  static connect(port: number, host = '127.0.0.1', localAddress?: string): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host, ...(localAddress !== undefined ? { localAddress } : {}) });
      socket.setNoDelay(true);
      const client = new RawClient(socket);
      socket.once('connect', () => resolve(client));
      socket.once('error', reject);
    });
  }

  /** Connects, sends the protocol header and runs the handshake. */
  static async open(port: number, opts: HandshakeOptions = {}, host = '127.0.0.1'): Promise<RawClient> {
    const c = await RawClient.connect(port, host);
    await c.handshake(opts);
    return c;
  }

  get isClosed(): boolean {
    return this.closedAt !== null;
  }

  /** Time the socket closed (Date.now()), or null. */
  get closeTime(): number | null {
    return this.closedAt;
  }

  /** All received bytes as one buffer. */
  receivedBytes(): Buffer {
    return Buffer.concat(this.received);
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  write(bytes: Buffer | string): void {
    this.socket.write(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes);
  }

  sendHeader(header: Buffer = PROTOCOL_HEADER): void {
    this.write(header);
  }

  /** Encodes one method frame (without sending it). */
  static methodFrame(channel: number, m: Method): Buffer {
    const w = new Writer(1024);
    const at = beginMethod(w, channel);
    encodeMethod(w, m);
    endFrame(w, at);
    return w.take();
  }

  /** Encodes one frame of any type with the given payload. */
  static frame(type: number, channel: number, payload: Buffer): Buffer {
    const w = new Writer(payload.length + 16);
    const at = beginFrame(w, type, channel);
    w.bytes(payload);
    endFrame(w, at);
    return w.take();
  }

  /** Encodes a content header payload for class basic. */
  static contentHeaderPayload(bodySize: number, props: BasicProperties = {}, classId = 60): Buffer {
    const w = new Writer(256);
    w.u16(classId);
    w.u16(0);
    w.u64(bodySize);
    writeProperties(w, props);
    return w.take();
  }

  sendMethod(channel: number, m: Method): void {
    this.write(RawClient.methodFrame(channel, m));
  }

  sendFrame(type: number, channel: number, payload: Buffer): void {
    this.write(RawClient.frame(type, channel, payload));
  }

  sendHeartbeat(): void {
    this.sendFrame(FRAME_HEARTBEAT, 0, Buffer.alloc(0));
  }

  /** Sends a content header and the body split into frames of at most this.frameMax bytes. */
  sendContent(channel: number, body: Buffer, props: BasicProperties = {}): void {
    const pw = new Writer(256);
    writeProperties(pw, props);
    const w = new Writer(body.length + 4096);
    writeContent(w, channel, 60, pw.take(), body, this.frameMax);
    this.write(w.take());
  }

  /** basic.publish followed by its content. */
  publish(channel: number, exchange: string, routingKey: string, body: Buffer, props: BasicProperties = {}): void {
    this.sendMethod(channel, { id: M.BasicPublish, exchange, routingKey, mandatory: false, immediate: false });
    this.sendContent(channel, body, props);
  }

  /** The next frame of any type (heartbeats included). Rejects on timeout or socket close. */
  async nextFrame(timeoutMs = 2000): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const f = this.queue.shift();
      if (f !== undefined) return f;
      if (this.parseError !== null) throw this.parseError;
      if (this.closedAt !== null) throw new Error('socket closed while waiting for a frame');
      const left = deadline - Date.now();
      if (left <= 0) throw new TimeoutError(`no frame within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          this.waiter = null;
          resolve();
        }, left);
        this.waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }

  /** The next method frame, skipping heartbeats. Throws on any other non-method frame. */
  async nextMethod(timeoutMs = 2000): Promise<ReceivedMethod> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const f = await this.nextFrame(Math.max(1, deadline - Date.now()));
      if (f.type === FRAME_HEARTBEAT) continue;
      if (f.method === undefined) throw new Error(`expected a method frame, got frame type ${f.type} on channel ${f.channel}`);
      return Object.assign(f.method, { channel: f.channel });
    }
  }

  /** The next method, which must have the given id; returns it typed. */
  async expectMethod<Id extends Method['id']>(id: Id, timeoutMs = 2000): Promise<Extract<Method, { id: Id }> & { channel: number }> {
    const m = await this.nextMethod(timeoutMs);
    if (m.id !== id) {
      throw new Error(`expected method ${methodName(id)}, got ${methodName(m.id)}: ${JSON.stringify(describeMethod(m))}`);
    }
    return m as Extract<Method, { id: Id }> & { channel: number };
  }

  /** The next method (heartbeats skipped) as a plain object, e.g. { method: 'ConnectionClose', channel: 0, replyCode: ... }. */
  async nextReply(timeoutMs = 2000): Promise<Record<string, unknown>> {
    return describeMethod(await this.nextMethod(timeoutMs));
  }

  /** Reads a content header and its body frames; returns the body and the size of each body frame. */
  async nextContent(timeoutMs = 2000): Promise<{ channel: number; bodySize: number; body: Buffer; frameSizes: number[] }> {
    const header = await this.nextFrame(timeoutMs);
    if (header.type !== FRAME_HEADER) throw new Error(`expected a content header frame, got frame type ${header.type}`);
    const bodySize = header.payload.readUInt32BE(4) * 0x100000000 + header.payload.readUInt32BE(8);
    const parts: Buffer[] = [];
    const frameSizes: number[] = [];
    let got = 0;
    while (got < bodySize) {
      const f = await this.nextFrame(timeoutMs);
      if (f.type === FRAME_HEARTBEAT) continue;
      if (f.type !== FRAME_BODY) throw new Error(`expected a content body frame, got frame type ${f.type}`);
      parts.push(f.payload);
      frameSizes.push(f.payload.length);
      got += f.payload.length;
    }
    return { channel: header.channel, bodySize, body: Buffer.concat(parts), frameSizes };
  }

  /**
   * Collects the frames that arrive within `ms` (heartbeats excluded) and returns them.
   * Used to check that nothing is sent in reply to something.
   */
  async framesWithin(ms: number): Promise<Frame[]> {
    const out: Frame[] = [];
    const deadline = Date.now() + ms;
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) return out;
      try {
        const f = await this.nextFrame(left);
        if (f.type !== FRAME_HEARTBEAT) out.push(f);
      } catch (err) {
        if (err instanceof TimeoutError || this.isClosed) return out;
        throw err;
      }
    }
  }

  /** Waits for the socket to close; returns true if it closed within the timeout. */
  async waitClosed(timeoutMs = 2000): Promise<boolean> {
    if (this.closedAt !== null) return true;
    let t: NodeJS.Timeout | undefined;
    const timedOut = new Promise<false>((resolve) => {
      t = setTimeout(() => resolve(false), timeoutMs);
    });
    const r = await Promise.race([this.closed.then(() => true as const), timedOut]);
    clearTimeout(t);
    return r;
  }

  /** Protocol header → start → start-ok → tune → tune-ok → open → open-ok. */
  async handshake(opts: HandshakeOptions = {}): Promise<HandshakeResult> {
    this.sendHeader();
    const start = await this.expectMethod(M.ConnectionStart);
    this.sendStartOk(opts);
    const tune = await this.expectMethod(M.ConnectionTune);
    const frameMax = opts.frameMax ?? tune.frameMax;
    this.sendMethod(0, {
      id: M.ConnectionTuneOk,
      channelMax: opts.channelMax ?? tune.channelMax,
      frameMax,
      heartbeat: opts.heartbeat ?? tune.heartbeat,
    });
    if (frameMax !== 0) this.frameMax = frameMax;
    const vhost = opts.vhost === undefined ? '/' : opts.vhost;
    if (vhost !== null) {
      this.sendMethod(0, { id: M.ConnectionOpen, virtualHost: vhost, capabilities: '', insist: false });
      await this.expectMethod(M.ConnectionOpenOk);
    }
    return { start, tune };
  }

  sendStartOk(opts: HandshakeOptions = {}): void {
    const mechanism = opts.mechanism ?? 'PLAIN';
    const user = opts.user ?? 'guest';
    const password = opts.password ?? 'guest';
    const response = opts.response ?? (mechanism === 'AMQPLAIN' ? amqplainResponse(user, password) : plainResponse(user, password));
    const clientProperties: FieldTable = { product: 'warren-raw-test-client' };
    if (opts.capabilities !== undefined) clientProperties['capabilities'] = opts.capabilities;
    this.sendMethod(0, { id: M.ConnectionStartOk, clientProperties, mechanism, response, locale: 'en_US' });
  }

  async openChannel(channel: number): Promise<void> {
    this.sendMethod(channel, { id: M.ChannelOpen, outOfBand: '' });
    const ok = await this.expectMethod(M.ChannelOpenOk);
    if (ok.channel !== channel) throw new Error(`channel.open-ok on channel ${ok.channel}, expected ${channel}`);
  }

  /** Orderly close: connection.close, wait for close-ok (best effort), then end the socket. */
  async close(): Promise<void> {
    if (this.closedAt === null) {
      try {
        this.sendMethod(0, { id: M.ConnectionClose, replyCode: 200, replyText: 'bye', classId: 0, methodId: 0 });
        for (;;) {
          const m = await this.nextMethod(500);
          if (m.id === M.ConnectionCloseOk) break;
        }
      } catch {
        // already closing or closed
      }
    }
    this.destroy();
    await this.closed;
  }

  destroy(): void {
    this.socket.destroy();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.destroy();
  }
}

export function methodName(id: number): string {
  for (const [name, v] of Object.entries(M)) if (v === id) return name;
  return `${id >>> 16}/${id & 0xffff}`;
}

/** A JSON-friendly view of a method, for error messages. */
export function describeMethod(m: Method): Record<string, unknown> {
  const out: Record<string, unknown> = { method: methodName(m.id) };
  for (const [k, v] of Object.entries(m)) if (k !== 'id') out[k] = Buffer.isBuffer(v) ? v.toString('latin1') : v;
  return out;
}

/** A JSON-friendly view of a frame (method frames described, others by type and size). */
export function describeFrame(f: Frame): Record<string, unknown> {
  if (f.method !== undefined) return { ...describeMethod(f.method), channel: f.channel };
  return { type: f.type, channel: f.channel, size: f.payload.length };
}

/** The reply fields of a connection.close / channel.close, for exact comparisons. */
export function closeInfo(m: Method): { replyCode: number; replyText: string; classId: number; methodId: number } {
  if (m.id !== M.ConnectionClose && m.id !== M.ChannelClose) {
    throw new Error(`expected connection.close or channel.close, got ${JSON.stringify(describeMethod(m))}`);
  }
  return { replyCode: m.replyCode, replyText: m.replyText, classId: m.classId, methodId: m.methodId };
}

export { FRAME_BODY, FRAME_HEADER, FRAME_HEARTBEAT, FRAME_METHOD, M };
