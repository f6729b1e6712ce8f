// Shared plumbing for the basic.* / confirm.* / tx.* integration tests.
//
// amqplib is the client. Where it hides what the tests must see (connection.close
// class/method ids, frame order, raw methods it never sends), we reach into its
// internals: the per-channel `accept` (every inbound frame), channel 0's `accept`
// (connection.close), `sendImmediately` / `rpc` / `sendMessage` (raw methods) and
// the socket (raw bytes).
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import amqp from 'amqplib';
import type { Channel, ChannelModel, ConfirmChannel, ConsumeMessage, GetMessage, Message, Options } from 'amqplib';
import { useBrokerWith, type BrokerForFile } from './broker.js';

// ---------------------------------------------------------------- amqplib internals

const require = createRequire(import.meta.url);
const amqplibDir = dirname(require.resolve('amqplib'));

interface AmqplibDefs {
  [name: string]: unknown;
  info(id: number): { name: string };
}
const rawDefs = require(join(amqplibDir, 'lib', 'defs.js')) as AmqplibDefs;

function methodId(name: string): number {
  const v = rawDefs[name];
  if (typeof v !== 'number') throw new Error(`amqplib defs has no ${name}`);
  return v;
}

/** Method ids, (classId << 16) | methodId, as amqplib's defs names them. */
export const ID = {
  ConnectionClose: methodId('ConnectionClose'),
  ChannelClose: methodId('ChannelClose'),
  ChannelFlow: methodId('ChannelFlow'),
  ChannelFlowOk: methodId('ChannelFlowOk'),
  BasicQos: methodId('BasicQos'),
  BasicQosOk: methodId('BasicQosOk'),
  BasicConsume: methodId('BasicConsume'),
  BasicCancel: methodId('BasicCancel'),
  BasicPublish: methodId('BasicPublish'),
  BasicProperties: methodId('BasicProperties'),
  BasicRecover: methodId('BasicRecover'),
  BasicRecoverOk: methodId('BasicRecoverOk'),
  ConfirmSelect: methodId('ConfirmSelect'),
  ConfirmSelectOk: methodId('ConfirmSelectOk'),
  TxSelect: methodId('TxSelect'),
  TxSelectOk: methodId('TxSelectOk'),
  TxCommit: methodId('TxCommit'),
  TxCommitOk: methodId('TxCommitOk'),
  TxRollback: methodId('TxRollback'),
  TxRollbackOk: methodId('TxRollbackOk'),
} as const;

interface AmqplibFrame {
  id?: number;
  channel: number;
  fields?: Record<string, unknown>;
  size?: number;
  content?: Buffer;
}

interface InternalConnection {
  channels: ({ channel: { accept(f: AmqplibFrame): unknown } } | null)[];
  stream: { write(chunk: Buffer, ...rest: unknown[]): boolean; read(...args: unknown[]): Buffer | null };
  sendMessage(channel: number, method: number, fields: object, propsId: number, props: object, body: Buffer): boolean;
}

interface InternalChannel {
  ch: number;
  connection: InternalConnection;
  accept(f: AmqplibFrame): unknown;
  sendImmediately(method: number, fields: object): void;
  rpc(method: number, fields: object, expect: number): Promise<Record<string, unknown>>;
}

function internal(ch: Channel): InternalChannel {
  return ch as unknown as InternalChannel;
}

// ---------------------------------------------------------------- broker per test file

/**
 * Starts one Warren for the calling test file; connections opened through it are closed afterwards.
 * WARREN_REFERENCE_URL=amqp://... runs the same file against another broker (a real RabbitMQ)
 * instead, to check the expectations themselves.
 */
export function useBroker(): BrokerForFile<Conn> {
  return useBrokerWith(connect, (c) => c.closeQuietly());
}

// ---------------------------------------------------------------- connections and channels

/** The fields of a connection.close or channel.close the server sent. */
export interface CloseInfo {
  code: number;
  text: string;
  classId: number;
  methodId: number;
}

export interface FrameRecord {
  /** amqplib's method name, e.g. 'BasicAck'; 'BasicProperties' for a header, 'content' for a body frame. */
  name: string;
  fields: Record<string, unknown>;
}

export class Conn {
  /** Every connection.close the server sent. */
  readonly serverCloses: CloseInfo[] = [];
  readonly errors: Error[] = [];
  /** Resolves with the first connection.close the server sends. */
  readonly closedByServer: Promise<CloseInfo>;
  private done = false;

  constructor(readonly model: ChannelModel) {
    let resolve!: (c: CloseInfo) => void;
    this.closedByServer = new Promise((r) => (resolve = r));
    const c0 = (model as unknown as { connection: InternalConnection }).connection.channels[0]!.channel;
    const orig = c0.accept.bind(c0);
    c0.accept = (f: AmqplibFrame) => {
      if (f.id === ID.ConnectionClose && f.fields !== undefined) {
        const info = closeInfo(f.fields);
        this.serverCloses.push(info);
        resolve(info);
      }
      return orig(f);
    };
    model.on('error', (err: Error) => this.errors.push(err));
    model.on('close', () => (this.done = true));
  }

