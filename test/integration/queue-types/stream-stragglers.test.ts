// A stream reader that falls behind everything the stream's shared cache holds (the cache is
// full of newer messages, here 64 MiB of 60 KiB bodies) decodes its messages for itself
// instead of pushing the newer ones out: it still gets every message, in order, at its
// offset, and so do the readers ahead of it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp, { type ChannelModel } from 'amqplib';
import { describe, expect, test } from 'vitest';
import { startBroker } from '../../../server/index.js';
import { sleep } from '../../helpers/queue-features.js';
import { stream } from '../../helpers/stream.js';

/** About 2.4 times what the cache holds (64 MiB), in bodies small enough to be cached. */
const N = 2_600;
const SIZE = 60 * 1024;

function body(i: number): Buffer {
  const b = Buffer.alloc(SIZE, 97 + (i % 26));
  b.write(`m${i}:`, 0, 'latin1');
  return b;
}

interface Tally {
  /** Deliveries that were the expected message at the expected offset, in order. */
  good: number;
  /** The first delivery that was not, described. */
  bad: string | null;
}

/** Consumes `queue` from `first`, checking each delivery against the i-th message as it comes (nothing is kept). */
async function check(conn: ChannelModel, queue: string, prefetch: number): Promise<Tally> {
  const ch = await conn.createChannel();
  await ch.prefetch(prefetch);
  const t: Tally = { good: 0, bad: null };
  await ch.consume(
    queue,
    (m) => {
      if (m === null) return;
      const i = t.good;
      const offset = (m.properties.headers as Record<string, unknown>)['x-stream-offset'];
      if (t.bad === null) {
        if (offset === i && m.content.equals(body(i))) t.good++;
        else t.bad = `delivery ${i}: offset ${String(offset)}, body ${m.content.subarray(0, 12).toString('latin1')}… (${m.content.length} bytes)`;
      }
      ch.ack(m);
    },
    { arguments: { 'x-stream-offset': 'first' } },
  );
  return t;
}

async function until(t: Tally, n: number, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (t.good < n && t.bad === null) {
    if (Date.now() > deadline) throw new Error(`read ${t.good} of ${n}`);
    await sleep(10);
  }
}

describe('stream stragglers', () => {
  test('a reader far behind a full cache gets every message in order, and so does the reader ahead', async () => {
    const data = mkdtempSync(join(tmpdir(), 'warren-stream-stragglers-'));
    const options = { port: 0, dataDir: data };
    let b = await startBroker(options);
    try {
      let conn = await amqp.connect(b.url);
      const ch = await conn.createConfirmChannel();
      await stream(ch, 'log');
      for (let i = 0; i < N; i++) {
        ch.sendToQueue('log', body(i), { deliveryMode: 2 });
        if (i % 100 === 99) await ch.waitForConfirms();
      }
      await ch.waitForConfirms();
      await conn.close();
      await b.close();

      // After a restart every message comes from disk, through the cache.
      b = await startBroker(options);
      conn = await amqp.connect(b.url);
      const ahead = await check(conn, 'log', 200);
      // The cache now holds the newest ~1,100 messages: the second reader starts far behind them.
      await until(ahead, 2_000, 60_000);
      const behind = await check(conn, 'log', 50);
      await until(ahead, N, 60_000);
      await until(behind, N, 60_000);
      expect(ahead).toEqual({ good: N, bad: null });
      expect(behind).toEqual({ good: N, bad: null });
      await conn.close();
    } finally {
      await b.close();
      rmSync(data, { recursive: true, force: true });
    }
  }, 120_000);
});
