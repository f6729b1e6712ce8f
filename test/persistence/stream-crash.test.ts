/**
 * A stream's durability promise, end to end: Warren runs in a child process, two amqplib
 * publishers send persistent and transient messages with confirms to a stream while a
 * consumer reads it from `first` (acking, as a stream consumer must) and notes the
 * x-stream-offset of each message, and the broker is SIGKILLed at a random moment. After a
 * restart on the same data directory, a consumer at `first` finds every confirmed message
 * exactly once, byte for byte, each publisher's in publish order, at the offset the first
 * consumer saw it at; so is every message that consumer saw, confirmed or not (an offset
 * given to a consumer never names another message later); the offsets run 0, 1, 2, …
 * with no gap; and the next message published gets the offset after the last one.
 * fast-check picks the kill moments (0–700 ms after the first confirm);
 * BROKER_CRASH_RUNS=n runs it n times (default 3).
 */
import amqp, { type Channel, type ChannelModel } from 'amqplib';
import type { ChildProcess } from 'node:child_process';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleFixture, idOf, payloadFor, publishUntilKilled, removeDir, sizeFor, startBrokerChild, tempDir, type BrokerChild, type KillSwitch } from './helpers.js';

const RUNS = Number(process.env['BROKER_CRASH_RUNS'] ?? 3);
const PUBLISHERS = 2;
const STREAM = 'crash.stream';
const ARGS = { 'x-queue-type': 'stream' };

let bundleDir: string;
let brokerJs: string;

beforeAll(() => {
  bundleDir = tempDir('stream-crash-bundle');
  brokerJs = bundleFixture('broker', bundleDir);
});
afterAll(() => removeDir(bundleDir));

type Child = BrokerChild;
const startChild = (dir: string): Promise<Child> => startBrokerChild(brokerJs, dir);

const bodyOf = (id: number) => payloadFor(id, sizeFor(id, 2000));

interface Read {
  id: number;
  offset: number;
  ok: boolean;
}

/** A consumer at `first` on its own connection: every delivery acked and noted with its offset. */
async function reader(url: string, into: Read[], stopped: () => boolean = () => false): Promise<ChannelModel> {
  const conn = await amqp.connect(url);
  conn.on('error', () => {});
  const ch: Channel = await conn.createChannel();
  ch.on('error', () => {});
  await ch.prefetch(100);
  await ch.consume(
    STREAM,
    (m) => {
      if (m === null || stopped()) return;
      const id = Number(m.properties.messageId);
      into.push({ id, offset: Number(m.properties.headers?.['x-stream-offset']), ok: m.content.equals(bodyOf(id)) });
      ch.ack(m);
    },
    { arguments: { 'x-stream-offset': 'first' } },
  );
  return conn;
}

interface Before {
  confirmed: Set<number>;
  /** What the consumer read before the crash. */
  read: Read[];
}

async function runUntilKilled(url: string, killAfterMs: number, proc: ChildProcess): Promise<Before> {
  const read: Read[] = [];
  const setup = await amqp.connect(url);
  const sch = await setup.createChannel();
  await sch.assertQueue(STREAM, { durable: true, arguments: ARGS });
  await setup.close();

  const kill: KillSwitch = { dead: false };
  await reader(url, read, () => kill.dead);
  const confirmed = await publishUntilKilled({
    url,
    proc,
    publishers: PUBLISHERS,
    killAfterMs,
    kill,
    // Every other message is transient: a stream keeps it all the same.
    send: (ch, id, k, cb) => ch.sendToQueue(STREAM, bodyOf(id), { persistent: k % 2 === 0, messageId: String(id) }, cb),
  });
  return { confirmed, read };
}

