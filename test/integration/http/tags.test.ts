// Who may call each endpoint that needs access control, by tag: a management user without
// and with permissions in the vhost, a policymaker without and with them, a monitoring user
// and an administrator. The table is what RabbitMQ 3.10.8 answered (status, and the 401
// reason), recorded on the shared RabbitMQ; with RABBITMQ_MGMT_URL set, the same calls are
// made on a live RabbitMQ too and must give the same table.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { rabbitMgmt, startWithApi, type ApiBroker } from '../../helpers/http.js';

const USERS = [
  { key: 'mgmt', tags: 'management', perms: false },
  { key: 'mgmt+perms', tags: 'management', perms: true },
  { key: 'policymaker', tags: 'policymaker', perms: false },
  { key: 'policymaker+perms', tags: 'policymaker', perms: true },
  { key: 'monitoring', tags: 'monitoring', perms: false },
  { key: 'administrator', tags: 'administrator', perms: false },
];

/** The calls, in order (some change what the next ones see); V is the test's vhost, T a user to act on. */
const CALLS: [string, string, unknown?][] = [
  ['GET', '/api/users'],
  ['GET', '/api/users/without-permissions'],
  ['GET', '/api/users/T'],
  ['PUT', '/api/users/T', { password: 'p', tags: '' }],
  ['GET', '/api/users/T/permissions'],
  ['GET', '/api/users/T/topic-permissions'],
  ['POST', '/api/users/bulk-delete', { users: [] }],
  ['GET', '/api/permissions'],
  ['GET', '/api/permissions/V/T'],
  ['PUT', '/api/permissions/V/T', { configure: '', write: '', read: '' }],
  ['DELETE', '/api/permissions/V/T'],
  ['GET', '/api/vhosts/V/permissions'],
  ['GET', '/api/vhosts/V/topic-permissions'],
  ['GET', '/api/topic-permissions'],
  ['PUT', '/api/topic-permissions/V/T', { exchange: 'amq.topic', write: '', read: '' }],
  ['GET', '/api/topic-permissions/V/T'],
  ['DELETE', '/api/topic-permissions/V/T'],
  ['GET', '/api/parameters'],
  ['GET', '/api/parameters/vhost-limits'],
  ['GET', '/api/parameters/vhost-limits/V'],
  ['PUT', '/api/parameters/vhost-limits/V/limits', { value: { 'max-queues': 50 } }],
  ['GET', '/api/parameters/vhost-limits/V/limits'],
  ['DELETE', '/api/parameters/vhost-limits/V/limits'],
  ['GET', '/api/vhost-limits'],
  ['GET', '/api/vhost-limits/V'],
  ['PUT', '/api/vhost-limits/V/max-queues', { value: 100 }],
  ['DELETE', '/api/vhost-limits/V/max-queues'],
  ['GET', '/api/user-limits'],
  ['GET', '/api/user-limits/T'],
  ['PUT', '/api/user-limits/T/max-channels', { value: 9 }],
  ['DELETE', '/api/user-limits/T/max-channels'],
  ['GET', '/api/operator-policies'],
  ['GET', '/api/operator-policies/V'],
  ['PUT', '/api/operator-policies/V/op', { pattern: '^z', definition: { 'max-length': 1 } }],
  ['GET', '/api/operator-policies/V/op'],
  ['DELETE', '/api/operator-policies/V/op'],
  ['GET', '/api/global-parameters'],
  ['PUT', '/api/global-parameters/G', { value: 1 }],
  ['GET', '/api/global-parameters/G'],
  ['DELETE', '/api/global-parameters/G'],
  ['GET', '/api/definitions'],
  ['GET', '/api/definitions/V'],
  ['POST', '/api/definitions/V', {}],
  ['POST', '/api/definitions', {}],
  ['GET', '/api/whoami'],
  ['GET', '/api/auth'],
];

const A = '401 Not administrator user';
const O = '401 User not authorised to access object';
const H = '401 User not authorised to access virtual host';