  get socket(): InternalConnection['stream'] {
    return (this.model as unknown as { connection: InternalConnection }).connection.stream;
  }

  async channel(): Promise<Chan<Channel>> {
    return new Chan(await this.model.createChannel());
  }

  async confirmChannel(): Promise<Chan<ConfirmChannel>> {
    return new Chan(await this.model.createConfirmChannel());
  }

  async close(): Promise<void> {
    await this.model.close();
    this.done = true;
  }

  async closeQuietly(): Promise<void> {
    if (this.done) return;
    try {
      await this.model.close();
    } catch {
      // already closed by the server
    }
    this.done = true;
  }
}

export async function connect(url: string): Promise<Conn> {
  return new Conn(await amqp.connect(url));
}

function closeInfo(f: Record<string, unknown>): CloseInfo {
  return {
    code: f['replyCode'] as number,
    text: f['replyText'] as string,
    classId: f['classId'] as number,
    methodId: f['methodId'] as number,
  };
}

/** An amqplib channel with every inbound frame recorded and server closes captured. */
export class Chan<C extends Channel = Channel> {
  readonly frames: FrameRecord[] = [];
  readonly serverCloses: CloseInfo[] = [];
  /** amqplib 'error' events (one per server channel.close). */
  readonly errors: (Error & { code?: number; classId?: number; methodId?: number })[] = [];
  readonly closedByServer: Promise<CloseInfo>;

  constructor(readonly ch: C) {
    let resolve!: (c: CloseInfo) => void;
    this.closedByServer = new Promise((r) => (resolve = r));
    const ich = internal(ch);
    const orig = ich.accept.bind(ch);
    ich.accept = (f: AmqplibFrame) => {
      const name = f.id === undefined ? 'content' : rawDefs.info(f.id).name;
      this.frames.push({ name, fields: f.fields ?? { content: f.content } });
      if (f.id === ID.ChannelClose && f.fields !== undefined) {
        const info = closeInfo(f.fields);
        this.serverCloses.push(info);
        resolve(info);
      }
      return orig(f);
    };
    ch.on('error', (err: Error) => this.errors.push(err));
  }

  /** Method frames received, by name, optionally only those named. */
  methods(...names: string[]): FrameRecord[] {
    return this.frames.filter((f) => f.name !== 'content' && f.name !== 'BasicProperties' && (names.length === 0 || names.includes(f.name)));
  }

  /** Sends a method without waiting for anything. */
  send(method: number, fields: object): void {
    internal(this.ch).sendImmediately(method, fields);
  }

  /** A synchronous method; resolves with the reply's fields. */
  rpc(method: number, fields: object, expect: number): Promise<Record<string, unknown>> {
    return internal(this.ch).rpc(method, fields, expect);
  }

  /** basic.publish with every bit and property under the caller's control (amqplib forces immediate=false). */
  publishRaw(
    fields: { exchange: string; routingKey: string; mandatory?: boolean; immediate?: boolean },
    props: Record<string, unknown>,
    body: Buffer,
  ): void {
    const ich = internal(this.ch);
    ich.connection.sendMessage(
      ich.ch,
      ID.BasicPublish,
      { exchange: fields.exchange, routingKey: fields.routingKey, mandatory: fields.mandatory ?? false, immediate: fields.immediate ?? false },
      ID.BasicProperties,
      props,
      body,
    );
  }

  txSelect(): Promise<Record<string, unknown>> {
    return this.rpc(ID.TxSelect, {}, ID.TxSelectOk);
  }

  txCommit(): Promise<Record<string, unknown>> {
    return this.rpc(ID.TxCommit, {}, ID.TxCommitOk);
  }

  txRollback(): Promise<Record<string, unknown>> {
    return this.rpc(ID.TxRollback, {}, ID.TxRollbackOk);
  }

  confirmSelect(): Promise<Record<string, unknown>> {
    return this.rpc(ID.ConfirmSelect, { nowait: false }, ID.ConfirmSelectOk);
  }

  /** A fresh exclusive server-named queue. */
  async queue(options: Options.AssertQueue = { exclusive: true }): Promise<string> {
    return (await this.ch.assertQueue('', options)).queue;
  }

  /** Publishes each body to the queue through the default exchange. */
  publishAll(queue: string, bodies: string[], options?: Options.Publish): void {
    for (const b of bodies) this.ch.sendToQueue(queue, Buffer.from(b), options);
  }

  /** Ready-message count of a queue (queue.declare passive). */
  async ready(queue: string): Promise<number> {
    return (await this.ch.checkQueue(queue)).messageCount;
  }

  /**
   * The ready count once it reaches `expected` (polling for up to a second, since a
   * publish and a later passive declare are not ordered on every broker), else the last count seen.
   */
  async readyWhen(queue: string, expected: number): Promise<number> {
    let n = await this.ready(queue);
    for (let i = 0; i < 50 && n !== expected; i++) {
      await sleep(20);
      n = await this.ready(queue);
    }
    return n;
  }
}

