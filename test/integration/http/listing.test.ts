// The list parameters as the management plugin handles them: page, page_size, name,
// use_regex, sort, sort_reverse, columns, disable_stats; the paged envelope; the errors.
// Expected replies were taken from RabbitMQ 3.10 with the same queues.
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startWithApi, type ApiBroker } from '../../helpers/http.js';

let b: ApiBroker;

beforeAll(async () => {
  b = await startWithApi({ vhosts: ['/', 'lv'] });
  // aliveness-test, l-p1, l-p2, l-q1 (10 messages), l-q2 in vhost lv
  for (const q of ['l-q2', 'l-p1', 'aliveness-test', 'l-q1', 'l-p2']) await b.api('PUT', `/api/queues/lv/${q}`, { arguments: q === 'l-p1' ? { 'x-max-length': 10 } : {} });
  for (let i = 0; i < 10; i++) {
    await b.api('POST', '/api/exchanges/lv/amq.default/publish', { properties: {}, routing_key: 'l-q1', payload: 'x', payload_encoding: 'string' });
  }
});

afterAll(async () => {
  await b?.close();
});

const names = (items: { name: string }[]) => items.map((i) => i.name);

describe('sorting and columns', () => {
  test('lists are sorted by vhost then name by default', async () => {
    expect(names((await b.api('GET', '/api/queues/lv')).body)).toEqual(['aliveness-test', 'l-p1', 'l-p2', 'l-q1', 'l-q2']);
  });

  test('sort and sort_reverse', async () => {
    expect((await b.api('GET', '/api/queues/lv?sort=name&sort_reverse=true&columns=name')).body).toEqual([
      { name: 'l-q2' },
      { name: 'l-q1' },
      { name: 'l-p2' },
      { name: 'l-p1' },
      { name: 'aliveness-test' },
    ]);
    // A numeric sort; ties fall back to vhost and name.
    expect(names((await b.api('GET', '/api/queues/lv?sort=messages&sort_reverse=true')).body)).toEqual(['l-q1', 'l-q2', 'l-p2', 'l-p1', 'aliveness-test']);
  });

  test('columns keep the named fields, nested ones by dotted path', async () => {
    expect((await b.api('GET', '/api/queues/lv?columns=name,arguments.x-max-length')).body).toEqual([
      { arguments: {}, name: 'aliveness-test' },
      { arguments: { 'x-max-length': 10 }, name: 'l-p1' },
      { arguments: {}, name: 'l-p2' },
      { arguments: {}, name: 'l-q1' },
      { arguments: {}, name: 'l-q2' },
    ].map(({ name, arguments: a }) => ({ name, arguments: a })));
    const one = (await b.api('GET', '/api/queues/lv/l-q1?columns=name,messages,message_stats.publish')).body;
    expect(one).toEqual({ name: 'l-q1', messages: 10, message_stats: { publish: 10 } });
  });

  test('disable_stats leaves only the basic fields', async () => {
    expect((await b.api('GET', '/api/queues/lv?disable_stats=true')).body[0]).toEqual({
      arguments: {},
      auto_delete: false,
      durable: false,
      exclusive: false,
      name: 'aliveness-test',
      node: b.broker.nodeName,
      state: 'live',
      type: 'classic',
      vhost: 'lv',
    });
  });
});

