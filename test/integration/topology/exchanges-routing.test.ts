// Routing through the default, direct, fanout, topic and headers exchanges, asserting RabbitMQ 3.10's choices.
import type { Options } from 'amqplib';
import { describe, expect, test } from 'vitest';
import type { RunningBroker } from '../../../server/index.js';
import {
  bodiesIn,
  channelError,
  closedIn,
  drain,
  publishConfirmed,
  sleep,
  tempQueue,
  uniq,
  type Returned,
  type TestConnection,
  useTopologySuite,
  type TopologySuite,
} from '../../helpers/topology.js';

let b: RunningBroker;
let conn: TestConnection;
let ch: TopologySuite['ch'];
let returns: Returned[];
useTopologySuite((s) => ({ b, conn, ch, returns } = s));

/**
 * Declares an exchange, one queue per binding (name → [binding key, args]), publishes each
 * message and returns, per message, the names of the bindings' queues that got it — with a
 * count suffix (×2) when a queue got it more than once.
 */
async function routeTable(
  type: string,
  bindings: Record<string, [string, Record<string, unknown>?]>,
  messages: Record<string, { key: string; options?: Options.Publish }>,
): Promise<Record<string, string[]>> {
  const x = uniq(`rt-${type}`);
  await ch.assertExchange(x, type, { durable: false });
  const queues: Record<string, string> = {};
  for (const [name, [key, args]] of Object.entries(bindings)) {
    queues[name] = await tempQueue(ch);
    await ch.bindQueue(queues[name], x, key, args);
  }
  const out: Record<string, string[]> = {};
  for (const [msg, { key, options }] of Object.entries(messages)) {
    await publishConfirmed(ch, x, key, msg, options);
    const got: string[] = [];
    for (const [name, q] of Object.entries(queues)) {
      const n = (await drain(ch, q)).length;
      if (n === 1) got.push(name);
      else if (n > 1) got.push(`${name}×${n}`);
    }
    out[msg] = got;
  }
  await ch.deleteExchange(x);
  for (const q of Object.values(queues)) await ch.deleteQueue(q);
  return out;
}

describe('the default exchange', () => {
  test('routes by queue name, keeping exchange "" and the routing key in the delivery', async () => {
    const q1 = await tempQueue(ch);
    const q2 = await tempQueue(ch);
    await publishConfirmed(ch, '', q1, 'to-q1');
    await publishConfirmed(ch, '', q2, 'to-q2');
    const got1 = await drain(ch, q1);
    const got2 = await drain(ch, q2);
    expect(got1.map((m) => [m.body, m.exchange, m.routingKey])).toEqual([['to-q1', '', q1]]);
    expect(got2.map((m) => [m.body, m.exchange, m.routingKey])).toEqual([['to-q2', '', q2]]);
  });

  test('a routing key naming no queue is unroutable (mandatory → basic.return 312 NO_ROUTE)', async () => {
    returns.length = 0;
    const name = uniq('no-such-queue');
    await publishConfirmed(ch, '', name, 'lost', { mandatory: true });
    await sleep(20);
    expect(returns).toEqual([{ replyCode: 312, replyText: 'NO_ROUTE', exchange: '', routingKey: name, body: 'lost', headers: {} }]);
  });
});

describe('direct exchanges', () => {
  test('route on exact key equality; several queues may share a key', async () => {
    const t = await routeTable(
      'direct',
      { a1: ['a'], a2: ['a'], b: ['b'], empty: [''], dotted: ['a.b'], star: ['*'] },
      { a: { key: 'a' }, b: { key: 'b' }, '': { key: '' }, 'a.b': { key: 'a.b' }, A: { key: 'A' }, '*': { key: '*' }, c: { key: 'c' } },
    );
    expect(t).toEqual({
      a: ['a1', 'a2'],
      b: ['b'],
      '': ['empty'],
      'a.b': ['dotted'],
      A: [],
      '*': ['star'],
      c: [],
    });
  });

  test('a queue bound with several keys that all match one message gets it once (CC adds keys)', async () => {
    const x = uniq('rt-direct-multi');
    await ch.assertExchange(x, 'direct', { durable: false });
    const q = await tempQueue(ch);
    await ch.bindQueue(q, x, 'k1');
    await ch.bindQueue(q, x, 'k2');
    await publishConfirmed(ch, x, 'k1', 'once', { CC: ['k2', 'k1'] });
    expect(await bodiesIn(ch, { q })).toEqual({ q: ['once'] });
    await ch.deleteExchange(x);
  });
});

