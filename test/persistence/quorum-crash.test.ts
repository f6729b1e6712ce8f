/**
 * A quorum queue's durability promise, end to end: Warren runs in a child process, amqplib
 * publishers send persistent and transient messages with confirms to a quorum queue while a
 * consumer acks some, returns some (nack with requeue) and holds the rest, and the broker is
 * SIGKILLed at a random moment. After a restart on the same data directory, every confirmed
 * message that was not acked is in the queue exactly once, byte for byte, transient or not;
 * and each one's x-delivery-count is the number of deliveries the consumer saw (one more at
 * most: a delivery on its way when the broker died), with redelivered set if it saw any.
 * fast-check picks the kill moments (0–700 ms after the first confirm);
 * BROKER_CRASH_RUNS=n runs it n times (default 3).
 */
import amqp from 'amqplib';
import type { ChildProcess } from 'node:child_process';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleFixture, idOf, payloadFor, publishUntilKilled, removeDir, sizeFor, startBrokerChild, tempDir, type BrokerChild, type KillSwitch } from './helpers.js';

const RUNS = Number(process.env['BROKER_CRASH_RUNS'] ?? 3);
const PUBLISHERS = 2;
const QUEUE = 'crash.qq';

let bundleDir: string;
let brokerJs: string;

beforeAll(() => {
  bundleDir = tempDir('quorum-crash-bundle');
  brokerJs = bundleFixture('broker', bundleDir);
});
afterAll(() => removeDir(bundleDir));

type Child = BrokerChild;
const startChild = (dir: string): Promise<Child> => startBrokerChild(brokerJs, dir);

const bodyOf = (id: number) => payloadFor(id, sizeFor(id, 2000));

interface Before {
  confirmed: Set<number>;
  /** How many deliveries of each message the consumer saw. */
  seen: Map<number, number>;
  /** Acked by the consumer (the ack may or may not have reached the disk). */
  acked: Set<number>;
}

async function runUntilKilled(url: string, killAfterMs: number, proc: ChildProcess): Promise<Before> {
  const seen = new Map<number, number>();
  const acked = new Set<number>();
  const setup = await amqp.connect(url);
  const sch = await setup.createChannel();
  await sch.assertQueue(QUEUE, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
  await setup.close();

  const kill: KillSwitch = { dead: false };
  const consumerConn = await amqp.connect(url);
  consumerConn.on('error', () => {});
  const cch = await consumerConn.createChannel();
  cch.on('error', () => {});
  await cch.prefetch(50);
  await cch.consume(QUEUE, (m) => {
    if (m === null || kill.dead) return;
    const id = Number(m.properties.messageId);
    const n = (seen.get(id) ?? 0) + 1;
    seen.set(id, n);
    // Ack a third, return a third once (it comes back behind the others), hold the rest.
    if (id % 3 === 0) {
      cch.ack(m);
      acked.add(id);
    } else if (id % 3 === 1 && n === 1) {
      cch.nack(m, false, true);
    }
  });

  const confirmed = await publishUntilKilled({
    url,
    proc,
    publishers: PUBLISHERS,
    killAfterMs,
    kill,
    // Every other message is transient: a quorum queue keeps it all the same.
    send: (ch, id, k, cb) => ch.sendToQueue(QUEUE, bodyOf(id), { persistent: k % 2 === 0, messageId: String(id) }, cb),
  });
  return { confirmed, seen, acked };
}

interface Got {
  id: number;
  redelivered: boolean;
  count: number;
  ok: boolean;
}

async function drainAll(url: string): Promise<Got[]> {
  const conn = await amqp.connect(url);
  const ch = await conn.createChannel();
  const got: Got[] = [];
  for (;;) {
    const m = await ch.get(QUEUE, { noAck: true });
    if (m === false) break;
    const id = Number(m.properties.messageId);
    got.push({ id, redelivered: m.fields.redelivered, count: Number(m.properties.headers!['x-delivery-count']), ok: m.content.equals(bodyOf(id)) });
  }
  await conn.close();
  return got;
}

describe('a quorum queue survives SIGKILL without losing a confirmed message', () => {
  it('every confirmed, unacked message is back exactly once, byte for byte, with its delivery count', async () => {
    let totalConfirmed = 0;
    let totalSeen = 0;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 700 }), async (killAfterMs) => {
        const dir = tempDir('quorum-crash');
        try {
          const first = await startChild(dir);
          const before = await runUntilKilled(first.url, killAfterMs, first.proc);
          totalConfirmed += before.confirmed.size;
          totalSeen += before.seen.size;
          const second = await startChild(dir);
          const got = await drainAll(second.url);
          second.proc.kill('SIGTERM');
          await second.exited;
          const ids = got.map((g) => g.id);
          expect(new Set(ids).size, 'no duplicates').toBe(ids.length);
          expect(got.filter((g) => !g.ok).map((g) => g.id), 'bodies identical').toEqual([]);
          const present = new Set(ids);
          const missing = [...before.confirmed].filter((id) => !before.acked.has(id) && !present.has(id));
          expect(missing, `confirmed messages missing after the crash (kill at ${killAfterMs} ms)`).toEqual([]);
          for (const g of got) {
            const seen = before.seen.get(g.id) ?? 0;
            expect(g.count, `x-delivery-count of ${g.id}, seen ${seen} times`).toBeGreaterThanOrEqual(seen);
            expect(g.count, `x-delivery-count of ${g.id}, seen ${seen} times`).toBeLessThanOrEqual(seen + 1);
            expect(g.redelivered, `redelivered flag of ${g.id}`).toBe(g.count > 0);
          }
        } finally {
          removeDir(dir);
        }
      }),
      { numRuns: RUNS, endOnFailure: true },
    );
    expect(totalConfirmed).toBeGreaterThan(0);
    expect(totalSeen).toBeGreaterThan(0);
  }, 120_000);
});
