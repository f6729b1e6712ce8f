// The same sequence of management API calls on Warren and on a live RabbitMQ 3.10
// (RABBITMQ_MGMT_URL; CI sets it): users, limits, parameters, operator and global
// parameters, permissions, topic permissions, bulk delete and definitions, each answer
// (status and body, with password hashes masked and object keys in order) compared step by
// step. The other tests in this folder assert RabbitMQ's answers one by one; this one keeps
// them honest against RabbitMQ itself. Skipped, with a message, without a RabbitMQ.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { apiClient, rabbitMgmt, startWithApi, type Api, type ApiBroker } from '../../helpers/http.js';

const rabbit = rabbitMgmt();
if (rabbit === null) console.warn('parity with RabbitMQ skipped: RABBITMQ_MGMT_URL is not set (CI sets it)');

/** JSON with every object's keys in order. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

interface Opts {
  filter?: (o: unknown) => boolean;
  strip?: (o: any) => unknown;
  type?: string;
  /** RabbitMQ gives this list in table order (no sorting): compare it as a set. */
  unordered?: boolean;
}

/** Runs the session against one broker, with names that begin with P; one line per step. */
async function session(api: Api, P: string): Promise<string[]> {
  const out: string[] = [];
  const c = async (method: string, path: string, body?: unknown, opts: Opts = {}): Promise<void> => {
    const raw = typeof body === 'string';
    const r = await api(method, path, raw ? undefined : body, raw ? { raw: body as string, headers: { 'content-type': opts.type ?? 'application/json' } } : {});
    let parsed: unknown = r.body;
    if (opts.filter !== undefined && Array.isArray(parsed)) parsed = parsed.filter(opts.filter);
    if (opts.strip !== undefined && parsed !== null && typeof parsed === 'object') parsed = opts.strip(parsed);
    if (opts.unordered === true && Array.isArray(parsed)) parsed = [...parsed].sort((x, y) => (canonical(x) < canonical(y) ? -1 : 1));
    out.push(`${method} ${path.replaceAll(P, 'P-')} ${raw ? (body as string) : body === undefined ? '' : canonical(body).replaceAll(P, 'P-')} => ${r.status} ${canonical(parsed).replaceAll(P, 'P-')}`);
  };
  const mine = (o: unknown) => JSON.stringify(o).includes(P);
  const nohash = (o: any): unknown => {
    const f = (u: any) => ({ ...u, password_hash: u.password_hash === '' ? '' : 'HASH' });
    return Array.isArray(o) ? o.map(f) : f(o);
  };
  await c('PUT', `/api/vhosts/${P}v`, {});
  await c('PUT', `/api/users/${P}a`, { password: 'pa', tags: 'management,policymaker' });
  await c('PUT', `/api/users/${P}a`, { password: 'pa', tags: 'management, policymaker' });
  await c('GET', `/api/users/${P}a`, undefined, { strip: nohash });
  await c('PUT', `/api/users/${P}b`, { password: 'pb' });
  await c('PUT', `/api/users/${P}b`, { password_hash: 'xx', tags: [] });
  await c('PUT', `/api/users/${P}b`, { password_hash: 'N/OU7WAOaaS/rPTEgQHzqZjfkt5/YLQI8G11Tb59FxfMkyZl', hashing_algorithm: 'rabbit_password_hashing_sha256', tags: ['monitoring'] });
  await c('GET', `/api/users/${P}b`);
  await c('PUT', `/api/users/${P}c`, { password: 'pa', password_hash: 'xx', tags: '' });
  await c('PUT', `/api/users/${P}c`, { tags: '' });
  await c('GET', `/api/users/${P}c`, undefined, { strip: nohash });
  await c('PUT', `/api/users/${P}c`, { tags: 'management' });
  await c('GET', `/api/users/${P}c`, undefined, { strip: nohash });
  await c('PUT', `/api/users/${P}c`, { administrator: 'true' });
  await c('GET', `/api/users/${P}c`, undefined, { strip: nohash });
  await c('PUT', `/api/users/${P}c`, { tags: ['a ', ' b'], password_hash: '', hashing_algorithm: 'rabbit_password_hashing_md5' });
  await c('GET', `/api/users/${P}c`, undefined, { strip: nohash });
  await c('PUT', `/api/users/${P}c`, { tags: 'x', password: '' });
  await c('GET', `/api/users/${P}c`, undefined, { strip: nohash });
  await c('GET', '/api/users/nope-http2');
  await c('DELETE', '/api/users/nope-http2');
  await c('PUT', `/api/users/${P}a`, { password: 'pa', tags: 'management', limits: { 'max-connections': 3 } });
  await c('PUT', `/api/users/${P}a`, { password: 'pa', tags: 'management' });
  await c('PUT', `/api/users/${P}a`, { password: 'pa', tags: 'management', limits: { 'max-channels': 4 } });
  await c('GET', `/api/users/${P}a`, undefined, { strip: nohash });
  await c('GET', '/api/users', undefined, { filter: mine, strip: nohash });
  await c('GET', '/api/users?columns=name&sort=name&sort_reverse=true', undefined, { filter: mine });
  await c('GET', '/api/users/without-permissions', undefined, { filter: mine, strip: nohash });
  await c('GET', '/api/user-limits', undefined, { filter: mine });
  await c('GET', `/api/user-limits/${P}a`);
  await c('GET', `/api/user-limits/${P}b`);
  await c('GET', '/api/user-limits/nope-http2');
  await c('PUT', `/api/user-limits/${P}b/max-connections`, { value: 5 });
  await c('PUT', `/api/user-limits/${P}b/max-connections`, { value: '5' });
  await c('PUT', `/api/user-limits/${P}b/max-bogus`, { value: 5 });
  await c('PUT', `/api/user-limits/${P}b/max-channels`, {});
  await c('PUT', '/api/user-limits/nope-http2/max-channels', { value: 1 });
  await c('PUT', `/api/user-limits/${P}b/max-channels`, '{"value":1}', { type: 'text/plain' });
  await c('GET', `/api/user-limits/${P}b`);
  await c('DELETE', `/api/user-limits/${P}b/max-channels`);
  await c('DELETE', `/api/user-limits/${P}b/max-bogus`);
  await c('DELETE', `/api/user-limits/${P}b/max-connections`);
  await c('GET', `/api/user-limits/${P}b`);
// vhost limits
  await c('GET', `/api/vhost-limits/${P}v`);
  await c('PUT', `/api/vhost-limits/${P}v/max-connections`, { value: 5 });
  await c('PUT', `/api/vhost-limits/${P}v/max-queues`, { value: 7 });
  await c('PUT', `/api/vhost-limits/${P}v/max-bogus`, { value: 7 });
  await c('PUT', `/api/vhost-limits/${P}v/max-queues`, { value: '7' });
  await c('PUT', `/api/vhost-limits/${P}v/max-queues`, {});
  await c('PUT', '/api/vhost-limits/nope-http2/max-queues', { value: 7 });
  await c('PUT', `/api/vhost-limits/${P}v/max-queues`, '{"value":7}', { type: 'text/plain' });
  await c('GET', `/api/vhost-limits/${P}v`);
  await c('GET', '/api/vhost-limits/nope-http2');
  await c('GET', '/api/vhost-limits', undefined, { filter: mine });
  await c('GET', `/api/parameters/vhost-limits/${P}v`);
  await c('GET', `/api/parameters/vhost-limits/${P}v/limits`);
  await c('DELETE', `/api/vhost-limits/${P}v/max-bogus`);
  await c('DELETE', `/api/vhost-limits/${P}v/max-queues`);
  await c('GET', `/api/vhost-limits/${P}v`);
  await c('PUT', `/api/parameters/vhost-limits/${P}v/limits`, { value: { 'max-queues': 1 } });
  await c('PUT', `/api/parameters/vhost-limits/${P}v/limits`, { value: { 'max-queues': 2 } });
  await c('PUT', `/api/parameters/vhost-limits/${P}v/limits`, { value: { 'max-bogus': 1 } });
  await c('PUT', `/api/parameters/vhost-limits/${P}v/limits`, { value: 5 });
  await c('PUT', `/api/parameters/vhost-limits/${P}v/limits`, {});
  await c('PUT', '/api/parameters/vhost-limits/nope-http2/limits', { value: {} });
  await c('GET', `/api/parameters/vhost-limits/${P}v`);
  await c('DELETE', `/api/parameters/vhost-limits/${P}v/limits`);
  await c('DELETE', `/api/parameters/vhost-limits/${P}v/limits`);
// parameters
  await c('PUT', `/api/parameters/bogus/${P}v/p1`, { value: { a: 1 } });
  await c('PUT', `/api/parameters/policy/${P}v/p1`, { value: { a: 1 } });
  await c('GET', '/api/parameters/vhost-limits/nope-http2');
  await c('GET', '/api/parameters/vhost-limits/nope-http2/limits');
  await c('GET', '/api/parameters/bogus');
  await c('GET', `/api/parameters/bogus/${P}v`);
  await c('GET', `/api/parameters/bogus/${P}v/x`);
  await c('DELETE', `/api/parameters/bogus/${P}v/x`);
// operator policies
  await c('GET', `/api/operator-policies/${P}v`);
  await c('GET', '/api/operator-policies/nope-http2');
  await c('PUT', `/api/operator-policies/${P}v/op1`, { pattern: '^a', definition: { 'max-length': 10 }, priority: 2, 'apply-to': 'queues' });
  await c('PUT', `/api/operator-policies/${P}v/op1`, { pattern: '^a', definition: { 'max-length': 10 } });
  await c('PUT', `/api/operator-policies/${P}v/op2`, { pattern: '^a', definition: { 'message-ttl': 10 }, priority: 1 });
  await c('PUT', `/api/operator-policies/${P}v/op3`, { pattern: '^a', definition: { 'dead-letter-exchange': 'x' } });
  await c('PUT', `/api/operator-policies/${P}v/op3`, { pattern: '^a' });
  await c('PUT', '/api/operator-policies/nope-http2/op3', { pattern: '^a', definition: { 'max-length': 1 } });
  await c('PUT', `/api/operator-policies/${P}v/op3`, '{"pattern":"^a","definition":{"max-length":1}}', { type: 'text/plain' });
  await c('GET', `/api/operator-policies/${P}v`);
  await c('GET', '/api/operator-policies', undefined, { filter: mine });
  await c('GET', `/api/operator-policies/${P}v/op1`);
  await c('GET', `/api/operator-policies/${P}v/nope`);
  await c('GET', `/api/parameters/operator_policy/${P}v`);
  await c('PUT', `/api/parameters/operator_policy/${P}v/op4`, { value: { pattern: '^b', definition: { 'max-length': 10 } } });
  await c('PUT', `/api/parameters/operator_policy/${P}v/op4`, { value: { pattern: '^b', definition: { 'max-length': 10 }, priority: 0, 'apply-to': 'all' } });
  await c('GET', `/api/operator-policies/${P}v/op4`);
  await c('DELETE', `/api/parameters/operator_policy/${P}v/op4`);
  await c('DELETE', `/api/operator-policies/${P}v/op2`);
  await c('DELETE', `/api/operator-policies/${P}v/op2`);
  await c('DELETE', '/api/operator-policies/nope-http2/op4');
  await c('PUT', `/api/policies/${P}v/pol1`, { pattern: '^a', definition: { 'max-length': 10 } });
  await c('GET', `/api/parameters/policy/${P}v`);
  await c('GET', `/api/parameters/policy/${P}v/pol1`);
  await c('GET', '/api/parameters', undefined, { filter: mine });
  await c('GET', '/api/parameters/operator_policy', undefined, { filter: mine });
// global parameters
  await c('GET', `/api/global-parameters/${P}g`);
  await c('PUT', `/api/global-parameters/${P}g`, { value: { a: [1, 2] } });
  await c('PUT', `/api/global-parameters/${P}g`, { value: { a: [1, 2] } });
  await c('PUT', `/api/global-parameters/${P}g3`, {});
  await c('GET', `/api/global-parameters/${P}g`);
  await c('GET', '/api/global-parameters', undefined, { filter: mine });
  await c('DELETE', `/api/global-parameters/${P}g`);
  await c('DELETE', `/api/global-parameters/${P}g`);
// permissions
  await c('GET', `/api/permissions/${P}v/${P}a`);
  await c('PUT', `/api/permissions/${P}v/${P}a`, { configure: '^a', write: '.*', read: '' });
  await c('PUT', `/api/permissions/${P}v/${P}a`, { configure: '^a', write: '.*', read: '' });
  await c('PUT', `/api/permissions/${P}v/${P}a`, { configure: '^a', write: '.*' });
  await c('PUT', `/api/permissions/${P}v/nope-http2`, { configure: '^a', write: '.*', read: '' });
  await c('PUT', `/api/permissions/nope-http2/${P}a`, { configure: '^a', write: '.*', read: '' });
  await c('GET', `/api/permissions/${P}v/${P}a`);
  await c('GET', `/api/permissions/nope-http2/${P}a`);
  await c('GET', `/api/permissions/${P}v/nope-http2`);
  await c('GET', `/api/users/${P}a/permissions`);
  await c('GET', '/api/users/nope-http2/permissions');
  await c('GET', `/api/vhosts/${P}v/permissions`);
  await c('GET', '/api/vhosts/nope-http2/permissions');
  await c('GET', '/api/permissions', undefined, { filter: mine });
  await c('DELETE', `/api/permissions/${P}v/${P}b`);
  await c('DELETE', `/api/permissions/${P}v/nope-http2`);
// topic permissions
  await c('GET', `/api/topic-permissions/${P}v/${P}a`, undefined, { unordered: true });
  await c('PUT', `/api/topic-permissions/${P}v/${P}a`, { exchange: 'amq.topic', write: '^a', read: '.*' });
  await c('PUT', `/api/topic-permissions/${P}v/${P}a`, { exchange: 'amq.topic', write: '^a', read: '.*' });
  await c('PUT', `/api/topic-permissions/${P}v/${P}a`, { exchange: 'x2', write: '^b', read: '' });
  await c('PUT', `/api/topic-permissions/${P}v/${P}a`, { write: '^b', read: '' });
  await c('PUT', `/api/topic-permissions/${P}v/nope-http2`, { exchange: 'x3', write: '', read: '' });
  await c('GET', `/api/topic-permissions/${P}v/${P}a`, undefined, { unordered: true });
  await c('GET', `/api/topic-permissions/${P}v/${P}a/x2`, undefined, { unordered: true });
  await c('GET', '/api/topic-permissions', undefined, { filter: mine });
  await c('GET', `/api/users/${P}a/topic-permissions`);
  await c('GET', `/api/vhosts/${P}v/topic-permissions`);
  await c('GET', '/api/vhosts/nope-http2/topic-permissions');
  await c('DELETE', `/api/topic-permissions/${P}v/${P}a/x2`);
  await c('GET', `/api/topic-permissions/${P}v/${P}a`, undefined, { unordered: true });
  await c('DELETE', `/api/topic-permissions/${P}v/${P}a/x9`);
  await c('DELETE', `/api/topic-permissions/${P}v/${P}a`);
  await c('DELETE', `/api/topic-permissions/${P}v/${P}a`);
// bulk delete
  await c('PUT', `/api/users/${P}e`, { password: 'x', tags: '' });
  await c('POST', '/api/users/bulk-delete', { users: [`${P}e`, 'nope-http2'] });
  await c('GET', `/api/users/${P}e`);
  await c('POST', '/api/users/bulk-delete', {});
  await c('POST', '/api/users/bulk-delete', { users: [] });
// definitions
  await c('PUT', `/api/queues/${P}v/q1`, { durable: true });
  await c('GET', `/api/definitions/${P}v`);
  await c('GET', '/api/definitions/nope-http2');
  await c('POST', '/api/definitions/nope-http2', { queues: [] });
  await c('POST', `/api/definitions/${P}v`, 'not json');
  await c('POST', `/api/definitions/${P}v`, '[]');
  await c('POST', `/api/definitions/${P}v`, '{}', { type: 'text/plain' });
  await c('POST', '/api/definitions', { users: [{ name: `${P}f`, password: 'xx', tags: '' }] });
  await c('POST', '/api/definitions', { queues: [{ name: 'q1', vhost: `${P}v`, durable: false, auto_delete: false, arguments: {} }] });
  await c('GET', `/api/users/${P}f`, undefined, { strip: nohash });
  return out;
}

async function cleanUp(api: Api, P: string): Promise<void> {
  for (const u of ['a', 'b', 'c', 'e', 'f']) await api('DELETE', `/api/users/${P}${u}`);
  await api('DELETE', `/api/vhosts/${P}v`);
  await api('DELETE', `/api/global-parameters/${P}g`);
}

let warren: ApiBroker;

beforeAll(async () => {
  if (rabbit !== null) warren = await startWithApi();
});

afterAll(async () => {
  await warren?.close();
});

describe.skipIf(rabbit === null)('the management API against a live RabbitMQ, step by step', () => {
  test('users, limits, parameters, permissions, topic permissions, definitions: the same answers', async () => {
    const P = `http2-par-${randomBytes(3).toString('hex')}-`;
    const theirApi = apiClient(rabbit!.base, rabbit!.user, rabbit!.password);
    let theirs: string[];
    try {
      theirs = await session(theirApi, P);
    } finally {
      await cleanUp(theirApi, P);
    }
    const ours = await session(warren.api, P);
    expect(theirs.length).toBeGreaterThan(150);
    expect(ours).toEqual(theirs);
  }, 120_000);
});
