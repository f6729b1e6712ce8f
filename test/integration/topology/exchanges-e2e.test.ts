// Exchange-to-exchange bindings, alternate exchanges and sender-selected distribution (CC/BCC),
// asserting RabbitMQ 3.10's behaviour.
import { afterAll, describe, expect, test } from 'vitest';
import type { RunningBroker } from '../../../server/index.js';
import {
  bodiesIn,
  channelError,
  closedIn,
  drain,
  outcome,
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

const made: string[] = [];
async function exchange(type: string, options: { alternateExchange?: string; internal?: boolean } = {}): Promise<string> {
  const x = uniq(`e2e-${type}`);
  await ch.assertExchange(x, type, { durable: false, ...options });
  made.push(x);
  return x;
}
afterAll(async () => {
  for (const x of made) await ch.deleteExchange(x).catch(() => {});
});

/** Returns collected since the last call (waits a moment: basic.return precedes the confirm, but be safe). */
async function takeReturns(): Promise<Returned[]> {
  await sleep(20);
  return returns.splice(0, returns.length);
}
const noRoute = (exchange: string, routingKey: string, body: string, headers: Record<string, unknown> = {}): Returned => ({
  replyCode: 312,
  replyText: 'NO_ROUTE',
  exchange,
  routingKey,
  body,
  headers,
});

describe('exchange.bind / exchange.unbind', () => {
  test('a chain delivers to the queues of every exchange it reaches, with the original exchange and key', async () => {
    const a = await exchange('direct');
    const bx = await exchange('fanout');
    const c = await exchange('topic');
    const q = { a: await tempQueue(ch), b: await tempQueue(ch), c: await tempQueue(ch) };
    await ch.bindQueue(q.a, a, 'k');
    await ch.bindQueue(q.b, bx, '');
    await ch.bindQueue(q.c, c, 'k.#');
    await ch.bindExchange(bx, a, 'k.z');
    await ch.bindExchange(c, bx, 'ignored-by-fanout');
    await publishConfirmed(ch, a, 'k.z', 'chain', { mandatory: true });
    await publishConfirmed(ch, a, 'k', 'only-a', { mandatory: true });
    const got = { a: await drain(ch, q.a), b: await drain(ch, q.b), c: await drain(ch, q.c) };
    expect(got.a.map((m) => m.body)).toEqual(['only-a']);
    expect(got.b.map((m) => [m.body, m.exchange, m.routingKey])).toEqual([['chain', a, 'k.z']]);
    expect(got.c.map((m) => [m.body, m.exchange, m.routingKey])).toEqual([['chain', a, 'k.z']]);
    expect(await takeReturns()).toEqual([]);
  });

  test('fanout → topic chain: the topic exchange filters on the original routing key', async () => {
    const f = await exchange('fanout');
    const t = await exchange('topic');
    await ch.bindExchange(t, f, 'whatever');
    const q = { info: await tempQueue(ch), all: await tempQueue(ch) };
    await ch.bindQueue(q.info, t, '*.info');
    await ch.bindQueue(q.all, t, '#');
    await publishConfirmed(ch, f, 'app.info', 'm-info');
    await publishConfirmed(ch, f, 'app.debug', 'm-debug');
    expect(await bodiesIn(ch, q)).toEqual({ info: ['m-info'], all: ['m-info', 'm-debug'] });
  });

  test('a cycle a → b → a delivers once per queue', async () => {
    const a = await exchange('direct');
    const bx = await exchange('fanout');
    const q = { a: await tempQueue(ch), b: await tempQueue(ch) };
    await ch.bindQueue(q.a, a, 'k');
    await ch.bindQueue(q.b, bx, '');
    await ch.bindExchange(bx, a, 'k');
    await ch.bindExchange(a, bx, '');
    await publishConfirmed(ch, a, 'k', 'from-a');
    await publishConfirmed(ch, bx, 'k', 'from-b');
    await publishConfirmed(ch, bx, 'other', 'from-b-other');
    expect(await bodiesIn(ch, q)).toEqual({ a: ['from-a', 'from-b'], b: ['from-a', 'from-b', 'from-b-other'] });
  });

  test('an exchange bound to itself delivers once', async () => {
    const a = await exchange('topic');
    const q = await tempQueue(ch);
    await ch.bindQueue(q, a, '#');
    await ch.bindExchange(a, a, '#');
    await publishConfirmed(ch, a, 'x.y', 'self');
    expect(await bodiesIn(ch, { q })).toEqual({ q: ['self'] });
  });

  test('a cycle that reaches no queue is unroutable (mandatory → basic.return)', async () => {
    const l1 = await exchange('fanout');
    const l2 = await exchange('fanout');
    await ch.bindExchange(l2, l1, '');
    await ch.bindExchange(l1, l2, '');
    await takeReturns();
    await publishConfirmed(ch, l1, 'x', 'loop-nowhere', { mandatory: true });
    expect(await takeReturns()).toEqual([noRoute(l1, 'x', 'loop-nowhere')]);
  });

  test('a diamond (two paths to one queue) delivers once', async () => {
    const top = await exchange('fanout');
    const left = await exchange('fanout');
    const right = await exchange('direct');
    await ch.bindExchange(left, top, '');
    await ch.bindExchange(right, top, '');
    const q = await tempQueue(ch);
    await ch.bindQueue(q, left, '');
    await ch.bindQueue(q, right, 'rk');
    await publishConfirmed(ch, top, 'rk', 'diamond');
    expect(await bodiesIn(ch, { q })).toEqual({ q: ['diamond'] });
  });

  test('binding twice is idempotent, and unbind stops the flow', async () => {
    const src = await exchange('direct');
    const dst = await exchange('fanout');
    const q = await tempQueue(ch);
    await ch.bindQueue(q, dst, '');
    await ch.bindExchange(dst, src, 'k');
    await ch.bindExchange(dst, src, 'k');
    await publishConfirmed(ch, src, 'k', 'bound');
    await ch.unbindExchange(dst, src, 'k');
    await takeReturns();
    await publishConfirmed(ch, src, 'k', 'unbound', { mandatory: true });
    expect(await bodiesIn(ch, { q })).toEqual({ q: ['bound'] });
    expect(await takeReturns()).toEqual([noRoute(src, 'k', 'unbound')]);
  });

  test('unbinding a binding that does not exist answers unbind-ok', async () => {
    const src = await exchange('direct');
    const dst = await exchange('direct');
    expect(await outcome(conn, (c) => c.unbindExchange(dst, src, 'never-bound'))).toEqual({ ok: {} });
  });

  test('unbinding from a missing source exchange answers unbind-ok', async () => {
    const dst = await exchange('direct');
    expect(await outcome(conn, (c) => c.unbindExchange(dst, 'e2e-missing-src', 'k'))).toEqual({ ok: {} });
  });

  test('unbinding to a missing destination exchange answers unbind-ok', async () => {
    const src = await exchange('direct');
    expect(await outcome(conn, (c) => c.unbindExchange('e2e-missing-dst', src, 'k'))).toEqual({ ok: {} });
  });

  test('binding with a missing source or destination closes the channel with 404 (source reported first)', async () => {
    const x = await exchange('fanout');
    const nf = (n: string) => closedIn('exchangeBind', 404, `NOT_FOUND - no exchange '${n}' in vhost '/'`);
    expect(await channelError(conn, (c) => c.bindExchange(x, 'e2e-no-src', 'k'))).toEqual(nf('e2e-no-src'));
    expect(await channelError(conn, (c) => c.bindExchange('e2e-no-dst', x, 'k'))).toEqual(nf('e2e-no-dst'));
    expect(await channelError(conn, (c) => c.bindExchange('e2e-no-dst', 'e2e-no-src', 'k'))).toEqual(nf('e2e-no-src'));
  });

  test('an internal exchange may be the destination of an exchange-to-exchange binding', async () => {
    const src = await exchange('fanout');
    const inner = await exchange('fanout', { internal: true });
    expect(await outcome(conn, (c) => c.bindExchange(inner, src, ''))).toEqual({ ok: {} });
    const q = await tempQueue(ch);
    await ch.bindQueue(q, inner, '');
    await publishConfirmed(ch, src, 'r', 'into-internal');
    expect(await bodiesIn(ch, { q })).toEqual({ q: ['into-internal'] });
  });
});

describe('alternate exchanges', () => {
  test('unroutable messages go to the alternate exchange; routable ones do not; AEs chain', async () => {
    const ae2 = await exchange('fanout');
    const ae1 = await exchange('direct', { alternateExchange: ae2 });
    const main = await exchange('direct', { alternateExchange: ae1 });
    const q = { main: await tempQueue(ch), ae1: await tempQueue(ch), ae2: await tempQueue(ch) };
    await ch.bindQueue(q.main, main, 'k');
    await ch.bindQueue(q.ae1, ae1, 'k1');
    await ch.bindQueue(q.ae2, ae2, '');
    await takeReturns();
    await publishConfirmed(ch, main, 'k', 'routable', { mandatory: true });
    await publishConfirmed(ch, main, 'k1', 'to-ae1', { mandatory: true });
    await publishConfirmed(ch, main, 'zz', 'to-ae2', { mandatory: true });
    const got = { main: await drain(ch, q.main), ae1: await drain(ch, q.ae1), ae2: await drain(ch, q.ae2) };
    expect(got.main.map((m) => [m.body, m.exchange, m.routingKey])).toEqual([['routable', main, 'k']]);
    // the delivery names the exchange the message was published to, not the AE
    expect(got.ae1.map((m) => [m.body, m.exchange, m.routingKey])).toEqual([['to-ae1', main, 'k1']]);
    expect(got.ae2.map((m) => [m.body, m.exchange, m.routingKey])).toEqual([['to-ae2', main, 'zz']]);
    expect(await takeReturns()).toEqual([]);
  });

  test('a missing alternate exchange drops the message (mandatory → basic.return 312 NO_ROUTE)', async () => {
    const x = await exchange('direct', { alternateExchange: uniq('e2e-ae-missing') });
    await takeReturns();
    await publishConfirmed(ch, x, 'k', 'lost-mandatory', { mandatory: true });
    await publishConfirmed(ch, x, 'k', 'lost-silently');
    expect(await takeReturns()).toEqual([noRoute(x, 'k', 'lost-mandatory')]);
  });

  test('an alternate exchange that routes nowhere gives basic.return for mandatory messages', async () => {
    const ae = await exchange('direct');
    const x = await exchange('direct', { alternateExchange: ae });
    await takeReturns();
    await publishConfirmed(ch, x, 'k', 'nowhere', { mandatory: true });
    expect(await takeReturns()).toEqual([noRoute(x, 'k', 'nowhere')]);
  });

  test('alternate exchanges naming each other do not loop', async () => {
    const c1 = uniq('e2e-aecycle1');
    const c2 = uniq('e2e-aecycle2');
    await ch.assertExchange(c1, 'direct', { durable: false, alternateExchange: c2 });
    await ch.assertExchange(c2, 'direct', { durable: false, alternateExchange: c1 });
    made.push(c1, c2);
    const q = await tempQueue(ch);
    await ch.bindQueue(q, c2, 'hit');
    await takeReturns();
    await publishConfirmed(ch, c1, 'k', 'cycle', { mandatory: true });
    await publishConfirmed(ch, c1, 'hit', 'via-c2', { mandatory: true });
    expect(await takeReturns()).toEqual([noRoute(c1, 'k', 'cycle')]);
    expect(await bodiesIn(ch, { q })).toEqual({ q: ['via-c2'] });
  });

  test('the alternate exchange of an exchange-to-exchange destination is used', async () => {
    const ae = await exchange('fanout');
    const src = await exchange('fanout');
    const dst = await exchange('direct', { alternateExchange: ae });
    await ch.bindExchange(dst, src, '');
    const q = { dst: await tempQueue(ch), ae: await tempQueue(ch) };
    await ch.bindQueue(q.dst, dst, 'hit');
    await ch.bindQueue(q.ae, ae, '');
    await takeReturns();
    await publishConfirmed(ch, src, 'nomatch', 'via-dst-ae', { mandatory: true });
    await publishConfirmed(ch, src, 'hit', 'via-dst', { mandatory: true });
    const got = { dst: await drain(ch, q.dst), ae: await drain(ch, q.ae) };
    expect(got.ae.map((m) => [m.body, m.exchange, m.routingKey])).toEqual([['via-dst-ae', src, 'nomatch']]);
    expect(got.dst.map((m) => m.body)).toEqual(['via-dst']);
    expect(await takeReturns()).toEqual([]);
  });

  test('an internal exchange can be an alternate exchange', async () => {
    const ae = await exchange('fanout', { internal: true });
    const x = await exchange('direct', { alternateExchange: ae });
    const q = await tempQueue(ch);
    await ch.bindQueue(q, ae, '');
    await publishConfirmed(ch, x, 'k', 'to-internal-ae');
    expect(await bodiesIn(ch, { q })).toEqual({ q: ['to-internal-ae'] });
  });

  test('a message routed through a CC key does not go to the alternate exchange', async () => {
    const ae = await exchange('fanout');
    const x = await exchange('direct', { alternateExchange: ae });
    const q = { main: await tempQueue(ch), ae: await tempQueue(ch) };
    await ch.bindQueue(q.main, x, 'k');
    await ch.bindQueue(q.ae, ae, '');
    await publishConfirmed(ch, x, 'k', 'rk-routable', { CC: ['nothing'] });
    await publishConfirmed(ch, x, 'nothing', 'cc-routable', { CC: ['k'] });
    await publishConfirmed(ch, x, 'nothing', 'bcc-unroutable', { BCC: ['none'] });
    const got = { main: await drain(ch, q.main), ae: await drain(ch, q.ae) };
    expect(got.main.map((m) => [m.body, m.routingKey, m.headers])).toEqual([
      ['rk-routable', 'k', { CC: ['nothing'] }],
      ['cc-routable', 'nothing', { CC: ['k'] }],
    ]);
    // BCC is stripped before the AE's queues see it too
    expect(got.ae.map((m) => [m.body, m.routingKey, m.headers])).toEqual([['bcc-unroutable', 'nothing', {}]]);
  });
});

describe('CC and BCC headers', () => {
  async function direct3(): Promise<{ x: string; q: Record<'a' | 'b' | 'c', string> }> {
    const x = await exchange('direct');
    const q = { a: await tempQueue(ch), b: await tempQueue(ch), c: await tempQueue(ch) };
    await ch.bindQueue(q.a, x, 'a');
    await ch.bindQueue(q.b, x, 'b');
    await ch.bindQueue(q.c, x, 'c');
    return { x, q };
  }

  test('route to the CC and BCC keys too; deliveries keep CC, lose BCC, and keep the original routing key', async () => {
    const { x, q } = await direct3();
    await publishConfirmed(ch, x, 'a', 'ccbcc', { CC: ['b'], BCC: ['c'], headers: { other: 1 } });
    for (const name of ['a', 'b', 'c'] as const) {
      const got = await drain(ch, q[name]);
      expect(got.map((m) => [m.body, m.exchange, m.routingKey, m.headers])).toEqual([['ccbcc', x, 'a', { CC: ['b'], other: 1 }]]);
    }
  });

  test('a queue reached through several keys gets one copy', async () => {
    const { x, q } = await direct3();
    await publishConfirmed(ch, x, 'a', 'dup', { CC: ['a', 'b', 'a'], BCC: ['b'] });
    expect(await bodiesIn(ch, q)).toEqual({ a: ['dup'], b: ['dup'], c: [] });
  });

  test('only a CC key matching is enough', async () => {
    const { x, q } = await direct3();
    await takeReturns();
    await publishConfirmed(ch, x, 'zz', 'cc-only', { CC: ['b'], mandatory: true });
    const got = await drain(ch, q.b);
    expect(got.map((m) => [m.body, m.routingKey, m.headers])).toEqual([['cc-only', 'zz', { CC: ['b'] }]]);
    expect(await bodiesIn(ch, { a: q.a, c: q.c })).toEqual({ a: [], c: [] });
    expect(await takeReturns()).toEqual([]);
  });

  test('an empty BCC array is still removed, an empty CC array is kept', async () => {
    const { x, q } = await direct3();
    await publishConfirmed(ch, x, 'a', 'empty-arrays', { headers: { CC: [], BCC: [] } });
    const got = await drain(ch, q.a);
    expect(got.map((m) => [m.body, m.headers])).toEqual([['empty-arrays', { CC: [] }]]);
  });

  test('lower-case cc / bcc are ordinary headers', async () => {
    const { x, q } = await direct3();
    await publishConfirmed(ch, x, 'a', 'lower', { headers: { cc: ['b'], bcc: ['c'] } });
    const got = { a: await drain(ch, q.a), b: await drain(ch, q.b), c: await drain(ch, q.c) };
    expect(got.a.map((m) => [m.body, m.headers])).toEqual([['lower', { cc: ['b'], bcc: ['c'] }]]);
    expect([got.b, got.c]).toEqual([[], []]);
  });

  test('non-string elements of a CC array are ignored', async () => {
    const { x, q } = await direct3();
    await publishConfirmed(ch, x, 'a', 'mixed', { headers: { CC: ['b', 5] } });
    expect(await bodiesIn(ch, q)).toEqual({ a: ['mixed'], b: ['mixed'], c: [] });
  });

  test('a CC header that is a plain string closes the channel with 406', async () => {
    const { x, q } = await direct3();
    expect(await channelError(conn, (c) => c.publish(x, 'a', Buffer.from('cc-string'), { headers: { CC: 'b' } }))).toEqual(
      closedIn('basicPublish', 406, 'PRECONDITION_FAILED - invalid message: {unacceptable_type_in_header,"CC",longstr}'),
    );
    expect(await bodiesIn(ch, q)).toEqual({ a: [], b: [], c: [] });
  });

  test('a BCC header that is a plain string closes the channel with 406', async () => {
    const { x, q } = await direct3();
    expect(await channelError(conn, (c) => c.publish(x, 'a', Buffer.from('bcc-string'), { headers: { BCC: 'c' } }))).toEqual(
      closedIn('basicPublish', 406, 'PRECONDITION_FAILED - invalid message: {unacceptable_type_in_header,"BCC",longstr}'),
    );
    expect(await bodiesIn(ch, q)).toEqual({ a: [], b: [], c: [] });
  });

  test('a numeric CC header closes the channel with 406 naming its type, even on a fanout exchange', async () => {
    expect(await channelError(conn, (c) => c.publish('amq.fanout', 'a', Buffer.from('cc-int'), { headers: { CC: 5 } }))).toEqual(
      closedIn('basicPublish', 406, 'PRECONDITION_FAILED - invalid message: {unacceptable_type_in_header,"CC",byte}'),
    );
  });

  test('CC works through the default exchange, topic exchanges and exchange-to-exchange bindings', async () => {
    const q1 = await tempQueue(ch);
    const q2 = await tempQueue(ch);
    await publishConfirmed(ch, '', q1, 'cc-default', { CC: [q2] });
    expect(await bodiesIn(ch, { q1, q2 })).toEqual({ q1: ['cc-default'], q2: ['cc-default'] });

    const t = await exchange('topic');
    await ch.bindQueue(q1, t, 'x.*');
    await ch.bindQueue(q2, t, 'y.#');
    await publishConfirmed(ch, t, 'x.1', 'cc-topic', { CC: ['y.z.w'] });
    expect(await bodiesIn(ch, { q1, q2 })).toEqual({ q1: ['cc-topic'], q2: ['cc-topic'] });

    const src = await exchange('fanout');
    const d = await exchange('direct');
    await ch.bindExchange(d, src, '');
    await ch.bindQueue(q1, d, 'a');
    await ch.bindQueue(q2, d, 'b');
    await publishConfirmed(ch, src, 'a', 'cc-e2e', { CC: ['b'] });
    expect(await bodiesIn(ch, { q1, q2 })).toEqual({ q1: ['cc-e2e'], q2: ['cc-e2e'] });
  });

  test('a returned message keeps CC but not BCC', async () => {
    const { x } = await direct3();
    await takeReturns();
    await publishConfirmed(ch, x, 'none', 'ret', { CC: ['none1'], BCC: ['none2'], mandatory: true });
    expect(await takeReturns()).toEqual([noRoute(x, 'none', 'ret', { CC: ['none1'] })]);
  });
});
