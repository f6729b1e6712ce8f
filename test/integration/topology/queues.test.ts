// queue.declare (names, the "last declared queue", equivalence, exclusivity, auto-delete) against Warren,
// asserting RabbitMQ 3.10's behaviour and texts.
import type { Channel, ConfirmChannel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { RunningBroker } from '../../../server/index.js';
import {
  channelError,
  closedIn,
  closeQuietly,
  confirmChannel,
  connect,
  drain,
  outcome,
  rawQueueDeclare,
  sleep,
  uniq,
  type MethodName,
  type TestConnection,
  useTopologySuite,
  type TopologySuite,
} from '../../helpers/topology.js';

let b: RunningBroker;
let conn: TestConnection;
let ch: TopologySuite['ch'];
useTopologySuite((s) => ({ b, conn, ch } = s));

const noQueue = (q: string) => `NOT_FOUND - no queue '${q}' in vhost '/'`;
const NO_PREVIOUS = 'NOT_FOUND - no previously declared queue';
const locked = (q: string) =>
  `RESOURCE_LOCKED - cannot obtain exclusive access to locked queue '${q}' in vhost '/'. ` +
  'It could be originally declared on another connection or the exclusive property value does not match that of the original declaration.';

describe('queue.declare', () => {
  test("server-named queues are 'amq.gen-' and 22 base64url characters, and distinct", async () => {
    const r1 = await ch.assertQueue('', { exclusive: true });
    const r2 = await ch.assertQueue('', { exclusive: true });
    expect(r1).toEqual({ queue: expect.stringMatching(/^amq\.gen-[A-Za-z0-9_-]{22}$/), messageCount: 0, consumerCount: 0 });
    expect(r2.queue).toMatch(/^amq\.gen-[A-Za-z0-9_-]{22}$/);
    expect(r2.queue).not.toBe(r1.queue);
  });

  test('declare-ok carries the ready message count and the consumer count', async () => {
    const q = uniq('q-counts');
    expect(await ch.assertQueue(q, { exclusive: true })).toEqual({ queue: q, messageCount: 0, consumerCount: 0 });
    for (let i = 0; i < 3; i++) ch.sendToQueue(q, Buffer.from(`m${i}`));
    await ch.waitForConfirms();
    expect(await ch.assertQueue(q, { exclusive: true })).toEqual({ queue: q, messageCount: 3, consumerCount: 0 });
    // two consumers with prefetch 1 take two messages: they are unacked, no longer counted
    const c = await conn.createChannel();
    await c.prefetch(1);
    await c.consume(q, () => {});
    await c.consume(q, () => {});
    await sleep(50);
    expect(await ch.checkQueue(q)).toEqual({ queue: q, messageCount: 1, consumerCount: 2 });
    await c.close();
    await ch.deleteQueue(q);
  });

  test('passive declare of a missing queue closes the channel with 404', async () => {
    expect(await channelError(conn, (c) => c.checkQueue('q-missing'))).toEqual(closedIn('queueDeclare', 404, noQueue('q-missing')));
  });

  test('passive declare ignores durable, exclusive, auto-delete and arguments', async () => {
    const q = uniq('q-passive');
    await ch.assertQueue(q, { durable: false, arguments: { 'x-message-ttl': 1000 } });
    const odd = { queue: q, passive: true, durable: true, exclusive: true, autoDelete: true, arguments: { 'x-message-ttl': 5 } };
    expect(await outcome(conn, (c) => rawQueueDeclare(c, odd))).toEqual({ ok: { queue: q, messageCount: 0, consumerCount: 0 } });
    await ch.deleteQueue(q);
  });

  test("a queue name starting with 'amq.' is refused with 403", async () => {
    for (const name of ['amq.foo', 'amq.gen-xyz']) {
      expect(await channelError(conn, (c) => c.assertQueue(name, { durable: false }))).toEqual(
        closedIn('queueDeclare', 403, `ACCESS_REFUSED - queue name '${name}' contains reserved prefix 'amq.*'`),
      );
    }
    expect(await channelError(conn, (c) => c.checkQueue('amq.foo'))).toEqual(closedIn('queueDeclare', 404, noQueue('amq.foo')));
  });

  describe('inequivalent redeclaration', () => {
    const ineq = (q: string, arg: string, tail: string) =>
      closedIn('queueDeclare', 406, `PRECONDITION_FAILED - inequivalent arg '${arg}' for queue '${q}' in vhost '/': ${tail}`);

    test('durable', async () => {
      const q = uniq('q-ineq-durable');
      await ch.assertQueue(q, { durable: false });
      expect(await channelError(conn, (c) => c.assertQueue(q, { durable: true }))).toEqual(
        ineq(q, 'durable', "received 'true' but current is 'false'"),
      );
      await ch.deleteQueue(q);
    });

    test('auto_delete', async () => {
      const q = uniq('q-ineq-ad');
      await ch.assertQueue(q, { durable: false });
      expect(await channelError(conn, (c) => c.assertQueue(q, { durable: false, autoDelete: true }))).toEqual(
        ineq(q, 'auto_delete', "received 'true' but current is 'false'"),
      );
      await ch.deleteQueue(q);
    });

    test('auto_delete of an exclusive queue, on its own connection', async () => {
      const q = uniq('q-ineq-ex-ad');
      await ch.assertQueue(q, { durable: false, exclusive: true });
      expect(await channelError(conn, (c) => c.assertQueue(q, { durable: false, exclusive: true, autoDelete: true }))).toEqual(
        ineq(q, 'auto_delete', "received 'true' but current is 'false'"),
      );
      await ch.deleteQueue(q);
    });

    test('exclusive differing on the same connection is 405 RESOURCE_LOCKED, both ways', async () => {
      const shared = uniq('q-ineq-shared');
      const excl = uniq('q-ineq-excl');
      await ch.assertQueue(shared, { durable: false });
      await ch.assertQueue(excl, { durable: false, exclusive: true });
      expect(await channelError(conn, (c) => c.assertQueue(shared, { durable: false, exclusive: true }))).toEqual(
        closedIn('queueDeclare', 405, locked(shared)),
      );
      expect(await channelError(conn, (c) => c.assertQueue(excl, { durable: false, exclusive: false }))).toEqual(
        closedIn('queueDeclare', 405, locked(excl)),
      );
      await ch.deleteQueue(shared);
      await ch.deleteQueue(excl);
    });

    // [name, arguments at creation, arguments on redeclare, RabbitMQ's complaint]
    const argCases: [string, Record<string, unknown>, Record<string, unknown>, string, string][] = [
      ['x-message-ttl added', {}, { 'x-message-ttl': 100 }, 'x-message-ttl', "received the value '100' of type 'byte' but current is none"],
      ['x-message-ttl changed', { 'x-message-ttl': 100 }, { 'x-message-ttl': 200 }, 'x-message-ttl', "received '200' but current is '100'"],
      ['x-message-ttl removed', { 'x-message-ttl': 100 }, {}, 'x-message-ttl', "received none but current is the value '100' of type 'byte'"],
      ['x-message-ttl as a string', { 'x-message-ttl': 100 }, { 'x-message-ttl': '100' }, 'x-message-ttl', "received '100' but current is '100'"],
      ['x-message-ttl as a bool', {}, { 'x-message-ttl': true }, 'x-message-ttl', "received the value 'true' of type 'bool' but current is none"],
      ['x-message-ttl as a double', {}, { 'x-message-ttl': 1.5 }, 'x-message-ttl', "received the value '1.5' of type 'double' but current is none"],
      ['x-message-ttl negative', {}, { 'x-message-ttl': -1 }, 'x-message-ttl', "received the value '-1' of type 'byte' but current is none"],
      ['x-max-length changed', { 'x-max-length': 10 }, { 'x-max-length': 20 }, 'x-max-length', "received '20' but current is '10'"],
      ['x-max-length added (int)', {}, { 'x-max-length': 100000 }, 'x-max-length', "received the value '100000' of type 'signedint' but current is none"],
      ['x-max-length added (long)', {}, { 'x-max-length': 5000000000 }, 'x-max-length', "received the value '5000000000' of type 'long' but current is none"],
      ['x-max-length-bytes changed', { 'x-max-length-bytes': 1000 }, { 'x-max-length-bytes': 2000 }, 'x-max-length-bytes', "received '2000' but current is '1000'"],
      ['x-expires changed', { 'x-expires': 100000 }, { 'x-expires': 200000 }, 'x-expires', "received '200000' but current is '100000'"],
      ['x-dead-letter-exchange added', {}, { 'x-dead-letter-exchange': 'dlx' }, 'x-dead-letter-exchange', "received the value 'dlx' of type 'longstr' but current is none"],
      ['x-dead-letter-exchange changed', { 'x-dead-letter-exchange': 'a' }, { 'x-dead-letter-exchange': 'b' }, 'x-dead-letter-exchange', "received 'b' but current is 'a'"],
      ['x-dead-letter-exchange as a number', {}, { 'x-dead-letter-exchange': 5 }, 'x-dead-letter-exchange', "received the value '5' of type 'byte' but current is none"],
      ['x-overflow changed', { 'x-overflow': 'drop-head' }, { 'x-overflow': 'reject-publish' }, 'x-overflow', "received 'reject-publish' but current is 'drop-head'"],
      ['x-max-priority changed', { 'x-max-priority': 5 }, { 'x-max-priority': 6 }, 'x-max-priority', "received '6' but current is '5'"],
      ['x-queue-mode changed', { 'x-queue-mode': 'lazy' }, { 'x-queue-mode': 'default' }, 'x-queue-mode', "received 'default' but current is 'lazy'"],
      ['x-single-active-consumer changed', { 'x-single-active-consumer': true }, { 'x-single-active-consumer': false }, 'x-single-active-consumer', "received 'false' but current is 'true'"],
      ['x-queue-master-locator added', {}, { 'x-queue-master-locator': 'min-masters' }, 'x-queue-master-locator', "received the value 'min-masters' of type 'longstr' but current is none"],
    ];
    test.each(argCases)('%s', async (_name, created, redeclared, arg, tail) => {
      const q = uniq('q-ineq-arg');
      await ch.assertQueue(q, { durable: false, arguments: created });
      expect(await channelError(conn, (c) => c.assertQueue(q, { durable: false, arguments: redeclared }))).toEqual(ineq(q, arg, tail));
      await ch.deleteQueue(q);
    });
  });

  describe('equivalent redeclaration', () => {
    const okCases: [string, Record<string, unknown>, Record<string, unknown>][] = [
      ['the same integer in another width (byte → long)', { 'x-message-ttl': 100 }, { 'x-message-ttl': { '!': 'long', value: 100 } }],
      ['the same integer in another width (short → int)', { 'x-message-ttl': 1000 }, { 'x-message-ttl': { '!': 'int', value: 1000 } }],
      ['a custom x-foo that differs', { 'x-foo': 'a' }, { 'x-foo': 'b' }],
      ['a custom x-foo that is new', {}, { 'x-foo': 'b' }],
      ['a custom x-foo that is dropped', { 'x-foo': 'a' }, {}],
      ["x-queue-type 'classic' added", {}, { 'x-queue-type': 'classic' }],
      ["x-queue-type 'classic' dropped", { 'x-queue-type': 'classic' }, {}],
    ];
    test.each(okCases)('accepts %s', async (_name, created, redeclared) => {
      const q = uniq('q-eq-arg');
      await ch.assertQueue(q, { durable: false, arguments: created });
      expect(await outcome(conn, (c) => c.assertQueue(q, { durable: false, arguments: redeclared }))).toEqual({
        ok: { queue: q, messageCount: 0, consumerCount: 0 },
      });
      await ch.deleteQueue(q);
    });
  });
});

describe("the empty queue name means the channel's last declared queue", () => {
  test("queue.bind with queue '' and key '' binds the last declared queue under its own name", async () => {
    const c = await conn.createConfirmChannel();
    const q = (await c.assertQueue('', { exclusive: true })).queue;
    await c.bindQueue('', 'amq.direct', '');
    c.publish('amq.direct', q, Buffer.from('by-name'));
    c.publish('amq.direct', '', Buffer.from('by-empty-key'));
    await c.waitForConfirms();
    expect((await drain(c, q)).map((m) => [m.body, m.routingKey])).toEqual([['by-name', q]]);
    await c.unbindQueue(q, 'amq.direct', q);
    await c.close();
  });

  test("queue.bind with queue '' and an explicit key uses that key", async () => {
    const c = await conn.createConfirmChannel();
    const q = (await c.assertQueue('', { exclusive: true })).queue;
    await c.bindQueue('', 'amq.direct', 'explicit-key');
    c.publish('amq.direct', 'explicit-key', Buffer.from('by-key'));
    c.publish('amq.direct', q, Buffer.from('by-name'));
    await c.waitForConfirms();
    expect((await drain(c, q)).map((m) => m.body)).toEqual(['by-key']);
    await c.unbindQueue(q, 'amq.direct', 'explicit-key');
    await c.close();
  });

  test("basic.get, queue.purge and queue.delete with '' act on the last declared queue", async () => {
    const c = await conn.createConfirmChannel();
    const q = (await c.assertQueue('', { exclusive: true })).queue;
    for (const body of ['m1', 'm2', 'm3', 'm4']) c.sendToQueue(q, Buffer.from(body));
    await c.waitForConfirms();
    const got = await c.get('', { noAck: true });
    expect(got && [got.content.toString(), got.fields.routingKey, got.fields.messageCount]).toEqual(['m1', q, 3]);
    expect(await c.purgeQueue('')).toEqual({ messageCount: 3 });
    c.sendToQueue(q, Buffer.from('m5'));
    await c.waitForConfirms();
    expect(await c.deleteQueue('')).toEqual({ messageCount: 1 });
    expect(await outcome(conn, (x) => x.checkQueue(q))).toEqual({ closed: closedIn('queueDeclare', 404, noQueue(q)) });
    await c.close();
  });

  test("basic.consume with '' consumes from the last declared queue", async () => {
    const c = await conn.createChannel();
    const q = (await c.assertQueue('', { exclusive: true })).queue;
    const seen: string[] = [];
    const arrived = new Promise<void>((resolve) => {
      void c.consume('', (m) => {
        if (m) seen.push(`${m.content.toString()}@${m.fields.routingKey}`);
        resolve();
      }, { noAck: true });
    });
    await sleep(20);
    expect(await ch.checkQueue(q)).toEqual({ queue: q, messageCount: 0, consumerCount: 1 });
    ch.sendToQueue(q, Buffer.from('hello'));
    await arrived;
    expect(seen).toEqual([`hello@${q}`]);
    await c.close();
  });

  test('a passive declare of a named queue makes it the last declared queue', async () => {
    const c = await conn.createConfirmChannel();
    const q1 = (await c.assertQueue('', { exclusive: true })).queue;
    const q2 = (await c.assertQueue('', { exclusive: true })).queue;
    c.sendToQueue(q1, Buffer.from('in-q1'));
    c.sendToQueue(q2, Buffer.from('in-q2'));
    await c.waitForConfirms();
    await c.checkQueue(q1);
    const got = await c.get('', { noAck: true });
    expect(got && [got.content.toString(), got.fields.routingKey]).toEqual(['in-q1', q1]);
    await c.close();
  });

  test("a passive declare of '' is not resolved to the last declared queue", async () => {
    expect(
      await channelError(conn, async (c) => {
        await c.assertQueue('', { exclusive: true });
        return c.checkQueue('');
      }),
    ).toEqual(closedIn('queueDeclare', 404, noQueue('')));
  });

  test('the last declared queue belongs to the channel that declared it', async () => {
    await ch.assertQueue('', { exclusive: true });
    expect(await channelError(conn, (c) => c.purgeQueue(''))).toEqual(closedIn('queuePurge', 404, NO_PREVIOUS));
  });

  const noneYet: [MethodName, (c: Channel) => Promise<unknown>][] = [
    ['queueBind', (c) => c.bindQueue('', 'amq.direct', 'k')],
    ['queueUnbind', (c) => c.unbindQueue('', 'amq.direct', 'k')],
    ['basicConsume', (c) => c.consume('', () => {})],
    ['queuePurge', (c) => c.purgeQueue('')],
    ['queueDelete', (c) => c.deleteQueue('')],
    ['basicGet', (c) => c.get('')],
  ];
  test.each(noneYet)("with no queue declared on the channel, '' in %s → 404 no previously declared queue", async (method, fn) => {
    expect(await channelError(conn, fn)).toEqual(closedIn(method, 404, NO_PREVIOUS));
  });
});

describe('exclusive queues', () => {
  let owner: TestConnection;
  let ownerCh: ConfirmChannel & { errors: Error[] };
  const q = uniq('q-excl');

  beforeAll(async () => {
    owner = await connect(b.url);
    ownerCh = await confirmChannel(owner);
    await ownerCh.assertQueue(q, { exclusive: true, durable: false });
    await ownerCh.bindQueue(q, 'amq.direct', 'bound');
  });
  afterAll(async () => {
    await closeQuietly(owner);
  });

  const ops: [string, MethodName, (c: Channel) => Promise<unknown>][] = [
    ['queue.declare (exclusive)', 'queueDeclare', (c) => c.assertQueue(q, { exclusive: true, durable: false })],
    ['queue.declare (not exclusive)', 'queueDeclare', (c) => c.assertQueue(q, { exclusive: false, durable: false })],
    ['queue.declare (not exclusive, durable)', 'queueDeclare', (c) => c.assertQueue(q, { exclusive: false, durable: true })],
    ['queue.declare (passive)', 'queueDeclare', (c) => c.checkQueue(q)],
    ['queue.bind', 'queueBind', (c) => c.bindQueue(q, 'amq.direct', 'k')],
    ['queue.unbind (of an existing binding)', 'queueUnbind', (c) => c.unbindQueue(q, 'amq.direct', 'bound')],
    ['basic.consume', 'basicConsume', (c) => c.consume(q, () => {})],
    ['basic.get', 'basicGet', (c) => c.get(q)],
    ['queue.purge', 'queuePurge', (c) => c.purgeQueue(q)],
    ['queue.delete', 'queueDelete', (c) => c.deleteQueue(q)],
    ['queue.delete (if-unused)', 'queueDelete', (c) => c.deleteQueue(q, { ifUnused: true })],
  ];
  test.each(ops)('%s from another connection → 405 RESOURCE_LOCKED', async (_name, method, fn) => {
    const other = await connect(b.url);
    try {
      expect(await channelError(other, fn)).toEqual(closedIn(method, 405, locked(q)));
    } finally {
      await closeQuietly(other);
    }
  });

  test('queue.unbind of a binding that does not exist from another connection answers unbind-ok', async () => {
    const other = await connect(b.url);
    try {
      expect(await outcome(other, (c) => c.unbindQueue(q, 'amq.direct', 'never-bound'))).toEqual({ ok: {} });
    } finally {
      await closeQuietly(other);
    }
  });

  test('a missing exchange is reported before the lock on queue.bind', async () => {
    const other = await connect(b.url);
    try {
      expect(await channelError(other, (c) => c.bindQueue(q, 'q-no-such-exchange', 'k'))).toEqual(
        closedIn('queueBind', 404, "NOT_FOUND - no exchange 'q-no-such-exchange' in vhost '/'"),
      );
    } finally {
      await closeQuietly(other);
    }
  });

  test('other connections may still publish to it', async () => {
    await ownerCh.bindQueue(q, 'amq.direct', 'bound-for-publish');
    const other = await connect(b.url);
    const oc = await confirmChannel(other);
    oc.sendToQueue(q, Buffer.from('from-other'));
    oc.publish('amq.direct', 'bound-for-publish', Buffer.from('via-binding'));
    await oc.waitForConfirms();
    await closeQuietly(other);
    expect((await drain(ownerCh, q)).map((m) => m.body)).toEqual(['from-other', 'via-binding']);
  });

  test('an exclusive queue is deleted when its connection closes', async () => {
    const c2 = await connect(b.url);
    const c2ch = await c2.createChannel();
    const name = uniq('q-excl-gone');
    await c2ch.assertQueue(name, { exclusive: true, durable: false });
    expect(await outcome(c2, (c) => c.checkQueue(name))).toEqual({ ok: { queue: name, messageCount: 0, consumerCount: 0 } });
    await c2.close();
    await sleep(50);
    expect(await outcome(conn, (c) => c.checkQueue(name))).toEqual({ closed: closedIn('queueDeclare', 404, noQueue(name)) });
    // and the name is free again for anyone
    expect(await outcome(conn, (c) => c.assertQueue(name, { durable: false }))).toEqual({ ok: { queue: name, messageCount: 0, consumerCount: 0 } });
    await ch.deleteQueue(name);
  });
});

describe('auto-delete queues', () => {
  const present = (q: string, messageCount: number, consumerCount: number) => ({ ok: { queue: q, messageCount, consumerCount } });
  const gone = (q: string) => ({ closed: closedIn('queueDeclare', 404, noQueue(q)) });

  test('live until the last consumer is cancelled, not before a first consumer (basic.get does not count)', async () => {
    const c = await conn.createConfirmChannel();
    const q = uniq('q-ad');
    await c.assertQueue(q, { autoDelete: true, durable: false });
    c.sendToQueue(q, Buffer.from('x'));
    await c.waitForConfirms();
    await sleep(20);
    expect(await outcome(conn, (x) => x.checkQueue(q))).toEqual(present(q, 1, 0));
    const got = await c.get(q, { noAck: false });
    expect(got && got.content.toString()).toBe('x');
    expect(await outcome(conn, (x) => x.checkQueue(q))).toEqual(present(q, 0, 0));
    if (got) c.nack(got, false, true);
    const t1 = (await c.consume(q, () => {}, { noAck: false })).consumerTag;
    const t2 = (await c.consume(q, () => {}, { noAck: false })).consumerTag;
    await c.cancel(t1);
    await sleep(20);
    expect(await outcome(conn, (x) => x.checkQueue(q))).toEqual(present(q, 0, 1));
    await c.cancel(t2);
    await sleep(50);
    expect(await outcome(conn, (x) => x.checkQueue(q))).toEqual(gone(q));
    await c.close();
  });

  test("deleted when its last consumer's channel closes", async () => {
    const c = await conn.createChannel();
    const q = uniq('q-ad-chclose');
    await c.assertQueue(q, { autoDelete: true, durable: false });
    await c.consume(q, () => {});
    await c.close();
    await sleep(50);
    expect(await outcome(conn, (x) => x.checkQueue(q))).toEqual(gone(q));
  });
});
