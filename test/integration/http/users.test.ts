// /api/users, /api/users/bulk-delete, /api/users/without-permissions and /api/user-limits
// over HTTP, with the status codes and bodies RabbitMQ 3.10.8 gave for the same requests
// (observed on the shared RabbitMQ; parity.test.ts replays them against it live), and what
// each change does to AMQP logins.
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { checkPassword } from '../../../server/access/password.js';
import { amqpOpen, startWithApi, type ApiBroker } from '../../helpers/http.js';

let b: ApiBroker;

beforeAll(async () => {
  b = await startWithApi({ vhosts: ['/', 'uv'] });
});

afterAll(async () => {
  await b?.close();
});

const amqpUrl = (user: string, password: string, vhost = 'uv') => b.url.replace('guest:guest', `${user}:${password}`) + `/${vhost}`;
const reply = async (method: string, path: string, body?: unknown, opts?: Parameters<ApiBroker['api']>[3]) => {
  const r = await b.api(method, path, body, opts);
  return r.text === '' ? { status: r.status } : { status: r.status, body: r.body };
};
const bad = (reason: unknown) => ({ status: 400, body: { error: 'bad_request', reason } });
const NOT_FOUND = { status: 404, body: { error: 'Object Not Found', reason: 'Not Found' } };
const SHA256 = 'rabbit_password_hashing_sha256';

describe('PUT /api/users/{name}', () => {
  test('201 when created, 204 when updated; tags as a comma-separated string or a list, trimmed', async () => {
    expect(await reply('PUT', '/api/users/u-a', { password: 'pa', tags: 'management,policymaker' })).toEqual({ status: 201 });
    expect(await reply('PUT', '/api/users/u-a', { password: 'pa', tags: 'management, policymaker' })).toEqual({ status: 204 });
    const u = (await b.api('GET', '/api/users/u-a')).body;
    expect({ ...u, password_hash: '' }).toEqual({ name: 'u-a', password_hash: '', hashing_algorithm: SHA256, tags: ['management', 'policymaker'], limits: {} });
    expect(checkPassword('pa', u.password_hash, SHA256)).toBe(true);
    expect(await reply('PUT', '/api/users/u-a', { password: 'pa', tags: [' monitoring', 'management '] })).toEqual({ status: 204 });
    expect((await b.api('GET', '/api/users/u-a')).body.tags).toEqual(['monitoring', 'management']);
    // Before tag lists, exports said "administrator": "true".
    expect(await reply('PUT', '/api/users/u-a', { password: 'pa', administrator: 'true' })).toEqual({ status: 204 });
    expect((await b.api('GET', '/api/users/u-a')).body.tags).toEqual(['administrator']);
  });

  test("RabbitMQ's refusals: no tags, both password and hash, a hash that is not base64", async () => {
    expect(await reply('PUT', '/api/users/u-b', { password: 'pb' })).toEqual(bad('tags_not_present'));
    expect(await reply('PUT', '/api/users/u-b', { password: 'pb', password_hash: 'xx', tags: '' })).toEqual(bad('both_password_and_password_hash_are_provided'));
    expect(await reply('PUT', '/api/users/u-b', { password_hash: 'xx', tags: [] })).toEqual(bad(['not_base64', 'xx']));
    expect(await reply('GET', '/api/users/u-b')).toEqual(NOT_FOUND);
  });

  test('with a password_hash from RabbitMQ, the user logs in over AMQP with its password', async () => {
    // RabbitMQ 3.10.8's hash of "p1".
    const hash = 'D1bIbewK5b7xF3waKbJ5TzLa4L8FIs+PgAhVKNuMWrcysugT';
    expect(await reply('PUT', '/api/users/u-hash', { password_hash: hash, hashing_algorithm: SHA256, tags: ['monitoring'] })).toEqual({ status: 201 });
    expect((await b.api('GET', '/api/users/u-hash')).body).toEqual({ name: 'u-hash', password_hash: hash, hashing_algorithm: SHA256, tags: ['monitoring'], limits: {} });
    expect(await reply('PUT', '/api/permissions/uv/u-hash', { configure: '.*', write: '.*', read: '.*' })).toEqual({ status: 201 });
    const c = await amqp.connect(amqpUrl('u-hash', 'p1'));
    await c.close();
    await expect(amqp.connect(amqpUrl('u-hash', 'p2'))).rejects.toThrow(/ACCESS_REFUSED/);
  });

  test('an existing user given neither password nor hash loses its password (and keeps its limits), as put_user does', async () => {
    await b.api('PUT', '/api/users/u-c', { password: 'pc', tags: '', limits: { 'max-connections': 2 } });
    await b.api('PUT', '/api/permissions/uv/u-c', { configure: '.*', write: '.*', read: '.*' });
    await (await amqp.connect(amqpUrl('u-c', 'pc'))).close();
    expect(await reply('PUT', '/api/users/u-c', { tags: 'management', limits: { 'max-channels': 9 } })).toEqual({ status: 204 });
    expect((await b.api('GET', '/api/users/u-c')).body).toEqual({ name: 'u-c', password_hash: '', hashing_algorithm: SHA256, tags: ['management'], limits: { 'max-connections': 2 } });
    await expect(amqp.connect(amqpUrl('u-c', 'pc'))).rejects.toThrow(/ACCESS_REFUSED/);
    // A new user without a password gets the hash of "" (which never logs in).
    expect(await reply('PUT', '/api/users/u-nopass', { tags: '' })).toEqual({ status: 201 });
    expect(checkPassword('', (await b.api('GET', '/api/users/u-nopass')).body.password_hash, SHA256)).toBe(true);
    await expect(amqp.connect(amqpUrl('u-nopass', ''))).rejects.toThrow(/ACCESS_REFUSED/);
  });

  test('limits are merged into the user\'s; permissions in the body are set for a new user only', async () => {
    await b.api('PUT', '/api/users/u-d', { password: 'pd', tags: 'management', limits: { 'max-connections': 3 }, permissions: { uv: { configure: 'a', write: 'b', read: 'c' } } });
    await b.api('PUT', '/api/users/u-d', { password: 'pd', tags: 'management' });
    await b.api('PUT', '/api/users/u-d', { password: 'pd', tags: 'management', limits: { 'max-channels': 4 }, permissions: { '/': { configure: '', write: '', read: '' } } });
    expect((await b.api('GET', '/api/users/u-d')).body.limits).toEqual({ 'max-connections': 3, 'max-channels': 4 });
    expect((await b.api('GET', '/api/users/u-d/permissions')).body).toEqual([{ user: 'u-d', vhost: 'uv', configure: 'a', write: 'b', read: 'c' }]);
    expect(await reply('PUT', '/api/users/u-d', { password: 'pd', tags: '', limits: { 'max-chan': 1 } })).toEqual(bad('Unrecognised terms [{<<"max-chan">>,1}] in user-limits'));
  });
});

