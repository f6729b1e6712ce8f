/**
 * S11: one stream, pre-filled with `count` messages (confirmed), then read from
 * `first` by `consumers` consumers at once, each on its own connection, with a prefetch
 * and multiple acks (a stream consumer must ack: its acks are credit). Every consumer
 * reads every message. The headline is the total delivery rate while they all read,
 * measured from the first consume until the last consumer has everything; issue 14
 * wants it at no less than 80 % of S3's fanout rate (ten queues, ten consumers).
 */
import { BenchClient, parseUrl } from './load/client.js';
import { now, sleep } from './load/clock.js';
import { Consumer } from './load/consumer.js';
import { Publisher } from './load/publisher.js';
import { Histogram } from './load/stats.js';
import type { BenchOptions } from './options.js';
import type { ScenarioResult } from './scenarios.js';

/** How long the consumers may take, at worst, to read the whole stream. */
const READ_TIMEOUT_MS = 600_000;

function log(o: BenchOptions, msg: string): void {
  if (!o.quiet && !o.json) process.stderr.write(`${msg}\n`);
}

export async function runStreamScenario(o: BenchOptions): Promise<ScenarioResult> {
  const queue = `bench-s11-${process.pid}-${Date.now().toString(36)}`;
  const n = o.count;
  const errors: string[] = [];
  if (n <= 0) throw new Error('S11 needs --count > 0 (messages in the stream)');
  if (o.prefetch <= 0) throw new Error('S11 needs --prefetch > 0: a stream refuses consumers without one');
  const ctl = new BenchClient(parseUrl(o.url));
  await ctl.open('bench-s11-control');
  await ctl.openChannel(1);
  try {
    await ctl.declareQueue(1, queue, true, o.queueArgs);
    const pub = new Publisher(o.url, { exchange: '', routingKeys: [queue], bodySize: o.size, persistent: o.persistent, confirm: Math.max(1, o.confirm), rate: 0, count: n });
    await pub.open('bench-s11-publisher');
    const t0 = now();
    pub.start();
    await pub.finished();
    const fillSeconds = (now() - t0) / 1000;
    if (pub.c.nacked > 0) errors.push(`${pub.c.nacked} publishes were nacked`);
    await pub.close();
    log(o, `S11: ${n} messages in the stream in ${fillSeconds.toFixed(1)} s (${Math.round(n / fillSeconds)} msg/s confirmed)`);

    const hist = new Histogram();
    const spec = { queue, noAck: false, prefetch: o.prefetch, multiAckEvery: o.multiAckEvery, args: { 'x-stream-offset': 'first' } };
    const cons = Array.from({ length: Math.max(1, o.consumers) }, () => new Consumer(o.url, spec, hist));
    const t1 = now();
    await Promise.all(cons.map((c, i) => c.open(`bench-s11-consumer-${i}`)));
    const deadline = t1 + READ_TIMEOUT_MS;
    const done = () => cons.every((c) => c.c.consumed >= n || c.error !== null);
    while (!done() && now() < deadline) await sleep(10);
    const readSeconds = (now() - t1) / 1000;
    for (const c of cons) if (c.error !== null) errors.push(c.error.message);
    const counts = cons.map((c) => c.c.consumed);
    const total = counts.reduce((a, b) => a + b, 0);
    if (counts.some((c) => c < n)) errors.push(`consumers read ${counts.join(', ')} of ${n} messages each`);
    if (counts.some((c) => c > n)) errors.push(`a consumer got more than the ${n} messages in the stream (${counts.join(', ')})`);
    await Promise.all(cons.map((c) => c.close()));
    log(o, `S11: ${cons.length} consumers read ${total} deliveries in ${readSeconds.toFixed(1)} s`);
    return {
      scenario: 'S11',
      options: o,
      headline: { name: 'deliveries', value: total / readSeconds, unit: 'msg/s', higherIsBetter: true },
      figures: {
        messages: n,
        fillRate: n / fillSeconds,
        consumeRate: total / readSeconds,
        perConsumerRate: total / readSeconds / cons.length,
        readSeconds,
      },
      errors,
    };
  } finally {
    await ctl.deleteQueue(1, queue).catch(() => undefined);
    await ctl.close();
  }
}
