// Shared helpers for the exchange / queue integration suites (run against Warren with amqplib).
// Every expected text in those suites was first checked against a real RabbitMQ 3.10.8.
import amqp, { type Channel, type ChannelModel, type ConfirmChannel, type Options } from 'amqplib';
import { afterAll, beforeAll, expect } from 'vitest';
import type { RunningBroker } from '../../server/index.js';
import { startTestBroker } from './broker.js';

export { startTestBroker } from './broker.js';

/** amqplib's spelling of the reply-code names it prints in its error messages. */
const CODE_NAMES: Record<number, string> = {
  312: 'NO-ROUTE',
  403: 'ACCESS-REFUSED',
  404: 'NOT-FOUND',
  405: 'RESOURCE-LOCKED',
  406: 'PRECONDITION-FAILED',
  503: 'COMMAND-INVALID',
};

/** What a server-sent channel.close looks like once amqplib has turned it into an 'error' event. */
export interface ServerClose {
  code: number;
  classId: number;
  methodId: number;
  message: string;
}

/** The ServerClose amqplib reports for channel.close{code, text, classId, methodId}. */
export function closedBy(code: number, classId: number, methodId: number, text: string): ServerClose {
  return {
    code,
    classId,
    methodId,
    message: `Channel closed by server: ${code} (${CODE_NAMES[code] ?? '?'}) with message "${text}"`,
  };
}

/** class/method ids of the methods the suites provoke errors with. */
export const ID = {
  exchangeDeclare: [40, 10],
  exchangeDelete: [40, 20],
  exchangeBind: [40, 30],
  exchangeUnbind: [40, 40],
  queueDeclare: [50, 10],
  queueBind: [50, 20],
  queuePurge: [50, 30],
  queueDelete: [50, 40],
  queueUnbind: [50, 50],
  basicConsume: [60, 20],
  basicPublish: [60, 40],
  basicGet: [60, 70],
} as const satisfies Record<string, readonly [number, number]>;

export type MethodName = keyof typeof ID;

