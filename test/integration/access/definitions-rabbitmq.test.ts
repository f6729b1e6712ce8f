// Definitions between a live RabbitMQ and Warren, both ways (runs when RABBITMQ_MGMT_URL
// and RABBITMQ_URL point at a RabbitMQ; CI starts one):
//  - RabbitMQ -> Warren: users (with a hashed password), permissions, topic permissions,
//    user and vhost limits, an operator policy, lazy and quorum queues are made on
//    RabbitMQ through its HTTP API; its GET /api/definitions loads into a fresh Warren at
//    start, and the user logs in to Warren with the same password;
//  - Warren -> RabbitMQ: users hashed by Warren with sha256, sha512 and md5, and a vhost
//    with the same kinds of objects, exported by Warren and imported with POST
//    /api/definitions (204): each user logs in to RabbitMQ with its password and the
//    objects are there.
// Everything made on the shared RabbitMQ has a unique access-rt-* name and is deleted.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp from 'amqplib';
import { afterAll, describe, expect, test } from 'vitest';
import type { Definitions } from '../../../persistence/definitions.js';
import { exportDefinitions } from '../../../server/access/definitions-export.js';
import { importDefinitions } from '../../../server/access/definitions-import.js';
import { hashPassword } from '../../../server/access/password.js';
import { startBroker, type RunningBroker } from '../../../server/index.js';

const mgmt = process.env['RABBITMQ_MGMT_URL'] ?? '';
const rabbitUrl = process.env['RABBITMQ_URL'] ?? '';
if (mgmt === '' || rabbitUrl === '') console.warn('definitions-rabbitmq: RABBITMQ_MGMT_URL or RABBITMQ_URL is not set; the round trip with a live RabbitMQ is skipped. CI sets both.');

const token = randomBytes(3).toString('hex');
const V1 = `access-rt-${token}-a`;
const V2 = `access-rt-${token}-b`;
const U1 = `access-rt-${token}-app`;
const made = { users: [] as string[], vhosts: [] as string[] };
const enc = encodeURIComponent;

