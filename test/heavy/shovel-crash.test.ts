// 100,000 persistent messages moved by an on-confirm shovel while Warren is SIGKILLed and
// restarted mid-way, in both directions with the live RabbitMQ (RABBITMQ_URL and
// RABBITMQ_MGMT_URL; CI starts one):
//  - RabbitMQ -> Warren: the shovel is Warren's (a `shovel` parameter set through the
//    control socket); it dies with Warren and resumes from the stored definitions after
//    the restart, pulling from RabbitMQ;
//  - Warren -> RabbitMQ: the shovel is RabbitMQ's (its shovel plugin, through its HTTP
//    API), pulling from Warren; Warren, its source, is killed under it, and the shovel
//    reconnects after its reconnect-delay.
// Every message must arrive; duplicates (a message the destination took whose ack the
// source never saw, or whose ack the killed source had not yet written down) are counted
// and reported; they stay within a few prefetch windows.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp, { type ChannelModel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controlRequest } from '../../server/control.js';
import { depth, eventually, haveRabbit, rabbitApi, rabbitUrl } from '../helpers/shovel.js';
import { sleep } from '../helpers/timing.js';
import { buildWarren, freePort, removeBuild, startWarren, type WarrenProcess } from '../helpers/warren-process.js';

if (!haveRabbit) console.warn('shovel-crash: RABBITMQ_URL or RABBITMQ_MGMT_URL is not set; skipped. CI sets both.');

const COUNT = Number(process.env['SHOVEL_CRASH_COUNT'] ?? 100_000);
const PREFETCH = 1000;
const token = randomBytes(3).toString('hex');
const enc = encodeURIComponent;

async function publish(url: string, queue: string, count: number): Promise<void> {
  const c = await amqp.connect(url);
  const ch = await c.createConfirmChannel();
  await ch.assertQueue(queue, { durable: true });
  const body = Buffer.alloc(100, 'x');
  for (let i = 0; i < count; i++) {
    ch.sendToQueue(queue, body, { persistent: true, messageId: String(i) });
    if (i % 2000 === 1999) await ch.waitForConfirms();
  }
  await ch.waitForConfirms();
  await c.close();
}

/** Consumes the whole queue; returns how many times each message id arrived. */
async function tally(url: string, queue: string): Promise<Map<string, number>> {
  const c = await amqp.connect(url);
  const ch = await c.createChannel();
  const expected = await depth(c, queue);
  const seen = new Map<string, number>();
  let got = 0;
  await ch.prefetch(2000);
  await new Promise<void>((resolve) => {
    if (expected === 0) resolve();
    void ch.consume(queue, (m) => {
      if (m === null) return;
      const id = String(m.properties.messageId);
      seen.set(id, (seen.get(id) ?? 0) + 1);
      ch.ack(m);
      if (++got === expected) resolve();
    });
  });
  await c.close();
  return seen;
}

function report(what: string, seen: Map<string, number>): { missing: number; duplicates: number } {
  let missing = 0;
  let duplicates = 0;
  for (let i = 0; i < COUNT; i++) {
    const n = seen.get(String(i)) ?? 0;
    if (n === 0) missing++;
    else duplicates += n - 1;
  }
  const strays = [...seen.keys()].filter((k) => !(Number(k) >= 0 && Number(k) < COUNT)).length;
  console.log(`${what}: ${COUNT} sent, ${COUNT - missing} arrived, ${missing} missing, ${duplicates} duplicates, ${strays} strays`);
  expect(strays).toBe(0);
  return { missing, duplicates };
}

