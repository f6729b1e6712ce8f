// Vhost limits (max-connections, max-queues) and user limits (max-connections,
// max-channels), with RabbitMQ 3.10.8's codes and texts: 530 at connection.open (class 10,
// method 40) for connection limits, a 530 connection.close with no class or method for
// the channel limit (counted over all of the user's connections), 406 at queue.declare for
// the queue limit (new queues only). 0 allows nothing; a negative value means no limit.
import type { ChannelModel } from 'amqplib';
import { describe, expect, test } from 'vitest';
import { attempt, onWarren, useAccessBroker } from '../../helpers/access.js';
import { RawClient, closeInfo, M } from '../../helpers/raw-client.js';

const t = useAccessBroker((p) => ({
  users: [
    { name: p('lim'), password: 'lim-pw' },
    { name: p('ch'), password: 'ch-pw', limits: { 'max-channels': 3 } },
    { name: p('conn'), password: 'conn-pw', limits: { 'max-connections': 2 } },
  ],
  vhosts: [{ name: p('v'), limits: { 'max-connections': 2, 'max-queues': 2 } }],
  permissions: [
    { user: p('lim'), vhost: p('v'), configure: '.*', write: '.*', read: '.*' },
    { user: p('ch'), vhost: '/', configure: '.*', write: '.*', read: '.*' },
    { user: p('conn'), vhost: '/', configure: '.*', write: '.*', read: '.*' },
    { user: p('conn'), vhost: p('v'), configure: '.*', write: '.*', read: '.*' },
  ],
}));

// RabbitMQ counts connections and channels through asynchronous tracking events.
const settle = () => new Promise((r) => setTimeout(r, onWarren ? 20 : 1500));

async function closeAll(conns: ChannelModel[]): Promise<void> {
  for (const c of conns.splice(0)) await c.close().catch(() => {});
  await settle();
}

describe('vhost limits', () => {
  test('max-connections: the third connection to the vhost is refused, from any user; room again once one closes', async () => {
    const v = t.p('v');
    const open = [await t.connect(t.p('lim'), 'lim-pw', v), await t.connect(t.p('conn'), 'conn-pw', v)];
    await settle();
    expect(await t.open(t.p('lim'), 'lim-pw', v)).toEqual({
      code: 530,
      text: `NOT_ALLOWED - access to vhost '${v}' refused for user '${t.p('lim')}': connection limit (2) is reached`,
      classId: 10,
      methodId: 40,
    });
    // Other vhosts are not affected.
    expect(await t.open(t.p('conn'), 'conn-pw', '/')).toBe('ok');
    await closeAll(open);
    expect(await t.open(t.p('lim'), 'lim-pw', v)).toBe('ok');
  });

  test('max-queues: a new queue past the limit gets 406; redeclaring an existing one is fine', async () => {
    const v = t.p('v');
    const c = await t.connect(t.p('lim'), 'lim-pw', v);
    const ch = await c.createChannel();
    await ch.assertQueue('q1', { durable: false, autoDelete: false });
    await ch.assertQueue('q2', { durable: false, autoDelete: false });
    expect(await attempt(c, (x) => x.assertQueue('q3'))).toEqual({
      code: 406,
      text: `PRECONDITION_FAILED - cannot declare queue 'q3': queue limit in vhost '${v}' (2) is reached`,
      classId: 50,
      methodId: 10,
    });
    expect(await attempt(c, (x) => x.assertQueue('q2', { durable: false, autoDelete: false }))).toBe('ok');
    // A server-named queue counts the same.
    const r = await attempt(c, (x) => x.assertQueue(''));
    expect(r).toMatchObject({ code: 406, classId: 50, methodId: 10 });
    expect((r as { text: string }).text).toMatch(new RegExp(`^PRECONDITION_FAILED - cannot declare queue 'amq\\.gen-[A-Za-z0-9_-]{22}': queue limit in vhost '${v}' \\(2\\) is reached$`));
    await ch.deleteQueue('q1');
    await ch.deleteQueue('q2');
    await ch.close();
    await closeAll([c]);
  });

  test('max-queues 0 allows no queue at all; a negative limit means none', async () => {
    const v = t.p('v');
    await t.setVhostLimit(v, 'max-queues', 0);
    const c = await t.connect(t.p('lim'), 'lim-pw', v);
    expect(await attempt(c, (x) => x.assertQueue('q0', { exclusive: true }))).toEqual({
      code: 406,
      text: `PRECONDITION_FAILED - cannot declare queue 'q0': queue limit in vhost '${v}' (0) is reached`,
      classId: 50,
      methodId: 10,
    });
    await t.setVhostLimit(v, 'max-queues', -1);
    expect(await attempt(c, (x) => x.assertQueue('q0', { exclusive: true }))).toBe('ok');
    await closeAll([c]);
  });
});

describe('user limits', () => {
  test('max-connections: counted over every vhost; 0 refuses all; -1 lifts the limit', async () => {
    const u = t.p('conn');
    const open = [await t.connect(u, 'conn-pw', '/'), await t.connect(u, 'conn-pw', t.p('v'))];
    await settle();
    expect(await t.open(u, 'conn-pw', '/')).toEqual({
      code: 530,
      text: `NOT_ALLOWED - connection refused for user '${u}': user connection limit (2) is reached`,
      classId: 10,
      methodId: 40,
    });
    await closeAll(open);
    await t.setUserLimit(u, 'max-connections', 0);
    expect(await t.open(u, 'conn-pw', '/')).toEqual({
      code: 530,
      text: `NOT_ALLOWED - connection refused for user '${u}': user connection limit (0) is reached`,
      classId: 10,
      methodId: 40,
    });
    await t.setUserLimit(u, 'max-connections', -1);
    expect(await t.open(u, 'conn-pw', '/')).toBe('ok');
  });

  test('max-channels: counted over all of the user\'s connections; the one past it closes its connection with 530', async () => {
    const u = t.p('ch');
    const first = await t.connect(u, 'ch-pw');
    await first.createChannel();
    await first.createChannel();
    await settle();
    const url = new URL(t.url(u, 'ch-pw'));
    const c = await RawClient.open(Number(url.port), { user: u, password: 'ch-pw' }, url.hostname);
    await c.openChannel(1);
    await settle();
    c.sendMethod(2, { id: M.ChannelOpen, outOfBand: '' });
    const m = await c.nextMethod();
    expect(m.id).toBe(M.ConnectionClose);
    expect(closeInfo(m)).toEqual({
      replyCode: 530,
      replyText: `NOT_ALLOWED - number of channels opened for user '${u}' has reached the maximum allowed user limit of (3)`,
      classId: 0,
      methodId: 0,
    });
    await c.close();
    await closeAll([first]);
    // Everything closed: the user may open channels again.
    const again = await t.connect(u, 'ch-pw');
    for (let i = 0; i < 3; i++) await again.createChannel();
    await closeAll([again]);
  });
});