async function api(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
  const u = new URL(mgmt);
  const res = await fetch(`${u.origin}/api${path}`, {
    method,
    headers: {
      authorization: `Basic ${Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64')}`,
      'content-type': 'application/json',
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (res.status >= 400) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return { status: res.status, body: text === '' ? null : JSON.parse(text) };
}

function rabbitAmqp(user: string, password: string, vhost: string): string {
  const u = new URL(rabbitUrl);
  return `amqp://${enc(user)}:${enc(password)}@${u.host}/${enc(vhost)}`;
}

const tmp = mkdtempSync(join(tmpdir(), 'warren-defs-rt-'));
const running: RunningBroker[] = [];
afterAll(async () => {
  for (const b of running) await b.close();
  rmSync(tmp, { recursive: true, force: true });
  if (mgmt === '') return;
  for (const u of made.users) await api('DELETE', `/users/${enc(u)}`).catch(() => {});
  for (const v of made.vhosts) await api('DELETE', `/vhosts/${enc(v)}`).catch(() => {});
});

describe.skipIf(mgmt === '' || rabbitUrl === '')('definitions round trip with a live RabbitMQ', () => {
  test('RabbitMQ -> Warren: the export loads at start and the user logs in with the same password', async () => {
    made.vhosts.push(V1);
    made.users.push(U1);
    await api('PUT', `/vhosts/${enc(V1)}`, { description: 'round trip' });
    await api('PUT', `/users/${enc(U1)}`, { password: 'rt-secret', tags: 'management' });
    await api('PUT', `/permissions/${enc(V1)}/${enc(U1)}`, { configure: '^app\\.', write: '^app\\.|^amq\\.topic$', read: '^app\\.' });
    await api('PUT', `/topic-permissions/${enc(V1)}/${enc(U1)}`, { exchange: 'amq.topic', write: '^app\\.', read: '.*' });
    await api('PUT', `/user-limits/${enc(U1)}/max-connections`, { value: 3 });
    await api('PUT', `/vhost-limits/${enc(V1)}/max-queues`, { value: 10 });
    await api('PUT', `/operator-policies/${enc(V1)}/cap`, { pattern: '.*', definition: { 'max-length': 100 }, 'apply-to': 'queues', priority: 0 });
    await api('PUT', `/policies/${enc(V1)}/lazy`, { pattern: '^app\\.lazy', definition: { 'queue-mode': 'lazy' }, 'apply-to': 'queues', priority: 0 });
    await api('PUT', `/queues/${enc(V1)}/app.quorum`, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    await api('PUT', `/queues/${enc(V1)}/app.lazy.q`, { durable: true, arguments: { 'x-queue-mode': 'lazy' } });
    const exported = (await api('GET', '/definitions')).body as Definitions;

    const path = join(tmp, 'from-rabbitmq.json');
    writeFileSync(path, JSON.stringify(exported));
    const w = await startBroker({ port: 0, loadDefinitions: path });
    running.push(w);
    const conn = await amqp.connect(`amqp://${enc(U1)}:rt-secret@127.0.0.1:${w.port}/${enc(V1)}`);
    const ch = await conn.createChannel();
    expect(await ch.checkQueue('app.quorum')).toMatchObject({ queue: 'app.quorum' });
    expect(await ch.checkQueue('app.lazy.q')).toMatchObject({ queue: 'app.lazy.q' });
    await conn.close();
    const v = w.broker.vhosts.get(V1)!;
    expect(v.limits).toEqual({ 'max-queues': 10 });
    expect(v.queues.get('app.quorum')!.settings.maxLength).toBe(100);
    expect(w.broker.access.users.get(U1)!.limits).toEqual({ 'max-connections': 3 });
    expect(w.broker.access.listTopicPermissions({ user: U1 })).toEqual([{ user: U1, vhost: V1, exchange: 'amq.topic', write: '^app\\.', read: '.*' }]);
  });

  test('Warren -> RabbitMQ: POST /api/definitions takes Warren\'s export; sha256, sha512 and md5 users log in there', async () => {
    const w = await startBroker({ port: 0 });
    running.push(w);
    const users = (['sha256', 'sha512', 'md5'] as const).map((alg) => ({
      name: `access-rt-${token}-${alg}`,
      password: `pw-${alg}`,
      hashing_algorithm: `rabbit_password_hashing_${alg}` as const,
    }));
    importDefinitions(
      w.broker,
      {
        users: users.map((u) => ({ name: u.name, password_hash: hashPassword(u.password, u.hashing_algorithm), hashing_algorithm: u.hashing_algorithm, tags: ['monitoring'], limits: { 'max-channels': 9 } })),
        vhosts: [{ name: V2 }],
        permissions: users.map((u) => ({ user: u.name, vhost: V2, configure: '.*', write: '.*', read: '^app\\.' })),
        topic_permissions: [{ user: users[0]!.name, vhost: V2, exchange: 'amq.topic', write: '^app\\.', read: '.*' }],
        parameters: [
          { vhost: V2, component: 'vhost-limits', name: 'limits', value: { 'max-connections': 50 } },
          { vhost: V2, component: 'operator_policy', name: 'cap', value: { pattern: '.*', definition: { 'message-ttl': 60000 }, priority: 0, 'apply-to': 'queues' } },
        ],
        policies: [{ vhost: V2, name: 'lazy', pattern: '^app\\.lazy', 'apply-to': 'queues', definition: { 'queue-mode': 'lazy', 'ha-mode': 'all' }, priority: 1 }],
        queues: [
          { name: 'app.quorum', vhost: V2, durable: true, auto_delete: false, arguments: { 'x-queue-type': 'quorum' } },
          { name: 'app.lazy.q', vhost: V2, durable: true, auto_delete: false, arguments: {} },
        ],
        exchanges: [{ name: 'app.x', vhost: V2, type: 'topic', durable: true, auto_delete: false, internal: false, arguments: {} }],
        bindings: [{ source: 'app.x', vhost: V2, destination: 'app.quorum', destination_type: 'queue', routing_key: 'a.#', arguments: {} }],
      },
      { mode: 'runtime' },
    );
    const whole = exportDefinitions(w.broker);
    // Only this test's part goes to the shared RabbitMQ (not Warren's own guest and '/').
    const ours: Definitions = {
      rabbit_version: whole.rabbit_version,
      users: whole.users!.filter((u) => u.name.startsWith(`access-rt-${token}`)),
      vhosts: whole.vhosts!.filter((v) => v.name === V2),
    };
    for (const key of ['permissions', 'topic_permissions', 'parameters', 'policies', 'queues', 'exchanges', 'bindings'] as const) {
      (ours as Record<string, unknown>)[key] = ((whole[key] ?? []) as { vhost: string }[]).filter((e) => e.vhost === V2);
    }
    made.vhosts.push(V2);
    made.users.push(...users.map((u) => u.name));
    expect((await api('POST', '/definitions', ours)).status).toBe(204);

    for (const u of users) {
      const c = await amqp.connect(rabbitAmqp(u.name, u.password, V2));
      await c.close();
      await expect(amqp.connect(rabbitAmqp(u.name, u.password + 'x', V2))).rejects.toThrow(/403/);
    }
    const q = (await api('GET', `/queues/${enc(V2)}/app.quorum`)).body as { type: string; arguments: unknown };
    expect(q.type).toBe('quorum');
    const limits = (await api('GET', `/vhost-limits/${enc(V2)}`)).body as { value: unknown }[];
    expect(limits[0]!.value).toEqual({ 'max-connections': 50 });
    const op = (await api('GET', `/operator-policies/${enc(V2)}`)).body as { name: string; definition: unknown }[];
    expect(op.map((p) => [p.name, p.definition])).toEqual([['cap', { 'message-ttl': 60000 }]]);
    const pol = (await api('GET', `/policies/${enc(V2)}`)).body as { name: string; definition: unknown }[];
    expect(pol.map((p) => [p.name, p.definition])).toEqual([['lazy', { 'queue-mode': 'lazy', 'ha-mode': 'all' }]]);
    const user = (await api('GET', `/users/${enc(users[1]!.name)}`)).body as { hashing_algorithm: string; tags: string[]; limits: unknown };
    expect(user).toMatchObject({ hashing_algorithm: 'rabbit_password_hashing_sha512', tags: ['monitoring'], limits: { 'max-channels': 9 } });
    const tp = ((await api('GET', '/topic-permissions')).body as { vhost: string }[]).filter((p) => p.vhost === V2);
    expect(tp).toEqual([{ user: users[0]!.name, vhost: V2, exchange: 'amq.topic', write: '^app\\.', read: '.*' }]);
    const b = (await api('GET', `/bindings/${enc(V2)}/e/app.x/q/app.quorum`)).body as { routing_key: string }[];
    expect(b.map((x) => x.routing_key)).toEqual(['a.#']);
  });
});
