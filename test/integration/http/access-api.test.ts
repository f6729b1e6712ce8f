// Users, permissions, topic permissions, user and vhost limits, operator policies and
// definitions through the management API (what the web UI's Admin and Definitions pages
// call). One scripted sequence runs on Warren, with RabbitMQ 3.10's answers written out, and
// on a live RabbitMQ when RABBITMQ_MGMT_URL is set, where every answer must be the same.
import amqp from 'amqplib';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { apiClient, rabbitMgmt, startWithApi, type Api, type ApiBroker } from '../../helpers/http.js';

const V = 'uiapi-v';
const U = 'uiapi-u';
const NOT_FOUND = { error: 'Object Not Found', reason: 'Not Found' };

interface Step {
  method: string;
  path: string;
  body?: unknown;
  status: number;
  /** The answer's body as RabbitMQ gives it (after `pick`); undefined: not compared. */
  expect?: unknown;
  /** The part of the body that is compared (default: all of it). */
  pick?: (body: any) => unknown;
}

const hashOf = (u: any) => ({ ...u, password_hash: u.password_hash === '' ? '' : '<hash>' });
const byUser = (list: any[]) => [...list].sort((a, b) => String(a.user).localeCompare(String(b.user)));

const STEPS: Step[] = [
  { method: 'PUT', path: `/api/vhosts/${V}`, body: {}, status: 201 },
  { method: 'PUT', path: `/api/users/${U}`, body: { password: 'pw' }, status: 400, expect: { error: 'bad_request', reason: 'tags_not_present' } },
  { method: 'PUT', path: `/api/users/${U}`, body: { password: 'pw', tags: 'management' }, status: 201 },
  { method: 'PUT', path: `/api/users/${U}`, body: { password: 'pw', tags: 'monitoring,management' }, status: 204 },
  {
    method: 'GET',
    path: `/api/users/${U}`,
    status: 200,
    pick: hashOf,
    expect: { name: U, password_hash: '<hash>', hashing_algorithm: 'rabbit_password_hashing_sha256', tags: ['monitoring', 'management'], limits: {} },
  },
  { method: 'PUT', path: `/api/users/${U}-x`, body: { password_hash: 'not-base64!!', tags: '' }, status: 400, expect: { error: 'bad_request', reason: ['not_base64', 'not-base64!!'] } },
  // permissions
  { method: 'GET', path: `/api/permissions/${V}/${U}`, status: 404, expect: NOT_FOUND },
  { method: 'PUT', path: `/api/permissions/${V}/${U}`, body: { configure: '.*', write: '.*' }, status: 400, expect: { error: 'bad_request', reason: '[{key_missing,read}]' } },
  { method: 'PUT', path: `/api/permissions/${V}/nobody-uiapi`, body: { configure: '.*', write: '.*', read: '.*' }, status: 400, expect: { error: 'bad_request', reason: 'vhost_or_user_not_found' } },
  { method: 'PUT', path: `/api/permissions/${V}/${U}`, body: { configure: '^uiapi-', write: '.*', read: '.*' }, status: 201 },
  { method: 'PUT', path: `/api/permissions/${V}/${U}`, body: { configure: '^uiapi-', write: '.*', read: '.*' }, status: 204 },
  { method: 'GET', path: `/api/permissions/${V}/${U}`, status: 200, expect: { user: U, vhost: V, configure: '^uiapi-', write: '.*', read: '.*' } },
  { method: 'GET', path: `/api/users/${U}/permissions`, status: 200, expect: [{ user: U, vhost: V, configure: '^uiapi-', write: '.*', read: '.*' }] },
  {
    method: 'GET',
    path: `/api/vhosts/${V}/permissions`,
    status: 200,
    pick: byUser,
    expect: [
      { user: 'guest', vhost: V, configure: '.*', write: '.*', read: '.*' },
      { user: U, vhost: V, configure: '^uiapi-', write: '.*', read: '.*' },
    ],
  },
  // topic permissions
  { method: 'GET', path: `/api/topic-permissions/${V}/${U}`, status: 404, expect: NOT_FOUND },
  { method: 'GET', path: `/api/users/${U}/topic-permissions`, status: 200, expect: [] },
  { method: 'PUT', path: `/api/topic-permissions/${V}/${U}`, body: { exchange: 'amq.topic', write: '^a', read: '.*' }, status: 201 },
  { method: 'PUT', path: `/api/topic-permissions/${V}/${U}`, body: { exchange: 'amq.topic', write: '^b', read: '.*' }, status: 204 },
  { method: 'GET', path: `/api/topic-permissions/${V}/${U}`, status: 200, expect: [{ user: U, vhost: V, exchange: 'amq.topic', write: '^b', read: '.*' }] },
  { method: 'DELETE', path: `/api/topic-permissions/${V}/${U}`, status: 204 },
  { method: 'DELETE', path: `/api/topic-permissions/${V}/${U}`, status: 404, expect: NOT_FOUND },
  // user limits
  { method: 'GET', path: `/api/user-limits/${U}`, status: 200, expect: [] },
  { method: 'GET', path: '/api/user-limits/nobody-uiapi', status: 404, expect: NOT_FOUND },
  { method: 'PUT', path: `/api/user-limits/${U}/max-connections`, body: { value: 5 }, status: 204 },
  { method: 'PUT', path: `/api/user-limits/${U}/max-bogus`, body: { value: 5 }, status: 400, expect: { error: 'bad_request', reason: 'Unrecognised terms [{<<"max-bogus">>,5}] in user-limits' } },
  { method: 'PUT', path: `/api/user-limits/${U}/max-channels`, body: {}, status: 400, expect: { error: 'bad_request', reason: '[{key_missing,value}]' } },
  { method: 'GET', path: `/api/user-limits/${U}`, status: 200, expect: [{ user: U, value: { 'max-connections': 5 } }] },
  { method: 'DELETE', path: `/api/user-limits/${U}/max-connections`, status: 204 },
  { method: 'GET', path: `/api/user-limits/${U}`, status: 200, expect: [] },
  // vhost limits
  { method: 'PUT', path: `/api/vhost-limits/${V}/max-queues`, body: { value: 500 }, status: 204 },
  { method: 'PUT', path: `/api/vhost-limits/${V}/max-connections`, body: { value: 20 }, status: 204 },
  { method: 'GET', path: `/api/vhost-limits/${V}`, status: 200, expect: [{ vhost: V, value: { 'max-queues': 500, 'max-connections': 20 } }] },
  { method: 'DELETE', path: `/api/vhost-limits/${V}/max-queues`, status: 204 },
  { method: 'GET', path: `/api/vhost-limits/${V}`, status: 200, expect: [{ vhost: V, value: { 'max-connections': 20 } }] },
  { method: 'DELETE', path: `/api/vhost-limits/${V}/max-connections`, status: 204 },
  { method: 'DELETE', path: `/api/vhost-limits/${V}/max-connections`, status: 204 },
  { method: 'GET', path: `/api/vhost-limits/${V}`, status: 200, expect: [] },
  { method: 'GET', path: '/api/vhost-limits/no-such-vhost-uiapi', status: 404, expect: NOT_FOUND },
  // operator policies
  { method: 'PUT', path: `/api/operator-policies/${V}/uiapi-op`, body: { pattern: '^uiapi-', definition: { 'max-length': 100 }, 'apply-to': 'queues' }, status: 201 },
  { method: 'PUT', path: `/api/operator-policies/${V}/uiapi-op`, body: { pattern: '^uiapi-', definition: { 'max-length': 100 }, 'apply-to': 'queues' }, status: 204 },
  { method: 'GET', path: `/api/operator-policies/${V}/uiapi-op`, status: 200, expect: { vhost: V, name: 'uiapi-op', pattern: '^uiapi-', 'apply-to': 'queues', definition: { 'max-length': 100 }, priority: 0 } },
  { method: 'GET', path: `/api/operator-policies/${V}`, status: 200, expect: [{ vhost: V, name: 'uiapi-op', pattern: '^uiapi-', 'apply-to': 'queues', definition: { 'max-length': 100 }, priority: 0 }] },
  { method: 'DELETE', path: `/api/operator-policies/${V}/uiapi-op`, status: 204 },
  { method: 'DELETE', path: `/api/operator-policies/${V}/uiapi-op`, status: 404, expect: NOT_FOUND },
  // definitions of one vhost
  { method: 'POST', path: `/api/definitions/${V}`, body: { queues: [{ name: 'uiapi-dq', durable: true, auto_delete: false, arguments: { 'x-max-length': 7 } }] }, status: 204 },
  {
    method: 'GET',
    path: `/api/definitions/${V}`,
    status: 200,
    pick: (d) => d.queues,
    expect: [{ name: 'uiapi-dq', durable: true, auto_delete: false, arguments: { 'x-max-length': 7 } }],
  },
  { method: 'GET', path: '/api/definitions/no-such-vhost-uiapi', status: 400, expect: { error: 'bad_request', reason: 'vhost_not_found' } },
  { method: 'POST', path: '/api/definitions/no-such-vhost-uiapi', body: {}, status: 404, expect: { error: 'not_found', reason: 'vhost_not_found' } },
  // and gone again
  { method: 'DELETE', path: `/api/permissions/${V}/${U}`, status: 204 },
  { method: 'DELETE', path: `/api/permissions/${V}/${U}`, status: 404, expect: NOT_FOUND },
  { method: 'DELETE', path: `/api/users/${U}`, status: 204 },
  { method: 'DELETE', path: `/api/users/${U}`, status: 404, expect: NOT_FOUND },
  { method: 'GET', path: `/api/users/${U}`, status: 404, expect: NOT_FOUND },
  { method: 'DELETE', path: `/api/vhosts/${V}`, status: 204 },
];

