/**
 * disk_free_limit, as RabbitMQ applies it: while free disk space is below the limit, a
 * connection that publishes is blocked at its next publish (connection.blocked "low on disk"
 * if the client understands it, and no more reads either way); consumers carry on; when
 * the space is back, connection.unblocked and the held publishes go through, in order.
 * The limit is moved above and below the real free space of the test's file system.
 */
import amqp, { type ChannelModel, type ConsumeMessage } from 'amqplib';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { startBroker, type RunningBroker } from '../../../server/index.js';

const HUGE = 2 ** 60;
let dir: string;
let broker: RunningBroker;
const conns: ChannelModel[] = [];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'warren-disk-'));
  broker = await startBroker({ port: 0, dataDir: dir });
});
afterEach(async () => {
  for (const c of conns.splice(0)) await c.close().catch(() => {});
  await broker.close();
  rmSync(dir, { recursive: true, force: true });
});

async function connect(opts: object = {}): Promise<ChannelModel> {
  const c = await amqp.connect(broker.url, opts);
  c.on('error', () => {});
  conns.push(c);
  return c;
}

async function consumer(q: string): Promise<{ got: string[]; conn: ChannelModel; blocked: string[] }> {
  const conn = await connect();
  const blocked: string[] = [];
  conn.on('blocked', (r: string) => blocked.push(r));
  const ch = await conn.createChannel();
  await ch.assertQueue(q, { durable: true });
  const got: string[] = [];
  await ch.consume(q, (m: ConsumeMessage | null) => {
    got.push(m!.content.toString());
    ch.ack(m!);
  });
  return { got, conn, blocked };
}

async function waitFor(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await sleep(5);
}

describe('disk_free_limit blocks publishers, not consumers', () => {
  test('a publisher is blocked at its next publish with "low on disk", then unblocked; nothing is lost or reordered', async () => {
    const c = await consumer('dq');
    const pub = await connect();
    const events: string[] = [];
    pub.on('blocked', (reason: string) => events.push(`blocked:${reason}`));
    pub.on('unblocked', () => events.push('unblocked'));
    const ch = await pub.createChannel();
    ch.sendToQueue('dq', Buffer.from('before'));
    await waitFor(() => c.got.length === 1);

    broker.broker.setDiskFreeLimit(HUGE);
    expect(broker.broker.alarmReason).toBe('low on disk');
    // Not blocked until it publishes (RabbitMQ's "blocking" state).
    await sleep(50);
    expect(events).toEqual([]);
    ch.sendToQueue('dq', Buffer.from('m1'));
    ch.sendToQueue('dq', Buffer.from('m2'));
    ch.sendToQueue('dq', Buffer.from('m3'));
    await waitFor(() => events.length === 1);
    expect(events).toEqual(['blocked:low on disk']);
    // The publish that blocked it was read and goes through; what follows waits.
    await sleep(200);
    expect(c.got).toEqual(['before', 'm1']);

    broker.broker.setDiskFreeLimit(0);
    expect(broker.broker.alarmReason).toBe(null);
    await waitFor(() => c.got.length === 4);
    expect(events).toEqual(['blocked:low on disk', 'unblocked']);
    expect(c.got).toEqual(['before', 'm1', 'm2', 'm3']);
    // The consuming connection was never blocked.
    expect(c.blocked).toEqual([]);
  });

  test('a client without the connection.blocked capability is throttled the same, without the notification', async () => {
    const c = await consumer('dq2');
    const pub = await connect({ clientProperties: { capabilities: { publisher_confirms: true } } });
    const events: string[] = [];
    pub.on('blocked', () => events.push('blocked'));
    pub.on('unblocked', () => events.push('unblocked'));
    const ch = await pub.createChannel();
    broker.broker.setDiskFreeLimit(HUGE);
    for (const b of ['a', 'b', 'c']) ch.sendToQueue('dq2', Buffer.from(b));
    await sleep(200);
    expect(c.got).toEqual(['a']);
    broker.broker.setDiskFreeLimit(0);
    await waitFor(() => c.got.length === 3);
    expect(c.got).toEqual(['a', 'b', 'c']);
    expect(events).toEqual([]);
  });

  test('consumers keep receiving and acking while the alarm is on; a connection opened during the alarm is blocked at its first publish', async () => {
    const setup = await (await connect()).createConfirmChannel();
    await setup.assertQueue('backlog', { durable: true });
    for (let i = 0; i < 50; i++) setup.sendToQueue('backlog', Buffer.from(`b${i}`), { persistent: true });
    await setup.waitForConfirms();
    broker.broker.setDiskFreeLimit(HUGE);
    const c = await consumer('backlog');
    await waitFor(() => c.got.length === 50);
    expect(c.got.length).toBe(50);
    expect(c.blocked).toEqual([]);

    const late = await connect();
    const events: string[] = [];
    late.on('blocked', (r: string) => events.push(r));
    const lch = await late.createChannel();
    // Declaring is not publishing: still served.
    await lch.assertQueue('late', { durable: true });
    lch.sendToQueue('backlog', Buffer.from('late1'));
    lch.sendToQueue('backlog', Buffer.from('late2'));
    await waitFor(() => events.length === 1);
    expect(events).toEqual(['low on disk']);
    await sleep(100);
    expect(c.got.slice(50)).toEqual(['late1']);
    broker.broker.setDiskFreeLimit(0);
    await waitFor(() => c.got.length === 52);
    expect(c.got.slice(50)).toEqual(['late1', 'late2']);
  });

  test('the limit is read from config in rabbitmq.conf units; a bad value is refused at start', async () => {
    await broker.close();
    broker = await startBroker({ port: 0, dataDir: dir, diskFreeLimit: '1000000TB' });
    expect(broker.broker.alarmReason).toBe('low on disk');
    expect(broker.broker.diskAlarm!.limit).toBe(1e18);
    await expect(startBroker({ port: 0, dataDir: dir, diskFreeLimit: 'lots' })).rejects.toThrow(/disk_free_limit must be a byte count/);
  });
});
