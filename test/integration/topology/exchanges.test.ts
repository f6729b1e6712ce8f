// exchange.declare / exchange.delete against Warren, asserting RabbitMQ 3.10's behaviour and texts.
import { describe, expect, test } from 'vitest';
import type { RunningBroker } from '../../../server/index.js';
import {
  bodiesIn,
  channelError,
  closedIn,
  connectionError,
  outcome,
  publishConfirmed,
  rawExchangeDeclare,
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

const NO_ROUTE = { replyCode: 312, replyText: 'NO_ROUTE' };
const notFound = (x: string) => `NOT_FOUND - no exchange '${x}' in vhost '/'`;

describe('built-in exchanges', () => {
  test('passive declare finds amq.direct, amq.fanout, amq.topic, amq.headers and amq.match', async () => {
    for (const x of ['amq.direct', 'amq.fanout', 'amq.topic', 'amq.headers', 'amq.match']) {
      expect(await outcome(conn, (c) => c.checkExchange(x))).toEqual({ ok: {} });
    }
  });

  test('redeclaring the amq.* exchanges with their own type, durable, is accepted', async () => {
    const types: [string, string][] = [
      ['amq.direct', 'direct'],
      ['amq.fanout', 'fanout'],
      ['amq.topic', 'topic'],
      ['amq.headers', 'headers'],
      ['amq.match', 'headers'],
    ];
    for (const [x, t] of types) {
      expect(await outcome(conn, (c) => c.assertExchange(x, t, { durable: true }))).toEqual({ ok: { exchange: x } });
    }
  });

  test('redeclaring each amq.* exchange with a different type fails with its current type', async () => {
    const cases: [string, string, string][] = [
      ['amq.direct', 'fanout', 'direct'],
      ['amq.fanout', 'direct', 'fanout'],
      ['amq.topic', 'direct', 'topic'],
      ['amq.headers', 'topic', 'headers'],
      ['amq.match', 'direct', 'headers'],
    ];
    for (const [x, asked, current] of cases) {
      expect(await channelError(conn, (c) => c.assertExchange(x, asked, { durable: true }))).toEqual(
        closedIn(
          'exchangeDeclare',
          406,
          `PRECONDITION_FAILED - inequivalent arg 'type' for exchange '${x}' in vhost '/': received '${asked}' but current is '${current}'`,
        ),
      );
    }
  });

  test('redeclaring amq.direct as non-durable fails: the built-ins are durable', async () => {
    expect(await channelError(conn, (c) => c.assertExchange('amq.direct', 'direct', { durable: false }))).toEqual(
      closedIn(
        'exchangeDeclare',
        406,
        "PRECONDITION_FAILED - inequivalent arg 'durable' for exchange 'amq.direct' in vhost '/': received 'false' but current is 'true'",
      ),
    );
  });

  test('the amq.* exchanges route by their type', async () => {
    const q = { direct: await tempQueue(ch), fanout: await tempQueue(ch), topic: await tempQueue(ch), headers: await tempQueue(ch), match: await tempQueue(ch) };
    await ch.bindQueue(q.direct, 'amq.direct', 'k1');
    await ch.bindQueue(q.fanout, 'amq.fanout', 'ignored');
    await ch.bindQueue(q.topic, 'amq.topic', 'k.*');
    await ch.bindQueue(q.headers, 'amq.headers', '', { 'x-match': 'all', h: 'v' });
    await ch.bindQueue(q.match, 'amq.match', '', { 'x-match': 'any', h: 'v', z: 'z' });
    await publishConfirmed(ch, 'amq.direct', 'k1', 'direct-hit');
    await publishConfirmed(ch, 'amq.direct', 'k2', 'direct-miss');
    await publishConfirmed(ch, 'amq.fanout', 'anything', 'fanout');
    await publishConfirmed(ch, 'amq.topic', 'k.x', 'topic-hit');
    await publishConfirmed(ch, 'amq.topic', 'k.x.y', 'topic-miss');
    await publishConfirmed(ch, 'amq.headers', 'k1', 'headers-hit', { headers: { h: 'v' } });
    await publishConfirmed(ch, 'amq.headers', 'k1', 'headers-miss', { headers: { h: 'w' } });
    await publishConfirmed(ch, 'amq.match', '', 'match-hit', { headers: { z: 'z' } });
    expect(await bodiesIn(ch, q)).toEqual({
      direct: ['direct-hit'],
      fanout: ['fanout'],
      topic: ['topic-hit'],
      headers: ['headers-hit'],
      match: ['match-hit'],
    });
  });
});

describe('exchange.declare', () => {
  test('declare-ok, and an identical redeclare is accepted', async () => {
    const x = uniq('ex-decl');
    expect(await ch.assertExchange(x, 'topic', { durable: true, autoDelete: false })).toEqual({ exchange: x });
    expect(await ch.assertExchange(x, 'topic', { durable: true, autoDelete: false })).toEqual({ exchange: x });
    expect(await outcome(conn, (c) => c.checkExchange(x))).toEqual({ ok: {} });
    await ch.deleteExchange(x);
  });

  test('passive declare of a missing exchange closes the channel with 404', async () => {
    expect(await channelError(conn, (c) => c.checkExchange('ex-missing'))).toEqual(closedIn('exchangeDeclare', 404, notFound('ex-missing')));
  });

  test('passive declare ignores type, flags and arguments (even an unknown type)', async () => {
    const x = uniq('ex-passive');
    await ch.assertExchange(x, 'fanout', { durable: false });
    const odd = { exchange: x, passive: true, durable: true, autoDelete: true, internal: true, arguments: { 'alternate-exchange': 'zz' } };
    expect(await outcome(conn, (c) => rawExchangeDeclare(c, { ...odd, type: 'direct' }))).toEqual({ ok: {} });
    expect(await outcome(conn, (c) => rawExchangeDeclare(c, { ...odd, type: 'foo' }))).toEqual({ ok: {} });
    await ch.deleteExchange(x);
  });

  test('passive declare of a missing amq.* name is a plain 404', async () => {
    expect(await channelError(conn, (c) => c.checkExchange('amq.foo'))).toEqual(closedIn('exchangeDeclare', 404, notFound('amq.foo')));
  });

  describe('inequivalent redeclaration closes the channel with 406', () => {
    const ineq = (x: string, arg: string, tail: string) =>
      closedIn('exchangeDeclare', 406, `PRECONDITION_FAILED - inequivalent arg '${arg}' for exchange '${x}' in vhost '/': ${tail}`);

    test('type', async () => {
      const x = uniq('ex-ineq-type');
      await ch.assertExchange(x, 'direct', { durable: false });
      expect(await channelError(conn, (c) => c.assertExchange(x, 'fanout', { durable: false }))).toEqual(
        ineq(x, 'type', "received 'fanout' but current is 'direct'"),
      );
      await ch.deleteExchange(x);
    });

    test('durable', async () => {
      const x = uniq('ex-ineq-durable');
      await ch.assertExchange(x, 'direct', { durable: false });
      expect(await channelError(conn, (c) => c.assertExchange(x, 'direct', { durable: true }))).toEqual(
        ineq(x, 'durable', "received 'true' but current is 'false'"),
      );
      await ch.deleteExchange(x);
    });

    test('auto_delete', async () => {
      const x = uniq('ex-ineq-ad');
      await ch.assertExchange(x, 'direct', { durable: false });
      expect(await channelError(conn, (c) => c.assertExchange(x, 'direct', { durable: false, autoDelete: true }))).toEqual(
        ineq(x, 'auto_delete', "received 'true' but current is 'false'"),
      );
      await ch.deleteExchange(x);
    });

    test('internal', async () => {
      const x = uniq('ex-ineq-int');
      await ch.assertExchange(x, 'direct', { durable: false });
      expect(await channelError(conn, (c) => c.assertExchange(x, 'direct', { durable: false, internal: true }))).toEqual(
        ineq(x, 'internal', "received 'true' but current is 'false'"),
      );
      await ch.deleteExchange(x);
    });

    test('alternate-exchange: added, changed and removed', async () => {
      const plain = uniq('ex-ineq-ae0');
      const withAe = uniq('ex-ineq-ae1');
      await ch.assertExchange(plain, 'direct', { durable: false });
      await ch.assertExchange(withAe, 'direct', { durable: false, alternateExchange: 'ae1' });
      expect(await channelError(conn, (c) => c.assertExchange(plain, 'direct', { durable: false, alternateExchange: 'ae1' }))).toEqual(
        ineq(plain, 'alternate-exchange', "received the value 'ae1' of type 'longstr' but current is none"),
      );
      expect(await channelError(conn, (c) => c.assertExchange(withAe, 'direct', { durable: false, alternateExchange: 'ae2' }))).toEqual(
        ineq(withAe, 'alternate-exchange', "received 'ae2' but current is 'ae1'"),
      );
      expect(await channelError(conn, (c) => c.assertExchange(withAe, 'direct', { durable: false }))).toEqual(
        ineq(withAe, 'alternate-exchange', "received none but current is the value 'ae1' of type 'longstr'"),
      );
      // the same alternate exchange is fine
      expect(await outcome(conn, (c) => c.assertExchange(withAe, 'direct', { durable: false, alternateExchange: 'ae1' }))).toEqual({
        ok: { exchange: withAe },
      });
      await ch.deleteExchange(plain);
      await ch.deleteExchange(withAe);
    });

    test('type is compared before durable', async () => {
      const x = uniq('ex-ineq-order');
      await ch.assertExchange(x, 'direct', { durable: false });
      expect(await channelError(conn, (c) => c.assertExchange(x, 'topic', { durable: true, autoDelete: true }))).toEqual(
        ineq(x, 'type', "received 'topic' but current is 'direct'"),
      );
      await ch.deleteExchange(x);
    });
  });

  test('arguments other than alternate-exchange are not compared', async () => {
    const x = uniq('ex-args');
    await ch.assertExchange(x, 'direct', { durable: false, arguments: { 'x-foo': 'a' } });
    expect(await outcome(conn, (c) => c.assertExchange(x, 'direct', { durable: false, arguments: { 'x-foo': 'b', bar: 1 } }))).toEqual({
      ok: { exchange: x },
    });
    expect(await outcome(conn, (c) => c.assertExchange(x, 'direct', { durable: false }))).toEqual({ ok: { exchange: x } });
    await ch.deleteExchange(x);
  });

  test("a new exchange named 'amq.…' is refused with 403", async () => {
    expect(await channelError(conn, (c) => c.assertExchange('amq.foo', 'direct', { durable: false }))).toEqual(
      closedIn('exchangeDeclare', 403, "ACCESS_REFUSED - exchange name 'amq.foo' contains reserved prefix 'amq.*'"),
    );
    expect(await channelError(conn, (c) => c.checkExchange('amq.foo'))).toEqual(closedIn('exchangeDeclare', 404, notFound('amq.foo')));
  });

  test('an unknown exchange type closes the connection with 503', async () => {
    expect(await connectionError(b.url, (c) => c.assertExchange(uniq('ex-type'), 'foo', { durable: false }))).toEqual({
      replyCode: 503,
      replyText: "COMMAND_INVALID - invalid exchange type 'foo'",
      classId: 40,
      methodId: 10,
    });
  });

  test('an unknown type is refused even when redeclaring an existing exchange', async () => {
    const x = uniq('ex-type-existing');
    await ch.assertExchange(x, 'direct', { durable: false });
    expect(await connectionError(b.url, (c) => c.assertExchange(x, 'foo', { durable: false }))).toEqual({
      replyCode: 503,
      replyText: "COMMAND_INVALID - invalid exchange type 'foo'",
      classId: 40,
      methodId: 10,
    });
    expect(await outcome(conn, (c) => c.checkExchange(x))).toEqual({ ok: {} });
    await ch.deleteExchange(x);
  });

  describe('the default exchange', () => {
    const refused = 'ACCESS_REFUSED - operation not permitted on the default exchange';

    test('declaring it, even passively, is refused with 403', async () => {
      expect(await channelError(conn, (c) => c.assertExchange('', 'direct', { durable: true }))).toEqual(
        closedIn('exchangeDeclare', 403, refused),
      );
      expect(await channelError(conn, (c) => c.checkExchange(''))).toEqual(closedIn('exchangeDeclare', 403, refused));
    });

    test('deleting it is refused with 403', async () => {
      expect(await channelError(conn, (c) => c.deleteExchange(''))).toEqual(closedIn('exchangeDelete', 403, refused));
    });

    test('binding or unbinding a queue to it is refused with 403', async () => {
      expect(
        await channelError(conn, async (c) => {
          const q = await tempQueue(c);
          await c.bindQueue(q, '', q);
        }),
      ).toEqual(closedIn('queueBind', 403, refused));
      expect(
        await channelError(conn, async (c) => {
          const q = await tempQueue(c);
          await c.unbindQueue(q, '', q);
        }),
      ).toEqual(closedIn('queueUnbind', 403, refused));
    });

    test('exchange-to-exchange bindings from or to it are refused with 403', async () => {
      const x = uniq('ex-def-e2e');
      await ch.assertExchange(x, 'fanout', { durable: false });
      expect(await channelError(conn, (c) => c.bindExchange('', x, ''))).toEqual(closedIn('exchangeBind', 403, refused));
      expect(await channelError(conn, (c) => c.bindExchange(x, '', ''))).toEqual(closedIn('exchangeBind', 403, refused));
      expect(await channelError(conn, (c) => c.bindExchange('ex-missing', '', ''))).toEqual(closedIn('exchangeBind', 403, refused));
      expect(await channelError(conn, (c) => c.unbindExchange('', x, ''))).toEqual(closedIn('exchangeUnbind', 403, refused));
      expect(await channelError(conn, (c) => c.unbindExchange(x, '', ''))).toEqual(closedIn('exchangeUnbind', 403, refused));
      await ch.deleteExchange(x);
    });
  });
});

describe('internal exchanges', () => {
  test('publishing to an internal exchange closes the channel with 403', async () => {
    const x = uniq('ex-internal');
    await ch.assertExchange(x, 'fanout', { durable: false, internal: true });
    expect(await channelError(conn, (c) => c.publish(x, 'k', Buffer.from('nope')))).toEqual(
      closedIn('basicPublish', 403, `ACCESS_REFUSED - cannot publish to internal exchange '${x}' in vhost '/'`),
    );
    await ch.deleteExchange(x);
  });

  test('an internal exchange still receives through an exchange-to-exchange binding', async () => {
    const front = uniq('ex-front');
    const inner = uniq('ex-inner');
    await ch.assertExchange(front, 'fanout', { durable: false });
    await ch.assertExchange(inner, 'direct', { durable: false, internal: true });
    await ch.bindExchange(inner, front, '');
    const q = { hit: await tempQueue(ch), miss: await tempQueue(ch) };
    await ch.bindQueue(q.hit, inner, 'rk1');
    await ch.bindQueue(q.miss, inner, 'rk2');
    await publishConfirmed(ch, front, 'rk1', 'via-front');
    const got = await bodiesIn(ch, q);
    expect(got).toEqual({ hit: ['via-front'], miss: [] });
    await ch.deleteExchange(front);
    await ch.deleteExchange(inner);
  });
});

describe('auto-delete exchanges', () => {
  const exists = (x: string) => outcome(conn, (c) => c.checkExchange(x));
  const gone = (x: string) => ({ closed: closedIn('exchangeDeclare', 404, notFound(x)) });

  test('exists before it ever had a binding', async () => {
    const x = uniq('ex-ad-new');
    await ch.assertExchange(x, 'direct', { durable: false, autoDelete: true });
    await sleep(50);
    expect(await exists(x)).toEqual({ ok: {} });
    await ch.deleteExchange(x);
  });

  test('disappears when its last queue binding is removed, not before', async () => {
    const x = uniq('ex-ad-q');
    await ch.assertExchange(x, 'direct', { durable: false, autoDelete: true });
    const q = await tempQueue(ch);
    await ch.bindQueue(q, x, 'a');
    await ch.bindQueue(q, x, 'b');
    await ch.unbindQueue(q, x, 'a');
    expect(await exists(x)).toEqual({ ok: {} });
    await ch.unbindQueue(q, x, 'b');
    expect(await exists(x)).toEqual(gone(x));
  });

  test('disappears when the last bound queue is deleted', async () => {
    const x = uniq('ex-ad-qdel');
    await ch.assertExchange(x, 'fanout', { durable: false, autoDelete: true });
    const q = await tempQueue(ch);
    await ch.bindQueue(q, x, '');
    await ch.deleteQueue(q);
    expect(await exists(x)).toEqual(gone(x));
  });

  test('disappears when its last exchange-to-exchange binding as source is removed', async () => {
    const x = uniq('ex-ad-src');
    const dest = uniq('ex-ad-dest');
    await ch.assertExchange(x, 'fanout', { durable: false, autoDelete: true });
    await ch.assertExchange(dest, 'fanout', { durable: false });
    await ch.bindExchange(dest, x, '');
    expect(await exists(x)).toEqual({ ok: {} });
    await ch.unbindExchange(dest, x, '');
    expect(await exists(x)).toEqual(gone(x));
    await ch.deleteExchange(dest);
  });

  test('bindings where it is only the destination do not count', async () => {
    const x = uniq('ex-ad-dst');
    const src = uniq('ex-ad-srcx');
    await ch.assertExchange(x, 'fanout', { durable: false, autoDelete: true });
    await ch.assertExchange(src, 'fanout', { durable: false });
    await ch.bindExchange(x, src, 'q');
    await ch.unbindExchange(x, src, 'q');
    expect(await exists(x)).toEqual({ ok: {} });
    await ch.deleteExchange(x);
    await ch.deleteExchange(src);
  });
});

describe('exchange.delete', () => {
  test('if-unused with a queue binding closes the channel with 406 and keeps the exchange', async () => {
    const x = uniq('ex-del-used');
    await ch.assertExchange(x, 'direct', { durable: false });
    const q = await tempQueue(ch);
    await ch.bindQueue(q, x, 'k');
    expect(await channelError(conn, (c) => c.deleteExchange(x, { ifUnused: true }))).toEqual(
      closedIn('exchangeDelete', 406, `PRECONDITION_FAILED - exchange '${x}' in vhost '/' in use`),
    );
    await publishConfirmed(ch, x, 'k', 'still-there');
    expect(await bodiesIn(ch, { q })).toEqual({ q: ['still-there'] });
    await ch.deleteExchange(x);
  });

  test('if-unused counts exchange-to-exchange bindings where it is the source, not the destination', async () => {
    const src = uniq('ex-del-src');
    const dest = uniq('ex-del-dst');
    await ch.assertExchange(src, 'fanout', { durable: false });
    await ch.assertExchange(dest, 'fanout', { durable: false });
    await ch.bindExchange(dest, src, '');
    expect(await channelError(conn, (c) => c.deleteExchange(src, { ifUnused: true }))).toEqual(
      closedIn('exchangeDelete', 406, `PRECONDITION_FAILED - exchange '${src}' in vhost '/' in use`),
    );
    expect(await outcome(conn, (c) => c.deleteExchange(dest, { ifUnused: true }))).toEqual({ ok: {} });
    expect(await outcome(conn, (c) => c.checkExchange(dest))).toEqual({ closed: closedIn('exchangeDeclare', 404, notFound(dest)) });
    // the binding went with the destination, so the source is unused now
    expect(await outcome(conn, (c) => c.deleteExchange(src, { ifUnused: true }))).toEqual({ ok: {} });
  });

  test('if-unused without bindings deletes', async () => {
    const x = uniq('ex-del-unused');
    await ch.assertExchange(x, 'direct', { durable: false });
    expect(await outcome(conn, (c) => c.deleteExchange(x, { ifUnused: true }))).toEqual({ ok: {} });
    expect(await outcome(conn, (c) => c.checkExchange(x))).toEqual({ closed: closedIn('exchangeDeclare', 404, notFound(x)) });
  });

  test('deleting a missing exchange answers delete-ok', async () => {
    expect(await outcome(conn, (c) => c.deleteExchange('ex-never-declared'))).toEqual({ ok: {} });
    expect(await outcome(conn, (c) => c.deleteExchange('ex-never-declared', { ifUnused: true }))).toEqual({ ok: {} });
  });

  test('deleting an amq.* exchange is refused with 403, whether or not it exists', async () => {
    expect(await channelError(conn, (c) => c.deleteExchange('amq.direct'))).toEqual(
      closedIn('exchangeDelete', 403, "ACCESS_REFUSED - deletion of system exchange 'amq.direct' in vhost '/' not allowed"),
    );
    expect(await channelError(conn, (c) => c.deleteExchange('amq.fanout', { ifUnused: true }))).toEqual(
      closedIn('exchangeDelete', 403, "ACCESS_REFUSED - deletion of system exchange 'amq.fanout' in vhost '/' not allowed"),
    );
    expect(await channelError(conn, (c) => c.deleteExchange('amq.missing'))).toEqual(
      closedIn('exchangeDelete', 403, "ACCESS_REFUSED - deletion of system exchange 'amq.missing' in vhost '/' not allowed"),
    );
    expect(await outcome(conn, (c) => c.checkExchange('amq.direct'))).toEqual({ ok: {} });
  });

  test('deleting removes its bindings: a re-declared exchange of the same name has none', async () => {
    const x = uniq('ex-del-redecl');
    await ch.assertExchange(x, 'direct', { durable: false });
    const q = await tempQueue(ch);
    await ch.bindQueue(q, x, 'k');
    await ch.deleteExchange(x);
    await ch.assertExchange(x, 'direct', { durable: false });
    returns.length = 0;
    await publishConfirmed(ch, x, 'k', 'after-redeclare', { mandatory: true });
    await sleep(20);
    expect(await bodiesIn(ch, { q })).toEqual({ q: [] });
    expect(returns).toEqual([{ ...NO_ROUTE, exchange: x, routingKey: 'k', body: 'after-redeclare', headers: {} }]);
    await ch.deleteExchange(x);
  });

  test('deleting an exchange removes the exchange-to-exchange bindings it was the destination of', async () => {
    const src = uniq('ex-del-e2e-src');
    const x = uniq('ex-del-e2e-dst');
    await ch.assertExchange(src, 'fanout', { durable: false });
    await ch.assertExchange(x, 'fanout', { durable: false });
    await ch.bindExchange(x, src, '');
    const q = await tempQueue(ch);
    await ch.bindQueue(q, x, '');
    await publishConfirmed(ch, src, 'k', 'before');
    await ch.deleteExchange(x);
    await ch.assertExchange(x, 'fanout', { durable: false });
    await ch.bindQueue(q, x, '');
    await publishConfirmed(ch, src, 'k', 'after');
    expect(await bodiesIn(ch, { q })).toEqual({ q: ['before'] });
    await ch.deleteExchange(src);
    await ch.deleteExchange(x);
  });

  test('publishing to a deleted exchange closes the channel with 404', async () => {
    const x = uniq('ex-del-pub');
    await ch.assertExchange(x, 'fanout', { durable: false });
    await ch.deleteExchange(x);
    expect(await channelError(conn, (c) => c.publish(x, 'k', Buffer.from('lost')))).toEqual(closedIn('basicPublish', 404, notFound(x)));
  });
});
