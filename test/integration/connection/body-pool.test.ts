// Large bodies come from a pool and go back to it once their message is done (server/queue/
// body-pool.ts). A buffer handed back too early would put one message's bytes in another:
// every test here publishes distinct bodies while earlier ones are still being written or
// are unacked, and checks each delivery byte for byte. Paths the pool cannot follow
// (several queues, dead-lettering, the disk, transactions) must never hand a buffer back.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp, { type ConsumeMessage } from 'amqplib';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startBroker, type RunningBroker } from '../../../server/index.js';
import { pool } from '../../../server/queue/body-pool.js';
import { M, RawClient } from '../../helpers/raw-client.js';
import { uniq } from '../../helpers/queue-features.js';
import { Chan } from '../../helpers/basic.js';

/** Body i: 64 KiB to about 300 KiB of bytes that depend on i (so a mix-up shows). */
function body(i: number): Buffer {
  const size = 64 * 1024 + ((i * 37_813) % (236 * 1024));
  const out = Buffer.allocUnsafe(size);
  let seed = createHash('sha256').update(`body ${i}`).digest();
  for (let at = 0; at < size; at += seed.length) {
    seed.copy(out, at, 0, Math.min(seed.length, size - at));
    seed = createHash('sha256').update(seed).digest();
  }
  out.writeUInt32BE(i, 0);
  return out;
}

/** Which message a delivery is, checked against its whole body: -1 when the bytes are not body(i). */
function identify(content: Buffer): number {
  const i = content.readUInt32BE(0);
  return content.equals(body(i)) ? i : -1;
}

