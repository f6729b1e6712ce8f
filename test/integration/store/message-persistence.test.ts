/**
 * Persistent messages in durable queues survive a restart of the broker (in-process, same
 * data directory), over amqplib on a real socket: order, bodies, properties, shared
 * storage for several queues, acks releasing, redelivered flags, and confirms that wait
 * for the disk.
 */
import amqp, { type ConfirmChannel, type GetMessage } from 'amqplib';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { startBroker, type RunningBroker } from '../../../server/index.js';
import { ShimFs } from '../../persistence/helpers.js';
import { ID } from '../../helpers/basic.js';

let dir: string;
let broker: RunningBroker | null = null;
const conns: amqp.ChannelModel[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'warren-msgs-'));
});
afterEach(async () => {
  for (const c of conns.splice(0)) await c.close().catch(() => {});
  await broker?.close();
  broker = null;
  rmSync(dir, { recursive: true, force: true });
});

async function restart(extra: Record<string, unknown> = {}): Promise<RunningBroker> {
  for (const c of conns.splice(0)) await c.close().catch(() => {});
  await broker?.close();
  broker = await startBroker({ port: 0, dataDir: dir, ...extra });
  return broker;
}

async function confirmChannel(): Promise<ConfirmChannel> {
  const conn = await amqp.connect(broker!.url);
  conns.push(conn);
  const ch = await conn.createConfirmChannel();
  ch.on('error', () => {});
  return ch;
}

async function getAll(ch: amqp.Channel, q: string): Promise<GetMessage[]> {
  const out: GetMessage[] = [];
  for (;;) {
    const m = await ch.get(q, { noAck: true });
    if (m === false) return out;
    out.push(m);
  }
}

/** Swaps the store's file-system calls (its own and its write pipeline's) for the shim's. */
function injectFs(segments: unknown, shim: ShimFs): void {
  const s = segments as { fs: unknown; writer: { fs: unknown } };
  s.fs = shim.api;
  s.writer.fs = shim.api;
}

const summary = (m: GetMessage) => ({ body: m.content.toString(), redelivered: m.fields.redelivered, rk: m.fields.routingKey, ex: m.fields.exchange });

