// /api/definitions over HTTP: GET (whole, per vhost, ?download=), POST (JSON, and the web
// UI's multipart upload with its ?auth= credentials), with RabbitMQ 3.10.8's status codes
// and bodies; and, when RABBITMQ_MGMT_URL and RABBITMQ_URL point at a RabbitMQ, a round
// trip: RabbitMQ's export posted to Warren (whose users then log in over AMQP with their
// passwords), and Warren's export posted to RabbitMQ (204).
import amqp from 'amqplib';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { apiClient, rabbitMgmt, startWithApi, type ApiBroker } from '../../helpers/http.js';

let b: ApiBroker;
let dataDir: string;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'warren-http-defs-'));
  b = await startWithApi({ vhosts: ['/', 'dv'], dataDir });
});

afterAll(async () => {
  await b?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const reply = async (method: string, path: string, body?: unknown, opts?: Parameters<ApiBroker['api']>[3]) => {
  const r = await b.api(method, path, body, opts);
  return r.text === '' ? { status: r.status } : { status: r.status, body: r.body };
};
const bad = (reason: unknown) => ({ status: 400, body: { error: 'bad_request', reason } });
const basic = (user: string, password: string) => Buffer.from(`${user}:${password}`).toString('base64');

// A hand-written file in RabbitMQ's format: a user with RabbitMQ 3.10.8's hash of "p1".
const DEFS = {
  users: [{ name: 'd-user', password_hash: 'D1bIbewK5b7xF3waKbJ5TzLa4L8FIs+PgAhVKNuMWrcysugT', hashing_algorithm: 'rabbit_password_hashing_sha256', tags: ['management'], limits: {} }],
  vhosts: [{ name: 'd-v' }],
  permissions: [{ user: 'd-user', vhost: 'd-v', configure: '.*', write: '.*', read: '.*' }],
  queues: [{ name: 'd-q', vhost: 'd-v', durable: true, auto_delete: false, arguments: { 'x-max-length': 5 } }],
  exchanges: [{ name: 'd-x', vhost: 'd-v', type: 'fanout', durable: true, auto_delete: false, internal: false, arguments: {} }],
  bindings: [{ source: 'd-x', vhost: 'd-v', destination: 'd-q', destination_type: 'queue', routing_key: '', arguments: {} }],
};

describe('POST /api/definitions', () => {
  test('a JSON body: 204, written to disk before the answer, and the user logs in over AMQP with its password', async () => {
    expect(await reply('POST', '/api/definitions', DEFS)).toEqual({ status: 204 });
    const onDisk = JSON.parse(readFileSync(join(dataDir, 'definitions.json'), 'utf8')) as { users: { name: string }[] };
    expect(onDisk.users.map((u) => u.name)).toContain('d-user');
    const c = await amqp.connect(b.url.replace('guest:guest', 'd-user:p1') + '/d-v');
    const ch = await c.createConfirmChannel();
    ch.publish('d-x', '', Buffer.from('hi'));
    await ch.waitForConfirms();
    expect((await ch.checkQueue('d-q')).messageCount).toBe(1);
    await c.close();
  });

  test('per vhost: objects without a vhost field go to the vhost of the path', async () => {
    const one = { queues: [{ name: 'pv-q', durable: true, auto_delete: false, arguments: {} }], exchanges: [], bindings: [] };
    expect(await reply('POST', '/api/definitions/dv', one)).toEqual({ status: 204 });
    expect((await b.api('GET', '/api/queues/dv/pv-q')).status).toBe(200);
    expect(await reply('POST', '/api/definitions/nowhere', one)).toEqual({ status: 404, body: { error: 'not_found', reason: 'vhost_not_found' } });
  });

  test("RabbitMQ's refusals: not JSON, not an object, a body type it does not take", async () => {
    expect(await reply('POST', '/api/definitions', undefined, { raw: 'not json' })).toEqual(bad('failed_to_parse_json'));
    expect(await reply('POST', '/api/definitions', undefined, { raw: '[]' })).toEqual(bad('failed_to_parse_json'));
    expect(await reply('POST', '/api/definitions', undefined, { raw: '"str"' })).toEqual(bad('failed_to_parse_json'));
    expect(await reply('POST', '/api/definitions', undefined, { raw: '{}', headers: { 'content-type': 'text/plain' } })).toEqual({ status: 415 });
    expect(await reply('POST', '/api/definitions', undefined, { raw: '' })).toEqual({ status: 204 });
  });

  test('entries that cannot be imported: 400 naming each of them, and everything else is imported', async () => {
    const r = await reply('POST', '/api/definitions', {
      users: [{ name: 'd-bad', password_hash: 'xx', tags: '' }, { name: 'd-ok', password: 'x', tags: '' }],
      permissions: [{ user: 'nobody', vhost: 'dv', configure: '', write: '', read: '' }],
      queues: [{ name: 'd-q2', vhost: 'nowhere', durable: true, auto_delete: false, arguments: {} }],
    });
    expect(r).toEqual(
      bad(["user 'd-bad': password_hash is not valid base64", "permissions of user 'nobody' in vhost 'dv': no_such_user: nobody", "queue 'd-q2' in vhost 'nowhere': no_such_vhost: nowhere"].join('\n')),
    );
    expect((await b.api('GET', '/api/users/d-ok')).status).toBe(200);
  });

  test("the web UI's upload: a multipart form with the file part, credentials in ?auth=; 303 to the form's redirect", async () => {
    const form = new FormData();
    form.append('file', new Blob([JSON.stringify({ queues: [{ name: 'up-q', vhost: 'dv', durable: true, auto_delete: false, arguments: {} }] })]), 'defs.json');
    let r = await fetch(`${b.managementUrl}/api/definitions?auth=${basic('guest', 'guest')}`, { method: 'POST', body: form });
    expect(r.status).toBe(204);
    expect((await b.api('GET', '/api/queues/dv/up-q')).status).toBe(200);
    const again = new FormData();
    again.append('file', new Blob(['{}']), 'defs.json');
    again.append('redirect', '/somewhere');
    r = await fetch(`${b.managementUrl}/api/definitions/dv?auth=${basic('guest', 'guest')}`, { method: 'POST', body: again, redirect: 'manual' });
    expect({ status: r.status, location: r.headers.get('location') }).toEqual({ status: 303, location: '/somewhere' });
    const noFile = new FormData();
    noFile.append('other', new Blob(['{}']), 'defs.json');
    r = await fetch(`${b.managementUrl}/api/definitions?auth=${basic('guest', 'guest')}`, { method: 'POST', body: noFile });
    expect({ status: r.status, body: await r.json() }).toEqual(bad('failed_to_parse_json'));
    r = await fetch(`${b.managementUrl}/api/definitions?auth=${basic('guest', 'nope')}`);
    expect({ status: r.status, body: await r.json() }).toEqual({ status: 401, body: { error: 'not_authorized', reason: 'Login failed' } });
  });
});

describe('GET /api/definitions', () => {
  test("RabbitMQ's sections in RabbitMQ's order; users with their hashes; ?download= names the file", async () => {
    const r = await b.api('GET', '/api/definitions?download=all.json');
    expect(r.status).toBe(200);
    expect(r.headers['content-disposition']).toBe('attachment; filename=all.json');
    expect(Object.keys(r.body)).toEqual([
      'rabbit_version', 'rabbitmq_version', 'product_name', 'product_version', 'warren_version',
      'users', 'vhosts', 'permissions', 'topic_permissions', 'parameters', 'global_parameters', 'policies', 'queues', 'exchanges', 'bindings',
    ]);
    expect(r.body.users).toContainEqual(DEFS.users[0]);
    expect(r.body.global_parameters).toEqual([{ name: 'internal_cluster_id', value: b.broker.clusterId }]);
    expect(r.body.bindings).toContainEqual(DEFS.bindings[0]);
  });

  test('per vhost: no vhost field on queues, exchanges and bindings; a missing vhost is 400 vhost_not_found', async () => {
    const r = await b.api('GET', '/api/definitions/d-v?download=v.json');
    expect(r.headers['content-disposition']).toBe('attachment; filename=v.json');
    expect(r.body).toEqual({
      rabbit_version: '3.10.8',
      parameters: [],
      policies: [],
      queues: [{ name: 'd-q', durable: true, auto_delete: false, arguments: { 'x-max-length': 5 } }],
      exchanges: [{ name: 'd-x', type: 'fanout', durable: true, auto_delete: false, internal: false, arguments: {} }],
      bindings: [{ source: 'd-x', destination: 'd-q', destination_type: 'queue', routing_key: '', arguments: {} }],
    });
    expect(await reply('GET', '/api/definitions/nowhere')).toEqual(bad('vhost_not_found'));
  });

  test('administrators only, as in RabbitMQ', async () => {
    await b.api('PUT', '/api/users/d-mon', { password: 'p', tags: 'monitoring' });
    expect(await reply('GET', '/api/definitions', undefined, { user: 'd-mon', password: 'p' })).toEqual({ status: 401, body: { error: 'not_authorised', reason: 'Not administrator user' } });
    expect(await reply('POST', '/api/definitions', {}, { user: 'd-mon', password: 'p' })).toEqual({ status: 401, body: { error: 'not_authorised', reason: 'Not administrator user' } });
  });
});

/** JSON with every object's keys in order: the same entry however its fields were ordered. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

const rabbit = rabbitMgmt();
const rabbitAmqp = process.env['RABBITMQ_URL'] ?? '';
const live = rabbit !== null && rabbitAmqp !== '';
if (!live) console.warn('definitions round trip with RabbitMQ skipped: RABBITMQ_MGMT_URL or RABBITMQ_URL is not set (CI sets both)');

describe.skipIf(!live)('a round trip with a live RabbitMQ (RABBITMQ_MGMT_URL, RABBITMQ_URL)', () => {
  const tag = `http2-rt-${randomBytes(3).toString('hex')}`;
  const user = `${tag}-u`;
  const vhost = `${tag}-v`;
  const api = live ? apiClient(rabbit!.base, rabbit!.user, rabbit!.password) : null!;
  /** Only this test's objects: the shared RabbitMQ holds others', and guest and its cluster id are not ours to overwrite. */
  const ours = (defs: Record<string, unknown>): Record<string, unknown> => {
    const keep = (e: Record<string, unknown>) => [e['name'], e['user'], e['vhost']].some((v) => typeof v === 'string' && v.startsWith(tag));
    const out: Record<string, unknown> = { ...defs, global_parameters: [] };
    for (const k of ['users', 'vhosts', 'permissions', 'topic_permissions', 'parameters', 'policies', 'queues', 'exchanges', 'bindings']) {
      out[k] = ((defs[k] ?? []) as Record<string, unknown>[]).filter(keep);
    }
    return out;
  };

  afterAll(async () => {
    if (!live) return;
    await api('DELETE', `/api/vhosts/${vhost}`);
    await api('DELETE', `/api/users/${user}`);
    await api('DELETE', `/api/users/${user}-w`);
    await api('DELETE', `/api/vhosts/${vhost}-w`);
  });

  test("RabbitMQ's export posted to Warren: 204, and its user logs in over AMQP with its password", async () => {
    expect((await api('PUT', `/api/vhosts/${vhost}`, {})).status).toBe(201);
    expect((await api('PUT', `/api/users/${user}`, { password: 'rt-secret', tags: 'management', limits: { 'max-connections': 4 } })).status).toBe(201);
    await api('PUT', `/api/permissions/${vhost}/${user}`, { configure: '.*', write: '.*', read: '.*' });
    await api('PUT', `/api/topic-permissions/${vhost}/${user}`, { exchange: 'amq.topic', write: '^a', read: '.*' });
    await api('PUT', `/api/vhost-limits/${vhost}/max-queues`, { value: 10 });
    await api('PUT', `/api/operator-policies/${vhost}/${tag}-op`, { pattern: '^q', definition: { 'max-length': 100 }, priority: 1, 'apply-to': 'queues' });
    await api('PUT', `/api/policies/${vhost}/${tag}-p`, { pattern: '^q', definition: { 'message-ttl': 60000 } });
    await api('PUT', `/api/exchanges/${vhost}/${tag}-x`, { type: 'topic', durable: true });
    await api('PUT', `/api/queues/${vhost}/${tag}-q`, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    await api('POST', `/api/bindings/${vhost}/e/${tag}-x/q/${tag}-q`, { routing_key: 'a.#' });
    const theirs = ours((await api('GET', '/api/definitions')).body);
    expect((theirs['users'] as unknown[]).length).toBe(1);
    expect(await reply('POST', '/api/definitions', theirs)).toEqual({ status: 204 });
    const c = await amqp.connect(b.url.replace('guest:guest', `${user}:rt-secret`) + `/${vhost}`);
    const ch = await c.createConfirmChannel();
    ch.publish(`${tag}-x`, 'a.b', Buffer.from('routed'));
    await ch.waitForConfirms();
    expect((await ch.checkQueue(`${tag}-q`)).messageCount).toBe(1);
    await c.close();
    // Warren now exports what RabbitMQ exported.
    const back = ours((await b.api('GET', '/api/definitions')).body);
    for (const k of ['users', 'permissions', 'topic_permissions', 'parameters', 'policies', 'queues', 'exchanges', 'bindings']) {
      const sorted = (v: unknown) => ((v ?? []) as unknown[]).map(canonical).sort();
      expect(sorted(back[k]), k).toEqual(sorted(theirs[k]));
    }
  }, 30_000);

  test("Warren's export posted to RabbitMQ: 204, and the user logs in there", async () => {
    await b.api('PUT', `/api/vhosts/${vhost}-w`, {});
    await b.api('PUT', `/api/users/${user}-w`, { password: 'w-secret', tags: ['monitoring'], limits: { 'max-channels': 3 } });
    await b.api('PUT', `/api/permissions/${vhost}-w/${user}-w`, { configure: '.*', write: '.*', read: '.*' });
    await b.api('PUT', `/api/queues/${vhost}-w/${tag}-wq`, { durable: true });
    const mine = ours((await b.api('GET', '/api/definitions')).body);
    const r = await api('POST', '/api/definitions', mine);
    expect(r.status).toBe(204);
    expect((await api('GET', `/api/users/${user}-w`)).body).toMatchObject({ name: `${user}-w`, tags: ['monitoring'], limits: { 'max-channels': 3 } });
    const c = await amqp.connect(`${rabbitAmqp.replace(/\/$/, '').replace(/\/\/[^@]*@/, `//${user}-w:w-secret@`)}/${vhost}-w`);
    expect((await (await c.createChannel()).checkQueue(`${tag}-wq`)).queue).toBe(`${tag}-wq`);
    await c.close();
  }, 30_000);
});
