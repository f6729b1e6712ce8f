/**
 * A minimal AMQP 0-9-1 client on Warren's own codec, built for load generation:
 * handshake and pipelined set-up RPCs use decoded methods, while the hot path
 * (deliveries, acks, confirms) is parsed by hand from the frame bytes without
 * allocating. Everything written in one event-loop turn goes out in one socket write.
 */
import { connect, type Socket } from 'node:net';
import { beginMethod, endFrame } from '../../amqp/frame-writer.js';
import { FrameReader, type FrameSink } from '../../amqp/frame-reader.js';
import { FRAME_BODY, FRAME_HEADER, FRAME_HEARTBEAT, FRAME_METHOD, M } from '../../amqp/generated/constants.js';
import { decodeMethod, encodeMethod, type Method } from '../../amqp/generated/methods.js';
import { Reader } from '../../amqp/reader.js';
import { Writer } from '../../amqp/writer.js';
import type { FieldTable } from '../../amqp/table.js';

export interface AmqpUrl {
  host: string;
  port: number;
  user: string;
  pass: string;
  vhost: string;
}

export function parseUrl(url: string): AmqpUrl {
  const u = new URL(url);
  if (u.protocol !== 'amqp:') throw new Error(`unsupported URL scheme ${u.protocol} (only amqp://)`);
  const path = decodeURIComponent(u.pathname.replace(/^\//, ''));
  return {
    host: u.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
    port: u.port === '' ? 5672 : Number(u.port),
    user: u.username === '' ? 'guest' : decodeURIComponent(u.username),
    pass: u.password === '' ? 'guest' : decodeURIComponent(u.password),
    vhost: u.pathname === '' || u.pathname === '/' ? '/' : path,
  };
}

/** Hot-path callbacks. Implementations should be plain methods (no closures per message). */
export interface ClientHandler {
  /**
   * A delivered message is complete; sentAt is the timestamp in its first 8 body bytes
   * (NaN if none), publisher the index in body bytes 8–11 (-1 if the body is shorter).
   */
  onMessage(channel: number, deliveryTag: number, bodySize: number, sentAt: number, publisher: number): void;
  /** basic.ack / basic.nack from the broker on a confirm channel. */
  onConfirm(channel: number, deliveryTag: number, multiple: boolean, nack: boolean): void;
  /** The connection is gone (err is null after a clean close). */
  onClose(err: Error | null): void;
  /** connection.blocked / unblocked. */
  onBlocked?(blocked: boolean): void;
  /** Called after each read chunk has been processed (a good place to flush acks). */
  onReadDone?(): void;
}

interface Pending {
  replyId: number;
  resolve: (m: Method) => void;
  reject: (e: Error) => void;
}

/** Per-channel state for assembling incoming content. */
class Incoming {
  tag = 0;
  size = 0;
  got = 0;
  sentAt = NaN;
  publisher = -1;
  /** Head bytes (timestamp, publisher index) gathered so far, when they straddle body frames. */
  tsBuf = Buffer.alloc(12);
  tsGot = 0;
  /** Head bytes wanted: 12, or 8 for bodies of 8–11 bytes, or 0. */
  headLen = 0;
  active = false;
}

const PROTOCOL_HEADER = Buffer.from('AMQP\x00\x00\x09\x01', 'latin1');
const reader = new Reader();
const DELIVER = 0x003c003c;
const GET_OK = 0x003c0047;
const ACK = 0x003c0050;
const NACK = 0x003c0078;

export class AmqpError extends Error {
  constructor(
    message: string,
    readonly replyCode: number,
  ) {
    super(message);
  }
}

export class BenchClient implements FrameSink {
  readonly writer: Writer;
  socket!: Socket;
  frameMax = 131072;
  channelMax = 2047;
  blocked = false;
  closed = false;
  private readonly frames: FrameReader;
  private readonly pending = new Map<number, Pending[]>();
  private readonly incoming: Incoming[] = [];
  private handshake: { resolve: () => void; reject: (e: Error) => void } | null = null;
  /** A flush is queued for the next tick. */
  flushQueued = false;
  private handler: ClientHandler;
  private readonly drainWaiters: (() => void)[] = [];

  constructor(
    readonly url: AmqpUrl,
    handler: ClientHandler | null = null,
    slabSize = 64 * 1024,
  ) {
    this.writer = new Writer(slabSize);
    this.frames = new FrameReader(this);
    this.handler = handler ?? NULL_HANDLER;
  }

  setHandler(h: ClientHandler): void {
    this.handler = h;
  }

  /** Connects, performs the handshake (PLAIN, no heartbeats) and opens nothing else. */
  open(name = 'warren-bench'): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.handshake = { resolve, reject };
      const s = connect({ host: this.url.host, port: this.url.port });
      this.socket = s;
      s.setNoDelay(true);
      s.once('connect', () => s.write(PROTOCOL_HEADER));
      s.on('data', (chunk: Buffer) => this.onData(chunk));
      s.on('drain', () => this.onDrain());
      s.on('error', (err) => this.fail(err));
      s.on('close', () => this.fail(null));
      this.clientName = name;
    });
  }

  private clientName = 'warren-bench';

  private onData(chunk: Buffer): void {
    try {
      this.frames.push(chunk);
    } catch (err) {
      this.fail(err as Error);
      this.socket.destroy();
      return;
    }
    this.handler.onReadDone?.();
    if (this.writer.length > 0) this.flush();
  }

  onFrame(type: number, channel: number, buf: Buffer, start: number, end: number): void {
    if (type === FRAME_METHOD) {
      const id = buf.readUInt32BE(start);
      if (id === DELIVER || id === GET_OK) return this.onDeliver(channel, id, buf, start + 4);
      if (id === ACK || id === NACK) {
        const tag = buf.readUInt32BE(start + 4) * 0x100000000 + buf.readUInt32BE(start + 8);
        return this.handler.onConfirm(channel, tag, (buf[start + 12]! & 1) === 1, id === NACK);
      }
      return this.onMethod(channel, decodeMethod(reader.reset(buf, start, end)));
    }
    if (type === FRAME_HEADER) {
      const inc = this.incoming[channel];
      if (inc === undefined || !inc.active) return;
      inc.size = buf.readUInt32BE(start + 4) * 0x100000000 + buf.readUInt32BE(start + 8);
      inc.got = 0;
      inc.tsGot = 0;
      inc.sentAt = NaN;
      inc.publisher = -1;
      inc.headLen = inc.size >= 12 ? 12 : inc.size >= 8 ? 8 : 0;
      if (inc.size === 0) this.complete(channel, inc);
      return;
    }
    if (type === FRAME_BODY) {
      const inc = this.incoming[channel];
      if (inc === undefined || !inc.active) return;
      const n = end - start;
      const head = inc.headLen;
      if (inc.got < head) {
        if (inc.got === 0 && n >= head) readHead(inc, buf, start);
        else {
          const take = Math.min(head - inc.tsGot, n);
          buf.copy(inc.tsBuf, inc.tsGot, start, start + take);
          inc.tsGot += take;
          if (inc.tsGot === head) readHead(inc, inc.tsBuf, 0);
        }
      }
      inc.got += n;
      if (inc.got >= inc.size) this.complete(channel, inc);
      return;
    }
    if (type === FRAME_HEARTBEAT) return;
  }

  private onDeliver(channel: number, id: number, buf: Buffer, p: number): void {
    let inc = this.incoming[channel];
    if (inc === undefined) inc = this.incoming[channel] = new Incoming();
    if (id === DELIVER) p += 1 + buf[p]!; // consumer tag
    inc.tag = buf.readUInt32BE(p) * 0x100000000 + buf.readUInt32BE(p + 4);
    inc.active = true;
  }

  private complete(channel: number, inc: Incoming): void {
    inc.active = false;
    this.handler.onMessage(channel, inc.tag, inc.size, inc.sentAt, inc.publisher);
  }

  private onMethod(channel: number, m: Method): void {
    switch (m.id) {
      case M.ConnectionStart: {
        const resp = `\u0000${this.url.user}\u0000${this.url.pass}`;
        this.send(0, {
          id: M.ConnectionStartOk,
          clientProperties: {
            product: 'warren-bench',
            connection_name: this.clientName,
            capabilities: { publisher_confirms: true, 'basic.nack': true, 'connection.blocked': true, consumer_cancel_notify: true },
          },
          mechanism: 'PLAIN',
          response: resp,
          locale: 'en_US',
        });
        return;
      }
      case M.ConnectionTune: {
        this.frameMax = m.frameMax === 0 ? 131072 : Math.min(m.frameMax, 131072);
        this.channelMax = m.channelMax === 0 ? 2047 : m.channelMax;
        this.frames.frameMax = 0;
        this.send(0, { id: M.ConnectionTuneOk, channelMax: this.channelMax, frameMax: this.frameMax, heartbeat: 0 });
        this.send(0, { id: M.ConnectionOpen, virtualHost: this.url.vhost, capabilities: '', insist: false });
        return;
      }
      case M.ConnectionOpenOk: {
        const h = this.handshake;
        this.handshake = null;
        h?.resolve();
        return;
      }
      case M.ConnectionClose: {
        this.send(0, { id: M.ConnectionCloseOk });
        this.flush();
        this.fail(new AmqpError(`connection closed by broker: ${m.replyCode} ${m.replyText}`, m.replyCode));
        this.socket.end();
        return;
      }
      case M.ConnectionCloseOk:
        this.resolveNext(0, m);
        this.socket.end();
        return;
      case M.ConnectionBlocked:
      case M.ConnectionUnblocked:
        this.blocked = m.id === M.ConnectionBlocked;
        this.handler.onBlocked?.(this.blocked);
        return;
      case M.ChannelClose: {
        this.send(channel, { id: M.ChannelCloseOk });
        const err = new AmqpError(`channel ${channel} closed by broker: ${m.replyCode} ${m.replyText}`, m.replyCode);
        const q = this.pending.get(channel);
        this.pending.delete(channel);
        if (q !== undefined && q.length > 0) for (const p of q) p.reject(err);
        else this.handler.onClose(err);
        return;
      }
      case M.BasicReturn:
      case M.BasicCancel:
        return;
      default:
        this.resolveNext(channel, m);
    }
  }

  private resolveNext(channel: number, m: Method): void {
    const q = this.pending.get(channel);
    const p = q?.[0];
    if (p === undefined || p.replyId !== m.id) return;
    q!.shift();
    p.resolve(m);
  }

  /** Encodes a method into the output slab; it goes out on the next flush. */
  send(channel: number, m: Method): void {
    const at = beginMethod(this.writer, channel);
    encodeMethod(this.writer, m);
    endFrame(this.writer, at);
    this.scheduleFlush();
  }

  /** Sends a method and resolves with the reply whose id is replyId. Replies on a channel come in order, so calls may be pipelined. */
  rpc<T extends Method>(channel: number, m: Method, replyId: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.closed) return reject(new Error('connection is closed'));
      let q = this.pending.get(channel);
      if (q === undefined) this.pending.set(channel, (q = []));
      q.push({ replyId, resolve: resolve as (m: Method) => void, reject });
      this.send(channel, m);
    });
  }

  scheduleFlush(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    process.nextTick(flushClient, this);
  }

  /** Writes everything encoded so far in one socket write; returns false when the socket is full. */
  flush(): boolean {
    this.flushQueued = false;
    if (this.writer.length === 0 || this.closed) return !this.socket.writableNeedDrain;
    return this.socket.write(this.writer.detach());
  }

  /** Resolves when the socket has drained (immediately if it is not full). */
  waitDrain(): Promise<void> {
    if (!this.socket.writableNeedDrain) return Promise.resolve();
    return new Promise((r) => this.drainWaiters.push(r));
  }

  onDrainHook: (() => void) | null = null;

  private onDrain(): void {
    this.onDrainHook?.();
    const ws = this.drainWaiters.splice(0);
    for (const w of ws) w();
  }

  private fail(err: Error | null): void {
    if (this.closed) return;
    this.closed = true;
    const e = err ?? new Error('connection closed');
    if (this.handshake !== null) {
      this.handshake.reject(e);
      this.handshake = null;
    }
    for (const q of this.pending.values()) for (const p of q) p.reject(e);
    this.pending.clear();
    for (const w of this.drainWaiters.splice(0)) w();
    this.handler.onClose(err);
  }

  // ---- set-up helpers (not on the hot path) ----

  async openChannel(ch: number): Promise<void> {
    await this.rpc(ch, { id: M.ChannelOpen, outOfBand: '' }, M.ChannelOpenOk);
  }

  async declareQueue(ch: number, queue: string, durable: boolean, args: FieldTable = {}, autoDelete = false): Promise<{ queue: string; messageCount: number }> {
    const m = await this.rpc<Method & { queue: string; messageCount: number }>(
      ch,
      { id: M.QueueDeclare, queue, passive: false, durable, exclusive: false, autoDelete, nowait: false, arguments: args },
      M.QueueDeclareOk,
    );
    return { queue: m.queue, messageCount: m.messageCount };
  }

  async queueDepth(ch: number, queue: string): Promise<number> {
    const m = await this.rpc<Method & { messageCount: number }>(
      ch,
      { id: M.QueueDeclare, queue, passive: true, durable: false, exclusive: false, autoDelete: false, nowait: false, arguments: {} },
      M.QueueDeclareOk,
    );
    return m.messageCount;
  }

  async deleteQueue(ch: number, queue: string): Promise<void> {
    await this.rpc(ch, { id: M.QueueDelete, queue, ifUnused: false, ifEmpty: false, nowait: false }, M.QueueDeleteOk);
  }

  async declareExchange(ch: number, exchange: string, type: string, durable = false, autoDelete = false): Promise<void> {
    await this.rpc(
      ch,
      { id: M.ExchangeDeclare, exchange, type, passive: false, durable, autoDelete, internal: false, nowait: false, arguments: {} },
      M.ExchangeDeclareOk,
    );
  }

  async deleteExchange(ch: number, exchange: string): Promise<void> {
    await this.rpc(ch, { id: M.ExchangeDelete, exchange, ifUnused: false, nowait: false }, M.ExchangeDeleteOk);
  }

  bindQueue(ch: number, queue: string, exchange: string, routingKey: string): Promise<Method> {
    return this.rpc(ch, { id: M.QueueBind, queue, exchange, routingKey, nowait: false, arguments: {} }, M.QueueBindOk);
  }

  async qos(ch: number, prefetch: number): Promise<void> {
    await this.rpc(ch, { id: M.BasicQos, prefetchSize: 0, prefetchCount: prefetch, global: false }, M.BasicQosOk);
  }

  async confirmSelect(ch: number): Promise<void> {
    await this.rpc(ch, { id: M.ConfirmSelect, nowait: false }, M.ConfirmSelectOk);
  }

  async consume(ch: number, queue: string, noAck: boolean, tag = '', args: FieldTable = {}): Promise<string> {
    const m = await this.rpc<Method & { consumerTag: string }>(
      ch,
      { id: M.BasicConsume, queue, consumerTag: tag, noLocal: false, noAck, exclusive: false, nowait: false, arguments: args },
      M.BasicConsumeOk,
    );
    this.incoming[ch] ??= new Incoming();
    return m.consumerTag;
  }

  async cancel(ch: number, tag: string): Promise<void> {
    await this.rpc(ch, { id: M.BasicCancel, consumerTag: tag, nowait: false }, M.BasicCancelOk);
  }

  /** connection.close and wait (briefly) for close-ok; always ends the socket. */
  async close(): Promise<void> {
    if (this.closed) return;
    const done = this.rpc(0, { id: M.ConnectionClose, replyCode: 200, replyText: 'bye', classId: 0, methodId: 0 }, M.ConnectionCloseOk);
    const timer = new Promise<void>((r) => setTimeout(r, 2000).unref());
    await Promise.race([done.catch(() => undefined), timer]);
    this.closed = true;
    this.socket.destroy();
  }
}

function readHead(inc: Incoming, b: Buffer, at: number): void {
  inc.sentAt = b.readDoubleBE(at);
  if (inc.headLen === 12) inc.publisher = b.readUInt32BE(at + 8);
}

function flushClient(c: BenchClient): void {
  if (c.flushQueued) c.flush();
}

const NULL_HANDLER: ClientHandler = {
  onMessage() {},
  onConfirm() {},
  onClose() {},
};