describe('persistent messages survive a restart', () => {
  test('only persistent messages in durable queues come back, in order, with their properties', async () => {
    await restart();
    const ch = await confirmChannel();
    await ch.assertQueue('keep', { durable: true });
    await ch.assertQueue('gone', { durable: false });
    for (let i = 0; i < 50; i++) {
      const persistent = i % 5 !== 0;
      ch.sendToQueue('keep', Buffer.from(`m${i}`), { persistent, headers: { i, tag: 'x' }, messageId: `id-${i}`, contentType: 'text/plain', priority: 3 });
      ch.sendToQueue('gone', Buffer.from(`t${i}`), { persistent: true });
    }
    await ch.waitForConfirms();
    await restart();
    const c2 = await confirmChannel();
    expect((await c2.checkQueue('keep')).messageCount).toBe(40);
    await expect(c2.checkQueue('gone')).rejects.toThrow(/404/);
    const c3 = await confirmChannel();
    const got = await getAll(c3, 'keep');
    const expected = [...Array(50).keys()].filter((i) => i % 5 !== 0);
    expect(got.map((m) => m.content.toString())).toEqual(expected.map((i) => `m${i}`));
    for (const [k, m] of got.entries()) {
      const i = expected[k]!;
      expect(m.fields.redelivered).toBe(false);
      expect(m.fields.routingKey).toBe('keep');
      expect(m.properties.headers).toEqual({ i, tag: 'x' });
      expect(m.properties.messageId).toBe(`id-${i}`);
      expect(m.properties.contentType).toBe('text/plain');
      expect(m.properties.priority).toBe(3);
      expect(m.properties.deliveryMode).toBe(2);
    }
  });

  test('a message routed to several durable queues is stored once; each queue lets go on its own', async () => {
    const b = await restart();
    const ch = await confirmChannel();
    await ch.assertExchange('fan', 'fanout', { durable: true });
    for (const q of ['a', 'b', 'c']) {
      await ch.assertQueue(q, { durable: true });
      await ch.bindQueue(q, 'fan', '');
    }
    await ch.assertQueue('t', { durable: false });
    await ch.bindQueue('t', 'fan', '');
    for (let i = 0; i < 10; i++) ch.publish('fan', 'k', Buffer.from(`f${i}`), { persistent: true });
    await ch.waitForConfirms();
    expect(b.broker.store!.segments.liveRecords).toBe(10);
    // a: consumed and acked; b: half acked; c untouched.
    expect((await getAll(ch, 'a')).length).toBe(10);
    for (let i = 0; i < 5; i++) expect((await ch.get('b', { noAck: true })) !== false).toBe(true);
    expect(b.broker.store!.segments.liveRecords).toBe(10);
    await restart();
    const c2 = await confirmChannel();
    expect((await c2.checkQueue('a')).messageCount).toBe(0);
    expect((await getAll(c2, 'b')).map((m) => m.content.toString())).toEqual(['f5', 'f6', 'f7', 'f8', 'f9']);
    const cGot = await getAll(c2, 'c');
    expect(cGot.map(summary)).toEqual([...Array(10).keys()].map((i) => ({ body: `f${i}`, redelivered: false, rk: 'k', ex: 'fan' })));
    expect(broker!.broker.store!.segments.liveRecords).toBe(0);
  });

  test('a transient queue sharing a persistent message keeps it after the durable queues let go', async () => {
    const b = await restart();
    const ch = await confirmChannel();
    await ch.assertExchange('mix', 'fanout', { durable: false });
    await ch.assertQueue('dur', { durable: true });
    await ch.assertQueue('tmp', { durable: false });
    await ch.bindQueue('dur', 'mix', '');
    await ch.bindQueue('tmp', 'mix', '');
    for (let i = 0; i < 5; i++) ch.publish('mix', '', Buffer.from(`s${i}`), { persistent: true });
    await ch.waitForConfirms();
    // Durable now, so paged out: the body is only on disk.
    await b.broker.store!.segments.flush();
    expect((await getAll(ch, 'dur')).length).toBe(5);
    expect((await getAll(ch, 'tmp')).map((m) => m.content.toString())).toEqual(['s0', 's1', 's2', 's3', 's4']);
    expect(b.broker.store!.segments.liveRecords).toBe(0);
  });

  test('acked and purged messages do not come back; a deleted queue releases its messages', async () => {
    const b = await restart();
    const ch = await confirmChannel();
    await ch.assertQueue('acked', { durable: true });
    await ch.assertQueue('purged', { durable: true });
    await ch.assertQueue('deleted', { durable: true });
    for (let i = 0; i < 20; i++) for (const q of ['acked', 'purged', 'deleted']) ch.sendToQueue(q, Buffer.from(`${q}${i}`), { persistent: true });
    await ch.waitForConfirms();
    const got: amqp.ConsumeMessage[] = [];
    await ch.prefetch(100);
    await new Promise<void>((resolve) => {
      void ch.consume('acked', (m) => {
        got.push(m!);
        if (got.length === 20) resolve();
      });
    });
    ch.ack(got[9]!, true);
    await ch.purgeQueue('purged');
    await ch.deleteQueue('deleted');
    await ch.assertQueue('deleted', { durable: true });
    await ch.waitForConfirms();
    expect(b.broker.store!.segments.liveRecords).toBe(10);
    await restart();
    const c2 = await confirmChannel();
    expect((await getAll(c2, 'acked')).map(summary)).toEqual([...Array(10).keys()].map((i) => ({ body: `acked${i + 10}`, redelivered: true, rk: 'acked', ex: '' })));
    expect((await c2.checkQueue('purged')).messageCount).toBe(0);
    expect((await c2.checkQueue('deleted')).messageCount).toBe(0);
  });

  test('after a clean stop, only messages that were delivered come back redelivered', async () => {
    await restart();
    const ch = await confirmChannel();
    await ch.assertQueue('q', { durable: true });
    for (let i = 0; i < 6; i++) ch.sendToQueue('q', Buffer.from(`m${i}`), { persistent: true });
    await ch.waitForConfirms();
    const conn = await amqp.connect(broker!.url);
    const c = await conn.createChannel();
    // m0, m1 delivered and left unacked when the broker stops.
    expect((await c.get('q'))).not.toBe(false);
    expect((await c.get('q'))).not.toBe(false);
    conn.on('error', () => {});
    await restart();
    const c2 = await confirmChannel();
    expect((await getAll(c2, 'q')).map((m) => [m.content.toString(), m.fields.redelivered])).toEqual([
      ['m0', true],
      ['m1', true],
      ['m2', false],
      ['m3', false],
      ['m4', false],
      ['m5', false],
    ]);
  });

  test('a confirm for a persistent message to a durable queue comes only after the store made it durable', async () => {
    const b = await restart({ storeSyncIntervalMs: 50 });
    const ch = await confirmChannel();
    await ch.assertQueue('d', { durable: true });
    await ch.assertQueue('t', { durable: false });
    const store = b.broker.store!;
    // The ids the store hands out, in order: the k-th publish to 'd' gets ids[k].
    const ids: number[] = [];
    const append2 = store.segments.append2.bind(store.segments);
    store.segments.append2 = (head, body, refs) => {
      const id = append2(head, body, refs);
      ids.push(id);
      return id;
    };
    const seen: { i: number; durable: number; err: unknown }[] = [];
    for (let i = 0; i < 200; i++) {
      const q = i % 2 === 0 ? 'd' : 't';
      ch.sendToQueue(q, Buffer.alloc(1000, i), { persistent: true }, (err) => seen.push({ i, durable: store.durableId, err }));
    }
    await ch.waitForConfirms();
    expect(ids.length).toBe(100);
    expect(seen.map((s) => s.i)).toEqual([...Array(200).keys()]);
    for (const s of seen) {
      expect(s.err).toBeNull();
      // Confirms go in order: even a transient-queue publish waits for the stored one before it.
      expect(s.durable).toBeGreaterThanOrEqual(ids[Math.floor(s.i / 2)]!);
    }
    expect(store.segments.stats.fdatasyncs).toBeGreaterThan(0);
    expect(store.segments.stats.fdatasyncs).toBeLessThan(100);
  });

  test('message TTL, priority and dead-lettering carry over a restart', async () => {
    await restart();
    const ch = await confirmChannel();
    await ch.assertExchange('dlx', 'fanout', { durable: true });
    await ch.assertQueue('dead', { durable: true });
    await ch.bindQueue('dead', 'dlx', '');
    await ch.assertQueue('ttl', { durable: true, arguments: { 'x-message-ttl': 400, 'x-dead-letter-exchange': 'dlx' } });
    await ch.assertQueue('prio', { durable: true, arguments: { 'x-max-priority': 5 } });
    ch.sendToQueue('ttl', Buffer.from('short'), { persistent: true });
    ch.sendToQueue('ttl', Buffer.from('long'), { persistent: true, expiration: '100000' });
    for (const [p, body] of [[1, 'p1'], [5, 'p5a'], [0, 'p0'], [5, 'p5b'], [3, 'p3']] as const) ch.sendToQueue('prio', Buffer.from(body), { persistent: true, priority: p });
    await ch.waitForConfirms();
    await restart();
    const c2 = await confirmChannel();
    expect((await getAll(c2, 'prio')).map((m) => m.content.toString())).toEqual(['p5a', 'p5b', 'p3', 'p1', 'p0']);
    // The queue TTL (400 ms) counts from the original publish, and wins over the longer per-message one.
    await new Promise((r) => setTimeout(r, 500));
    expect((await c2.checkQueue('ttl')).messageCount).toBe(0);
    const dead = await getAll(c2, 'dead');
    expect(dead.map((m) => m.content.toString())).toEqual(['short', 'long']);
    expect(dead.map((m) => (m.properties.headers!['x-death'] as { reason: string }[])[0]!.reason)).toEqual(['expired', 'expired']);
    expect((dead[1]!.properties.headers!['x-death'] as unknown as Record<string, unknown>[])[0]!['original-expiration']).toBe('100000');
    // Dead-lettered copies are persistent in a durable queue: stored again.
    expect(broker!.broker.store!.segments.liveRecords).toBe(0);
  });

  test('a rejected persistent message dead-letters into a durable queue and survives a restart', async () => {
    await restart();
    const ch = await confirmChannel();
    await ch.assertExchange('dlx', 'direct', { durable: true });
    await ch.assertQueue('dead', { durable: true });
    await ch.bindQueue('dead', 'dlx', 'src');
    await ch.assertQueue('src', { durable: true, arguments: { 'x-dead-letter-exchange': 'dlx' } });
    ch.sendToQueue('src', Buffer.from('bad'), { persistent: true, headers: { n: 1 } });
    await ch.waitForConfirms();
    const m = await ch.get('src');
    expect(m).not.toBe(false);
    ch.nack(m as GetMessage, false, false);
    // A round trip: amqplib can let connection.close overtake a channel's last frames.
    expect((await ch.checkQueue('dead')).messageCount).toBe(1);
    await restart();
    const c2 = await confirmChannel();
    const dead = await getAll(c2, 'dead');
    expect(dead.map((d) => d.content.toString())).toEqual(['bad']);
    expect(dead[0]!.properties.headers!['n']).toBe(1);
    expect(dead[0]!.properties.headers!['x-first-death-reason']).toBe('rejected');
    expect((await c2.checkQueue('src')).messageCount).toBe(0);
  });

  test('tx.commit-ok for persistent messages to a durable queue comes after they are durable', async () => {
    const b = await restart({ storeSyncIntervalMs: 60 });
    const conn = await amqp.connect(b.url);
    conns.push(conn);
    const ch = await conn.createChannel();
    await ch.assertQueue('txq', { durable: true });
    const store = b.broker.store!;
    // amqplib has no tx API: its raw RPC, as the tx tests use.
    const rpc = (m: 'TxSelect' | 'TxCommit') => (ch as unknown as { rpc(m: number, f: object, e: number): Promise<unknown> }).rpc(ID[m], {}, ID[`${m}Ok`]);
    await rpc('TxSelect');
    for (let i = 0; i < 20; i++) ch.sendToQueue('txq', Buffer.from(`t${i}`), { persistent: true });
    await rpc('TxCommit');
    expect(store.lastId).toBeGreaterThanOrEqual(0);
    expect(store.durableId).toBeGreaterThanOrEqual(store.lastId);
    expect((await ch.checkQueue('txq')).messageCount).toBe(20);
  });

  test('a failed disk write nacks the publishes it held; the messages stay deliverable from memory', async () => {
    const b = await restart();
    const ch = await confirmChannel();
    await ch.assertQueue('io', { durable: true });
    ch.sendToQueue('io', Buffer.from('before'), { persistent: true });
    await ch.waitForConfirms();
    const shim = new ShimFs();
    injectFs(b.broker.store!.segments, shim);
    shim.failNextSync = 'EIO';
    const results: string[] = [];
    for (let i = 0; i < 3; i++) ch.sendToQueue('io', Buffer.from(`lost${i}`), { persistent: true }, (err) => results.push(err ? 'nack' : 'ack'));
    // amqplib's waitForConfirms rejects at the first nack; wait for all three answers.
    for (let t = 0; t < 200 && results.length < 3; t++) await new Promise((r) => setTimeout(r, 5));
    // The failed batch holds at least the first; later ones may have made the next batch.
    expect(results.length).toBe(3);
    expect(results[0]).toBe('nack');
    ch.sendToQueue('io', Buffer.from('after'), { persistent: true }, (err) => results.push(err ? 'nack' : 'ack'));
    await ch.waitForConfirms();
    expect(results[3]).toBe('ack');
    const bodies = ['before', 'lost0', 'lost1', 'lost2', 'after'];
    // Nacked or not, every message is still delivered from memory.
    expect((await getAll(ch, 'io')).map((m) => m.content.toString())).toEqual(bodies);
    for (const body of bodies) ch.sendToQueue('io', Buffer.from(body), { persistent: true });
    await ch.waitForConfirms();
    await restart();
    const c2 = await confirmChannel();
    expect((await getAll(c2, 'io')).map((m) => m.content.toString())).toEqual(bodies);
  });
});