describe('fanout exchanges', () => {
  test('deliver to every bound queue whatever the routing or binding key, once per queue', async () => {
    const t = await routeTable(
      'fanout',
      { q1: [''], q2: ['some-key'], q3: ['#'] },
      { 'key-a': { key: 'a' }, 'key-empty': { key: '' }, 'key-hash': { key: '#' } },
    );
    expect(t).toEqual({ 'key-a': ['q1', 'q2', 'q3'], 'key-empty': ['q1', 'q2', 'q3'], 'key-hash': ['q1', 'q2', 'q3'] });
  });

  test('a queue bound twice with different keys gets one copy', async () => {
    const x = uniq('rt-fanout-twice');
    await ch.assertExchange(x, 'fanout', { durable: false });
    const q = await tempQueue(ch);
    await ch.bindQueue(q, x, 'one');
    await ch.bindQueue(q, x, 'two');
    await publishConfirmed(ch, x, 'anything', 'fan');
    expect(await bodiesIn(ch, { q })).toEqual({ q: ['fan'] });
    await ch.deleteExchange(x);
  });
});

describe('topic exchanges', () => {
  const patterns = ['*', '#', 'a.*', 'a.#', 'a.#.b', '#.b', '*.*', 'a..b', '', 'a.*.b', '#.#', 'a.#.#.b', '.', 'a.', '*.', '#.*'];
  const bindings = Object.fromEntries(patterns.map((p) => [p, [p] as [string]]));
  const keys = ['', 'a', 'a.b', 'a.x.b', 'a.x.y.b', 'b', 'a..b', '.', 'a.', '.a', 'x.y', 'a.b.c'];

  test('match * (one word), # (zero or more words), empty words and the empty key like RabbitMQ', async () => {
    const t = await routeTable(
      'topic',
      bindings,
      Object.fromEntries(keys.map((k) => [k, { key: k }])),
    );
    expect(t).toEqual({
      '': ['#', '', '#.#'],
      a: ['*', '#', 'a.#', '#.#', '#.*'],
      'a.b': ['#', 'a.*', 'a.#', 'a.#.b', '#.b', '*.*', '#.#', 'a.#.#.b', '#.*'],
      'a.x.b': ['#', 'a.#', 'a.#.b', '#.b', 'a.*.b', '#.#', 'a.#.#.b', '#.*'],
      'a.x.y.b': ['#', 'a.#', 'a.#.b', '#.b', '#.#', 'a.#.#.b', '#.*'],
      b: ['*', '#', '#.b', '#.#', '#.*'],
      'a..b': ['#', 'a.#', 'a.#.b', '#.b', 'a..b', 'a.*.b', '#.#', 'a.#.#.b', '#.*'],
      '.': ['#', '*.*', '#.#', '.', '*.', '#.*'],
      'a.': ['#', 'a.*', 'a.#', '*.*', '#.#', 'a.', '*.', '#.*'],
      '.a': ['#', '*.*', '#.#', '#.*'],
      'x.y': ['#', '*.*', '#.#', '#.*'],
      'a.b.c': ['#', 'a.#', '#.#', '#.*'],
    });
  });

  test('a queue with several matching topic bindings gets the message once', async () => {
    const x = uniq('rt-topic-multi');
    await ch.assertExchange(x, 'topic', { durable: false });
    const q = await tempQueue(ch);
    const other = await tempQueue(ch);
    for (const p of ['#', 'a.*', 'a.b', '*.b', 'a.#.b']) await ch.bindQueue(q, x, p);
    await ch.bindQueue(other, x, 'a.b');
    await publishConfirmed(ch, x, 'a.b', 'multi');
    expect(await bodiesIn(ch, { q, other })).toEqual({ q: ['multi'], other: ['multi'] });
    await ch.deleteExchange(x);
  });

  test('unbinding one of two matching patterns keeps delivery through the other', async () => {
    const x = uniq('rt-topic-unbind');
    await ch.assertExchange(x, 'topic', { durable: false });
    const q = await tempQueue(ch);
    await ch.bindQueue(q, x, 'a.*');
    await ch.bindQueue(q, x, '#.b');
    await ch.unbindQueue(q, x, 'a.*');
    await publishConfirmed(ch, x, 'a.b', 'via-#.b');
    await publishConfirmed(ch, x, 'a.c', 'via-a.*');
    await ch.unbindQueue(q, x, '#.b');
    await publishConfirmed(ch, x, 'a.b', 'none');
    expect(await bodiesIn(ch, { q })).toEqual({ q: ['via-#.b'] });
    await ch.deleteExchange(x);
  });
});

