import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startBroker, type RunningBroker } from '../../server/index.js';
import { pythonWith, runPython } from '../helpers/python.js';

const python = pythonWith('amqp', 'python3-amqp', 'py-amqp');

const script = fileURLToPath(new URL('./py_amqp_roundtrip.py', import.meta.url));

describe.skipIf(python === undefined)('py-amqp (python3-amqp) against Warren', () => {
  let b: RunningBroker;
  beforeAll(async () => {
    b = await startBroker({ port: 0 });
  });
  afterAll(async () => {
    await b.close();
  });

  test('confirmed topic publish, consume with ack and reject, basic.get with multiple ack: as RabbitMQ 3.10', async () => {
    const { code, stdout, stderr } = await runPython(python!, script, [b.url]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const out = JSON.parse(stdout);
    // Everything below is what the same script prints against RabbitMQ 3.10 (bar the product name).
    expect(out.server_product).toBe('Warren');
    expect(out.publisher_confirms).toBe(true);
    // five confirmed publishes, one ack each (the unroutable mandatory one too, after its return)
    expect(out.confirms).toEqual({ acks: [[1, false], [2, false], [3, false], [4, false], [5, false]], nacks: [] });
    expect(out.returns).toEqual([[312, 'NO_ROUTE', 'py-amqp-topic-TAG', 'weather.uk', 'm4:weather.uk']]);
    // a: stock.*.nyse, b: stock.#, c: *.ibm.*
    expect(out.counts).toEqual({ a: 1, b: 3, c: 2 });
    const delivered = (n: number, rk: string, tag: number) => ({
      body: `m${n}:${rk}`,
      routing_key: rk,
      exchange: 'py-amqp-topic-TAG',
      redelivered: false,
      delivery_tag: tag,
      message_id: `id-${n}`,
      content_type: 'text/plain',
      headers: { n },
    });
    expect(out.consumer_tag).toBe('py-amqp-consumer');
    expect(out.consumed).toEqual([
      delivered(0, 'stock.ibm.nyse', 1),
      delivered(1, 'stock.msft.nasdaq', 2),
      delivered(3, 'stock.nyse', 3),
    ]);
    // the rejected-with-requeue message comes back redelivered
    expect(out.requeued).toEqual({
      body: 'm3:stock.nyse', routing_key: 'stock.nyse', redelivered: true, delivery_tag: 4, message_count: 0,
    });
    expect(out.a).toEqual({
      body: 'm0:stock.ibm.nyse', routing_key: 'stock.ibm.nyse', redelivered: false, delivery_tag: 5, message_count: 0,
    });
    expect(out.c).toEqual([
      { body: 'm0:stock.ibm.nyse', routing_key: 'stock.ibm.nyse', redelivered: false, delivery_tag: 6, message_count: 1 },
      { body: 'm2:bond.ibm.lse', routing_key: 'bond.ibm.lse', redelivered: false, delivery_tag: 7, message_count: 0 },
    ]);
    // the multiple ack settled tags 4..7, so basic.recover brings nothing back
    expect(out.after_ack).toEqual({ a: 0, b: 0, c: 0 });
    expect(out.empty_get).toBe(null);
    expect(out.after_recover).toEqual({ a: 0, b: 0, c: 0 });
  }, 10000);
});
