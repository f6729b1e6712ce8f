/**
 * Quorum queues keep every message, whatever its delivery mode, across a restart (in-process,
 * same data directory): transient messages come back, confirms wait for the disk, delivery
 * counts carry over (a message its consumer held when the broker stopped comes back with one
 * more, at the front, and past the delivery limit it is dead-lettered), and at-least-once dead
 * letters that no queue took stay dead and are tried again.
 */
import amqp, { type Channel, type ConfirmChannel } from 'amqplib';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { startBroker, type RunningBroker } from '../../../server/index.js';
import { drainTagged, getOne, quorum } from '../../helpers/quorum.js';
import { waitUntil } from '../../helpers/queue-features.js';

let dir: string;
let broker: RunningBroker | null = null;
const conns: amqp.ChannelModel[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'warren-qq-store-'));
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

async function channels(): Promise<{ ch: Channel; pub: ConfirmChannel }> {
  const conn = await amqp.connect(broker!.url);
  conn.on('error', () => {});
  conns.push(conn);
  return { ch: await conn.createChannel(), pub: await conn.createConfirmChannel() };
}

describe('quorum queues across a restart', () => {
  test('transient messages come back, in order, with their properties; a classic durable queue drops its copy', async () => {
    await restart();
    const { ch, pub } = await channels();
    await quorum(ch, 'qq');
    await ch.assertQueue('classic', { durable: true });
    await ch.assertExchange('fan', 'fanout', { durable: true });
    await ch.bindQueue('qq', 'fan', '');
    await ch.bindQueue('classic', 'fan', '');
    for (let i = 0; i < 6; i++) pub.publish('fan', 'k', Buffer.from(`m${i}`), { persistent: i % 3 === 0, headers: { i }, messageId: `id${i}` });
    await pub.waitForConfirms();
    await restart();
    const { ch: c2 } = await channels();
    const got = [];
    for (let m = await c2.get('qq', { noAck: true }); m !== false; m = await c2.get('qq', { noAck: true })) got.push(m);
    expect(got.map((m) => [m.content.toString(), m.properties.messageId, m.properties.headers!['i'], m.properties.deliveryMode])).toEqual([
      ['m0', 'id0', 0, 2],
      ['m1', 'id1', 1, 1],
      ['m2', 'id2', 2, 1],
      ['m3', 'id3', 3, 2],
      ['m4', 'id4', 4, 1],
      ['m5', 'id5', 5, 1],
    ]);
    expect(await drainTagged(c2, 'classic')).toEqual(['m0', 'm3']);
  });

  test('a confirm for a transient message to a quorum queue comes only after the store made it durable', async () => {
    const b = await restart({ storeSyncIntervalMs: 50 });
    const { ch, pub } = await channels();
    await quorum(ch, 'qq');
    const store = b.broker.store!;
    const ids: number[] = [];
    const append2 = store.segments.append2.bind(store.segments);
    store.segments.append2 = (head, body, refs) => {
      const id = append2(head, body, refs);
      ids.push(id);
      return id;
    };
    const seen: { i: number; durable: number }[] = [];
    for (let i = 0; i < 50; i++) pub.sendToQueue('qq', Buffer.alloc(500, i), {}, () => seen.push({ i, durable: store.durableId }));
    await pub.waitForConfirms();
    expect(ids).toHaveLength(50);
    for (const s of seen) expect(s.durable).toBeGreaterThanOrEqual(ids[s.i]!);
  });

  test('delivery counts carry over: returned messages keep theirs, a held one comes back with one more, at the front', async () => {
    await restart();
    const { ch, pub } = await channels();
    await quorum(ch, 'qq');
    for (const b of ['a', 'b', 'c', 'd']) pub.sendToQueue('qq', Buffer.from(b));
    await pub.waitForConfirms();
    // a: returned twice (to the back each time); b: delivered and held when the broker stops.
    for (let i = 0; i < 2; i++) {
      const m = await getOne(ch, 'qq');
      expect(m.content.toString()).toBe(i === 0 ? 'a' : 'b');
      ch.nack(m, false, true);
    }
    // The queue is now c d a b (a and b returned once each); take c and return it twice.
    const c1 = await getOne(ch, 'qq');
    ch.nack(c1, false, true);
    const held = await getOne(ch, 'qq');
    expect(held.content.toString()).toBe('d');
    await ch.checkQueue('qq');
    await restart();
    const { ch: c2 } = await channels();
    // d was held by a consumer when the broker went: back at the front, counted once.
    expect(await drainTagged(c2, 'qq')).toEqual(['d*:1', 'a*:1', 'b*:1', 'c*:1']);
  });

  test('a message returned to the back stays behind what was published before its return, and ahead of what came after', async () => {
    await restart();
    const { ch, pub } = await channels();
    await quorum(ch, 'qq');
    for (const b of ['a', 'b']) pub.sendToQueue('qq', Buffer.from(b));
    await pub.waitForConfirms();
    ch.nack(await getOne(ch, 'qq'), false, true);
    await ch.checkQueue('qq');
    pub.sendToQueue('qq', Buffer.from('c'));
    await pub.waitForConfirms();
    // With a limit the return goes to the front instead, and stays there.
    await quorum(ch, 'qq-limit', { 'x-delivery-limit': 9 });
    for (const b of ['a', 'b']) pub.sendToQueue('qq-limit', Buffer.from(b));
    await pub.waitForConfirms();
    await getOne(ch, 'qq-limit');
    ch.nack(await getOne(ch, 'qq-limit'), false, true);
    await ch.checkQueue('qq');
    await restart();
    // Twice: the first recovery rewrites what it read, and the second must read the same.
    await restart();
    const { ch: c } = await channels();
    expect(await drainTagged(c, 'qq')).toEqual(['b:0', 'a*:1', 'c:0']);
    // a was held by the closing channel: returned at the stop, behind b's earlier return.
    expect(await drainTagged(c, 'qq-limit')).toEqual(['b*:1', 'a*:1']);
  });

  test('a message its consumer held past the delivery limit when the broker stops is dead-lettered (reason delivery_limit)', async () => {
    await restart();
    const { ch, pub } = await channels();
    await ch.assertQueue('dlq', { durable: true });
    await quorum(ch, 'qq', { 'x-delivery-limit': 1, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'dlq' });
    // Persistent, so that its dead letter in a classic queue survives the restart too.
    pub.sendToQueue('qq', Buffer.from('poison'), { persistent: true });
    await pub.waitForConfirms();
    ch.nack(await getOne(ch, 'qq'), false, true);
    await getOne(ch, 'qq');
    await ch.checkQueue('qq');
    await restart();
    const { ch: c2 } = await channels();
    expect((await c2.checkQueue('qq')).messageCount).toBe(0);
    const dead = await c2.get('dlq', { noAck: true });
    expect(dead && [dead.content.toString(), (dead.properties.headers!['x-death'] as { reason: string }[])[0]!.reason]).toEqual(['poison', 'delivery_limit']);
  });

  test('an at-least-once dead letter no queue took stays dead across restarts, keeps its reason, and goes once a queue is bound', async () => {
    await restart();
    const { ch, pub } = await channels();
    await ch.assertExchange('dlx', 'fanout', { durable: true });
    await ch.assertQueue('dlq', { durable: true });
    await quorum(ch, 'qq', {
      'x-dead-letter-exchange': 'dlx',
      'x-dead-letter-strategy': 'at-least-once',
      'x-overflow': 'reject-publish',
      'x-max-length': 1,
      'x-delivery-limit': 0,
    });
    for (const b of ['x', 'y']) pub.sendToQueue('qq', Buffer.from(b));
    await pub.waitForConfirms();
    ch.nack(await getOne(ch, 'qq'), false, true);
    await ch.checkQueue('qq');
    await restart();
    const { ch: c2, pub: p2 } = await channels();
    // x is kept: not a message, but it counts against the limit of one with y.
    expect((await c2.checkQueue('qq')).messageCount).toBe(1);
    const outcome = await new Promise((r) => p2.sendToQueue('qq', Buffer.from('z'), {}, (err) => r(err ? 'nack' : 'ack')));
    expect(outcome).toBe('nack');
    await c2.bindQueue('dlq', 'dlx', '');
    await restart();
    const { ch: c3 } = await channels();
    await waitUntil('the dead letter', async () => (await c3.checkQueue('dlq')).messageCount === 1);
    const dead = await c3.get('dlq', { noAck: true });
    expect(dead && [dead.content.toString(), (dead.properties.headers!['x-death'] as { reason: string }[])[0]!.reason]).toEqual(['x', 'delivery_limit']);
    expect(await drainTagged(c3, 'qq')).toEqual(['y:0']);
    await restart();
    const { ch: c4 } = await channels();
    expect((await c4.checkQueue('dlq')).messageCount).toBe(0);
    expect((await c4.checkQueue('qq')).messageCount).toBe(0);
  });
});
