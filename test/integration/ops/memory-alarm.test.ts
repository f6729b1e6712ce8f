/**
 * vm_memory_high_watermark, as RabbitMQ applies it: above the watermark a publishing
 * connection is blocked at its next publish (connection.blocked "low on memory"), consumers
 * carry on, and when memory is back under the watermark the connection is unblocked. The
 * watermark is moved under and over the test process's real resident memory at run time,
 * as `rabbitmqctl set_vm_memory_high_watermark` would.
 */
import amqp, { type ChannelModel, type ConsumeMessage } from 'amqplib';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { startBroker, type RunningBroker } from '../../../server/index.js';

let broker: RunningBroker | undefined;
const conns: ChannelModel[] = [];
const dirs: string[] = [];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

afterEach(async () => {
  for (const c of conns.splice(0)) await c.close().catch(() => {});
  await broker?.close();
  broker = undefined;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function connect(): Promise<ChannelModel> {
  const c = await amqp.connect(broker!.url);
  c.on('error', () => {});
  conns.push(c);
  return c;
}

async function waitFor(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await sleep(5);
}

async function consumer(q: string): Promise<{ got: string[]; blocked: string[] }> {
  const conn = await connect();
  const blocked: string[] = [];
  conn.on('blocked', (r: string) => blocked.push(r));
  const ch = await conn.createChannel();
  await ch.assertQueue(q);
  const got: string[] = [];
  await ch.consume(q, (m: ConsumeMessage | null) => {
    got.push(m!.content.toString());
    ch.ack(m!);
  });
  return { got, blocked };
}

describe('vm_memory_high_watermark', () => {
  test('a publisher is blocked with "low on memory" and unblocked when the watermark is raised; consumers carry on; nothing is lost', async () => {
    broker = await startBroker({ port: 0 });
    const b = broker.broker;
    expect(b.alarms()).toEqual([]);
    const c = await consumer('mq');
    const pub = await connect();
    const events: string[] = [];
    pub.on('blocked', (reason: string) => events.push(`blocked:${reason}`));
    pub.on('unblocked', () => events.push('unblocked'));
    const ch = await pub.createChannel();
    ch.sendToQueue('mq', Buffer.from('before'));
    await waitFor(() => c.got.length === 1);

    b.setMemoryHighWatermark({ absolute: 1 });
    expect(b.alarmReason).toBe('low on memory');
    const [alarm] = b.alarms();
    expect(alarm).toMatchObject({ resource: 'memory', limit: 1 });
    expect(alarm!.value).toBeGreaterThan(1_000_000);
    // Not blocked until it publishes (RabbitMQ's "blocking" state).
    await sleep(50);
    expect(events).toEqual([]);
    for (const m of ['m1', 'm2', 'm3']) ch.sendToQueue('mq', Buffer.from(m));
    await waitFor(() => events.length === 1);
    expect(events).toEqual(['blocked:low on memory']);
    await sleep(200);
    // The publish that blocked it went through; the rest wait.
    expect(c.got).toEqual(['before', 'm1']);

    // The one-second check keeps the alarm on while memory stays above the watermark.
    await sleep(1100);
    expect(b.alarmReason).toBe('low on memory');

    b.setMemoryHighWatermark(0.4);
    expect(b.alarmReason).toBe(null);
    expect(b.alarms()).toEqual([]);
    await waitFor(() => c.got.length === 4);
    expect(events).toEqual(['blocked:low on memory', 'unblocked']);
    expect(c.got).toEqual(['before', 'm1', 'm2', 'm3']);
    expect(c.blocked).toEqual([]);
  });

  test('a watermark given in the config blocks from the start; absolute sizes take units', async () => {
    broker = await startBroker({ port: 0, vmMemoryHighWatermark: { absolute: '1MiB' } });
    expect(broker.broker.memoryAlarm.limit).toBe(1024 * 1024);
    expect(broker.broker.alarmReason).toBe('low on memory');
    const c = await consumer('mq2');
    const pub = await connect();
    const events: string[] = [];
    pub.on('blocked', (reason: string) => events.push(reason));
    const ch = await pub.createChannel();
    ch.sendToQueue('mq2', Buffer.from('a'));
    ch.sendToQueue('mq2', Buffer.from('b'));
    await waitFor(() => events.length === 1);
    expect(events).toEqual(['low on memory']);
    await sleep(100);
    expect(c.got).toEqual(['a']);
    broker.broker.setMemoryHighWatermark('100GB');
    await waitFor(() => c.got.length === 2);
    expect(c.got).toEqual(['a', 'b']);
  });

  test('relative watermarks are fractions of total memory (or of total_memory_available_override_value), capped at 1.0; a bad value is refused at start', async () => {
    broker = await startBroker({ port: 0, totalMemoryAvailableOverrideValue: '4GiB', vmMemoryHighWatermark: 0.5 });
    expect(broker.broker.memoryAlarm.limit).toBe(2 * 1024 ** 3);
    broker.broker.setMemoryHighWatermark({ relative: 1.5 });
    expect(broker.broker.memoryAlarm.limit).toBe(4 * 1024 ** 3);
    // An absolute watermark above the memory there is, is cut to it (vm_memory_monitor).
    broker.broker.setMemoryHighWatermark({ absolute: '8GiB' });
    expect(broker.broker.memoryAlarm.limit).toBe(4 * 1024 ** 3);
    await expect(startBroker({ port: 0, vmMemoryHighWatermark: 'lots' })).rejects.toThrow(
      /vm_memory_high_watermark.absolute must be a byte count/,
    );
    await expect(startBroker({ port: 0, vmMemoryHighWatermark: -1 })).rejects.toThrow(/vm_memory_high_watermark must be a fraction/);
  });

  test('with both alarms on, the reason is RabbitMQ\'s "low on disk & memory"; clearing one keeps the connection blocked', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warren-mem-'));
    dirs.push(dir);
    broker = await startBroker({ port: 0, dataDir: dir });
    const b = broker.broker;
    const c = await consumer('both');
    const pub = await connect();
    const events: string[] = [];
    pub.on('blocked', (reason: string) => events.push(`blocked:${reason}`));
    pub.on('unblocked', () => events.push('unblocked'));
    const ch = await pub.createChannel();
    b.setMemoryHighWatermark({ absolute: 1 });
    b.setDiskFreeLimit(2 ** 60);
    expect(b.alarmReason).toBe('low on disk & memory');
    expect(b.alarms().map((a) => a.resource)).toEqual(['disk', 'memory']);
    for (const m of ['x1', 'x2']) ch.sendToQueue('both', Buffer.from(m));
    await waitFor(() => events.length === 1);
    expect(events).toEqual(['blocked:low on disk & memory']);

    // Disk space is back but memory is still high: no unblock, nothing more is read.
    b.setDiskFreeLimit(0);
    expect(b.alarmReason).toBe('low on memory');
    await sleep(200);
    expect(events).toEqual(['blocked:low on disk & memory']);
    expect(c.got).toEqual(['x1']);

    b.setMemoryHighWatermark(0.4);
    await waitFor(() => c.got.length === 2);
    expect(events).toEqual(['blocked:low on disk & memory', 'unblocked']);
    expect(c.got).toEqual(['x1', 'x2']);
  });
});
