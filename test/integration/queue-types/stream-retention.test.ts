// Stream retention and restarts. Retention drops whole segments of
// x-stream-max-segment-size-bytes, oldest first, when a segment is started (and when a
// policy changes); each segment but the first starts with a tracking snapshot that takes an
// offset. The offsets expected here were observed on RabbitMQ 3.10.8 with the same names
// (17 characters), bodies and publishing pattern (each publish confirmed before the next);
// WARREN_REFERENCE_URL=amqp://... runs the retention tests against one.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp from 'amqplib';
import { afterAll, describe, expect, test } from 'vitest';
import { startBroker, type RunningBroker } from '../../../server/index.js';
import { onWarren, passive, sleep, useBroker } from '../../helpers/queue-features.js';
import { clearPolicy, setPolicy } from '../../helpers/quorum.js';
import { read, sname, stream } from '../../helpers/stream.js';

let dir: string | undefined;
const broker = useBroker(() => ({ dataDir: (dir = mkdtempSync(join(tmpdir(), 'warren-stream-'))) }));
afterAll(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

/** `n` bodies of 100 bytes, each confirmed before the next. */
async function publish(ch: amqp.ConfirmChannel, q: string, n: number, from = 0): Promise<void> {
  for (let i = 0; i < n; i++) {
    ch.sendToQueue(q, Buffer.from(`m${String(from + i).padStart(3, '0')}`.padEnd(100, '.')));
    await ch.waitForConfirms();
  }
}

/** The offsets a consumer at `first` (or another start) gets. */
async function offsets(conn: amqp.ChannelModel, q: string, start: unknown = 'first'): Promise<number[]> {
  // RabbitMQ applies retention in the background: a busy node may not have dropped a segment yet.
  if (!onWarren) await sleep(300);
  const r = await read(conn, q, { 'x-stream-offset': start }, 1000);
  await r.settled(300);
  await r.ch.close();
  return r.got.map((m) => (m.properties.headers as Record<string, number>)['x-stream-offset']!);
}

// One at a time: RabbitMQ's retention runs in the background, and a busy node kept a segment longer.
describe('retention', () => {
  test('x-max-length-bytes with small segments drops the oldest segments; the first offset moves up; snapshots take offsets', async () => {
    const conn = await broker.connect();
    const ch = await conn.createConfirmChannel();
    const q = await stream(ch, sname(), { 'x-stream-max-segment-size-bytes': 1000, 'x-max-length-bytes': 3000 });
    await publish(ch, q, 20);
    expect(await offsets(conn, q)).toEqual([15, 16, 17, 18, 20, 21, 22, 23]);
    expect(await offsets(conn, q, 0)).toEqual([15, 16, 17, 18, 20, 21, 22, 23]);
    expect(await offsets(conn, q, 'last')).toEqual([23]);
    await publish(ch, q, 1, 20);
    expect(await offsets(conn, q, 'last')).toEqual([25]);
    if (onWarren) expect(await passive(conn, q)).toEqual({ messageCount: 12, consumerCount: 0 });
    await ch.deleteQueue(q);
  });

  test('retention never drops the segment being written, but a full one is closed at once: with 1 byte allowed, nothing is left to read', async () => {
    const conn = await broker.connect();
    const ch = await conn.createConfirmChannel();
    const q = await stream(ch, sname(), { 'x-stream-max-segment-size-bytes': 500, 'x-max-length-bytes': 1 });
    await publish(ch, q, 10);
    expect(await offsets(conn, q)).toEqual([]);
    expect(await offsets(conn, q, 'last')).toEqual([]);
    await publish(ch, q, 1, 10);
    expect(await offsets(conn, q)).toEqual([15]);
    await ch.deleteQueue(q);
  });

  test('policy max-age: segments whose last message is older go when the next segment starts', async () => {
    const conn = await broker.connect();
    const ch = await conn.createConfirmChannel();
    const q = sname('age');
    await setPolicy(broker, { name: q, pattern: `^${q}$`, definition: { 'max-age': '2s' } });
    try {
      await stream(ch, q, { 'x-stream-max-segment-size-bytes': 500 });
      await publish(ch, q, 5);
      expect(await offsets(conn, q)).toEqual([0, 1, 3, 4, 6]);
      await sleep(3500);
      // Nothing is checked until a segment starts.
      expect(await offsets(conn, q)).toEqual([0, 1, 3, 4, 6]);
      await publish(ch, q, 1, 5);
      expect(await offsets(conn, q)).toEqual([6, 7]);
      await publish(ch, q, 1, 6);
      expect(await offsets(conn, q)).toEqual([6, 7, 9]);
    } finally {
      await clearPolicy(broker, q);
      await ch.deleteQueue(q);
    }
  });
});

describe.runIf(onWarren)('restarts', () => {
  test('after a restart every message is back at its offset, after retention too, and new messages continue the offsets', async () => {
    const data = mkdtempSync(join(tmpdir(), 'warren-stream-restart-'));
    let b: RunningBroker | null = await startBroker({ port: 0, dataDir: data });
    try {
      let conn = await amqp.connect(b.url);
      let ch = await conn.createConfirmChannel();
      const plain = await stream(ch, 'stream-plain');
      const kept = await stream(ch, 'stream-retained', { 'x-stream-max-segment-size-bytes': 1000, 'x-max-length-bytes': 3000 });
      // Transient and persistent alike.
      for (let i = 0; i < 5; i++) {
        ch.sendToQueue(plain, Buffer.from(`p${i}`), { deliveryMode: i % 2 === 0 ? 1 : 2, headers: { i } });
        await ch.waitForConfirms();
      }
      await publish(ch, kept, 20);
      const emptied = await stream(ch, 'stream-emptied', { 'x-stream-max-segment-size-bytes': 500, 'x-max-length-bytes': 1 });
      await publish(ch, emptied, 10);
      expect(await offsets(conn, emptied)).toEqual([]);
      const before = await offsets(conn, kept);
      expect(before).toEqual([15, 16, 17, 18, 20, 21, 22, 23]);
      await conn.close();
      await b.close();
      b = await startBroker({ port: 0, dataDir: data });
      conn = await amqp.connect(b.url);
      ch = await conn.createConfirmChannel();
      const r = await read(conn, plain, { 'x-stream-offset': 'first' });
      await r.until(5);
      expect(r.got.map((m) => [m.content.toString(), m.properties.headers])).toEqual([0, 1, 2, 3, 4].map((i) => [`p${i}`, { i, 'x-stream-offset': i }]));
      expect(await offsets(conn, kept)).toEqual(before);
      expect(await offsets(conn, kept, 'last')).toEqual([23]);
      // Retention left nothing to read (the new segment holds only its snapshot, offset 14): the offsets still continue.
      await publish(ch, emptied, 1, 10);
      expect(await offsets(conn, emptied)).toEqual([15]);
      ch.sendToQueue(plain, Buffer.from('p5'));
      await ch.waitForConfirms();
      await publish(ch, kept, 1, 20);
      expect(await offsets(conn, plain, 5)).toEqual([5]);
      expect(await offsets(conn, kept, 'last')).toEqual([25]);
      expect(await passive(conn, plain)).toEqual({ messageCount: 6, consumerCount: 0 });
      await conn.close();
    } finally {
      await b?.close();
      rmSync(data, { recursive: true, force: true });
    }
  });
});
