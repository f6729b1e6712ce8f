// Permissions (configure, write, read regular expressions per user and vhost), enforced
// on every AMQP operation as RabbitMQ's rabbit_channel checks them, with RabbitMQ's codes,
// texts and class/method ids. Every expectation here was observed on RabbitMQ 3.10.8; run
// with WARREN_REFERENCE_URL and RABBITMQ_MGMT_URL to check them against a RabbitMQ again.
//
// Object names say what the user may do with them: `cr.q` may be configured and read,
// `w.x` written to, and so on (the permissions below match the letters before the dot).
import type { ChannelModel } from 'amqplib';
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { attempt, onWarren, serverClose, useAccessBroker } from '../../helpers/access.js';

const perms = (pre: string) => ({
  configure: `^${pre}[rw]*c[rw]*\\.`,
  write: `^${pre}[cr]*w[cr]*\\.`,
  read: `^${pre}[cw]*r[cw]*\\.`,
});

const t = useAccessBroker((p) => ({
  users: [
    { name: p('alice'), password: 'alice-pw' },
    { name: p('imp'), password: 'imp-pw', tags: ['impersonator'] },
    { name: p('nobody'), password: 'nobody-pw' },
  ],
  permissions: [
    { user: p('alice'), vhost: '/', ...perms(p('')) },
    { user: p('imp'), vhost: '/', configure: '.*', write: '.*', read: '.*' },
  ],
}));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let admin: ChannelModel;
let alice: ChannelModel;
let n: (s: string) => string;
let A: string;
const refused = (kind: string, name: string, classId: number, methodId: number) => ({
  code: 403,
  text: `ACCESS_REFUSED - access to ${kind} '${name}' in vhost '/' refused for user '${A}'`,
  classId,
  methodId,
});

beforeAll(async () => {
  n = t.p;
  A = n('alice');
  admin = await t.connect('guest', 'guest');
  alice = await t.connect(A, 'alice-pw');
  const ch = await admin.createChannel();
  for (const x of ['r.x', 'w.x', 'cw.x', 'rw.x']) await ch.assertExchange(n(x), 'direct', { autoDelete: false });
  for (const q of ['r.q', 'w.q', 'rw.q', 'c.q', 'cr.q']) await ch.assertQueue(n(q));
  await ch.close();
});

afterAll(async () => {
  const ch = await admin.createChannel();
  for (const x of ['r.x', 'w.x', 'cw.x', 'rw.x', 'cr.ae', 'crw.x']) await ch.deleteExchange(n(x));
  for (const q of ['r.q', 'w.q', 'rw.q', 'c.q', 'cr.q', 'cr.dlx', 'cr.dlx-nx', 'cr.q2']) await ch.deleteQueue(n(q));
  await ch.close();
});

