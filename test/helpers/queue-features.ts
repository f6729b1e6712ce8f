// Shared plumbing for the queue-feature integration tests (TTL, x-expires, length
// limits, priorities, dead-lettering, single active consumer).
//
// Every file starts its own Warren. WARREN_REFERENCE_URL=amqp://... runs the same files
// against another broker instead (a real RabbitMQ 3.10), to check the expectations
// themselves; names are then made unique per run so a shared broker is no problem.
import { randomBytes } from 'node:crypto';
import amqp from 'amqplib';
import type { Channel, ChannelModel, ConfirmChannel, GetMessage, Options } from 'amqplib';
import { expect } from 'vitest';
import type { BrokerConfig } from '../../server/index.js';
import { onWarren, useBrokerWith, type BrokerForFile } from './broker.js';

export { onWarren };

export type TestBroker = BrokerForFile<ChannelModel>;

/** One broker for the calling test file (`options` are Warren's, e.g. a data directory). */
export function useBroker(options: () => Partial<BrokerConfig> = () => ({})): TestBroker {
  return useBrokerWith(
    async (url) => {
      const c = await amqp.connect(url);
      c.on('error', () => {});
      return c;
    },
    async (c) => {
      try {
        await c.close();
      } catch {
        // already closed
      }
    },
    options,
  );
}

/** A confirm channel, an exclusive dead-letter queue, and a way to declare queues that dead-letter into it. */
export interface DeadLetterSetup {
  conn: ChannelModel;
  ch: ConfirmChannel;
  dlq: string;
  /** Declares an exclusive queue named `<prefix>-…` dead-lettering into dlq, with more arguments. */
  declare(args: Record<string, unknown>): Promise<string>;
}

export async function deadLetterSetup(broker: TestBroker, prefix: string): Promise<DeadLetterSetup> {
  const conn = await broker.connect();
  const ch = await conn.createConfirmChannel();
  const dlq = uniq('dlq');
  await ch.assertQueue(dlq, { exclusive: true });
  return {
    conn,
    ch,
    dlq,
    async declare(args) {
      const q = uniq(prefix);
      await ch.assertQueue(q, { exclusive: true, arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dlq, ...args } });
      return q;
    },
  };
}

