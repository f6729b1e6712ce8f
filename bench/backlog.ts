#!/usr/bin/env node
/**
 * The persistent-backlog benchmark (issue: bounded memory and recovery):
 *   node dist/bench/backlog.js [--count 5000000] [--size 1024] [--port 5683] [--keep]
 * Starts Warren (from dist/) with a fresh data directory, queues N persistent messages
 * in a durable queue with confirms (window 1000) and no consumer, and reports the broker's
 * RSS before and after; then stops it (SIGTERM), starts it again on the same directory and
 * reports the time until it accepts connections with every message recovered, its RSS, and
 * the rate at which one no-ack consumer drains the queue from disk.
 */
import { Command } from 'commander';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startWarren } from './brokers.js';
import { BenchClient, parseUrl } from './load/client.js';
import { now, sleep } from './load/clock.js';
import { Consumer } from './load/consumer.js';
import { Publisher } from './load/publisher.js';
import { settledRss } from './load/rss.js';
import { Histogram } from './load/stats.js';

const QUEUE = 'bench-backlog';
const MiB = 1024 * 1024;

async function depth(url: string): Promise<number> {
  const c = new BenchClient(parseUrl(url));
  await c.open('backlog-control');
  await c.openChannel(1);
  try {
    return (await c.declareQueue(1, QUEUE, true)).messageCount;
  } finally {
    await c.close();
  }
}

async function main(): Promise<void> {
  const o = new Command('backlog')
    .option('--count <n>', 'messages to queue', (v) => Number(v), 5_000_000)
    .option('--size <bytes>', 'body size', (v) => Number(v), 1024)
    .option('--port <port>', 'port for Warren', (v) => Number(v), 5683)
    .option('--keep', 'keep the data directory')
    .parse()
    .opts<{ count: number; size: number; port: number; keep?: boolean }>();
  const dir = mkdtempSync(join(tmpdir(), 'warren-backlog-'));
  const say = (s: string) => process.stdout.write(`${s}\n`);
  try {
    let broker = await startWarren(o.port, dir);
    const url = broker.url;
    await depth(url);
    const rss0 = await settledRss(broker.pid);
    const pub = new Publisher(url, { exchange: '', routingKeys: [QUEUE], bodySize: o.size, persistent: true, confirm: 1000, rate: 0, count: o.count });
    await pub.open('backlog-publisher');
    const t0 = now();
    pub.start();
    await pub.finished();
    const fillS = (now() - t0) / 1000;
    await pub.close();
    const queued = await depth(url);
    const rss1 = await settledRss(broker.pid, 1000, 0.002, 30000);
    say(`queued ${queued} persistent ${o.size} B messages in ${fillS.toFixed(1)} s (${Math.round(queued / fillS)} msg/s, confirmed)`);
    say(`broker RSS: ${(rss0 / MiB).toFixed(1)} MiB before, ${(rss1 / MiB).toFixed(1)} MiB with the backlog (${((rss1 - rss0) / queued).toFixed(0)} B per message)`);

    await broker.stop();
    const t1 = now();
    broker = await startWarren(o.port, dir);
    const recovered = await depth(url);
    const recoverS = (now() - t1) / 1000;
    const rss2 = await settledRss(broker.pid);
    say(`restart: ${recovered} messages recovered, accepting connections after ${recoverS.toFixed(1)} s; RSS ${(rss2 / MiB).toFixed(1)} MiB`);

    const con = new Consumer(url, { queue: QUEUE, noAck: true, prefetch: 0, multiAckEvery: 1 }, new Histogram());
    const t2 = now();
    await con.open('backlog-consumer');
    while (con.c.consumed < recovered && con.error === null && now() - t2 < 600_000) await sleep(20);
    const drainS = (now() - t2) / 1000;
    await con.close();
    say(`drained ${con.c.consumed} in ${drainS.toFixed(1)} s (${Math.round(con.c.consumed / drainS)} msg/s, one no-ack consumer, bodies from disk)`);
    await broker.stop();
    if (con.error !== null) throw con.error;
    if (recovered !== queued) throw new Error(`recovered ${recovered} of ${queued}`);
  } finally {
    if (o.keep === true) say(`data directory kept: ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`backlog: ${(err as Error).message}\n`);
  process.exit(1);
});