describe('declare and delete need configure; passive declares need nothing', () => {
  test('queue.declare without configure: 403 on the queue (queue.declare 50/10)', async () => {
    expect(await attempt(alice, (ch) => ch.assertQueue(n('r.new')))).toEqual(refused('queue', n('r.new'), 50, 10));
  });

  test('queue.declare with configure creates the queue; so does an exclusive one', async () => {
    expect(await attempt(alice, (ch) => ch.assertQueue(n('c.new'), { exclusive: true }))).toBe('ok');
    expect(await attempt(alice, (ch) => ch.assertQueue(n('cr.q2'), { durable: false }))).toBe('ok');
  });

  test('a server-named queue is checked under its amq.gen-... name', async () => {
    const r = await attempt(alice, (ch) => ch.assertQueue(''));
    expect(r).toMatchObject({ code: 403, classId: 50, methodId: 10 });
    expect((r as { text: string }).text).toMatch(new RegExp(`^ACCESS_REFUSED - access to queue 'amq\\.gen-[A-Za-z0-9_-]{22}' in vhost '/' refused for user '${A}'$`));
  });

  test('the amq. prefix is refused before permissions for queues, after them for exchanges', async () => {
    expect(await attempt(alice, (ch) => ch.assertQueue('amq.nope'))).toEqual({
      code: 403,
      text: "ACCESS_REFUSED - queue name 'amq.nope' contains reserved prefix 'amq.*'",
      classId: 50,
      methodId: 10,
    });
    expect(await attempt(alice, (ch) => ch.assertExchange('amq.nope', 'direct'))).toEqual(refused('exchange', 'amq.nope', 40, 10));
    const imp = await t.connect(n('imp'), 'imp-pw');
    expect(await attempt(imp, (ch) => ch.assertExchange('amq.nope', 'direct'))).toEqual({
      code: 403,
      text: "ACCESS_REFUSED - exchange name 'amq.nope' contains reserved prefix 'amq.*'",
      classId: 40,
      methodId: 10,
    });
  });

  test('passive declares of queues and exchanges need no permission at all', async () => {
    expect(await attempt(alice, (ch) => ch.checkQueue(n('w.q')))).toBe('ok');
    expect(await attempt(alice, (ch) => ch.checkExchange(n('r.x')))).toBe('ok');
    expect(await attempt(alice, (ch) => ch.checkQueue(n('none.q')))).toEqual({
      code: 404,
      text: `NOT_FOUND - no queue '${n('none.q')}' in vhost '/'`,
      classId: 50,
      methodId: 10,
    });
  });

  test('exchange.declare without configure: 403; redeclaring an existing one still needs it', async () => {
    expect(await attempt(alice, (ch) => ch.assertExchange(n('w.new'), 'direct'))).toEqual(refused('exchange', n('w.new'), 40, 10));
    expect(await attempt(alice, (ch) => ch.assertExchange(n('r.x'), 'direct', { autoDelete: false }))).toEqual(refused('exchange', n('r.x'), 40, 10));
  });

  test('an unknown exchange type is a 503 connection error before any permission check', async () => {
    const c = await amqp.connect(t.url(A, 'alice-pw'));
    c.on('error', () => {});
    const closed = new Promise<Error>((r) => c.once('close', r));
    const ch = await c.createChannel();
    ch.on('error', () => {});
    await ch.assertExchange(n('r.bad'), 'nosuchtype').catch(() => {});
    // amqplib does not report a connection.close's class and method.
    expect(serverClose(await closed)).toMatchObject({ code: 503, text: "COMMAND_INVALID - unknown exchange type 'nosuchtype'" });
  });

  test('exchange.delete: system exchanges first, then configure, even for a missing exchange', async () => {
    expect(await attempt(alice, (ch) => ch.deleteExchange('amq.direct'))).toEqual({
      code: 403,
      text: "ACCESS_REFUSED - deletion of system exchange 'amq.direct' in vhost '/' not allowed",
      classId: 40,
      methodId: 20,
    });
    expect(await attempt(alice, (ch) => ch.deleteExchange(n('w.missing')))).toEqual(refused('exchange', n('w.missing'), 40, 20));
    expect(await attempt(alice, (ch) => ch.deleteExchange(n('c.missing')))).toBe('ok');
  });

  test('queue.delete needs configure, even for a missing queue', async () => {
    expect(await attempt(alice, (ch) => ch.deleteQueue(n('r.q')))).toEqual(refused('queue', n('r.q'), 50, 40));
    expect(await attempt(alice, (ch) => ch.deleteQueue(n('w.missing')))).toEqual(refused('queue', n('w.missing'), 50, 40));
    expect(await attempt(alice, (ch) => ch.deleteQueue(n('c.missing')))).toBe('ok');
  });
});

describe('publish needs write on the exchange (the default exchange is amq.default)', () => {
  test('to the default exchange', async () => {
    expect(await attempt(alice, async (ch) => ch.publish('', n('w.q'), Buffer.from('x')))).toEqual(refused('exchange', 'amq.default', 60, 40));
  });

  test('to an exchange without write, and to a missing one: 403 comes before 404', async () => {
    expect(await attempt(alice, async (ch) => ch.publish(n('r.x'), 'k', Buffer.from('x')))).toEqual(refused('exchange', n('r.x'), 60, 40));
    expect(await attempt(alice, async (ch) => ch.publish(n('r.missing'), 'k', Buffer.from('x')))).toEqual(refused('exchange', n('r.missing'), 60, 40));
    expect(await attempt(alice, async (ch) => ch.publish(n('w.missing'), 'k', Buffer.from('x')))).toEqual({
      code: 404,
      text: `NOT_FOUND - no exchange '${n('w.missing')}' in vhost '/'`,
      classId: 60,
      methodId: 40,
    });
    expect(await attempt(alice, async (ch) => ch.publish('amq.direct', 'k', Buffer.from('x')))).toEqual(refused('exchange', 'amq.direct', 60, 40));
  });

  test('a permitted publish is routed; many publishes to the same exchange stay allowed', async () => {
    const ach = await admin.createChannel();
    await ach.bindQueue(n('rw.q'), n('w.x'), 'k');
    const ch = await alice.createConfirmChannel();
    for (let i = 0; i < 50; i++) ch.publish(n('w.x'), 'k', Buffer.from(String(i)));
    await ch.waitForConfirms();
    expect((await ach.checkQueue(n('rw.q'))).messageCount).toBe(50);
    await ach.purgeQueue(n('rw.q'));
    await ach.unbindQueue(n('rw.q'), n('w.x'), 'k');
    await ach.close();
    await ch.close();
  });

  test('user_id must be the user, unless the user is tagged impersonator', async () => {
    expect(await attempt(alice, async (ch) => ch.publish(n('w.x'), 'k', Buffer.from('x'), { userId: 'guest' }))).toEqual({
      code: 406,
      text: `PRECONDITION_FAILED - user_id property set to 'guest' but authenticated user was '${A}'`,
      classId: 60,
      methodId: 40,
    });
    expect(await attempt(alice, async (ch) => ch.publish(n('w.x'), 'k', Buffer.from('x'), { userId: A }))).toBe('ok');
    const imp = await t.connect(n('imp'), 'imp-pw');
    expect(await attempt(imp, async (ch) => ch.publish(n('w.x'), 'k', Buffer.from('x'), { userId: 'guest' }))).toBe('ok');
  });
});