describe('paging', () => {
  test('the envelope: filtered_count, item_count, items, page, page_count, page_size, total_count', async () => {
    expect((await b.api('GET', '/api/queues/lv?page=2&page_size=2&columns=name')).body).toEqual({
      filtered_count: 5,
      item_count: 2,
      items: [{ name: 'l-p2' }, { name: 'l-q1' }],
      page: 2,
      page_count: 3,
      page_size: 2,
      total_count: 5,
    });
    expect((await b.api('GET', '/api/queues/lv?page=3&page_size=2&columns=name')).body.items).toEqual([{ name: 'l-q2' }]);
  });

  test('name filters a paged list: a case-insensitive substring, or a regex with use_regex', async () => {
    expect((await b.api('GET', '/api/queues/lv?name=P1&page=1&columns=name')).body).toEqual({
      filtered_count: 1,
      item_count: 1,
      items: [{ name: 'l-p1' }],
      page: 1,
      page_count: 1,
      page_size: 100,
      total_count: 5,
    });
    expect((await b.api('GET', '/api/queues/lv?name=p[12]&use_regex=true&page=1&columns=name')).body.items).toEqual([{ name: 'l-p1' }, { name: 'l-p2' }]);
    // Without paging the plugin ignores name.
    expect((await b.api('GET', '/api/queues/lv?name=P1&columns=name')).body).toHaveLength(5);
  });

  test("bad paging gets the plugin's 400s", async () => {
    const cases: [string, object][] = [
      ['page=0', { error: 'invalid_pagination_parameters', reason: 'Invalid pagination parameters: page number 0, page size undefined' }],
      ['page=9', { error: 'page_out_of_range', reason: 'Page out of range, page: 9 page size: 100, len: 5' }],
      ['page=1&page_size=501', { error: 'invalid_pagination_parameters', reason: 'Invalid pagination parameters: page number 1, page size 501' }],
      ['page=abc', { error: 'bad_request', reason: 'Pagination parameters are invalid' }],
    ];
    for (const [q, body] of cases) {
      const r = await b.api('GET', `/api/queues/lv?${q}`);
      expect({ q, status: r.status, body: r.body }).toEqual({ q, status: 400, body });
    }
  });

  test('paging works on every list: exchanges with a name filter, sorted in reverse', async () => {
    expect((await b.api('GET', '/api/exchanges/lv?page=1&page_size=2&name=amq&use_regex=false&sort=name&sort_reverse=true&columns=name')).body).toEqual({
      // RabbitMQ also has amq.rabbitmq.trace (docs/compatibility.md).
      filtered_count: 5,
      item_count: 2,
      items: [{ name: 'amq.topic' }, { name: 'amq.match' }],
      page: 1,
      page_count: 3,
      page_size: 2,
      total_count: 6,
    });
  });
});

describe('a long list', () => {
  test('10,000 queues are listed in full and paged, while AMQP traffic goes on', async () => {
    for (let i = 0; i < 10_000; i++) b.broker.vhosts.get('lv')!.declareQueue({ name: `bulk-${String(i).padStart(5, '0')}`, durable: false, exclusive: false, autoDelete: false, args: {} }, { id: -2 });
    const conn = await amqp.connect(`${b.url}/lv`);
    const ch = await conn.createChannel();
    await ch.assertQueue('echo');
    let echoed = 0;
    await ch.consume('echo', () => echoed++, { noAck: true });
    // A publisher keeps going while the big list is built and sent.
    let running = true;
    const pump = (async () => {
      while (running) {
        ch.sendToQueue('echo', Buffer.from('tick'));
        await new Promise((r) => setImmediate(r));
      }
    })();
    const before = echoed;
    const all = await b.api('GET', '/api/queues/lv?columns=name,messages');
    const during = echoed - before;
    running = false;
    await pump;
    expect(all.status).toBe(200);
    expect(all.body).toHaveLength(10_006);
    expect(all.body.slice(0, 2)).toEqual([{ name: 'aliveness-test', messages: 0 }, { name: 'bulk-00000', messages: 0 }]);
    // Messages kept flowing while the list was being built and written.
    expect(during).toBeGreaterThan(0);
    const page = (await b.api('GET', '/api/queues/lv?page=50&page_size=200&columns=name')).body;
    expect({ total: page.total_count, pages: page.page_count, first: page.items[0], n: page.item_count }).toEqual({
      total: 10_006,
      pages: 51,
      first: { name: 'bulk-09799' },
      n: 200,
    });
    await conn.close();
  }, 60_000);
});