/** Does `p` settle within `ms`? Resolves false if still pending. */
export async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let done = false;
  p.then(
    () => (done = true),
    () => (done = true),
  );
  await sleep(ms);
  return done;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** How a promise ended, never rejecting: for requests left running while the test waits on something else. */
export async function outcome<T>(p: Promise<T>): Promise<{ rejected: boolean; error: Error | undefined; value: T | undefined }> {
  try {
    return { rejected: false, error: undefined, value: await p };
  } catch (err) {
    return { rejected: true, error: err as Error, value: undefined };
  }
}

/** Swallows a rejection we expect (an RPC the server answered by closing), returning the error. */
export async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the promise to reject');
}

// ---------------------------------------------------------------- messages

export interface Seen {
  body: string;
  deliveryTag: number;
  redelivered: boolean;
}

export interface SeenGet extends Seen {
  messageCount: number;
}

export function seen(m: Message): Seen {
  return { body: m.content.toString(), deliveryTag: m.fields.deliveryTag, redelivered: m.fields.redelivered };
}

export function seenGet(m: GetMessage): SeenGet {
  return { ...seen(m), messageCount: m.fields.messageCount };
}

/** A consumer callback that keeps what it gets (null = cancelled by the server). */
export class Inbox {
  readonly messages: ConsumeMessage[] = [];
  cancelled = 0;
  private waiters: { n: number; resolve: () => void }[] = [];

  readonly handler = (m: ConsumeMessage | null): void => {
    if (m === null) this.cancelled++;
    else this.messages.push(m);
    this.waiters = this.waiters.filter((w) => {
      if (this.messages.length + this.cancelled < w.n) return true;
      w.resolve();
      return false;
    });
  };

  get bodies(): string[] {
    return this.messages.map((m) => m.content.toString());
  }

  /** Waits until `n` events (messages + cancels) arrived, failing after `ms`. */
  async waitFor(n: number, ms = 2000): Promise<void> {
    if (this.messages.length + this.cancelled >= n) return;
    let timer!: NodeJS.Timeout;
    const reached = new Promise<void>((resolve) => this.waiters.push({ n, resolve }));
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`waited ${ms} ms for ${n} deliveries, got ${this.messages.length} (${this.bodies.join(',')})`)),
        ms,
      );
    });
    try {
      await Promise.race([reached, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** basic.get with no-ack until get-empty; returns what came out, in order. */
export async function drain(ch: Channel, queue: string): Promise<SeenGet[]> {
  const out: SeenGet[] = [];
  for (;;) {
    const m = await ch.get(queue, { noAck: true });
    if (m === false) return out;
    out.push(seenGet(m));
  }
}

/** Every tag covered by a sequence of publisher-confirm acks, each tag once, in the order covered. */
export function confirmedTags(acks: { deliveryTag: number; multiple: boolean }[], published: number): number[] {
  const pending = new Set<number>();
  for (let t = 1; t <= published; t++) pending.add(t);
  const out: number[] = [];
  for (const a of acks) {
    if (a.multiple) {
      for (const t of [...pending].sort((x, y) => x - y)) {
        if (t > a.deliveryTag) break;
        pending.delete(t);
        out.push(t);
      }
    } else {
      if (!pending.has(a.deliveryTag)) throw new Error(`ack for tag ${a.deliveryTag} which is not pending`);
      pending.delete(a.deliveryTag);
      out.push(a.deliveryTag);
    }
  }
  return out;
}

// ---------------------------------------------------------------- raw socket bytes

export interface RawFrame {
  type: number;
  channel: number;
  payload: Buffer;
}

/** Records every frame written to and read from the connection's socket, from now on. */
export function tapSocket(conn: Conn): { sent: RawFrame[]; received: RawFrame[] } {
  const sock = conn.socket;
  const t = { sent: [] as RawFrame[], received: [] as RawFrame[] };
  const parser = (out: RawFrame[]) => {
    let rest = Buffer.alloc(0);
    return (chunk: Buffer) => {
      rest = Buffer.concat([rest, chunk]);
      while (rest.length >= 8) {
        const size = rest.readUInt32BE(3);
        if (rest.length < size + 8) break;
        out.push({ type: rest[0]!, channel: rest.readUInt16BE(1), payload: Buffer.from(rest.subarray(7, 7 + size)) });
        rest = rest.subarray(size + 8);
      }
    };
  };
  const onSent = parser(t.sent);
  const onReceived = parser(t.received);
  const write = sock.write.bind(sock);
  sock.write = (chunk: Buffer, ...rest: unknown[]) => {
    onSent(Buffer.from(chunk));
    return write(chunk, ...rest);
  };
  const read = sock.read.bind(sock);
  sock.read = (...args: unknown[]) => {
    const b = read(...args);
    if (b !== null) onReceived(b);
    return b;
  };
  return t;
}

/** Resolves as `p` does, or rejects after `ms` naming what never happened. */
export async function within<T>(p: Promise<T>, what: string, ms = 2000): Promise<T> {
  let timer!: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