/** RabbitMQ 3.10.8's answers, one column per user of USERS. */
const RECORDED = `
GET /api/users                          | ${A} | ${A} | ${A} | ${A} | ${A} | 200
GET /api/users/without-permissions      | ${A} | ${A} | ${A} | ${A} | ${A} | 200
GET /api/users/T                        | ${A} | ${A} | ${A} | ${A} | ${A} | 200
PUT /api/users/T                        | ${A} | ${A} | ${A} | ${A} | ${A} | 204
GET /api/users/T/permissions            | ${A} | ${A} | ${A} | ${A} | ${A} | 200
GET /api/users/T/topic-permissions      | ${A} | ${A} | ${A} | ${A} | ${A} | 200
POST /api/users/bulk-delete             | ${A} | ${A} | ${A} | ${A} | ${A} | 204
GET /api/permissions                    | ${A} | ${A} | ${A} | ${A} | ${A} | 200
GET /api/permissions/V/T                | ${A} | ${A} | ${A} | ${A} | ${A} | 404 Not Found
PUT /api/permissions/V/T                | ${A} | ${A} | ${A} | ${A} | ${A} | 201
DELETE /api/permissions/V/T             | ${A} | ${A} | ${A} | ${A} | ${A} | 204
GET /api/vhosts/V/permissions           | ${A} | ${A} | ${A} | ${A} | ${A} | 200
GET /api/vhosts/V/topic-permissions     | ${A} | ${A} | ${A} | ${A} | ${A} | 200
GET /api/topic-permissions              | ${A} | ${A} | ${A} | ${A} | ${A} | 200
PUT /api/topic-permissions/V/T          | ${A} | ${A} | ${A} | ${A} | ${A} | 201
GET /api/topic-permissions/V/T          | ${A} | ${A} | ${A} | ${A} | ${A} | 200
DELETE /api/topic-permissions/V/T       | ${A} | ${A} | ${A} | ${A} | ${A} | 204
GET /api/parameters                     | ${O} | ${O} | 200 | 200 | ${O} | 200
GET /api/parameters/vhost-limits        | ${O} | ${O} | 200 | 200 | ${O} | 200
GET /api/parameters/vhost-limits/V      | ${O} | ${O} | ${O} | 200 | ${O} | 200
PUT /api/parameters/vhost-limits/V/limits | ${O} | ${O} | ${O} | 201 | ${O} | 204
GET /api/parameters/vhost-limits/V/limits | ${O} | ${O} | ${O} | 200 | ${O} | 200
DELETE /api/parameters/vhost-limits/V/limits | ${O} | ${O} | ${O} | 204 | ${O} | 404 Not Found
GET /api/vhost-limits                   | 200 | 200 | 200 | 200 | 200 | 200
GET /api/vhost-limits/V                 | ${H} | 200 | ${H} | 200 | 200 | 200
PUT /api/vhost-limits/V/max-queues      | ${A} | ${A} | ${A} | ${A} | ${A} | 204
DELETE /api/vhost-limits/V/max-queues   | ${A} | ${A} | ${A} | ${A} | ${A} | 204
GET /api/user-limits                    | 200 | 200 | 200 | 200 | 200 | 200
GET /api/user-limits/T                  | 200 | 200 | 200 | 200 | 200 | 200
PUT /api/user-limits/T/max-channels     | ${A} | ${A} | ${A} | ${A} | ${A} | 204
DELETE /api/user-limits/T/max-channels  | ${A} | ${A} | ${A} | ${A} | ${A} | 204
GET /api/operator-policies              | 200 | 200 | 200 | 200 | 200 | 200
GET /api/operator-policies/V            | ${H} | 200 | ${H} | 200 | ${H} | 200
PUT /api/operator-policies/V/op         | ${A} | ${A} | ${A} | ${A} | ${A} | 201
GET /api/operator-policies/V/op         | ${A} | ${A} | ${A} | ${A} | ${A} | 200
DELETE /api/operator-policies/V/op      | ${A} | ${A} | ${A} | ${A} | ${A} | 204
GET /api/global-parameters              | ${O} | ${O} | 200 | 200 | ${O} | 200
PUT /api/global-parameters/G            | ${O} | ${O} | 201 | 204 | ${O} | 204
GET /api/global-parameters/G            | ${O} | ${O} | 200 | 200 | ${O} | 200
DELETE /api/global-parameters/G         | ${O} | ${O} | 204 | 404 Not Found | ${O} | 404 Not Found
GET /api/definitions                    | ${A} | ${A} | ${A} | ${A} | ${A} | 200
GET /api/definitions/V                  | ${A} | ${A} | ${A} | ${A} | ${A} | 200
POST /api/definitions/V                 | ${A} | ${A} | ${A} | ${A} | ${A} | 204
POST /api/definitions                   | ${A} | ${A} | ${A} | ${A} | ${A} | 204
GET /api/whoami                         | 200 | 200 | 200 | 200 | 200 | 200
GET /api/auth                           | 200 | 200 | 200 | 200 | 200 | 200
`;