async function until(cond: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

let b: RunningBroker;
beforeAll(async () => {
  b = await startBroker({ port: 0 });
});
afterAll(async () => {
  await b.close();
});

// One at a time: each test counts the buffers the pool got back while it ran.
describe('pooled large bodies', () => {
  test('a no-ack consumer that stops reading: bodies still being written are not reused by later publishes', async () => {
    const q = uniq('pool-noack');
    const conn = await amqp.connect(b.url);
    const ch = await conn.createChannel();
    await ch.assertQueue(q, { durable: false });
    // A consumer that reads nothing for a while: the broker's writes to it stay pending.
    const raw = await RawClient.open(b.port);
    await raw.openChannel(1);
    raw.sendMethod(1, { id: M.BasicConsume, queue: q, consumerTag: 'slow', noLocal: false, noAck: true, exclusive: false, nowait: false, arguments: {} });
    await raw.expectMethod(M.BasicConsumeOk);
    raw.socket.pause();
    const before = pool.returned;
    const N = 120;
    for (let i = 0; i < N; i++) ch.sendToQueue(q, body(i));
    await new Promise((r) => setTimeout(r, 300));
    raw.socket.resume();
    const got: number[] = [];
    for (let i = 0; i < N; i++) {
      await raw.expectMethod(M.BasicDeliver, 10_000);
      got.push(identify((await raw.nextContent(10_000)).body));
    }
    expect(got).toEqual([...Array(N).keys()]);
    // The path is the pool's: buffers came back once their writes were done.
    await until(() => pool.returned > before);
    await raw.close();
    await conn.close();
  }, 60_000);

  test('manual acks, requeues and redeliveries: every delivery is the message it says, until its ack', async () => {
    const q = uniq('pool-ack');
    const conn = await amqp.connect(b.url);
    const pub = await conn.createChannel();
    await pub.assertQueue(q, { durable: false });
    const con = await conn.createChannel();
    await con.prefetch(7);
    const N = 150;
    const acked = new Set<number>();
    const bad: string[] = [];
    let requeued = 0;
    const held: ConsumeMessage[] = [];
    await con.consume(q, (m) => {
      if (m === null) return;
      const i = identify(m.content);
      if (i < 0) bad.push(`delivery ${m.fields.deliveryTag}: not a body it was sent`);
      // Hold a few, requeue every third first delivery, ack the rest.
      if (i % 3 === 0 && !m.fields.redelivered) {
        requeued++;
        con.nack(m, false, true);
      } else {
        held.push(m);
        if (held.length >= 5) for (const h of held.splice(0)) {
          acked.add(identify(h.content));
          con.ack(h);
        }
      }
    });
    const before = pool.returned;
    for (let i = 0; i < N; i++) pub.sendToQueue(q, body(i));
    await until(() => acked.size + held.length >= N || bad.length > 0);
    for (const h of held.splice(0)) {
      acked.add(identify(h.content));
      con.ack(h);
    }
    expect(bad).toEqual([]);
    expect([...acked].sort((x, y) => x - y)).toEqual([...Array(N).keys()]);
    expect(requeued).toBe(50);
    await until(() => pool.returned > before);
    await conn.close();
  }, 60_000);

  test('fanout to two queues, a dead-lettering queue, a transaction: delivered intact, and no buffer goes back', async () => {
    const conn = await amqp.connect(b.url);
    const ch = await conn.createChannel();
    const x = uniq('pool-fan');
    const [q1, q2, dl, dlx] = [uniq('pool-f1'), uniq('pool-f2'), uniq('pool-dl'), uniq('pool-dlx')];
    await ch.assertExchange(x, 'fanout', { durable: false });
    await ch.assertQueue(q1, { durable: false });
    await ch.assertQueue(q2, { durable: false });
    await ch.bindQueue(q1, x, '');
    await ch.bindQueue(q2, x, '');
    await ch.assertQueue(dlx, { durable: false });
    await ch.assertQueue(dl, { durable: false, deadLetterExchange: '', deadLetterRoutingKey: dlx });
    const tx = await conn.createChannel();
    const txq = uniq('pool-tx');
    await tx.assertQueue(txq, { durable: false });
    await new Chan(tx).txSelect();

    const before = pool.returned;
    const N = 20;
    for (let i = 0; i < N; i++) {
      ch.publish(x, '', body(i));
      ch.sendToQueue(dl, body(100 + i));
      tx.sendToQueue(txq, body(200 + i));
    }
    await new Chan(tx).txCommit();
    const take = async (q: string, n: number, reject = false): Promise<number[]> => {
      const c = await conn.createChannel();
      const out: number[] = [];
      await c.consume(q, (m) => {
        if (m === null) return;
        out.push(identify(m.content));
        if (reject) c.nack(m, false, false);
        else c.ack(m);
      });
      await until(() => out.length >= n);
      return out;
    };
    const seq = (from: number) => Array.from({ length: N }, (_, i) => from + i);
    expect(await take(q1, N)).toEqual(seq(0));
    expect(await take(q2, N)).toEqual(seq(0));
    // Rejected from the dead-lettering queue: the dead-lettered copies carry the same bodies.
    expect(await take(dl, N, true)).toEqual(seq(100));
    expect(await take(dlx, N)).toEqual(seq(100));
    expect(await take(txq, N)).toEqual(seq(200));
    expect(pool.returned).toBe(before);
    await conn.close();
  }, 60_000);

  test('persistent messages in a durable queue are stored from their bodies: no buffer goes back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warren-body-pool-'));
    const d = await startBroker({ port: 0, dataDir: dir });
    try {
      const conn = await amqp.connect(d.url);
      const ch = await conn.createConfirmChannel();
      const q = uniq('pool-durable');
      await ch.assertQueue(q, { durable: true });
      const before = pool.returned;
      const N = 30;
      for (let i = 0; i < N; i++) ch.sendToQueue(q, body(300 + i), { deliveryMode: 2 });
      await ch.waitForConfirms();
      const got: number[] = [];
      await ch.consume(q, (m) => m !== null && got.push(identify(m.content)), { noAck: true });
      await until(() => got.length >= N);
      expect(got).toEqual(Array.from({ length: N }, (_, i) => 300 + i));
      expect(pool.returned).toBe(before);
      await conn.close();
    } finally {
      await d.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
