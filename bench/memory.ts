/**
 * The memory scenarios.
 * S6: queue N transient messages with no consumer, then report the broker's RSS
 *     growth per message and the rate at which one no-ack consumer drains them.
 *     With --persistent: persistent messages in a durable queue (the store's backlog).
 * S7: open K connections, each with a channel and a consumer, and report RSS growth
 *     per connection; then check that a larger number (10,000) can be opened.
 * RSS figures need --pid (the broker's process id); without it only rates are given.
 */
import { readFileSync } from 'node:fs';
import { BenchClient, parseUrl } from './load/client.js';
import { now, sleep } from './load/clock.js';
import { Consumer } from './load/consumer.js';
import type { BenchOptions } from './options.js';
import { Publisher } from './load/publisher.js';
import { settledRss } from './load/rss.js';
import type { ScenarioResult } from './scenarios.js';
import { Histogram } from './load/stats.js';

function log(o: BenchOptions, msg: string): void {
  if (!o.quiet && !o.json) process.stderr.write(`${msg}\n`);
}

async function withControl<T>(o: BenchOptions, f: (c: BenchClient) => Promise<T>): Promise<T> {
  const c = new BenchClient(parseUrl(o.url));
  await c.open('bench-control');
  await c.openChannel(1);
  try {
    return await f(c);
  } finally {
    await c.close();
  }
}

async function waitDepth(c: BenchClient, queue: string, want: number, timeoutMs: number): Promise<number> {
  const deadline = now() + timeoutMs;
  let d = await c.queueDepth(1, queue);
  while (d < want && now() < deadline) {
    await sleep(50);
    d = await c.queueDepth(1, queue);
  }
  return d;
}

async function runS6(o: BenchOptions): Promise<ScenarioResult> {
  const queue = `bench-s6-${process.pid}-${Date.now().toString(36)}`;
  const n = o.count;
  const errors: string[] = [];
  return withControl(o, async (ctl) => {
    // --persistent: a durable queue and persistent messages, i.e. the message store's backlog.
    await ctl.declareQueue(1, queue, o.persistent, o.queueArgs);
    try {
      const rss0 = o.pid !== undefined ? await settledRss(o.pid) : NaN;
      const pub = new Publisher(o.url, {
        exchange: '',
        routingKeys: [queue],
        bodySize: o.size,
        persistent: o.persistent,
        confirm: o.confirm,
        rate: 0,
        count: n,
      });
      await pub.open('bench-s6-publisher');
      const t0 = now();
      pub.start();
      await pub.finished();
      const depth = await waitDepth(ctl, queue, n, 120000);
      const fillSeconds = (now() - t0) / 1000;
      log(o, `S6: ${depth} messages queued in ${fillSeconds.toFixed(1)} s`);
      if (depth < n) errors.push(`only ${depth} of ${n} messages were queued`);
      const rss1 = o.pid !== undefined ? await settledRss(o.pid, 1000, 0.002, 30000) : NaN;
      await pub.close();
      const con = new Consumer(o.url, { queue, noAck: o.prefetch === 0, prefetch: o.prefetch, multiAckEvery: o.multiAckEvery }, new Histogram());
      const t1 = now();
      await con.open('bench-s6-consumer');
      const deadline = t1 + 300000;
      while (con.c.consumed < depth && now() < deadline && con.error === null) await sleep(20);
      const drainSeconds = (now() - t1) / 1000;
      if (con.error !== null) errors.push(con.error.message);
      await con.close();
      const perMsg = (rss1 - rss0) / depth;
      log(o, `S6: drained ${con.c.consumed} in ${drainSeconds.toFixed(1)} s`);
      // What the drained backlog leaves behind: RSS should come back to near where it started.
      // Warren gives memory back on its one-second tick (two collections, 2 s apart): wait for that.
      if (o.pid !== undefined) await sleep(5000);
      const rss2 = o.pid !== undefined ? await settledRss(o.pid, 1000, 0.002, 30000) : NaN;
      return {
        scenario: 'S6',
        options: o,
        headline: { name: 'RSS per message', value: perMsg, unit: 'B', higherIsBetter: false },
        figures: {
          messages: depth,
          rssBefore: rss0,
          rssQueued: rss1,
          rssPerMessage: perMsg,
          rssDrained: rss2,
          rssLeftAfterDrain: rss2 - rss0,
          fillRate: depth / fillSeconds,
          drainRate: con.c.consumed / drainSeconds,
          drained: con.c.consumed,
        },
        errors,
      };
    } finally {
      await ctl.deleteQueue(1, queue).catch(() => undefined);
    }
  });
}

