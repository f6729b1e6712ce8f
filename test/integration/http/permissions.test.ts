// /api/permissions and /api/topic-permissions over HTTP, with RabbitMQ 3.10.8's status codes
// and bodies (observed on the shared RabbitMQ; parity.test.ts replays them live), and what
// a change does to an AMQP client of the user at once.
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { amqpOpen, startWithApi, type ApiBroker } from '../../helpers/http.js';

let b: ApiBroker;

beforeAll(async () => {
  b = await startWithApi({ vhosts: ['/', 'pv'] });
  await b.api('PUT', '/api/users/alice', { password: 'pa', tags: 'management' });
  await b.api('PUT', '/api/users/bob', { password: 'pb', tags: '' });
});

afterAll(async () => {
  await b?.close();
});

const reply = async (method: string, path: string, body?: unknown) => {
  const r = await b.api(method, path, body);
  return r.text === '' ? { status: r.status } : { status: r.status, body: r.body };
};
const bad = (reason: unknown) => ({ status: 400, body: { error: 'bad_request', reason } });
const NOT_FOUND = { status: 404, body: { error: 'Object Not Found', reason: 'Not Found' } };

describe('/api/permissions', () => {
  test('PUT 201 then 204, GET, the lists by user, by vhost and in all, DELETE 204 then 404', async () => {
    expect(await reply('GET', '/api/permissions/pv/alice')).toEqual(NOT_FOUND);
    expect(await reply('PUT', '/api/permissions/pv/alice', { configure: '^a', write: '.*', read: '' })).toEqual({ status: 201 });
    expect(await reply('PUT', '/api/permissions/pv/alice', { configure: '^alice', write: '.*', read: '' })).toEqual({ status: 204 });
    const perm = { user: 'alice', vhost: 'pv', configure: '^alice', write: '.*', read: '' };
    expect(await reply('GET', '/api/permissions/pv/alice')).toEqual({ status: 200, body: perm });
    expect(await reply('GET', '/api/users/alice/permissions')).toEqual({ status: 200, body: [perm] });
    // A vhost's list names the vhost first, sorted by user: guest was given pv by the broker's config.
    expect(await reply('GET', '/api/vhosts/pv/permissions')).toEqual({
      status: 200,
      body: [
        { vhost: 'pv', user: 'alice', configure: '^alice', write: '.*', read: '' },
        { vhost: 'pv', user: 'guest', configure: '.*', write: '.*', read: '.*' },
      ],
    });
    const all = (await b.api('GET', '/api/permissions')).body as { vhost: string; user: string }[];
    expect(all.map((p) => `${p.vhost} ${p.user}`)).toEqual(['/ guest', 'pv alice', 'pv guest']);
    expect(await reply('DELETE', '/api/permissions/pv/alice')).toEqual({ status: 204 });
    expect(await reply('DELETE', '/api/permissions/pv/alice')).toEqual(NOT_FOUND);
  });

  test("RabbitMQ's refusals: a missing key, a missing user or vhost, a bad pattern", async () => {
    expect(await reply('PUT', '/api/permissions/pv/alice', { configure: '^a', write: '.*' })).toEqual(bad('[{key_missing,read}]'));
    expect(await reply('PUT', '/api/permissions/pv/alice', {})).toEqual(bad('[{key_missing,configure},{key_missing,write},{key_missing,read}]'));
    expect(await reply('PUT', '/api/permissions/pv/nobody', { configure: '', write: '', read: '' })).toEqual(bad('vhost_or_user_not_found'));
    expect(await reply('PUT', '/api/permissions/nowhere/alice', { configure: '', write: '', read: '' })).toEqual(bad('vhost_or_user_not_found'));
    // RabbitMQ names PCRE's error here; Warren names JavaScript's.
    expect(await reply('PUT', '/api/permissions/pv/alice', { configure: '(', write: '', read: '' })).toEqual(bad(['invalid_regexp', '(', 'Unterminated group']));
    for (const path of ['/api/permissions/nowhere/alice', '/api/permissions/pv/nobody', '/api/users/nobody/permissions', '/api/vhosts/nowhere/permissions']) {
      expect(await reply('GET', path)).toEqual(NOT_FOUND);
    }
  });

  test('a change applies to a connected client at once: access given, then taken away', async () => {
    expect(await amqpOpen(b.url, 'bob', 'pb', 'pv')).toEqual({ code: 530, text: "NOT_ALLOWED - access to vhost 'pv' refused for user 'bob'" });
    await b.api('PUT', '/api/permissions/pv/bob', { configure: '^bob\\.', write: '^bob\\.', read: '^bob\\.' });
    const c = await amqp.connect(b.url.replace('guest:guest', 'bob:pb') + '/pv');
    c.on('error', () => {});
    const ch = await c.createChannel();
    await ch.assertQueue('bob.q');
    const refused = new Promise<Error>((resolve) => ch.once('error', resolve));
    await expect(ch.assertQueue('other.q')).rejects.toThrow();
    expect((await refused).message).toContain("ACCESS_REFUSED - access to queue 'other.q' in vhost 'pv' refused for user 'bob'");
    const ch2 = await c.createChannel();
    await b.api('PUT', '/api/permissions/pv/bob', { configure: '', write: '^bob\\.', read: '^bob\\.' });
    const refused2 = new Promise<Error>((resolve) => ch2.once('error', resolve));
    await expect(ch2.deleteQueue('bob.q')).rejects.toThrow();
    expect((await refused2).message).toContain("ACCESS_REFUSED - access to queue 'bob.q' in vhost 'pv' refused for user 'bob'");
    await c.close();
  });
});