describe.skipIf(!haveRabbit)('shovels across a SIGKILL of Warren', () => {
  let build: string;
  let dataDir: string;
  let warren: WarrenProcess | null = null;
  const rabbitQueues: string[] = [];
  const rabbitShovels: string[] = [];

  beforeAll(() => {
    build = buildWarren();
  });

  afterAll(async () => {
    await warren?.kill('SIGKILL');
    for (const s of rabbitShovels) await rabbitApi('DELETE', `/parameters/shovel/%2F/${enc(s)}`);
    if (rabbitQueues.length > 0) {
      const c = await amqp.connect(rabbitUrl);
      const ch = await c.createChannel();
      for (const q of rabbitQueues) await ch.deleteQueue(q);
      await c.close();
    }
    removeBuild(build);
  });

  async function restartAfterKill(port: number): Promise<void> {
    await warren!.kill('SIGKILL');
    await sleep(500);
    warren = await startWarren(build, dataDir, port);
  }

  it(`RabbitMQ -> Warren: ${COUNT} persistent messages, a Warren shovel, Warren killed mid-way`, async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'warren-heavy-in-'));
    const src = `shovel-heavy-${token}-in`;
    rabbitQueues.push(src);
    await publish(rabbitUrl, src, COUNT);
    const port = await freePort();
    warren = await startWarren(build, dataDir, port);
    const reply = await controlRequest(join(dataDir, 'warren.sock'), {
      cmd: 'parameter.set',
      vhost: '/',
      component: 'shovel',
      name: 'from-rabbit',
      value: { 'src-uri': rabbitUrl, 'src-queue': src, 'dest-uri': 'amqp://', 'dest-queue': 'arrived', 'ack-mode': 'on-confirm', 'src-prefetch-count': PREFETCH, 'reconnect-delay': 1 },
    });
    expect(reply).toEqual({ ok: true, result: null });
    let conn: ChannelModel = await amqp.connect(warren.url);
    conn.on('error', () => {});
    await eventually('a third of the messages in Warren', async () => (await depth(conn, 'arrived')) >= COUNT / 3, 600000);
    await conn.close().catch(() => {});
    await restartAfterKill(port);
    conn = await amqp.connect(warren.url);
    conn.on('error', () => {});
    const rabbit = await amqp.connect(rabbitUrl);
    await eventually('the source drained', async () => (await depth(rabbit, src)) === 0 && (await depth(conn, 'arrived')) >= COUNT, 600000);
    // Stop the shovel (it acks what is in flight); nothing may come back to the source.
    expect(await controlRequest(join(dataDir, 'warren.sock'), { cmd: 'parameter.clear', vhost: '/', component: 'shovel', name: 'from-rabbit' })).toEqual({ ok: true, result: null });
    await sleep(1000);
    expect(await depth(rabbit, src)).toBe(0);
    await rabbit.close();
    await conn.close();
    const { missing, duplicates } = report('RabbitMQ -> Warren', await tally(warren.url, 'arrived'));
    expect(missing).toBe(0);
    expect(duplicates).toBeLessThanOrEqual(3 * PREFETCH);
    await warren.kill('SIGTERM');
    warren = null;
    rmSync(dataDir, { recursive: true, force: true });
  });

  it(`Warren -> RabbitMQ: ${COUNT} persistent messages, RabbitMQ's shovel, Warren (the source) killed mid-way`, async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'warren-heavy-out-'));
    const port = await freePort();
    warren = await startWarren(build, dataDir, port);
    await publish(warren.url, 'outgoing', COUNT);
    const dst = `shovel-heavy-${token}-out`;
    const name = `shovel-heavy-${token}`;
    rabbitQueues.push(dst);
    rabbitShovels.push(name);
    const put = await rabbitApi('PUT', `/parameters/shovel/%2F/${enc(name)}`, {
      value: { 'src-uri': warren.url, 'src-queue': 'outgoing', 'dest-uri': 'amqp://', 'dest-queue': dst, 'ack-mode': 'on-confirm', 'src-prefetch-count': PREFETCH, 'reconnect-delay': 1 },
    });
    expect(put.status).toBe(201);
    const rabbit = await amqp.connect(rabbitUrl);
    await eventually('a third of the messages in RabbitMQ', async () => (await depth(rabbit, dst)) >= COUNT / 3, 600000);
    await restartAfterKill(port);
    const conn = await amqp.connect(warren.url);
    conn.on('error', () => {});
    await eventually('Warren drained', async () => (await depth(conn, 'outgoing')) === 0 && (await depth(rabbit, dst)) >= COUNT, 600000);
    // RabbitMQ's shovel closes its connections when deleted, whatever is unacked at that
    // moment goes back to Warren's queue: let it ack everything first (the count settles).
    let last = -1;
    await eventually('the destination settled', async () => {
      const n = await depth(rabbit, dst);
      const settled = n === last;
      last = n;
      if (!settled) await sleep(1500);
      return settled;
    }, 60000);
    expect((await rabbitApi('DELETE', `/parameters/shovel/%2F/${enc(name)}`)).status).toBe(204);
    await sleep(1000);
    expect(await depth(conn, 'outgoing')).toBe(0);
    await conn.close();
    await rabbit.close();
    const { missing, duplicates } = report('Warren -> RabbitMQ', await tally(rabbitUrl, dst));
    expect(missing).toBe(0);
    expect(duplicates).toBeLessThanOrEqual(3 * PREFETCH);
    await warren.kill('SIGTERM');
    warren = null;
    rmSync(dataDir, { recursive: true, force: true });
  });
});
