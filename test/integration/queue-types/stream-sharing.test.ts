// A stream among other queues: one message routed to a stream and a classic queue is stored
// once (the stream's offset in the record next to the classic queue's slot), both get it back
// after a restart, and draining the classic queue takes nothing from the stream. A broker
// without a data directory keeps the log in memory.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp from 'amqplib';
import { describe, expect, test } from 'vitest';
import { startBroker, type RunningBroker } from '../../../server/index.js';
import { bodies, drain, passive } from '../../helpers/queue-features.js';
import { read, stream } from '../../helpers/stream.js';

async function withBroker(dataDir: string | undefined, fn: (b: RunningBroker) => Promise<void>): Promise<void> {
  const b = await startBroker({ port: 0, ...(dataDir === undefined ? {} : { dataDir }) });
  try {
    await fn(b);
  } finally {
    await b.close();
  }
}

describe.concurrent('streams with other queues', () => {
  test('a fanout to a stream and a durable classic queue: both have it after a restart; the stream keeps its offsets', async () => {
    const data = mkdtempSync(join(tmpdir(), 'warren-stream-share-'));
    try {
      await withBroker(data, async (b) => {
        const conn = await amqp.connect(b.url);
        const ch = await conn.createConfirmChannel();
        await ch.assertExchange('fan', 'fanout', { durable: true });
        await ch.assertQueue('classic', { durable: true });
        await stream(ch, 'log');
        await ch.bindQueue('classic', 'fan', '');
        await ch.bindQueue('log', 'fan', '');
        ch.sendToQueue('log', Buffer.from('first-only'), { deliveryMode: 2 });
        for (const m of ['a', 'b', 'c']) ch.publish('fan', '', Buffer.from(m), { deliveryMode: 2 });
        await ch.waitForConfirms();
        // Taking the classic queue's copies leaves the stream's.
        const got = await drain(await conn.createChannel(), 'classic');
        expect(bodies(got.slice(0, 1))).toEqual(['a']);
        await conn.close();
      });
      await withBroker(data, async (b) => {
        const conn = await amqp.connect(b.url);
        const r = await read(conn, 'log', { 'x-stream-offset': 'first' });
        expect(await r.until(4)).toEqual(['first-only@0', 'a@1', 'b@2', 'c@3']);
        // The classic queue was drained with no-ack gets: nothing came back to it.
        expect(await passive(conn, 'classic')).toEqual({ messageCount: 0, consumerCount: 0 });
        await conn.close();
      });
    } finally {
      rmSync(data, { recursive: true, force: true });
    }
  });

  test('without a data directory: offsets, several readers and retention work on a log kept in memory', async () => {
    await withBroker(undefined, async (b) => {
      const conn = await amqp.connect(b.url);
      const ch = await conn.createConfirmChannel();
      await stream(ch, 'mem', { 'x-stream-max-segment-size-bytes': 500, 'x-max-length-bytes': 1 });
      await stream(ch, 'mem-all');
      for (let i = 0; i < 4; i++) {
        ch.sendToQueue('mem-all', Buffer.from(`m${i}`));
        await ch.waitForConfirms();
      }
      const r1 = await read(conn, 'mem-all', { 'x-stream-offset': 'first' });
      const r2 = await read(conn, 'mem-all', { 'x-stream-offset': 2 });
      expect(await r1.until(4)).toEqual(['m0@0', 'm1@1', 'm2@2', 'm3@3']);
      expect(await r2.until(2)).toEqual(['m2@2', 'm3@3']);
      // 100-byte bodies, three to a 500-byte segment; with 1 byte allowed, only the segment being
      // written is kept: its tracking snapshot (offset 3) and the fourth message.
      for (let i = 0; i < 4; i++) {
        ch.sendToQueue('mem', Buffer.alloc(100, 97 + i));
        await ch.waitForConfirms();
      }
      const r3 = await read(conn, 'mem', { 'x-stream-offset': 'first' });
      expect((await r3.until(1)).map((s) => s.split('@')[1])).toEqual(['4']);
      expect(await passive(conn, 'mem')).toEqual({ messageCount: 2, consumerCount: 0 });
      await conn.close();
    });
  });
});