describe('/api/topic-permissions', () => {
  test('PUT 201 for the first exchange, 204 after; GET lists them all; DELETE one exchange, then all', async () => {
    expect(await reply('GET', '/api/topic-permissions/pv/alice')).toEqual(NOT_FOUND);
    expect(await reply('PUT', '/api/topic-permissions/pv/alice', { exchange: 'amq.topic', write: '^a', read: '.*' })).toEqual({ status: 201 });
    expect(await reply('PUT', '/api/topic-permissions/pv/alice', { exchange: 'amq.topic', write: '^a', read: '.*' })).toEqual({ status: 204 });
    expect(await reply('PUT', '/api/topic-permissions/pv/alice', { exchange: 'x2', write: '^b', read: '' })).toEqual({ status: 204 });
    const both = [
      { user: 'alice', vhost: 'pv', exchange: 'amq.topic', write: '^a', read: '.*' },
      { user: 'alice', vhost: 'pv', exchange: 'x2', write: '^b', read: '' },
    ];
    expect(await reply('GET', '/api/topic-permissions/pv/alice')).toEqual({ status: 200, body: both });
    // An exchange in the path changes nothing in a GET, as in RabbitMQ.
    expect(await reply('GET', '/api/topic-permissions/pv/alice/x2')).toEqual({ status: 200, body: both });
    expect(await reply('GET', '/api/users/alice/topic-permissions')).toEqual({ status: 200, body: both });
    expect(await reply('GET', '/api/topic-permissions')).toEqual({ status: 200, body: both });
    expect(await reply('GET', '/api/vhosts/pv/topic-permissions')).toEqual({
      status: 200,
      body: both.map(({ user, vhost, ...rest }) => ({ vhost, user, ...rest })),
    });
    expect(await reply('DELETE', '/api/topic-permissions/pv/alice/x2')).toEqual({ status: 204 });
    expect(await reply('DELETE', '/api/topic-permissions/pv/alice/x9')).toEqual({ status: 204 });
    expect(await reply('GET', '/api/topic-permissions/pv/alice')).toEqual({ status: 200, body: [both[0]] });
    expect(await reply('DELETE', '/api/topic-permissions/pv/alice')).toEqual({ status: 204 });
    expect(await reply('DELETE', '/api/topic-permissions/pv/alice')).toEqual(NOT_FOUND);
    expect(await reply('DELETE', '/api/topic-permissions/pv/alice/x2')).toEqual(NOT_FOUND);
  });

  test("RabbitMQ's refusals", async () => {
    expect(await reply('PUT', '/api/topic-permissions/pv/alice', { write: '^b', read: '' })).toEqual(bad('[{key_missing,exchange}]'));
    expect(await reply('PUT', '/api/topic-permissions/pv/nobody', { exchange: 'x', write: '', read: '' })).toEqual(bad('vhost_or_user_not_found'));
    expect(await reply('PUT', '/api/topic-permissions/pv/alice', { exchange: 'x', write: '(', read: '' })).toEqual(bad(['invalid_regexp', '(', 'Unterminated group']));
    expect(await reply('GET', '/api/vhosts/nowhere/topic-permissions')).toEqual(NOT_FOUND);
    expect(await reply('GET', '/api/users/nobody/topic-permissions')).toEqual(NOT_FOUND);
  });

  test('a topic permission set over HTTP is checked on the next publish to the topic exchange', async () => {
    await b.api('PUT', '/api/permissions/pv/bob', { configure: '.*', write: '.*', read: '.*' });
    await b.api('PUT', '/api/topic-permissions/pv/bob', { exchange: 'amq.topic', write: '^bob\\.', read: '.*' });
    const c = await amqp.connect(b.url.replace('guest:guest', 'bob:pb') + '/pv');
    c.on('error', () => {});
    const ch = await c.createConfirmChannel();
    ch.publish('amq.topic', 'bob.ok', Buffer.from('1'));
    await ch.waitForConfirms();
    const refused = new Promise<Error>((resolve) => ch.once('error', resolve));
    ch.publish('amq.topic', 'eve.no', Buffer.from('2'));
    expect((await refused).message).toContain("ACCESS_REFUSED - access to topic 'eve.no' in exchange 'amq.topic' in vhost 'pv' refused for user 'bob'");
    await c.close();
  });
});
