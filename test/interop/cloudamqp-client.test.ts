import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startBroker, type RunningBroker } from '../../server/index.js';

// @cloudamqp/amqp-client is a devDependency; skip (rather than fail to load) where it is not installed.
const client = await import('@cloudamqp/amqp-client').then(
  () => import('./cloudamqp_roundtrip.js'),
  () => undefined,
);
if (client === undefined) console.warn('@cloudamqp/amqp-client interop tests skipped: package not installed (npm ci)');

describe.skipIf(client === undefined)('@cloudamqp/amqp-client against Warren', () => {
  let b: RunningBroker;
  beforeAll(async () => {
    b = await startBroker({ port: 0 });
  });
  afterAll(async () => {
    await b.close();
  });

  test('confirmed topic publish, consume with ack and reject, confirm burst, basic.get: as RabbitMQ 3.10', async () => {
    const out = await client!.roundTrip(b.url);
    // Everything below is what roundTrip returns against RabbitMQ 3.10.
    expect(out.published).toEqual([1, 2, 3, 4, 5]);
    // the unroutable mandatory publish is returned and still acked
    expect(out.sequentialConfirms).toEqual([
      [1, false, 'ack'], [2, false, 'ack'], [3, false, 'ack'], [4, false, 'ack'], [5, false, 'ack'],
    ]);
    expect(out.returns).toEqual([[312, 'NO_ROUTE', 'cloudamqp-topic-TAG', 'weather.uk', 'm4:weather.uk']]);
    // a: stock.*.nyse, b: stock.#, c: *.ibm.*, d: burst.#
    expect(out.countsAfterPublish).toEqual({ a: 1, b: 3, c: 2, d: 0 });
    const tags = Array.from({ length: 50 }, (_, i) => i + 6);
    expect(out.burst).toEqual(tags);
    // however the acks were batched, each sequence number is acked exactly once, in order
    expect(out.burstCovered).toEqual(tags);

    const ex = 'cloudamqp-topic-TAG';
    const props = (n: number) => ({ contentType: 'text/plain', messageId: `id-${n}`, deliveryMode: 2, headers: { n } });
    expect(out.consumerTag).toBe('cloudamqp-consumer');
    expect(out.consumed).toEqual([
      { body: 'm0:stock.ibm.nyse', exchange: ex, routingKey: 'stock.ibm.nyse', redelivered: false, deliveryTag: 1, ...props(0) },
      { body: 'm1:stock.msft.nasdaq', exchange: ex, routingKey: 'stock.msft.nasdaq', redelivered: false, deliveryTag: 2, ...props(1) },
      { body: 'm3:stock.nyse', exchange: ex, routingKey: 'stock.nyse', redelivered: false, deliveryTag: 3, ...props(3) },
    ]);
    // only the rejected-with-requeue one is back
    expect(out.requeued).toEqual([
      { body: 'm1:stock.msft.nasdaq', exchange: ex, routingKey: 'stock.msft.nasdaq', redelivered: true, deliveryTag: 4, messageCount: 0 },
      null,
    ]);
    expect(out.fromA).toEqual({
      body: 'm0:stock.ibm.nyse', exchange: ex, routingKey: 'stock.ibm.nyse', redelivered: false, deliveryTag: 5, messageCount: 0,
    });
    expect(out.fromC).toEqual([
      { body: 'm0:stock.ibm.nyse', exchange: ex, routingKey: 'stock.ibm.nyse', redelivered: false, deliveryTag: 6, messageCount: 1 },
      { body: 'm2:bond.ibm.lse', exchange: ex, routingKey: 'bond.ibm.lse', redelivered: false, deliveryTag: 7, messageCount: 0 },
    ]);
    // no-ack gets still take delivery tags
    expect(out.fromD).toEqual([
      { body: 'b0', exchange: ex, routingKey: 'burst.0', redelivered: false, deliveryTag: 8, messageCount: 49 },
      { body: 'b1', exchange: ex, routingKey: 'burst.1', redelivered: false, deliveryTag: 9, messageCount: 48 },
    ]);
    expect(out.purged).toEqual({ messageCount: 48 });
    expect(out.countsAfterAck).toEqual({ a: 0, b: 0, c: 0, d: 0 });
    // the multiple ack settled everything: basic.recover brings nothing back
    expect(out.countsAfterRecover).toEqual({ a: 0, b: 0, c: 0, d: 0 });
  }, 10000);
});
