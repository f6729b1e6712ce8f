// A stream read back from disk in runs of records (one read per run, shared by its
// consumers through a bounded cache): consumers get exactly what was published, at its
// offset, when the stream's records are interleaved with other queues' (live and acked),
// shared with a classic queue, spread over several store segment files, with headers and
// properties, and with bodies too large to be cached. (A full cache and a reader behind it:
// stream-stragglers.test.ts.)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp, { type ConsumeMessage } from 'amqplib';
import { describe, expect, test } from 'vitest';
import { startBroker } from '../../../server/index.js';
import { read, stream } from '../../helpers/stream.js';

/** Messages in the stream (fewer than the cache's 131,072 slots). */
const N = 40_000;
const BIG = 100 * 1024;

interface Sent {
  body: string;
  exchange: string;
  routingKey: string;
  headers: Record<string, unknown> | undefined;
  contentType: string | undefined;
  persistent: boolean;
}

/** What the stream's i-th message is. */
function sent(i: number): Sent {
  const big = i % 9_973 === 5;
  const body = big ? `big${i}:`.padEnd(BIG, String.fromCharCode(97 + (i % 26))) : `m${i}`;
  return {
    body,
    exchange: i % 3 === 0 ? 'fan' : '',
    routingKey: i % 3 === 0 ? '' : 'log',
    headers: i % 7 === 0 ? { i, tag: `t${i % 5}` } : undefined,
    contentType: i % 11 === 0 ? 'text/plain' : undefined,
    persistent: i % 2 === 0,
  };
}

function describeSent(s: Sent, offset: number): string {
  const headers = s.headers === undefined ? { 'x-stream-offset': offset } : { ...s.headers, 'x-stream-offset': offset };
  return JSON.stringify([s.body.length > 32 ? `${s.body.slice(0, 12)}…${s.body.length}:${s.body.slice(-1)}` : s.body, s.exchange, s.routingKey, headers, s.contentType ?? null, s.persistent ? 2 : 1]);
}

function describeGot(m: ConsumeMessage): string {
  const body = m.content.toString();
  const h = m.properties.headers as Record<string, unknown>;
  return JSON.stringify([body.length > 32 ? `${body.slice(0, 12)}…${body.length}:${body.slice(-1)}` : body, m.fields.exchange, m.fields.routingKey, h, m.properties.contentType ?? null, m.properties.deliveryMode ?? 1]);
}

function expected(from: number): string[] {
  const out: string[] = [];
  for (let i = from; i < N; i++) out.push(describeSent(sent(i), i));
  return out;
}

describe('stream read-ahead', () => {
  test('consumers at first and at an offset get every message as published, from disk, among other queues\u2019 records, over several segment files', async () => {
    const data = mkdtempSync(join(tmpdir(), 'warren-stream-runs-'));
    // Small store segments: runs of records end at file boundaries.
    const options = { port: 0, dataDir: data, storeSegmentBytes: 512 * 1024 };
    let b = await startBroker(options);
    try {
      let conn = await amqp.connect(b.url);
      const ch = await conn.createConfirmChannel();
      await ch.assertExchange('fan', 'fanout', { durable: true });
      await ch.assertQueue('side', { durable: true });
      await stream(ch, 'log');
      await ch.bindQueue('side', 'fan', '');
      await ch.bindQueue('log', 'fan', '');
      let sideCount = 0;
      for (let i = 0; i < N; i++) {
        const s = sent(i);
        const options = { deliveryMode: s.persistent ? 2 : 1, ...(s.headers === undefined ? {} : { headers: s.headers }), ...(s.contentType === undefined ? {} : { contentType: s.contentType }) };
        if (s.exchange === 'fan') {
          ch.publish('fan', '', Buffer.from(s.body), options);
          sideCount++;
        } else {
          ch.sendToQueue('log', Buffer.from(s.body), options);
        }
        // Records of another queue between the stream's.
        if (i % 4 === 1) {
          ch.sendToQueue('side', Buffer.from(`side${i}`), { deliveryMode: 2 });
          sideCount++;
        }
        if (i % 1000 === 999) await ch.waitForConfirms();
      }
      await ch.waitForConfirms();
      // Take half of the classic queue's messages: dead records among the stream's.
      const side = await conn.createChannel();
      await side.prefetch(500);
      let taken = 0;
      await new Promise<void>((resolve) => {
        void side.consume('side', (m) => {
          if (m === null || taken >= sideCount / 2) return;
          side.ack(m);
          if (++taken >= sideCount / 2) resolve();
        });
      });
      await side.close();
      await conn.close();
      await b.close();

      // After a restart nothing is cached: every message comes from disk.
      b = await startBroker(options);
      conn = await amqp.connect(b.url);
      const fast = await read(conn, 'log', { 'x-stream-offset': 'first' }, 1000);
      const slow = await read(conn, 'log', { 'x-stream-offset': 'first' }, 7);
      const middle = await read(conn, 'log', { 'x-stream-offset': 23_456 }, 100);
      await fast.until(N, 60_000);
      await slow.until(N, 60_000);
      await middle.until(N - 23_456, 60_000);
      const want = expected(0);
      expect(fast.got.map(describeGot)).toEqual(want);
      expect(slow.got.map(describeGot)).toEqual(want);
      expect(middle.got.map(describeGot)).toEqual(want.slice(23_456));
      // Nothing more, and the stream is whole.
      await fast.settled(200);
      expect(fast.got.length).toBe(N);
      const q = await (await conn.createChannel()).checkQueue('log');
      expect(q.messageCount).toBe(N);
      await conn.close();
    } finally {
      await b.close();
      rmSync(data, { recursive: true, force: true });
    }
  }, 180_000);
});
