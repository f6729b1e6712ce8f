// Stream queues over AMQP 0-9-1: offsets of every kind, several consumers, acks as credit,
// and what RabbitMQ refuses. Each expectation was observed on RabbitMQ 3.10.8;
// WARREN_REFERENCE_URL=amqp://... runs this file against one.
import { describe, expect, test } from 'vitest';
import type { ConfirmChannel } from 'amqplib';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { passive, sleep, useBroker, waitUntil } from '../../helpers/queue-features.js';
import { closeFor, publishEach, read, sname, stream } from '../../helpers/stream.js';

// With a data directory, as `warren start` has: the stream reads its messages back from the store.
let dir: string | undefined;
const broker = useBroker(() => ({ dataDir: (dir = mkdtempSync(join(tmpdir(), 'warren-stream-'))) }));
afterAll(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

async function withStream(args: Record<string, unknown> = {}): Promise<{ q: string; pub: ConfirmChannel }> {
  const conn = await broker.connect();
  const pub = await conn.createConfirmChannel();
  const q = await stream(pub, sname(), args);
  return { q, pub };
}

describe.concurrent('reading a stream', () => {
  test('several consumers at first each get every message with x-stream-offset 0, 1, 2; the stream still holds three', async () => {
    const { q, pub } = await withStream();
    await publishEach(pub, q, ['a', 'b', 'c']);
    const conn = await broker.connect();
    const r1 = await read(conn, q, { 'x-stream-offset': 'first' });
    const r2 = await read(conn, q, { 'x-stream-offset': 'first' });
    expect(await r1.until(3)).toEqual(['a@0', 'b@1', 'c@2']);
    expect(await r2.until(3)).toEqual(['a@0', 'b@1', 'c@2']);
    // A consumer at offset 1 gets the last two.
    const r3 = await read(conn, q, { 'x-stream-offset': 1 });
    expect(await r3.until(2)).toEqual(['b@1', 'c@2']);
    expect(await r3.settled()).toEqual(['b@1', 'c@2']);
    // The declare-ok counts no consumers; RabbitMQ counts the messages a few seconds late.
    await waitUntil('3 messages', async () => ((await passive(conn, q)) as { messageCount: number }).messageCount === 3, 10_000);
    expect(await passive(conn, q)).toEqual({ messageCount: 3, consumerCount: 0 });
  });

  test('next (and no argument) gets only what is published after the consume; an offset past the end waits for it', async () => {
    const { q, pub } = await withStream();
    await publishEach(pub, q, ['old']);
    const conn = await broker.connect();
    const next = await read(conn, q, { 'x-stream-offset': 'next' });
    const none = await read(conn, q);
    // Past the end: it waits until the log gets there.
    const past = await read(conn, q, { 'x-stream-offset': 3 });
    expect(await next.settled()).toEqual([]);
    await publishEach(pub, q, ['new1', 'new2']);
    expect(await next.until(2)).toEqual(['new1@1', 'new2@2']);
    expect(await none.until(2)).toEqual(['new1@1', 'new2@2']);
    expect(await past.settled()).toEqual([]);
    await publishEach(pub, q, ['new3', 'new4']);
    expect(await past.until(2)).toEqual(['new3@3', 'new4@4']);
  });

  test('a number is an absolute offset, also inside a chunk; -1 is the first', async () => {
    const { q, pub } = await withStream();
    for (let i = 0; i < 5; i++) pub.sendToQueue(q, Buffer.from(`b${i}`));
    await pub.waitForConfirms();
    const conn = await broker.connect();
    const r = await read(conn, q, { 'x-stream-offset': 3 });
    expect(await r.until(2)).toEqual(['b3@3', 'b4@4']);
    const neg = await read(conn, q, { 'x-stream-offset': -1 });
    expect(await neg.until(5)).toEqual(['b0@0', 'b1@1', 'b2@2', 'b3@3', 'b4@4']);
  });

  test('last starts at the last chunk: after separately confirmed publishes, the last message', async () => {
    const { q, pub } = await withStream();
    await publishEach(pub, q, ['s0', 's1', 's2']);
    const conn = await broker.connect();
    const r = await read(conn, q, { 'x-stream-offset': 'last' });
    expect(await r.settled()).toEqual(['s2@2']);
  });

  test('a timestamp starts at the first chunk written at or after it; an interval counts back from now', async () => {
    const { q, pub } = await withStream();
    await publishEach(pub, q, ['early']);
    await sleep(2100);
    const mid = Math.floor(Date.now() / 1000);
    await sleep(1100);
    await publishEach(pub, q, ['late']);
    const conn = await broker.connect();
    const ts = await read(conn, q, { 'x-stream-offset': { '!': 'timestamp', value: mid } });
    expect(await ts.settled()).toEqual(['late@1']);
    const recent = await read(conn, q, { 'x-stream-offset': '2s' });
    expect(await recent.settled()).toEqual(['late@1']);
    const hour = await read(conn, q, { 'x-stream-offset': '1h' });
    expect(await hour.until(2)).toEqual(['early@0', 'late@1']);
    const old = await read(conn, q, { 'x-stream-offset': { '!': 'timestamp', value: 1 } });
    expect(await old.until(2)).toEqual(['early@0', 'late@1']);
  });

  test('x-stream-offset joins the headers, sorted by name; deliveries are not redelivered and tags count per channel', async () => {
    const { q, pub } = await withStream();
    await publishEach(pub, q, ['h'], { headers: { zeta: 1, alpha: 'a' }, contentType: 'text/plain' });
    await publishEach(pub, q, ['p']);
    const conn = await broker.connect();
    const r = await read(conn, q, { 'x-stream-offset': 'first' });
    await r.until(2);
    const [h, p] = r.got;
    expect(Object.keys(h!.properties.headers!)).toEqual(['alpha', 'x-stream-offset', 'zeta']);
    expect(h!.properties.headers).toEqual({ alpha: 'a', 'x-stream-offset': 0, zeta: 1 });
    expect(h!.properties.contentType).toBe('text/plain');
    expect(p!.properties.headers).toEqual({ 'x-stream-offset': 1 });
    expect(r.got.map((m) => [m.fields.deliveryTag, m.fields.redelivered])).toEqual([
      [1, false],
      [2, false],
    ]);
  });
});

describe.concurrent('acks are credit', () => {
  test('a consumer gets prefetch messages until it acks; an ack frees one slot and removes nothing', async () => {
    const { q, pub } = await withStream();
    await publishEach(pub, q, ['m0', 'm1', 'm2', 'm3']);
    const conn = await broker.connect();
    const r = await read(conn, q, { 'x-stream-offset': 'first' }, 2, false);
    expect(await r.until(2)).toEqual(['m0@0', 'm1@1']);
    expect(await r.settled()).toEqual(['m0@0', 'm1@1']);
    r.ch.ack(r.got[0]!);
    expect(await r.until(3)).toEqual(['m0@0', 'm1@1', 'm2@2']);
    expect(await r.settled()).toEqual(['m0@0', 'm1@1', 'm2@2']);
    r.ch.ack(r.got[2]!, true);
    expect(await r.until(4)).toEqual(['m0@0', 'm1@1', 'm2@2', 'm3@3']);
    await waitUntil('4 messages', async () => ((await passive(conn, q)) as { messageCount: number }).messageCount === 4, 10_000);
    // Closing the channel with messages unacked gives nothing back: a new reader sees the same log.
    await r.ch.close();
    const again = await read(conn, q, { 'x-stream-offset': 'first' });
    expect(await again.until(4)).toEqual(['m0@0', 'm1@1', 'm2@2', 'm3@3']);
  });
});

test('queue.delete ignores if-empty and if-unused and says 0 messages; its consumers are cancelled', async () => {
  const { q, pub } = await withStream();
  await publishEach(pub, q, ['a', 'b', 'c']);
  const conn = await broker.connect();
  const r = await read(conn, q, { 'x-stream-offset': 'first' });
  await r.until(3);
  const cancelled = new Promise<void>((resolve) => r.ch.on('cancel', () => resolve()));
  const ch = await conn.createChannel();
  expect(await ch.deleteQueue(q, { ifEmpty: true, ifUnused: true })).toEqual({ messageCount: 0 });
  await cancelled;
});

describe.concurrent('what a stream refuses', () => {
  const open = (): ReturnType<typeof broker.connect> => broker.connect();

  test('basic.get: connection.close 540', async () => {
    const { q } = await withStream();
    expect(await closeFor(open, (ch) => ch.get(q))).toMatchObject({
      code: 540,
      text: `NOT_IMPLEMENTED - basic.get not supported by stream queues queue '${q}' in vhost '/'`,
    });
  });

  test('a consume without a consumer prefetch: channel.close 406, even with a global prefetch', async () => {
    const { q } = await withStream();
    expect(await closeFor(open, (ch) => ch.consume(q, () => {}))).toMatchObject({
      code: 406,
      text: `PRECONDITION_FAILED - consumer prefetch count is not set for 'queue '${q}' in vhost '/''`,
    });
    const global = await closeFor(open, async (ch) => {
      await ch.prefetch(10, true);
      return ch.consume(q, () => {});
    });
    expect(global.code).toBe(406);
  });

  test('a no-ack consume: connection.close 540', async () => {
    const { q } = await withStream();
    const r = await closeFor(open, async (ch) => {
      await ch.prefetch(10);
      return ch.consume(q, () => {}, { noAck: true });
    });
    expect(r).toMatchObject({ code: 540, text: `NOT_IMPLEMENTED - automatic acknowledgement not supported by stream queues queue '${q}' in vhost '/'` });
  });

  test('nack and reject, with or without requeue: connection.close 540', async () => {
    const { q, pub } = await withStream();
    await publishEach(pub, q, ['x']);
    for (const settle of ['nack', 'nack-requeue', 'reject'] as const) {
      const r = await closeFor(open, async (ch) => {
        await ch.prefetch(10);
        await new Promise<void>((resolve) => {
          void ch.consume(
            q,
            (m) => {
              if (settle === 'nack') ch.nack(m!, false, false);
              else if (settle === 'nack-requeue') ch.nack(m!, false, true);
              else ch.reject(m!, false);
              resolve();
            },
            { arguments: { 'x-stream-offset': 'first' } },
          );
        });
      });
      expect(r).toMatchObject({ code: 540, text: `NOT_IMPLEMENTED - basic.nack and basic.reject not supported by stream queues queue '${q}' in vhost '/'` });
    }
  });

  test('queue.purge: connection.close 540', async () => {
    const { q } = await withStream();
    expect(await closeFor(open, (ch) => ch.purgeQueue(q))).toMatchObject({
      code: 540,
      text: `NOT_IMPLEMENTED - queue.purge not supported by stream queues queue '${q}' in vhost '/'`,
    });
  });

  test('basic.recover with a stream consumer holding a delivery: connection.close 540 (RabbitMQ crashes, 541)', async () => {
    const { q, pub } = await withStream();
    await publishEach(pub, q, ['m1']);
    const closed = await closeFor(open, async (ch) => {
      await ch.prefetch(10);
      const got = new Promise<void>((resolve) => void ch.consume(q, () => resolve(), { arguments: { 'x-stream-offset': 'first' } }));
      await got;
      return ch.recover();
    });
    expect(closed).toMatchObject({ code: 540, text: `NOT_IMPLEMENTED - basic.recover not supported by stream queues queue '${q}' in vhost '/'` });
  });

  test('x-stream-offset values: an interval with a bad unit or 0, no leading digit, a float or a boolean are refused with 406 (RabbitMQ crashes on the last three: 541)', async () => {
    const { q } = await withStream();
    const consume = (v: unknown) => (ch: import('amqplib').Channel) =>
      ch.prefetch(10).then(() => ch.consume(q, () => {}, { arguments: { 'x-stream-offset': v } }));
    for (const v of ['1x', '0s']) {
      expect(await closeFor(open, consume(v))).toMatchObject({
        code: 406,
        text: `PRECONDITION_FAILED - invalid arg 'x-stream-offset' for queue '${q}' in vhost '/': {invalid_stream_offset_arg,{longstr,<<"${v}">>}}`,
      });
    }
    const invalid = (term: string) => ({ code: 406, text: `PRECONDITION_FAILED - invalid arg 'x-stream-offset' for queue '${q}' in vhost '/': {invalid_stream_offset_arg,${term}}` });
    for (const v of ['start', 'First', '']) expect(await closeFor(open, consume(v))).toMatchObject(invalid(`{longstr,<<"${v}">>}`));
    expect(await closeFor(open, consume(1.5))).toMatchObject(invalid('{double,1.5}'));
    expect(await closeFor(open, consume(true))).toMatchObject(invalid('{bool,true}'));
  });
});