/** A name unique to this run (fixed-looking on Warren, random suffix either way). */
export function uniq(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

// ---------------------------------------------------------------- server closes

/** The fields of a channel.close the server sent, as amqplib reports them. */
export interface ServerClose {
  code: number;
  text: string;
  classId: number;
  methodId: number;
}

/** Reads the reply code/text/class/method out of amqplib's error for a server channel.close. */
export function serverClose(err: unknown): ServerClose {
  const e = err as Error & { code?: number; classId?: number; methodId?: number };
  const m = /^(?:Operation failed: \w+; |Channel closed by server: )(\d+) \([A-Z_-]+\) with message "(.*)"$/s.exec(e.message);
  if (m === null || e.code === undefined) throw new Error(`not a server close: ${e.message}`);
  return { code: e.code, text: m[2]!, classId: e.classId ?? -1, methodId: e.methodId ?? -1 };
}

/** queue.declare on a fresh channel, expecting the server to close that channel. */
export async function declareFailure(conn: ChannelModel, queue: string, options: Options.AssertQueue): Promise<ServerClose> {
  const ch = await conn.createChannel();
  ch.on('error', () => {});
  try {
    await ch.assertQueue(queue, options);
  } catch (err) {
    return serverClose(err);
  }
  await ch.deleteQueue(queue);
  await ch.close();
  throw new Error(`declaring ${queue} succeeded`);
}

/** Passive declare on a fresh channel: the declare-ok, or the server close. */
export async function passive(conn: ChannelModel, queue: string): Promise<{ messageCount: number; consumerCount: number } | ServerClose> {
  const ch = await conn.createChannel();
  ch.on('error', () => {});
  try {
    const ok = await ch.checkQueue(queue);
    await ch.close();
    return { messageCount: ok.messageCount, consumerCount: ok.consumerCount };
  } catch (err) {
    return serverClose(err);
  }
}

/** The first channel.close the server sends on `ch` (amqplib 'error' event). */
export function nextServerClose(ch: Channel): Promise<ServerClose> {
  return new Promise((resolve) => ch.once('error', (err: unknown) => resolve(serverClose(err))));
}

// ---------------------------------------------------------------- publishing and reading

export type Outcome = 'ack' | 'nack';

/** Publishes on a confirm channel and resolves with the broker's verdict for that message. */
export function publishConfirmed(
  ch: ConfirmChannel,
  exchange: string,
  routingKey: string,
  body: string,
  options: Options.Publish = {},
): Promise<Outcome> {
  return new Promise((resolve) => {
    ch.publish(exchange, routingKey, Buffer.from(body), options, (err: unknown) => resolve(err ? 'nack' : 'ack'));
  });
}

/** basic.get no-ack until get-empty; the messages in order. */
export async function drain(ch: Channel, queue: string): Promise<GetMessage[]> {
  const out: GetMessage[] = [];
  for (;;) {
    const m = await ch.get(queue, { noAck: true });
    if (m === false) return out;
    out.push(m);
  }
}

export function bodies(ms: readonly { content: Buffer }[]): string[] {
  return ms.map((m) => m.content.toString());
}

/** Polls until `check` returns true; fails after `ms`. */
export async function waitUntil(what: string, check: () => boolean | Promise<boolean>, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

// ---------------------------------------------------------------- dead-letter headers

export interface DeathEntry {
  count: number;
  reason: 'rejected' | 'expired' | 'maxlen' | 'delivery_limit';
  queue: string;
  exchange: string;
  'routing-keys': string[];
  'original-expiration'?: string;
}

/** Seconds since the epoch, as x-death `time` carries it. */
export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

const UNSORTED_ORDER = ['count', 'reason', 'queue', 'time', 'exchange', 'routing-keys', 'original-expiration'];

/**
 * Asserts one x-death entry: its values, its `time` (an AMQP timestamp, which amqplib
 * decodes as {'!': 'timestamp', value: seconds}) and its field order. RabbitMQ 3.10
 * writes a message's very first entry as count, reason, queue, time, exchange,
 * routing-keys[, original-expiration] and sorts the fields of every entry it writes
 * after that (a new entry on a message that already has x-death, or an incremented one).
 */
export function expectDeath(
  actual: unknown,
  expected: DeathEntry,
  opts: { sorted: boolean; time?: number | { from: number; to: number } },
): void {
  expect(actual, 'x-death entry').toBeTypeOf('object');
  const entry = actual as Record<string, unknown>;
  const { time, ...rest } = entry;
  expect(rest).toEqual(expected);
  expect(time).toEqual({ '!': 'timestamp', value: expect.any(Number) });
  const seconds = (time as { value: number }).value;
  if (typeof opts.time === 'number') {
    expect(seconds).toBe(opts.time);
  } else {
    const range = opts.time ?? { from: nowSeconds() - 10, to: nowSeconds() };
    expect(seconds).toBeGreaterThanOrEqual(range.from - 1);
    expect(seconds).toBeLessThanOrEqual(range.to + 1);
  }
  const keys = UNSORTED_ORDER.filter((k) => k in entry);
  expect(Object.keys(entry)).toEqual(opts.sorted ? [...keys].sort() : keys);
}

/** The time (seconds) of an x-death entry. */
export function deathTime(entry: unknown): number {
  return ((entry as Record<string, unknown>)['time'] as { value: number }).value;
}

/**
 * Warren also writes x-last-death-{reason,queue,exchange} on every dead-lettering
 * (as RabbitMQ 3.13+ does); RabbitMQ 3.10 does not. The headers to expect either way.
 */
export function lastDeath(reason: string, queue: string, exchange: string): Record<string, string> {
  if (!onWarren) return {};
  return { 'x-last-death-exchange': exchange, 'x-last-death-queue': queue, 'x-last-death-reason': reason };
}

/**
 * Asserts a dead-lettered message's headers apart from x-death: exactly `expected`
 * (plus x-death), and the whole table sorted by key, as rabbit_misc:set_table_value leaves it.
 * Returns the x-death array.
 */
export function expectDeadLetterHeaders(headers: unknown, expected: Record<string, unknown>): unknown[] {
  expect(headers, 'headers').toBeTypeOf('object');
  const h = headers as Record<string, unknown>;
  const { 'x-death': deaths, ...rest } = h;
  expect(rest).toEqual(expected);
  expect(Array.isArray(deaths), 'x-death is an array').toBe(true);
  expect(Object.keys(h)).toEqual([...Object.keys(expected), 'x-death'].sort());
  return deaths as unknown[];
}

export type { Channel, ChannelModel, ConfirmChannel, GetMessage };