describe('headers exchanges', () => {
  const bindings: Record<string, [string, Record<string, unknown>]> = {
    allAB: ['', { 'x-match': 'all', a: '1', b: '2' }],
    anyAB: ['', { 'x-match': 'any', a: '1', b: '2' }],
    defaultAB: ['', { a: '1', b: '2' }],
    allEmpty: ['', { 'x-match': 'all' }],
    anyEmpty: ['', { 'x-match': 'any' }],
    noArgs: ['', {}],
    allVoidA: ['', { 'x-match': 'all', a: null }],
    allX: ['', { 'x-match': 'all', 'x-k': 'v', c: '3' }],
    allWithX: ['', { 'x-match': 'all-with-x', 'x-k': 'v', c: '3' }],
    anyX: ['', { 'x-match': 'any', 'x-k': 'v' }],
    anyWithX: ['', { 'x-match': 'any-with-x', 'x-k': 'v' }],
    allWithXOnly: ['', { 'x-match': 'all-with-x' }],
    anyWithXOnly: ['', { 'x-match': 'any-with-x' }],
  };

  test('x-match all / any / all-with-x / any-with-x, void values and x- keys', async () => {
    const h = (headers: Record<string, unknown> | undefined) => ({ key: 'ignored', options: headers ? { headers } : {} });
    const t = await routeTable('headers', bindings, {
      none: h(undefined),
      a1: h({ a: '1' }),
      a1b2: h({ a: '1', b: '2' }),
      a1b3: h({ a: '1', b: '3' }),
      a2: h({ a: '2' }),
      aVoid: h({ a: null }),
      a1b2xk: h({ a: '1', b: '2', 'x-k': 'v' }),
      c3: h({ c: '3' }),
      c3xk: h({ c: '3', 'x-k': 'v' }),
      c3xkOther: h({ c: '3', 'x-k': 'w' }),
      xk: h({ 'x-k': 'v' }),
    });
    expect(t).toEqual({
      none: ['allEmpty', 'noArgs', 'allWithXOnly'],
      a1: ['anyAB', 'allEmpty', 'noArgs', 'allVoidA', 'allWithXOnly'],
      a1b2: ['allAB', 'anyAB', 'defaultAB', 'allEmpty', 'noArgs', 'allVoidA', 'allWithXOnly'],
      a1b3: ['anyAB', 'allEmpty', 'noArgs', 'allVoidA', 'allWithXOnly'],
      a2: ['allEmpty', 'noArgs', 'allVoidA', 'allWithXOnly'],
      aVoid: ['allEmpty', 'noArgs', 'allVoidA', 'allWithXOnly'],
      a1b2xk: ['allAB', 'anyAB', 'defaultAB', 'allEmpty', 'noArgs', 'allVoidA', 'anyWithX', 'allWithXOnly'],
      c3: ['allEmpty', 'noArgs', 'allX', 'allWithXOnly'],
      c3xk: ['allEmpty', 'noArgs', 'allX', 'allWithX', 'anyWithX', 'allWithXOnly'],
      c3xkOther: ['allEmpty', 'noArgs', 'allX', 'allWithXOnly'],
      xk: ['allEmpty', 'noArgs', 'anyWithX', 'allWithXOnly'],
    });
  });

  test('numbers compare by value across integer widths, floats and timestamps; not against strings or booleans', async () => {
    const n = (value: unknown) => ({ key: '', options: { headers: { n: value } } });
    const t = await routeTable(
      'headers',
      {
        long1: ['', { 'x-match': 'all', n: { '!': 'long', value: 1 } }],
        byte1: ['', { 'x-match': 'all', n: { '!': 'byte', value: 1 } }],
        double1: ['', { 'x-match': 'all', n: { '!': 'double', value: 1 } }],
        str1: ['', { 'x-match': 'all', n: '1' }],
        long300: ['', { 'x-match': 'all', n: { '!': 'long', value: 300 } }],
        double1_5: ['', { 'x-match': 'all', n: 1.5 }],
        boolTrue: ['', { 'x-match': 'all', n: true }],
      },
      {
        int32: n({ '!': 'int', value: 1 }),
        short: n({ '!': 'short', value: 1 }),
        ubyte: n({ '!': 'unsignedbyte', value: 1 }),
        uint32: n({ '!': 'unsignedint', value: 1 }),
        uint16: n({ '!': 'uint16', value: 1 }),
        long: n({ '!': 'long', value: 1 }),
        float: n({ '!': 'float', value: 1 }),
        double: n({ '!': 'double', value: 1 }),
        timestamp: n({ '!': 'timestamp', value: 1 }),
        plain: n(1),
        long2: n({ '!': 'long', value: 2 }),
        str: n('1'),
        short300: n(300),
        uint16_300: n({ '!': 'uint16', value: 300 }),
        float1_5: n({ '!': 'float', value: 1.5 }),
        bool: n(true),
        one: n(1),
      },
    );
    const ones = ['long1', 'byte1', 'double1'];
    expect(t).toEqual({
      int32: ones,
      short: ones,
      ubyte: ones,
      uint32: ones,
      uint16: ones,
      long: ones,
      float: ones,
      double: ones,
      timestamp: ones,
      plain: ones,
      long2: [],
      str: ['str1'],
      short300: ['long300'],
      uint16_300: ['long300'],
      float1_5: ['double1_5'],
      bool: ['boolTrue'],
      one: ones,
    });
  });

  const n = (value: unknown) => ({ key: '', options: { headers: { n: value } } });

  test('strings equal byte arrays; void matches only as a presence test in the binding', async () => {
    const t = await routeTable(
      'headers',
      {
        str: ['', { n: '1' }],
        bytes: ['', { n: Buffer.from('1') }],
        anyVoid: ['', { 'x-match': 'any', n: null, m: 'z' }],
      },
      {
        str: n('1'),
        bytes: n(Buffer.from('1')),
        void: n(null),
        mz: { key: '', options: { headers: { m: 'z' } } },
        other: { key: '', options: { headers: { o: '1' } } },
      },
    );
    expect(t).toEqual({
      str: ['str', 'bytes', 'anyVoid'],
      bytes: ['str', 'bytes', 'anyVoid'],
      void: ['anyVoid'],
      mz: ['anyVoid'],
      other: [],
    });
  });

  test('array values compare element by element including the element types', async () => {
    const t = await routeTable(
      'headers',
      { arr: ['', { n: ['a', 1] }], nested: ['', { n: [['a']] }] },
      {
        same: n(['a', 1]),
        // 1 as a long inside an array is not the byte 1 of the binding
        elementLong: n(['a', { '!': 'long', value: 1 }]),
        shorter: n(['a']),
        nested: n([['a']]),
      },
    );
    expect(t).toEqual({ same: ['arr'], elementLong: [], shorter: [], nested: ['nested'] });
  });

  test('table values compare exactly: entry order and entry types matter', async () => {
    const t = await routeTable(
      'headers',
      { tbl: ['', { n: { k: 'v', j: 1 } }], tblByte: ['', { n: { k: 1 } }] },
      {
        same: n({ k: 'v', j: 1 }),
        reordered: n({ j: 1, k: 'v' }),
        more: n({ k: 'v', j: 1, i: 2 }),
        kByte: n({ k: 1 }),
        kLong: n({ k: { '!': 'long', value: 1 } }),
      },
    );
    expect(t).toEqual({ same: ['tbl'], reordered: [], more: [], kByte: ['tblByte'], kLong: [] });
  });

  test('a queue with several matching headers bindings gets the message once', async () => {
    const x = uniq('rt-headers-multi');
    await ch.assertExchange(x, 'headers', { durable: false });
    const q = await tempQueue(ch);
    await ch.bindQueue(q, x, '', { 'x-match': 'any', a: '1' });
    await ch.bindQueue(q, x, 'other-key', { 'x-match': 'any', a: '1' });
    await ch.bindQueue(q, x, '', { 'x-match': 'all', a: '1' });
    await publishConfirmed(ch, x, '', 'm1', { headers: { a: '1' } });
    // unbinding needs the same key and arguments; the other two bindings still match
    await ch.unbindQueue(q, x, '', { 'x-match': 'any', a: '1' });
    await publishConfirmed(ch, x, '', 'm2', { headers: { a: '1' } });
    await ch.unbindQueue(q, x, 'other-key', { 'x-match': 'any', a: '1' });
    await ch.unbindQueue(q, x, '', { 'x-match': 'all', a: '1' });
    await publishConfirmed(ch, x, '', 'm3', { headers: { a: '1' } });
    expect(await bodiesIn(ch, { q })).toEqual({ q: ['m1', 'm2'] });
    await ch.deleteExchange(x);
  });

  describe('an invalid x-match closes the channel with 406', () => {
    const expected = 'expected all, any, all-with-x, or any-with-x';
    const cases: [string, unknown, string][] = [
      ['foo', 'foo', `PRECONDITION_FAILED - Invalid x-match field value <<"foo">>; ${expected}`],
      ['ALL (case matters)', 'ALL', `PRECONDITION_FAILED - Invalid x-match field value <<"ALL">>; ${expected}`],
      ['the empty string', '', `PRECONDITION_FAILED - Invalid x-match field value <<>>; ${expected}`],
      ['a number', 1, 'PRECONDITION_FAILED - Invalid x-match field type byte (value 1); expected longstr'],
    ];
    test.each(cases)('%s', async (_name, xmatch, text) => {
      const x = uniq('rt-headers-bad');
      await ch.assertExchange(x, 'headers', { durable: false });
      const err = await channelError(conn, async (c) => {
        const q = await tempQueue(c);
        await c.bindQueue(q, x, '', { 'x-match': xmatch, a: '1' });
      });
      expect(err).toEqual(closedIn('queueBind', 406, text));
      await ch.deleteExchange(x);
    });
  });

  test('x-match is only validated by headers exchanges', async () => {
    const q = await tempQueue(ch);
    await ch.bindQueue(q, 'amq.direct', q, { 'x-match': 'foo' });
    await publishConfirmed(ch, 'amq.direct', q, 'direct-with-x-match');
    expect(await bodiesIn(ch, { q })).toEqual({ q: ['direct-with-x-match'] });
    await ch.unbindQueue(q, 'amq.direct', q, { 'x-match': 'foo' });
  });
});