export function closedIn(method: MethodName, code: number, text: string): ServerClose {
  const [c, m] = ID[method];
  return closedBy(code, c, m, text);
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

/** Connection.close fields, captured from the raw frame (amqplib only keeps the code). */
export interface ConnectionCloseFields {
  replyCode: number;
  replyText: string;
  classId: number;
  methodId: number;
}

export interface TestConnection extends ChannelModel {
  /** The connection.close the server sent, if any. */
  serverClose(): ConnectionCloseFields | null;
  /** Resolves when the connection has closed. */
  closed: Promise<void>;
}

interface RawFrame {
  id?: number;
  fields?: Record<string, unknown>;
}
interface RawConnection {
  channels: { channel: { accept(f: RawFrame): unknown } }[];
}

const CONNECTION_CLOSE = (10 << 16) | 50;

/** amqplib connect, with error handlers attached and the server's connection.close captured. */
export async function connect(url: string): Promise<TestConnection> {
  const conn = (await amqp.connect(url)) as TestConnection;
  let close: ConnectionCloseFields | null = null;
  const raw = conn.connection as unknown as RawConnection;
  const ch0 = raw.channels[0]!.channel;
  const accept = ch0.accept.bind(ch0);
  ch0.accept = (f: RawFrame) => {
    if (f && f.id === CONNECTION_CLOSE && f.fields) close = { ...(f.fields as unknown as ConnectionCloseFields) };
    return accept(f);
  };
  conn.on('error', () => {});
  conn.serverClose = () => close;
  conn.closed = new Promise<void>((resolve) => conn.once('close', () => resolve()));
  return conn;
}

/** Close a connection if it is still open. */
export async function closeQuietly(conn: ChannelModel | undefined): Promise<void> {
  if (!conn) return;
  try {
    await conn.close();
  } catch {
    /* already closed */
  }
}

/**
 * Opens a fresh channel on conn, runs fn on it and returns the channel.close the server
 * answered with. Fails if the server does not close the channel within timeoutMs.
 */
export async function channelError(
  conn: ChannelModel,
  fn: (ch: Channel) => unknown,
  timeoutMs = 3000,
): Promise<ServerClose> {
  const ch = await conn.createChannel();
  const errored = new Promise<ServerClose>((resolve) => {
    ch.once('error', (e: Error & { code?: number; classId?: number; methodId?: number }) => {
      resolve({ code: e.code ?? -1, classId: e.classId ?? -1, methodId: e.methodId ?? -1, message: e.message });
    });
  });
  ch.on('error', () => {});
  let result: unknown;
  let settledOk = false;
  try {
    result = await fn(ch);
    settledOk = true;
  } catch {
    /* the RPC is rejected when the server closes the channel */
  }
  try {
    return await withTimeout(errored, timeoutMs, 'a channel.close from the server');
  } catch (e) {
    if (settledOk) {
      await ch.close().catch(() => {});
      throw new Error(`expected the server to close the channel, but the operation succeeded with ${JSON.stringify(result)}`);
    }
    throw e;
  }
}

/**
 * Opens a fresh connection, runs fn on a channel of it, and returns the connection.close
 * the server answered with. Fails if the connection is not closed within timeoutMs.
 */
export async function connectionError(
  url: string,
  fn: (ch: Channel) => unknown,
  timeoutMs = 3000,
): Promise<ConnectionCloseFields> {
  const conn = await connect(url);
  const ch = await conn.createChannel();
  ch.on('error', () => {});
  try {
    await fn(ch);
  } catch {
    /* pending RPCs are rejected when the connection closes */
  }
  try {
    await withTimeout(conn.closed, timeoutMs, 'a connection.close from the server');
  } finally {
    await closeQuietly(conn);
  }
  const close = conn.serverClose();
  if (!close) throw new Error('the connection closed without a connection.close from the server');
  return close;
}

/** A message as read back by basic.get, reduced to what the suites compare. */
export interface Got {
  body: string;
  routingKey: string;
  exchange: string;
  headers: Record<string, unknown> | undefined;
  redelivered: boolean;
}

/** basic.get (no-ack) until the queue is empty. */
export async function drain(ch: Channel, queue: string): Promise<Got[]> {
  const out: Got[] = [];
  for (let i = 0; i < 10_000; i++) {
    const m = await ch.get(queue, { noAck: true });
    if (m === false) return out;
    out.push({
      body: m.content.toString(),
      routingKey: m.fields.routingKey,
      exchange: m.fields.exchange,
      headers: m.properties.headers as Record<string, unknown> | undefined,
      redelivered: m.fields.redelivered,
    });
  }
  throw new Error(`queue ${queue} did not drain`);
}

/** The bodies left in each named queue, emptying them. */
export async function bodiesIn<K extends string>(ch: Channel, queues: Record<K, string>): Promise<Record<K, string[]>> {
  const out = {} as Record<K, string[]>;
  for (const k of Object.keys(queues) as K[]) out[k] = (await drain(ch, queues[k])).map((m) => m.body);
  return out;
}

/** A server-named exclusive queue. */
export async function tempQueue(ch: Channel): Promise<string> {
  return (await ch.assertQueue('', { exclusive: true })).queue;
}

/** Publish on a confirm channel and wait until the broker has routed it. */
export async function publishConfirmed(
  ch: ConfirmChannel,
  exchange: string,
  routingKey: string,
  body: string,
  options?: Options.Publish,
): Promise<void> {
  ch.publish(exchange, routingKey, Buffer.from(body), options);
  await withTimeout(ch.waitForConfirms(), 3000, `the confirm of '${body}'`);
}

/** A basic.return as amqplib hands it over. */
export interface Returned {
  replyCode: number;
  replyText: string;
  exchange: string;
  routingKey: string;
  body: string;
  headers: Record<string, unknown> | undefined;
}

/** Collects the basic.returns a channel receives. */
export function collectReturns(ch: Channel): Returned[] {
  const out: Returned[] = [];
  ch.on('return', (m: amqp.Message) => {
    const f = m.fields as unknown as { replyCode: number; replyText: string; exchange: string; routingKey: string };
    out.push({
      replyCode: f.replyCode,
      replyText: f.replyText,
      exchange: f.exchange,
      routingKey: f.routingKey,
      body: m.content.toString(),
      headers: m.properties.headers as Record<string, unknown> | undefined,
    });
  });
  return out;
}

/** A confirm channel with an error handler that records errors (the suites assert there are none). */
export async function confirmChannel(conn: ChannelModel): Promise<ConfirmChannel & { errors: Error[] }> {
  const ch = (await conn.createConfirmChannel()) as ConfirmChannel & { errors: Error[] };
  ch.errors = [];
  ch.on('error', (e: Error) => ch.errors.push(e));
  return ch;
}

let counter = 0;
/** A name unique within this process, for exchanges and queues. */
export function uniq(prefix: string): string {
  counter += 1;
  return `${prefix}-${process.pid}-${counter}`;
}

/** Method ids (class << 16 | method) for raw RPCs through amqplib's channel.rpc. */
export const RAW = {
  exchangeDeclare: (40 << 16) | 10,
  exchangeDeclareOk: (40 << 16) | 11,
  queueDeclare: (50 << 16) | 10,
  queueDeclareOk: (50 << 16) | 11,
} as const;

interface RpcChannel {
  rpc(method: number, fields: Record<string, unknown>, expect: number): Promise<Record<string, unknown>>;
}

/** exchange.declare with every field under the caller's control (amqplib's API hard-codes some). */
export function rawExchangeDeclare(
  ch: Channel,
  fields: { exchange: string; type: string; passive?: boolean; durable?: boolean; autoDelete?: boolean; internal?: boolean; arguments?: Record<string, unknown> },
): Promise<Record<string, unknown>> {
  return (ch as unknown as RpcChannel).rpc(
    RAW.exchangeDeclare,
    {
      ticket: 0,
      passive: false,
      durable: false,
      autoDelete: false,
      internal: false,
      nowait: false,
      arguments: {},
      ...fields,
    },
    RAW.exchangeDeclareOk,
  );
}

/** queue.declare with every field under the caller's control. */
export function rawQueueDeclare(
  ch: Channel,
  fields: { queue: string; passive?: boolean; durable?: boolean; exclusive?: boolean; autoDelete?: boolean; arguments?: Record<string, unknown> },
): Promise<Record<string, unknown>> {
  return (ch as unknown as RpcChannel).rpc(
    RAW.queueDeclare,
    {
      ticket: 0,
      passive: false,
      durable: false,
      exclusive: false,
      autoDelete: false,
      nowait: false,
      arguments: {},
      ...fields,
    },
    RAW.queueDeclareOk,
  );
}

export type Outcome = { ok: unknown } | { closed: ServerClose };

/**
 * Runs fn on a fresh channel: { ok: result } when it succeeds (the channel is then closed),
 * { closed: ... } when the server closes the channel instead.
 */
export async function outcome(conn: ChannelModel, fn: (ch: Channel) => Promise<unknown>, timeoutMs = 3000): Promise<Outcome> {
  const ch = await conn.createChannel();
  const box: { closed?: ServerClose } = {};
  const errored = new Promise<void>((resolve) => {
    ch.once('error', (e: Error & { code?: number; classId?: number; methodId?: number }) => {
      box.closed = { code: e.code ?? -1, classId: e.classId ?? -1, methodId: e.methodId ?? -1, message: e.message };
      resolve();
    });
  });
  ch.on('error', () => {});
  try {
    const ok = await withTimeout(fn(ch), timeoutMs, 'the reply');
    await ch.close().catch(() => {});
    return { ok };
  } catch (e) {
    await withTimeout(errored, timeoutMs, `a channel.close after ${String(e)}`);
    return { closed: box.closed! };
  }
}

/** What a topology suite works with: one broker, one connection, one confirm channel and its returns. */
export interface TopologySuite {
  b: RunningBroker;
  conn: TestConnection;
  ch: ConfirmChannel & { errors: Error[] };
  returns: Returned[];
}

/**
 * Starts a broker with a data directory for the calling test file, opens a connection and a
 * confirm channel that collects returns, and hands them to `assign` before the tests run.
 * Afterwards the channel must have seen no error, and everything is closed.
 */
export function useTopologySuite(assign: (s: TopologySuite) => void): void {
  let s: TopologySuite | undefined;
  beforeAll(async () => {
    const b = await startTestBroker();
    const conn = await connect(b.url);
    const ch = await confirmChannel(conn);
    s = { b, conn, ch, returns: collectReturns(ch) };
    assign(s);
  });
  afterAll(async () => {
    if (s === undefined) return;
    expect(s.ch.errors.map((e) => e.message)).toEqual([]);
    await closeQuietly(s.conn);
    await s.b.close();
  });
}
