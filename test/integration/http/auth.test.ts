// HTTP basic auth and the four management tags, with RabbitMQ 3.10's status codes and
// bodies (observed on the shared RabbitMQ with users of each tag).
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startBroker } from '../../../server/index.js';
import { ManagementServer } from '../../../server/http/management.js';
import type { HttpAuthenticator, HttpUser } from '../../../server/http/auth.js';
import { apiClient, startWithApi, type ApiBroker } from '../../helpers/http.js';

let b: ApiBroker;

const USERS = [
  { name: 'guest', password: 'guest', tags: ['administrator'] },
  { name: 'none', password: 'p', tags: [] },
  { name: 'mgmt', password: 'p', tags: ['management'] },
  { name: 'mon', password: 'p', tags: ['monitoring'] },
  { name: 'pm', password: 'p', tags: ['policymaker'] },
];

beforeAll(async () => {
  b = await startWithApi({ users: USERS });
});

afterAll(async () => {
  await b?.close();
});

const as = (user: string) => ({ user, password: user === 'guest' ? 'guest' : 'p' });

describe('authentication', () => {
  test('no credentials: a bare 401 with the realm, as RabbitMQ answers', async () => {
    const r = await b.api('GET', '/api/overview', undefined, { auth: false });
    expect(r.status).toBe(401);
    expect(r.text).toBe('');
    expect(r.headers['www-authenticate']).toBe('Basic realm="RabbitMQ Management"');
  });

  test('a wrong password: 401 not_authorized "Login failed", with the realm', async () => {
    const r = await b.api('GET', '/api/overview', undefined, { user: 'guest', password: 'nope' });
    expect(r.status).toBe(401);
    expect(r.body).toEqual({ error: 'not_authorized', reason: 'Login failed' });
    expect(r.headers['www-authenticate']).toBe('Basic realm="RabbitMQ Management"');
  });

  test('an unknown user is refused the same way', async () => {
    const r = await b.api('GET', '/api/whoami', undefined, { user: 'nobody', password: 'x' });
    expect(r.status).toBe(401);
    expect(r.body).toEqual({ error: 'not_authorized', reason: 'Login failed' });
  });

  test('a user without a management tag is refused everywhere: 401 "Not management user"', async () => {
    for (const path of ['/api/overview', '/api/whoami', '/api/queues', '/api/health/checks/alarms']) {
      const r = await b.api('GET', path, undefined, as('none'));
      expect({ path, status: r.status, body: r.body }).toEqual({
        path,
        status: 401,
        body: { error: 'not_authorised', reason: 'Not management user' },
      });
    }
  });

  test('whoami names the user and its tags', async () => {
    expect((await b.api('GET', '/api/whoami')).body).toEqual({ name: 'guest', tags: ['administrator'] });
    expect((await b.api('GET', '/api/whoami', undefined, as('mon'))).body).toEqual({ name: 'mon', tags: ['monitoring'] });
  });
});

