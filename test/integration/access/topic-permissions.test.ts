// Topic permissions: per user, vhost and topic exchange, write and read patterns on routing
// keys, with {username} and {vhost} expanded. As observed on RabbitMQ 3.10.8: they apply
// to topic exchanges only; publish checks write on the routing key, queue.bind/unbind and
// exchange.bind/unbind check read on the binding key of the source exchange; an exchange
// without topic permissions allows every key; an empty pattern allows only the empty key;
// and AMQP 0-9-1 has no client id, so `{client_id}` stays as written.
import type { ChannelModel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { attempt, useAccessBroker } from '../../helpers/access.js';

const t = useAccessBroker((p) => ({
  users: [{ name: p('tom'), password: 'tom-pw' }],
  permissions: [{ user: p('tom'), vhost: '/', configure: `^${p('')}`, write: `^(${p('')}|amq\\.)`, read: `^(${p('')}|amq\\.)` }],
  topic_permissions: [
    { user: p('tom'), vhost: '/', exchange: 'amq.topic', write: '^t\\.{username}\\.', read: '^r\\.{vhost}|^c\\.{client_id}' },
    { user: p('tom'), vhost: '/', exchange: p('direct'), write: '^t\\.', read: '^r\\.' },
    { user: p('tom'), vhost: '/', exchange: 'amq.default', write: '^t\\.', read: '^r\\.' },
    { user: p('tom'), vhost: '/', exchange: p('empty'), write: '', read: '' },
  ],
}));

let admin: ChannelModel;
let tom: ChannelModel;
let n: (s: string) => string;
let T: string;
const topicRefused = (key: string, exchange: string, classId: number, methodId: number) => ({
  code: 403,
  text: `ACCESS_REFUSED - access to topic '${key}' in exchange '${exchange}' in vhost '/' refused for user '${T}'`,
  classId,
  methodId,
});

beforeAll(async () => {
  n = t.p;
  T = n('tom');
  admin = await t.connect('guest', 'guest');
  tom = await t.connect(T, 'tom-pw');
  const ch = await admin.createChannel();
  await ch.assertExchange(n('direct'), 'direct', { autoDelete: false });
  await ch.assertExchange(n('empty'), 'topic', { autoDelete: false });
  await ch.assertQueue(n('q'));
  await ch.close();
});

afterAll(async () => {
  const ch = await admin.createChannel();
  await ch.deleteExchange(n('direct'));
  await ch.deleteExchange(n('empty'));
  await ch.deleteQueue(n('q'));
  await ch.close();
});

describe('publish checks write on the routing key, for topic exchanges only', () => {
  test('{username} is expanded in the write pattern', async () => {
    expect(await attempt(tom, async (ch) => ch.publish('amq.topic', `t.${T}.x`, Buffer.from('m')))).toBe('ok');
    expect(await attempt(tom, async (ch) => ch.publish('amq.topic', 't.other.x', Buffer.from('m')))).toEqual(topicRefused('t.other.x', 'amq.topic', 60, 40));
  });

  test('topic permissions on a direct exchange, or on the default exchange, are not checked', async () => {
    expect(await attempt(tom, async (ch) => ch.publish(n('direct'), 'other', Buffer.from('m')))).toBe('ok');
    expect(await attempt(tom, async (ch) => ch.publish('', 'other', Buffer.from('m')))).toBe('ok');
  });

  test('an empty pattern allows only the empty routing key; an exchange without topic permissions allows any', async () => {
    expect(await attempt(tom, async (ch) => ch.publish(n('empty'), '', Buffer.from('m')))).toBe('ok');
    expect(await attempt(tom, async (ch) => ch.publish(n('empty'), 'a', Buffer.from('m')))).toEqual(topicRefused('a', n('empty'), 60, 40));
    expect(await attempt(tom, async (ch) => ch.publish('amq.match', 'anything', Buffer.from('m')))).toBe('ok');
  });

  test('many publishes with allowed keys are all routed', async () => {
    const ach = await admin.createChannel();
    await ach.bindQueue(n('q'), 'amq.topic', `t.${T}.*`);
    const ch = await tom.createConfirmChannel();
    for (let i = 0; i < 30; i++) ch.publish('amq.topic', `t.${T}.${i % 3}`, Buffer.from(String(i)));
    await ch.waitForConfirms();
    expect((await ach.checkQueue(n('q'))).messageCount).toBe(30);
    await ach.purgeQueue(n('q'));
    await ach.unbindQueue(n('q'), 'amq.topic', `t.${T}.*`);
    await ach.close();
    await ch.close();
  });
});

describe('bindings check read on the binding key of the source exchange', () => {
  test('queue.bind: {vhost} is expanded; {client_id} is not (AMQP 0-9-1 has none)', async () => {
    expect(await attempt(tom, (ch) => ch.bindQueue(n('q'), 'amq.topic', 'r./'))).toBe('ok');
    expect(await attempt(tom, (ch) => ch.bindQueue(n('q'), 'amq.topic', 'r.x'))).toEqual(topicRefused('r.x', 'amq.topic', 50, 20));
    expect(await attempt(tom, (ch) => ch.bindQueue(n('q'), 'amq.topic', 'c.cid'))).toEqual(topicRefused('c.cid', 'amq.topic', 50, 20));
    expect(await attempt(tom, (ch) => ch.bindQueue(n('q'), 'amq.topic', 'c.{client_id}'))).toBe('ok');
  });

  test('queue.unbind', async () => {
    expect(await attempt(tom, (ch) => ch.unbindQueue(n('q'), 'amq.topic', 'r.x'))).toEqual(topicRefused('r.x', 'amq.topic', 50, 50));
    expect(await attempt(tom, (ch) => ch.unbindQueue(n('q'), 'amq.topic', 'r./'))).toBe('ok');
  });

  test('exchange.bind: the source exchange decides', async () => {
    expect(await attempt(tom, (ch) => ch.bindExchange(n('empty'), 'amq.topic', 'r.x'))).toEqual(topicRefused('r.x', 'amq.topic', 40, 30));
    expect(await attempt(tom, (ch) => ch.bindExchange('amq.topic', n('empty'), 'r.x'))).toEqual(topicRefused('r.x', n('empty'), 40, 30));
    expect(await attempt(tom, (ch) => ch.bindExchange('amq.topic', n('empty'), ''))).toBe('ok');
    expect(await attempt(tom, (ch) => ch.unbindExchange('amq.topic', n('empty'), ''))).toBe('ok');
  });
});