describe('transient messages page out above the memory threshold', () => {
  test('they go to the store, come back in order with their properties, and do not survive a restart', async () => {
    const b = await restart({ memoryPagingThreshold: 0 });
    expect(b.broker.store!.paging).toBe(true);
    const ch = await confirmChannel();
    await ch.assertQueue('tq', { durable: false });
    await ch.assertQueue('dq', { durable: true });
    for (let i = 0; i < 300; i++) {
      ch.sendToQueue('tq', Buffer.from(`t${i}`), { headers: { i } });
      ch.sendToQueue('dq', Buffer.from(`d${i}`), { persistent: i % 2 === 0 });
    }
    await ch.waitForConfirms();
    // Every message is on disk, the transient ones included.
    expect(b.broker.store!.segments.liveRecords).toBe(600);
    await b.broker.store!.segments.flush();
    const got = await getAll(ch, 'tq');
    expect(got.map((m) => m.content.toString())).toEqual([...Array(300).keys()].map((i) => `t${i}`));
    expect(got.map((m) => m.properties.headers!['i'])).toEqual([...Array(300).keys()]);
    expect(b.broker.store!.segments.liveRecords).toBe(300);
    await restart();
    const c2 = await confirmChannel();
    // Only dq's persistent half comes back; the paged transient ones were never meant to.
    expect((await getAll(c2, 'dq')).map((m) => m.content.toString())).toEqual([...Array(150).keys()].map((i) => `d${2 * i}`));
    expect(broker!.broker.store!.segments.liveRecords).toBe(0);
  });

  test('a queue past queue_paging_length pages new transient messages; the first ones stay in memory', async () => {
    const b = await restart({ queuePagingLength: 100 });
    expect(b.broker.store!.paging).toBe(false);
    const ch = await confirmChannel();
    await ch.assertQueue('long', { durable: false });
    for (let i = 0; i < 250; i++) ch.sendToQueue('long', Buffer.from(`l${i}`));
    await ch.waitForConfirms();
    expect(b.broker.store!.segments.liveRecords).toBe(150);
    expect((await getAll(ch, 'long')).map((m) => m.content.toString())).toEqual([...Array(250).keys()].map((i) => `l${i}`));
    expect(b.broker.store!.segments.liveRecords).toBe(0);
  });

  test('flow control: a publisher that outruns the disk is paused, then resumed, and loses nothing', async () => {
    const b = await restart();
    const store = b.broker.store!;
    const shim = new ShimFs();
    shim.syncDelayMs = 150;
    injectFs(store.segments, shim);
    let paused = 0;
    let resumed = 0;
    const conn = [...b.broker.connections];
    expect(conn.length).toBe(0);
    const ch = await confirmChannel();
    await ch.assertQueue('flow', { durable: true });
    const c = [...b.broker.connections][0]!;
    const pause = c.pauseReading.bind(c);
    const resume = c.resumeReading.bind(c);
    c.pauseReading = (r) => {
      paused++;
      pause(r);
    };
    c.resumeReading = (r) => {
      resumed++;
      resume(r);
    };
    const n = 40_000;
    const body = Buffer.alloc(64, 7);
    // No confirm window: only flow control holds this publisher back.
    for (let i = 0; i < n; i++) ch.sendToQueue('flow', body, { persistent: true });
    await ch.waitForConfirms();
    expect(paused).toBeGreaterThan(0);
    expect(resumed).toBe(paused);
    expect((await ch.checkQueue('flow')).messageCount).toBe(n);
    expect(store.durableId).toBe(store.lastId);
  }, 30_000);
});