describe('get, consume and purge need read on the queue', () => {
  test('basic.get', async () => {
    expect(await attempt(alice, (ch) => ch.get(n('w.q')))).toEqual(refused('queue', n('w.q'), 60, 70));
    expect(await attempt(alice, (ch) => ch.get(n('r.q')))).toBe('ok');
    expect(await attempt(alice, (ch) => ch.get(n('r.missing')))).toEqual({
      code: 404,
      text: `NOT_FOUND - no queue '${n('r.missing')}' in vhost '/'`,
      classId: 60,
      methodId: 70,
    });
  });

  test('basic.consume', async () => {
    expect(await attempt(alice, (ch) => ch.consume(n('w.q'), () => {}))).toEqual(refused('queue', n('w.q'), 60, 20));
    expect(await attempt(alice, (ch) => ch.consume(n('r.q'), () => {}))).toBe('ok');
  });

  test('queue.purge', async () => {
    expect(await attempt(alice, (ch) => ch.purgeQueue(n('w.q')))).toEqual(refused('queue', n('w.q'), 50, 30));
    expect(await attempt(alice, (ch) => ch.purgeQueue(n('r.q')))).toBe('ok');
  });
});

describe('bindings need write on the destination and read on the source', () => {
  test('queue.bind: write on the queue first, then the default exchange, then read on the exchange', async () => {
    expect(await attempt(alice, (ch) => ch.bindQueue(n('w.q'), n('r.x'), 'k'))).toBe('ok');
    expect(await attempt(alice, (ch) => ch.bindQueue(n('r.q'), n('r.x'), 'k'))).toEqual(refused('queue', n('r.q'), 50, 20));
    expect(await attempt(alice, (ch) => ch.bindQueue(n('w.q'), n('w.x'), 'k'))).toEqual(refused('exchange', n('w.x'), 50, 20));
    expect(await attempt(alice, (ch) => ch.bindQueue(n('w.q'), '', 'k'))).toEqual({
      code: 403,
      text: 'ACCESS_REFUSED - operation not permitted on the default exchange',
      classId: 50,
      methodId: 20,
    });
    expect(await attempt(alice, (ch) => ch.bindQueue(n('r.q'), '', 'k'))).toEqual(refused('queue', n('r.q'), 50, 20));
    expect(await attempt(alice, (ch) => ch.bindQueue(n('w.q'), n('r.missing'), 'k'))).toEqual({
      code: 404,
      text: `NOT_FOUND - no exchange '${n('r.missing')}' in vhost '/'`,
      classId: 50,
      methodId: 20,
    });
    expect(await attempt(alice, (ch) => ch.bindQueue(n('w.missing'), n('r.x'), 'k'))).toEqual({
      code: 404,
      text: `NOT_FOUND - no queue '${n('w.missing')}' in vhost '/'`,
      classId: 50,
      methodId: 20,
    });
  });

  test('queue.unbind: the same checks', async () => {
    expect(await attempt(alice, (ch) => ch.unbindQueue(n('w.q'), n('r.x'), 'k'))).toBe('ok');
    expect(await attempt(alice, (ch) => ch.unbindQueue(n('r.q'), n('r.x'), 'k'))).toEqual(refused('queue', n('r.q'), 50, 50));
    expect(await attempt(alice, (ch) => ch.unbindQueue(n('w.q'), n('w.x'), 'k'))).toEqual(refused('exchange', n('w.x'), 50, 50));
  });

  test('exchange.bind and unbind: write on the destination, read on the source', async () => {
    expect(await attempt(alice, (ch) => ch.bindExchange(n('w.x'), n('r.x'), 'k'))).toBe('ok');
    expect(await attempt(alice, (ch) => ch.bindExchange(n('r.x'), n('w.x'), 'k'))).toEqual(refused('exchange', n('r.x'), 40, 30));
    expect(await attempt(alice, (ch) => ch.bindExchange(n('w.x'), n('w.x'), 'k'))).toEqual(refused('exchange', n('w.x'), 40, 30));
    expect(await attempt(alice, (ch) => ch.unbindExchange(n('r.x'), n('w.x'), 'k'))).toEqual(refused('exchange', n('r.x'), 40, 40));
    expect(await attempt(alice, (ch) => ch.unbindExchange(n('w.x'), n('r.x'), 'k'))).toBe('ok');
  });
});