function table(text: string): string[][] {
  return text
    .trim()
    .split('\n')
    .map((line) => line.split('|').map((cell) => cell.trim()));
}

/** Runs every call as every user against one broker (base URL and an administrator's credentials), as a table. */
async function matrix(base: string, admin: [string, string], prefix: string): Promise<string[][]> {
  const auth = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;
  const call = async (who: string, method: string, path: string, body?: unknown): Promise<string> => {
    const headers: Record<string, string> = { authorization: who };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const r = await fetch(base + path, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    const text = await r.text();
    const reason = r.status >= 400 && text !== '' ? (JSON.parse(text) as { reason?: unknown }).reason : undefined;
    return typeof reason === 'string' ? `${r.status} ${reason}` : String(r.status);
  };
  const root = auth(...admin);
  const V = `${prefix}v`;
  const T = `${prefix}target`;
  const G = `${prefix}g`;
  const name = (k: string) => `${prefix}${k.replace('+', '-')}`;
  await call(root, 'PUT', `/api/vhosts/${V}`, {});
  await call(root, 'PUT', `/api/users/${T}`, { password: 'p', tags: '' });
  for (const u of USERS) {
    await call(root, 'PUT', `/api/users/${name(u.key)}`, { password: 'p', tags: u.tags });
    if (u.perms) await call(root, 'PUT', `/api/permissions/${V}/${name(u.key)}`, { configure: '.*', write: '.*', read: '.*' });
  }
  try {
    const rows: string[][] = [];
    for (const [method, path, body] of CALLS) {
      const real = path.replace('/V', `/${V}`).replace('/T', `/${T}`).replace('/G', `/${G}`);
      const row = [`${method} ${path}`];
      for (const u of USERS) row.push(await call(auth(name(u.key), 'p'), method, real, body));
      rows.push(row);
    }
    return rows;
  } finally {
    for (const u of USERS) await call(root, 'DELETE', `/api/users/${name(u.key)}`);
    await call(root, 'DELETE', `/api/users/${T}`);
    await call(root, 'DELETE', `/api/global-parameters/${G}`);
    await call(root, 'DELETE', `/api/vhosts/${V}`);
  }
}

let b: ApiBroker;

beforeAll(async () => {
  b = await startWithApi();
});

afterAll(async () => {
  await b?.close();
});

describe('access by tag', () => {
  test("every endpoint, as every kind of user: RabbitMQ 3.10.8's statuses and 401 reasons", async () => {
    expect(await matrix(b.managementUrl, ['guest', 'guest'], 'tag-')).toEqual(table(RECORDED));
  });

  const rabbit = rabbitMgmt();
  test.skipIf(rabbit === null)('the same calls on a live RabbitMQ (RABBITMQ_MGMT_URL) give the same table', async () => {
    const theirs = await matrix(rabbit!.base, [rabbit!.user, rabbit!.password], `http2-tag-${randomBytes(3).toString('hex')}-`);
    expect(theirs).toEqual(table(RECORDED));
  }, 60_000);
});
