import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startBroker, type RunningBroker } from '../../server/index.js';
import { pythonWith, runPython } from '../helpers/python.js';

const python = pythonWith('kombu', 'python3-kombu');

const script = fileURLToPath(new URL('./kombu_roundtrip.py', import.meta.url));

describe.skipIf(python === undefined)('kombu (python3-kombu) against Warren', () => {
  let b: RunningBroker;
  beforeAll(async () => {
    b = await startBroker({ port: 0 });
  });
  afterAll(async () => {
    await b.close();
  });

  test('confirmed topic publish, Consumer with ack and requeue, Queue.get: as RabbitMQ 3.10', async () => {
    const { code, stdout, stderr } = await runPython(python!, script, [b.url]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const out = JSON.parse(stdout);
    // Everything below is what the same script prints against RabbitMQ 3.10 (bar the product name).
    expect(out.server_product).toBe('Warren');
    // confirm_publish: each publish waits for its own ack, the returned mandatory one included
    expect(out.confirms).toEqual([[1, false], [2, false], [3, false], [4, false], [5, false]]);
    expect(out.returns).toEqual([[312, 'NO_ROUTE', 'kombu-topic-TAG', 'weather.uk', { n: 4, rk: 'weather.uk' }]]);
    // a: stock.*.nyse, b: stock.#, c: *.ibm.*
    expect(out.counts).toEqual({ a: 1, b: 3, c: 2 });
    const delivered = (n: number, rk: string, tag: number, redelivered = false) => ({
      body: { n, rk },
      routing_key: rk,
      exchange: 'kombu-topic-TAG',
      redelivered,
      delivery_tag: tag,
      content_type: 'application/json',
      headers: { n },
      message_id: `id-${n}`,
    });
    // n=1 is requeued on first sight and comes back to the same consumer, redelivered
    expect(out.consumed).toEqual([
      delivered(0, 'stock.ibm.nyse', 1),
      delivered(1, 'stock.msft.nasdaq', 2),
      delivered(3, 'stock.nyse', 3),
      delivered(1, 'stock.msft.nasdaq', 4, true),
    ]);
    const got = (n: number, rk: string, tag: number, left: number) => ({
      body: { n, rk }, routing_key: rk, redelivered: false, delivery_tag: tag, message_count: left,
    });
    expect(out.gets).toEqual({
      b: [null, null],
      a: [got(0, 'stock.ibm.nyse', 5, 0), null],
      c: [got(0, 'stock.ibm.nyse', 6, 1), got(2, 'bond.ibm.lse', 7, 0), null],
    });
    expect(out.after).toEqual({ a: 0, b: 0, c: 0 });
    expect(out.after_recover).toEqual({ a: 0, b: 0, c: 0 });
  }, 10000);
});