describe('dead-letter and alternate exchanges of a new queue or exchange', () => {
  test('a queue with x-dead-letter-exchange needs read on itself and write on the exchange', async () => {
    expect(await attempt(alice, (ch) => ch.assertQueue(n('cr.dlx'), { deadLetterExchange: n('w.x') }))).toBe('ok');
    expect(await attempt(alice, (ch) => ch.assertQueue(n('cr.dlx2'), { deadLetterExchange: n('r.x') }))).toEqual(refused('exchange', n('r.x'), 50, 10));
    expect(await attempt(alice, (ch) => ch.assertQueue(n('c.dlx'), { deadLetterExchange: n('w.x') }))).toEqual(refused('queue', n('c.dlx'), 50, 10));
    expect(await attempt(alice, (ch) => ch.assertQueue(n('cr.dlx3'), { deadLetterExchange: '' }))).toEqual(refused('exchange', 'amq.default', 50, 10));
    // A missing dead-letter exchange is fine, as long as it could be written to.
    expect(await attempt(alice, (ch) => ch.assertQueue(n('cr.dlx-nx'), { deadLetterExchange: n('w.nx') }))).toBe('ok');
    // Redeclaring the existing queue checks nothing more than configure.
    expect(await attempt(alice, (ch) => ch.assertQueue(n('cr.dlx'), { deadLetterExchange: n('w.x') }))).toBe('ok');
  });

  test('an exchange with alternate-exchange needs read on itself and write on the alternate', async () => {
    expect(await attempt(alice, (ch) => ch.assertExchange(n('cr.ae'), 'direct', { alternateExchange: n('w.x'), autoDelete: false }))).toBe('ok');
    expect(await attempt(alice, (ch) => ch.assertExchange(n('c.ae'), 'direct', { alternateExchange: n('w.x') }))).toEqual(refused('exchange', n('c.ae'), 40, 10));
    expect(await attempt(alice, (ch) => ch.assertExchange(n('cr.ae2'), 'direct', { alternateExchange: n('r.x') }))).toEqual(refused('exchange', n('r.x'), 40, 10));
  });
});

describe('connection.open and login', () => {
  test('a user without permissions in the vhost: 530 at connection.open (10/40); a missing vhost: not found', async () => {
    expect(await t.open(n('nobody'), 'nobody-pw')).toEqual({
      code: 530,
      text: `NOT_ALLOWED - access to vhost '/' refused for user '${n('nobody')}'`,
      classId: 10,
      methodId: 40,
    });
    expect(await t.open(A, 'alice-pw', n('nowhere'))).toEqual({
      code: 530,
      text: `NOT_ALLOWED - vhost ${n('nowhere')} not found`,
      classId: 10,
      methodId: 40,
    });
    expect(await t.open(A, 'alice-pw')).toBe('ok');
  });

  test('a wrong password, an unknown user and a blank password are refused with 403 (authentication_failure_close)', async () => {
    for (const [user, pw] of [
      [A, 'wrong'],
      [n('ghost'), 'x'],
    ]) {
      const err = await amqp.connect(t.url(user!, pw!)).then(
        () => null,
        (e: Error) => e,
      );
      expect(err?.message).toBe(
        'Handshake terminated by server: 403 (ACCESS-REFUSED) with message "ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN. For details see the broker logfile."',
      );
    }
  });
});

describe('changes apply at once to open channels', () => {
  test('clearing permissions refuses the next publish on a channel that was allowed a moment ago', async () => {
    const ch = await alice.createChannel();
    let closed: unknown = null;
    ch.on('error', (e: unknown) => (closed = e));
    ch.publish(n('w.x'), 'k', Buffer.from('1'));
    await ch.checkExchange('amq.direct');
    await t.clearPermissions(A, '/');
    // RabbitMQ caches per channel until the channel is idle; Warren drops the cache at once.
    if (!onWarren) await sleep(0);
    ch.publish(n('w.x'), 'k', Buffer.from('2'));
    await ch.checkExchange('amq.direct').catch(() => {});
    await t.setPermissions({ user: A, vhost: '/', ...perms(n('')) });
    if (onWarren) expect(serverClose(closed)).toEqual(refused('exchange', n('w.x'), 60, 40));
  });
});