describe('whoami', () => {
  test("names the user's tags as they are now: a change through the API shows at the next request", async () => {
    await b.api('PUT', '/api/users/who', { password: 'pw', tags: 'management' });
    expect((await b.api('GET', '/api/whoami', undefined, { user: 'who', password: 'pw' })).body).toEqual({ name: 'who', tags: ['management'] });
    await b.api('PUT', '/api/users/who', { password: 'pw', tags: ['monitoring', 'policymaker'] });
    expect((await b.api('GET', '/api/whoami', undefined, { user: 'who', password: 'pw' })).body).toEqual({ name: 'who', tags: ['monitoring', 'policymaker'] });
    await b.api('PUT', '/api/users/who', { password: 'pw', tags: '' });
    expect(await reply('GET', '/api/whoami', undefined, { user: 'who', password: 'pw' })).toEqual({ status: 401, body: { error: 'not_authorised', reason: 'Not management user' } });
  });
});

describe('GET and DELETE', () => {
  test('lists: every user, and those without any permission; sorted by name; columns and sort work', async () => {
    await b.api('PUT', '/api/users/zz-1', { password: 'x', tags: '' });
    await b.api('PUT', '/api/users/zz-2', { password: 'x', tags: 'monitoring' });
    await b.api('PUT', '/api/permissions/uv/zz-2', { configure: '', write: '', read: '' });
    const all = (await b.api('GET', '/api/users')).body as { name: string }[];
    expect(all.map((u) => u.name)).toEqual([...all.map((u) => u.name)].sort());
    expect(all.find((u) => u.name === 'zz-2')).toMatchObject({ tags: ['monitoring'], hashing_algorithm: SHA256, limits: {} });
    const without = ((await b.api('GET', '/api/users/without-permissions')).body as { name: string }[]).map((u) => u.name);
    expect(without).toContain('zz-1');
    expect(without).not.toContain('zz-2');
    expect(without).not.toContain('guest');
    expect((await b.api('GET', '/api/users?columns=name&sort=name&sort_reverse=true')).body.slice(0, 2)).toEqual([{ name: 'zz-2' }, { name: 'zz-1' }]);
    // Not paged, as in RabbitMQ: page and page_size are ignored.
    expect(Array.isArray((await b.api('GET', '/api/users?page=1&page_size=1')).body)).toBe(true);
  });

  test('a missing user: GET and DELETE 404', async () => {
    expect(await reply('GET', '/api/users/nobody')).toEqual(NOT_FOUND);
    expect(await reply('DELETE', '/api/users/nobody')).toEqual(NOT_FOUND);
    expect(await reply('GET', '/api/users/nobody/permissions')).toEqual(NOT_FOUND);
    expect(await reply('GET', '/api/users/nobody/topic-permissions')).toEqual(NOT_FOUND);
  });

  test("DELETE closes the user's connections with 320, as rabbitmqctl delete_user does", async () => {
    await b.api('PUT', '/api/users/u-gone', { password: 'pg', tags: '' });
    await b.api('PUT', '/api/permissions/uv/u-gone', { configure: '.*', write: '.*', read: '.*' });
    const c = await amqp.connect(amqpUrl('u-gone', 'pg'));
    // amqplib reports a 320 on 'close' (it is not an error to it).
    const closed = new Promise<Error>((resolve) => c.once('close', resolve));
    expect(await reply('DELETE', '/api/users/u-gone')).toEqual({ status: 204 });
    expect((await closed).message).toBe('Connection closed: 320 (CONNECTION-FORCED) with message "CONNECTION_FORCED - user \'u-gone\' is deleted"');
    expect(await reply('GET', '/api/users/u-gone')).toEqual(NOT_FOUND);
    expect((await b.api('GET', '/api/vhosts/uv/permissions')).body.map((p: { user: string }) => p.user)).not.toContain('u-gone');
  });

  test('bulk-delete: users deleted in order, stopping at the first that does not exist', async () => {
    await b.api('PUT', '/api/users/bulk-1', { password: 'x', tags: '' });
    await b.api('PUT', '/api/users/bulk-2', { password: 'x', tags: '' });
    expect(await reply('POST', '/api/users/bulk-delete', { users: ['bulk-1', 'nobody', 'bulk-2'] })).toEqual(bad(['no_such_user', 'nobody']));
    expect((await b.api('GET', '/api/users/bulk-1')).status).toBe(404);
    expect((await b.api('GET', '/api/users/bulk-2')).status).toBe(200);
    expect(await reply('POST', '/api/users/bulk-delete', {})).toEqual(bad('[{key_missing,users}]'));
    expect(await reply('POST', '/api/users/bulk-delete', { users: ['bulk-2'] })).toEqual({ status: 204 });
    expect(await reply('POST', '/api/users/bulk-delete', { users: [] })).toEqual({ status: 204 });
  });
});