/** The soft limit on open files for this process, from /proc/self/limits. */
export function openFileLimit(): number {
  try {
    const m = /Max open files\s+(\d+|unlimited)/.exec(readFileSync('/proc/self/limits', 'latin1'));
    return m === null || m[1] === 'unlimited' ? Infinity : Number(m[1]);
  } catch {
    return Infinity;
  }
}

/** Opens `count` consumer connections, `parallel` at a time; returns the ones that worked and the first error. */
async function openMany(o: BenchOptions, queue: string, count: number, parallel = 100): Promise<{ open: Consumer[]; error: string | null }> {
  const open: Consumer[] = [];
  let error: string | null = null;
  let next = 0;
  const hist = new Histogram();
  const lane = async () => {
    while (next < count && error === null) {
      const i = next++;
      const c = new Consumer(o.url, { queue, noAck: true, prefetch: 0, multiAckEvery: 1 }, hist, 1024);
      try {
        await c.open(`bench-s7-${i}`);
        open.push(c);
      } catch (err) {
        error ??= `connection ${i}: ${(err as Error).message}`;
        c.client.socket?.destroy();
      }
    }
  };
  await Promise.all(Array.from({ length: parallel }, lane));
  return { open, error };
}

async function closeMany(cs: Consumer[], parallel = 200): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < cs.length) await cs[next++]!.client.close();
  };
  await Promise.all(Array.from({ length: parallel }, lane));
}

/** Publishes one message per consumer and returns how many consumers received at least one. */
async function oneEach(o: BenchOptions, queue: string, cs: Consumer[]): Promise<number> {
  const pub = new Publisher(o.url, { exchange: '', routingKeys: [queue], bodySize: 16, persistent: false, confirm: 0, rate: 0, count: cs.length });
  await pub.open('bench-s7-publisher');
  pub.start();
  await pub.finished();
  const deadline = now() + 30000;
  const sum = () => cs.reduce((n, c) => n + c.c.consumed, 0);
  while (sum() < cs.length && now() < deadline) await sleep(50);
  await pub.close();
  return cs.filter((c) => c.c.consumed > 0).length;
}

async function runS7(o: BenchOptions): Promise<ScenarioResult> {
  const queue = `bench-s7-${process.pid}-${Date.now().toString(36)}`;
  const errors: string[] = [];
  const figures: Record<string, number> = {};
  return withControl(o, async (ctl) => {
    await ctl.declareQueue(1, queue, false);
    try {
      const rss0 = o.pid !== undefined ? await settledRss(o.pid) : NaN;
      const t0 = now();
      const a = await openMany(o, queue, o.connections);
      figures.connections = a.open.length;
      figures.connectSeconds = (now() - t0) / 1000;
      if (a.error !== null) errors.push(a.error);
      const rss1 = o.pid !== undefined ? await settledRss(o.pid, 1000, 0.002, 20000) : NaN;
      figures.rssBefore = rss0;
      figures.rssOpen = rss1;
      figures.rssPerConnection = (rss1 - rss0) / a.open.length;
      log(o, `S7: ${a.open.length} connections in ${figures.connectSeconds.toFixed(1)} s`);
      if (o.maxConnections > 0) {
        const limit = openFileLimit();
        if (limit < o.maxConnections + 100) {
          errors.push(`open-file limit ${limit} is below ${o.maxConnections + 100}: raise it with ulimit -n`);
        }
        const more = await openMany(o, queue, o.maxConnections - a.open.length, 200);
        const total = a.open.length + more.open.length;
        figures.maxConnectionsOpened = total;
        if (more.error !== null) errors.push(more.error);
        // Check that they all work: one message per consumer through the shared queue (round-robin).
        const all = [...a.open, ...more.open];
        const received = await oneEach(o, queue, all);
        figures.maxConnectionsReceived = received;
        figures.maxConnectionsOk = total >= o.maxConnections && received === total ? 1 : 0;
        if (o.pid !== undefined) {
          const rss2 = await settledRss(o.pid, 1000, 0.002, 20000);
          figures.rssMax = rss2;
          figures.rssPerConnectionAtMax = (rss2 - rss0) / total;
        }
        log(o, `S7: ${total} connections open`);
        await closeMany(more.open);
      }
      await closeMany(a.open);
      return {
        scenario: 'S7',
        options: o,
        headline: { name: 'RSS per connection', value: figures.rssPerConnection, unit: 'B', higherIsBetter: false },
        figures,
        errors,
      };
    } finally {
      await ctl.deleteQueue(1, queue).catch(() => undefined);
    }
  });
}

export function runMemoryScenario(o: BenchOptions): Promise<ScenarioResult> {
  return o.scenario === 'S6' ? runS6(o) : runS7(o);
}