/** Runs the steps; returns what each answered (status and picked body), in order. */
async function run(api: Api): Promise<{ step: string; status: number; body: unknown }[]> {
  const out = [];
  for (const s of STEPS) {
    const r = await api(s.method, s.path, s.body);
    const body = r.text === '' ? '' : (s.pick ?? ((b: unknown) => b))(r.body);
    out.push({ step: `${s.method} ${s.path}`, status: r.status, body });
  }
  return out;
}

function expected(): { step: string; status: number; body: unknown }[] {
  return STEPS.map((s) => ({ step: `${s.method} ${s.path}`, status: s.status, body: s.expect ?? '<any>' }));
}

/** Masks the bodies the script does not pin down, so that two runs compare on the rest. */
function masked(results: { step: string; status: number; body: unknown }[]) {
  return results.map((r, i) => ({ ...r, body: STEPS[i]!.expect === undefined && r.status < 300 ? '<any>' : r.body }));
}

describe('users, permissions, limits, operator policies and definitions', () => {
  let b: ApiBroker;

  beforeAll(async () => {
    b = await startWithApi();
  });

  afterAll(async () => {
    await b?.close();
  });

  test("Warren answers every step as RabbitMQ 3.10 does", async () => {
    expect(masked(await run(b.api))).toEqual(expected());
  });

  test('a user made through the API logs in over AMQP and is held to its permissions', async () => {
    expect((await b.api('PUT', `/api/vhosts/${V}`, {})).status).toBe(201);
    expect((await b.api('PUT', `/api/users/${U}`, { password: 'pw', tags: '' })).status).toBe(201);
    expect((await b.api('PUT', `/api/permissions/${V}/${U}`, { configure: '^uiapi-', write: '.*', read: '.*' })).status).toBe(201);
    const conn = await amqp.connect(`${b.url.replace('guest:guest', `${U}:pw`)}/${V}`);
    const ch = await conn.createChannel();
    expect((await ch.assertQueue('uiapi-mine')).queue).toBe('uiapi-mine');
    const refused = new Promise<Error>((resolve) => ch.on('error', resolve));
    await expect(ch.assertQueue('not-mine')).rejects.toThrow();
    expect((await refused).message).toContain(`ACCESS_REFUSED - access to queue 'not-mine' in vhost '${V}' refused for user '${U}'`);
    await conn.close();

    // Tags changed with the current hash sent back (as the UI does): the password still works.
    const hash = (await b.api('GET', `/api/users/${U}`)).body.password_hash as string;
    expect((await b.api('PUT', `/api/users/${U}`, { password_hash: hash, hashing_algorithm: 'rabbit_password_hashing_sha256', tags: 'management' })).status).toBe(204);
    expect((await b.api('GET', '/api/whoami', undefined, { user: U, password: 'pw' })).body).toEqual({ name: U, tags: ['management'] });
    // A PUT without a password leaves the user without one, as in RabbitMQ.
    expect((await b.api('PUT', `/api/users/${U}`, { tags: 'management' })).status).toBe(204);
    expect((await b.api('GET', '/api/whoami', undefined, { user: U, password: 'pw' })).status).toBe(401);
    expect((await b.api('DELETE', `/api/vhosts/${V}`)).status).toBe(204);
    expect((await b.api('DELETE', `/api/users/${U}`)).status).toBe(204);
  });

  test('whole definitions go out and come back: users, vhosts, permissions, limits, queues', async () => {
    await b.api('PUT', `/api/vhosts/${V}`, {});
    await b.api('PUT', `/api/users/${U}`, { password: 'pw', tags: 'monitoring' });
    await b.api('PUT', `/api/permissions/${V}/${U}`, { configure: '', write: '.*', read: '.*' });
    await b.api('PUT', `/api/vhost-limits/${V}/max-queues`, { value: 9 });
    await b.api('PUT', `/api/queues/${V}/uiapi-q`, { durable: true });
    const defs = (await b.api('GET', '/api/definitions')).body;
    expect(defs.users).toContainEqual(expect.objectContaining({ name: U, tags: ['monitoring'] }));
    expect(defs.permissions).toContainEqual({ user: U, vhost: V, configure: '', write: '.*', read: '.*' });
    expect(defs.queues).toContainEqual(expect.objectContaining({ name: 'uiapi-q', vhost: V, durable: true }));
    expect(defs.parameters).toContainEqual({ vhost: V, component: 'vhost-limits', name: 'limits', value: { 'max-queues': 9 } });

    const other = await startWithApi();
    try {
      expect((await other.api('POST', '/api/definitions', defs)).status).toBe(204);
      expect((await other.api('GET', `/api/queues/${V}/uiapi-q`)).status).toBe(200);
      expect((await other.api('GET', `/api/permissions/${V}/${U}`)).body).toEqual({ user: U, vhost: V, configure: '', write: '.*', read: '.*' });
      expect((await other.api('GET', `/api/vhost-limits/${V}`)).body).toEqual([{ vhost: V, value: { 'max-queues': 9 } }]);
      // The hash travelled: the same password logs in on the other broker.
      expect((await other.api('GET', '/api/whoami', undefined, { user: U, password: 'pw' })).status).toBe(200);
    } finally {
      await other.close();
    }
  });

  const ADMIN = '/usr/bin/rabbitmqadmin';
  test.skipIf(!existsSync(ADMIN))('rabbitmqadmin exports the definitions of one Warren and imports them into another', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warren-rabbitmqadmin-'));
    const file = join(dir, 'defs.json');
    const other = await startWithApi();
    const admin = (base: string, args: string[]) =>
      new Promise<string>((resolve) => {
        const u = new URL(base);
        execFile(ADMIN, ['-H', u.hostname, '-P', u.port, '-u', 'guest', '-p', 'guest', ...args], { encoding: 'utf8' }, (err, out, stderr) =>
          resolve(err === null ? out : `exit ${String(err.code)}: ${out}${stderr}`),
        );
      });
    try {
      await b.api('PUT', '/api/vhosts/uiapi-adm', {});
      await b.api('PUT', '/api/queues/uiapi-adm/uiapi-adm-q', { durable: true, arguments: { 'x-message-ttl': 1000 } });
      await b.api('PUT', '/api/users/uiapi-adm-u', { password: 'pw', tags: 'management' });
      expect(await admin(b.managementUrl, ['export', file])).toBe(`Exported definitions for 127.0.0.1 to "${file}"\n`);
      expect(JSON.parse(readFileSync(file, 'utf8')).queues).toContainEqual(expect.objectContaining({ name: 'uiapi-adm-q', vhost: 'uiapi-adm' }));
      expect(await admin(other.managementUrl, ['import', file])).toBe(`Uploaded definitions from "127.0.0.1" to ${file}. The import process may take some time. Consult server logs to track progress.\n`);
      expect((await other.api('GET', '/api/queues/uiapi-adm/uiapi-adm-q')).body).toMatchObject({ durable: true, arguments: { 'x-message-ttl': 1000 } });
      expect((await other.api('GET', '/api/whoami', undefined, { user: 'uiapi-adm-u', password: 'pw' })).status).toBe(200);
    } finally {
      await other.close();
      await b.api('DELETE', '/api/vhosts/uiapi-adm');
      await b.api('DELETE', '/api/users/uiapi-adm-u');
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const rabbit = rabbitMgmt();
  test.skipIf(rabbit === null)('a live RabbitMQ answers the same sequence the same way', async () => {
    const api = apiClient(rabbit!.base, rabbit!.user, rabbit!.password);
    try {
      const theirs = masked(await run(api));
      expect(theirs).toEqual(expected());
    } finally {
      await api('DELETE', `/api/users/${U}`);
      await api('DELETE', `/api/vhosts/${V}`);
    }
  }, 30_000);
});