describe('tags decide access', () => {
  const refused = (reason: string) => ({ status: 401, body: { error: 'not_authorised', reason } });
  const call = async (user: string, method: string, path: string, body?: unknown) => {
    const r = await b.api(method, path, body, as(user));
    return r.status >= 400 ? { status: r.status, body: r.body } : { status: r.status };
  };

  test('management: overview and lists yes; nodes, vhost details and policy changes no', async () => {
    expect(await call('mgmt', 'GET', '/api/overview')).toEqual({ status: 200 });
    expect(await call('mgmt', 'GET', '/api/queues/%2F')).toEqual({ status: 200 });
    expect(await call('mgmt', 'GET', '/api/policies')).toEqual({ status: 200 });
    expect(await call('mgmt', 'GET', '/api/nodes')).toEqual(refused('Not monitor user'));
    expect(await call('mgmt', 'GET', '/api/vhosts/%2F')).toEqual(refused('Not administrator user'));
    expect(await call('mgmt', 'PUT', '/api/vhosts/x', {})).toEqual(refused('Not administrator user'));
    expect(await call('mgmt', 'PUT', '/api/policies/%2F/p1', { pattern: '^z', definition: { 'max-length': 1 } })).toEqual(
      refused('User not authorised to access object'),
    );
    expect(await call('mgmt', 'PUT', '/api/queues/%2F/mgmt-q', {})).toEqual({ status: 201 });
    expect(await call('mgmt', 'DELETE', '/api/queues/%2F/mgmt-q')).toEqual({ status: 204 });
  });

  test('monitoring: nodes yes; vhost administration no', async () => {
    expect(await call('mon', 'GET', '/api/nodes')).toEqual({ status: 200 });
    expect(await call('mon', 'GET', '/api/vhosts/%2F')).toEqual(refused('Not administrator user'));
    expect(await call('mon', 'DELETE', '/api/policies/%2F/p1')).toEqual(refused('User not authorised to access object'));
  });

  test('policymaker: may set and clear policies, not see nodes', async () => {
    expect(await call('pm', 'PUT', '/api/policies/%2F/pm-pol', { pattern: '^pm', definition: { 'max-length': 1 } })).toEqual({ status: 201 });
    expect(await call('pm', 'DELETE', '/api/policies/%2F/pm-pol')).toEqual({ status: 204 });
    expect(await call('pm', 'GET', '/api/nodes')).toEqual(refused('Not monitor user'));
  });

  test('administrator: everything', async () => {
    expect(await call('guest', 'GET', '/api/nodes')).toEqual({ status: 200 });
    expect(await call('guest', 'PUT', '/api/vhosts/admin-v', {})).toEqual({ status: 201 });
    expect(await call('guest', 'DELETE', '/api/vhosts/admin-v')).toEqual({ status: 204 });
  });

  test("connections: a management user sees only its own; monitors see all; only administrators close others'", async () => {
    const mine = await amqp.connect(b.url.replace('guest:guest', 'mgmt:p'));
    const theirs = await amqp.connect(b.url);
    try {
      const users = async (who: string) => ((await b.api('GET', '/api/connections', undefined, as(who))).body as { user: string }[]).map((c) => c.user).sort();
      expect(await users('mgmt')).toEqual(['mgmt']);
      expect(await users('mon')).toEqual(['guest', 'mgmt']);
      const list = (await b.api('GET', '/api/connections')).body as { name: string; user: string }[];
      const guests = list.find((c) => c.user === 'guest')!.name;
      const path = `/api/connections/${encodeURIComponent(guests)}`;
      expect(await call('mgmt', 'GET', path)).toEqual(refused('User not authorised to access object'));
      expect(await call('mon', 'GET', path)).toEqual({ status: 200 });
      expect(await call('mon', 'DELETE', path)).toEqual(refused('User not authorised to access object'));
    } finally {
      await mine.close();
      await theirs.close();
    }
  });
});

describe('vhost permissions, through the authenticator (what access control plugs into)', () => {
  test('a user sees only the vhosts it may access; another is refused; a missing one is 404', async () => {
    const broker = await startBroker({ port: 0, vhosts: ['/', 'open', 'secret'] });
    const users: Record<string, HttpUser> = { admin: { name: 'admin', tags: ['administrator'] }, alice: { name: 'alice', tags: ['management'] } };
    const auth: HttpAuthenticator = {
      check: (name, password) => (password === 'p' ? (users[name] ?? null) : null),
      loopbackOnly: () => false,
      canAccessVhost: (user, vhost) => user.name === 'admin' || vhost !== 'secret',
    };
    const server = new ManagementServer(broker.broker, auth);
    const addr = await server.listen(0, '127.0.0.1');
    try {
      const alice = apiClient(`http://127.0.0.1:${addr.port}`, 'alice', 'p');
      const admin = apiClient(`http://127.0.0.1:${addr.port}`, 'admin', 'p');
      for (const v of ['open', 'secret']) await admin('PUT', `/api/queues/${v}/q-${v}`, {});
      const secret = await alice('GET', '/api/queues/secret');
      expect({ status: secret.status, body: secret.body }).toEqual({ status: 401, body: { error: 'not_authorised', reason: 'User not authorised to access virtual host' } });
      expect((await alice('PUT', '/api/queues/secret/q2', {})).status).toBe(401);
      expect(((await alice('GET', '/api/queues')).body as { name: string }[]).map((q) => q.name)).toEqual(['q-open']);
      expect(((await alice('GET', '/api/vhosts')).body as { name: string }[]).map((v) => v.name)).toEqual(['/', 'open']);
      expect((await alice('GET', '/api/queues/nope')).status).toBe(404);
      expect(((await admin('GET', '/api/queues')).body as { name: string }[]).map((q) => q.name)).toEqual(['q-open', 'q-secret']);
    } finally {
      await server.close();
      await broker.close();
    }
  });
});