describe('/api/user-limits', () => {
  test('set, list, clear one by one; the limit applies to AMQP logins', async () => {
    await b.api('PUT', '/api/users/lim', { password: 'pl', tags: '' });
    await b.api('PUT', '/api/permissions/uv/lim', { configure: '.*', write: '.*', read: '.*' });
    expect(await reply('GET', '/api/user-limits/lim')).toEqual({ status: 200, body: [] });
    expect(await reply('PUT', '/api/user-limits/lim/max-connections', { value: 1 })).toEqual({ status: 204 });
    expect(await reply('PUT', '/api/user-limits/lim/max-channels', { value: 5 })).toEqual({ status: 204 });
    expect(await reply('GET', '/api/user-limits/lim')).toEqual({ status: 200, body: [{ user: 'lim', value: { 'max-connections': 1, 'max-channels': 5 } }] });
    expect((await b.api('GET', '/api/user-limits')).body).toContainEqual({ user: 'lim', value: { 'max-connections': 1, 'max-channels': 5 } });
    const first = await amqp.connect(amqpUrl('lim', 'pl'));
    expect(await amqpOpen(b.url, 'lim', 'pl', 'uv')).toEqual({ code: 530, text: "NOT_ALLOWED - connection refused for user 'lim': user connection limit (1) is reached" });
    await first.close();
    expect(await reply('DELETE', '/api/user-limits/lim/max-connections')).toEqual({ status: 204 });
    expect(await reply('DELETE', '/api/user-limits/lim/max-bogus')).toEqual({ status: 204 });
    expect(await reply('GET', '/api/user-limits/lim')).toEqual({ status: 200, body: [{ user: 'lim', value: { 'max-channels': 5 } }] });
    await (await amqp.connect(amqpUrl('lim', 'pl'))).close();
  });

  test("RabbitMQ's refusals: a bad value, an unknown limit, no value, an unknown user, a body that is not JSON", async () => {
    expect(await reply('PUT', '/api/user-limits/lim/max-connections', { value: '5' })).toEqual(bad('max-connections should be a number, actually was <<"5">>'));
    expect(await reply('PUT', '/api/user-limits/lim/max-bogus', { value: 5 })).toEqual(bad('Unrecognised terms [{<<"max-bogus">>,5}] in user-limits'));
    expect(await reply('PUT', '/api/user-limits/lim/max-channels', {})).toEqual(bad('[{key_missing,value}]'));
    expect(await reply('PUT', '/api/user-limits/nobody/max-channels', { value: 1 })).toEqual(bad(['no_such_user', 'nobody']));
    expect(await reply('PUT', '/api/user-limits/lim/max-channels', undefined, { raw: '{"value":1}', headers: { 'content-type': 'text/plain' } })).toEqual({ status: 415 });
    expect(await reply('GET', '/api/user-limits/nobody')).toEqual(NOT_FOUND);
  });
});