/** Reads the whole stream from `first`: until it has `atLeast` messages and nothing more came for 500 ms. */
async function readAll(url: string, atLeast: number): Promise<Read[]> {
  const got: Read[] = [];
  const conn = await reader(url, got);
  const end = Date.now() + 30_000;
  let seen = -1;
  let quietSince = Date.now();
  while (Date.now() < end) {
    await new Promise((r) => setTimeout(r, 50));
    if (got.length !== seen) {
      seen = got.length;
      quietSince = Date.now();
    } else if (got.length >= atLeast && Date.now() - quietSince >= 500) {
      break;
    }
  }
  await conn.close();
  return got;
}

/** Publishes one message with a confirm, then reads its offset from a consumer at `last` (-1: never delivered). */
async function offsetOfNext(url: string): Promise<number> {
  const conn = await amqp.connect(url);
  const ch = await conn.createConfirmChannel();
  const id = idOf(9, 0);
  await new Promise<void>((res, rej) => ch.sendToQueue(STREAM, bodyOf(id), { messageId: String(id) }, (err) => (err ? rej(err) : res())));
  await ch.prefetch(10);
  const offset = await new Promise<number>((res) => {
    setTimeout(() => res(-1), 10_000);
    void ch.consume(
      STREAM,
      (m) => {
        if (m !== null && Number(m.properties.messageId) === id) res(Number(m.properties.headers?.['x-stream-offset']));
      },
      { arguments: { 'x-stream-offset': 'last' } },
    );
  });
  await conn.close();
  return offset;
}

function check(before: Before, got: Read[], killAfterMs: number): void {
  const ids = got.map((g) => g.id);
  expect(new Set(ids).size, 'no duplicates').toBe(ids.length);
  expect(got.filter((g) => !g.ok).map((g) => g.id), 'bodies identical').toEqual([]);
  expect(got.map((g) => g.offset), 'offsets 0, 1, 2, … in delivery order').toEqual(got.map((_, i) => i));
  const present = new Set(ids);
  const missing = [...before.confirmed].filter((id) => !present.has(id));
  expect(missing, `confirmed messages missing after the crash (kill at ${killAfterMs} ms)`).toEqual([]);
  for (let pub = 0; pub < PUBLISHERS; pub++) {
    const order = ids.filter((id) => Math.floor(id / 1_000_000) === pub);
    expect(order, `publisher ${pub}'s messages in publish order`).toEqual([...order].sort((a, b) => a - b));
  }
  const offsetAfter = new Map(got.map((g) => [g.id, g.offset]));
  const moved = (rs: Read[]) => rs.filter((r) => offsetAfter.get(r.id) !== r.offset).map((r) => ({ id: r.id, before: r.offset, after: offsetAfter.get(r.id) ?? null }));
  expect(moved(before.read.filter((r) => before.confirmed.has(r.id))), 'confirmed messages read before the crash keep their offsets').toEqual([]);
  // A consumer was given these offsets, confirmed or not: as in RabbitMQ (which delivers a
  // chunk only once it is written), an offset must never come back naming another message.
  expect(moved(before.read), 'every message a consumer read before the crash is still at its offset').toEqual([]);
}

describe('a stream survives SIGKILL without losing a confirmed message or moving an offset', () => {
  it('every confirmed message is there once, byte for byte, in publish order, at its offset', async () => {
    let totalConfirmed = 0;
    let totalRead = 0;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 700 }), async (killAfterMs) => {
        const dir = tempDir('stream-crash');
        try {
          const first = await startChild(dir);
          const before = await runUntilKilled(first.url, killAfterMs, first.proc);
          totalConfirmed += before.confirmed.size;
          totalRead += before.read.length;
          const second = await startChild(dir);
          try {
            const got = await readAll(second.url, before.confirmed.size);
            check(before, got, killAfterMs);
            expect(await offsetOfNext(second.url), 'the next message gets the next offset').toBe(got.length);
          } finally {
            second.proc.kill('SIGTERM');
            await second.exited;
          }
        } finally {
          removeDir(dir);
        }
      }),
      { numRuns: RUNS, endOnFailure: true },
    );
    expect(totalConfirmed).toBeGreaterThan(0);
    expect(totalRead).toBeGreaterThan(0);
  }, 180_000);
});
