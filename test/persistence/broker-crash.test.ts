/**
 * The broker's durability promise, end to end: Warren runs in a child process, several
 * amqplib publishers send persistent messages with confirms (to a fanout of two durable
 * queues and to a third queue directly) while a consumer takes and acks some, and the
 * broker is SIGKILLed at a random moment. After a restart on the same data directory,
 * every confirmed message that was not acked is in each of its queues exactly once, with
 * identical bytes; a message delivered before the crash comes back redelivered, and one
 * never delivered does not.
 * fast-check picks the kill moments (0–700 ms after the first confirm); BROKER_CRASH_RUNS=n
 * runs it n times (default 3).
 */
import amqp from 'amqplib';
import type { ChildProcess } from 'node:child_process';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleFixture, idOf, payloadFor, publishUntilKilled, removeDir, sizeFor, startBrokerChild, tempDir, type BrokerChild, type KillSwitch } from './helpers.js';

const RUNS = Number(process.env['BROKER_CRASH_RUNS'] ?? 3);
const PUBLISHERS = 3;
const QUEUES = ['crash.a', 'crash.b', 'crash.c'] as const;

let bundleDir: string;
let brokerJs: string;

beforeAll(() => {
  bundleDir = tempDir('broker-crash-bundle');
  brokerJs = bundleFixture('broker', bundleDir);
});
afterAll(() => removeDir(bundleDir));

type Child = BrokerChild;
const startChild = (dir: string): Promise<Child> => startBrokerChild(brokerJs, dir);

const bodyOf = (id: number) => payloadFor(id, sizeFor(id, 3000));
/** Every third message goes straight to crash.c; the rest to the fanout of crash.a and crash.b. */
const queuesOf = (id: number): readonly string[] => (id % 3 === 0 ? ['crash.c'] : ['crash.a', 'crash.b']);

interface Before {
  confirmed: Set<number>;
  /** Delivered to the consumer on crash.a before the crash. */
  delivered: Set<number>;
  /** Acked by that consumer (the ack may or may not have reached the disk). */
  acked: Set<number>;
}

async function runUntilKilled(url: string, killAfterMs: number, proc: ChildProcess): Promise<Before> {
  const delivered = new Set<number>();
  const acked = new Set<number>();
  const setup = await amqp.connect(url);
  const sch = await setup.createChannel();
  await sch.assertExchange('crash.fan', 'fanout', { durable: true });
  for (const q of QUEUES) await sch.assertQueue(q, { durable: true });
  await sch.bindQueue('crash.a', 'crash.fan', '');
  await sch.bindQueue('crash.b', 'crash.fan', '');
  await setup.close();

  const kill: KillSwitch = { dead: false };
  const consumerConn = await amqp.connect(url);
  consumerConn.on('error', () => {});
  const cch = await consumerConn.createChannel();
  cch.on('error', () => {});
  await cch.prefetch(100);
  await cch.consume('crash.a', (m) => {
    if (m === null || kill.dead) return;
    const id = Number(m.properties.messageId);
    delivered.add(id);
    // Ack every other one: the rest stay delivered-but-unacked at the crash.
    if (id % 2 === 0) {
      cch.ack(m);
      acked.add(id);
    }
  });

  const confirmed = await publishUntilKilled({
    url,
    proc,
    publishers: PUBLISHERS,
    killAfterMs,
    kill,
    send: (ch, id, _k, cb) => {
      if (id % 3 === 0) ch.sendToQueue('crash.c', bodyOf(id), { persistent: true, messageId: String(id) }, cb);
      else ch.publish('crash.fan', '', bodyOf(id), { persistent: true, messageId: String(id) }, cb);
    },
  });
  return { confirmed, delivered, acked };
}

interface Got {
  id: number;
  redelivered: boolean;
  ok: boolean;
}

async function drainAll(url: string): Promise<Map<string, Got[]>> {
  const conn = await amqp.connect(url);
  const ch = await conn.createChannel();
  const out = new Map<string, Got[]>();
  for (const q of QUEUES) {
    const got: Got[] = [];
    for (;;) {
      const m = await ch.get(q, { noAck: true });
      if (m === false) break;
      const id = Number(m.properties.messageId);
      got.push({ id, redelivered: m.fields.redelivered, ok: m.content.equals(bodyOf(id)) });
    }
    out.set(q, got);
  }
  await conn.close();
  return out;
}

describe('the broker survives SIGKILL without losing a confirmed message', () => {
  it('every confirmed, unacked message is back exactly once, byte for byte', async () => {
    let totalConfirmed = 0;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 700 }), async (killAfterMs) => {
        const dir = tempDir('broker-crash');
        try {
          const first = await startChild(dir);
          const before = await runUntilKilled(first.url, killAfterMs, first.proc);
          totalConfirmed += before.confirmed.size;
          const second = await startChild(dir);
          const after = await drainAll(second.url);
          second.proc.kill('SIGTERM');
          await second.exited;
          for (const q of QUEUES) {
            const got = after.get(q)!;
            const ids = got.map((g) => g.id);
            expect(new Set(ids).size, `${q}: no duplicates`).toBe(ids.length);
            expect(got.filter((g) => !g.ok).map((g) => g.id), `${q}: bodies identical`).toEqual([]);
            for (const g of got) expect(queuesOf(g.id), `${q}: only its own messages`).toContain(q);
            const present = new Set(ids);
            const missing = [...before.confirmed].filter((id) => queuesOf(id).includes(q) && !(q === 'crash.a' && before.acked.has(id)) && !present.has(id));
            expect(missing, `${q}: confirmed messages missing after the crash (kill at ${killAfterMs} ms)`).toEqual([]);
            // Per publisher, a queue keeps publish order.
            for (let pub = 0; pub < PUBLISHERS; pub++) {
              const mine = ids.filter((id) => Math.floor(id / 1_000_000) === pub);
              expect(mine).toEqual([...mine].sort((x, y) => x - y));
            }
          }
          for (const g of after.get('crash.a')!) if (before.delivered.has(g.id)) expect(g.redelivered, `message ${g.id} was delivered before the crash`).toBe(true);
          // Nothing ever consumed crash.b and crash.c: nothing there may claim to be redelivered.
          for (const q of ['crash.b', 'crash.c']) expect(after.get(q)!.filter((g) => g.redelivered).map((g) => g.id), `${q}: never delivered`).toEqual([]);
        } finally {
          removeDir(dir);
        }
      }),
      { numRuns: RUNS, endOnFailure: true },
    );
    // The property means nothing if nothing got confirmed.
    expect(totalConfirmed).toBeGreaterThan(0);
  }, 120_000);
});
