// Definitions, whole: a real RabbitMQ 3.10.8 export (fixtures/, taken from GET
// /api/definitions with users, hashed passwords, permissions, topic permissions, user and
// vhost limits, an operator policy, lazy, HA and federation policies, shovel and
// federation parameters, quorum, stream and lazy queues) loads into Warren at start
// (load_definitions), the users log in with their passwords, and Warren's export gives
// back the same sections; a per-vhost export imports into another vhost; what Warren
// cannot honour is logged, section by section, and never stops it; and users, permissions,
// limits and parameters survive a restart with no plaintext password on disk.
import amqp from 'amqplib';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, describe, expect, test } from 'vitest';
import type { Definitions } from '../../../persistence/definitions.js';
import { exportDefinitions } from '../../../server/access/definitions-export.js';
import { importDefinitions } from '../../../server/access/definitions-import.js';
import { Broker } from '../../../server/broker.js';
import { startBroker, type RunningBroker } from '../../../server/index.js';
import { attempt } from '../../helpers/access.js';

const FIXTURE: Definitions = JSON.parse(readFileSync(new URL('./fixtures/rabbitmq-3.10.8-export.json', import.meta.url), 'utf8'));
const VHOST_FIXTURE: Definitions = JSON.parse(readFileSync(new URL('./fixtures/rabbitmq-3.10.8-vhost-export.json', import.meta.url), 'utf8'));
const V = 'access-export';

const tmp = mkdtempSync(join(tmpdir(), 'warren-definitions-'));
const brokers: { close(): Promise<void> }[] = [];
afterAll(async () => {
  for (const b of brokers) await b.close();
  rmSync(tmp, { recursive: true, force: true });
});

interface LogLine {
  level: number;
  msg: string;
  [k: string]: unknown;
}

/** A broker on a free loopback port whose log lines are kept. */
async function start(config: Record<string, unknown>): Promise<{ broker: Broker; port: number; logs: LogLine[]; url: (u: string, p: string, v?: string) => string }> {
  const logs: LogLine[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line !== '') logs.push(JSON.parse(line) as LogLine);
      cb();
    },
  });
  const broker = new Broker({ host: '127.0.0.1', port: 0, dataDir: '', managementPort: null, prometheusPort: null, ...config }, pino({ level: 'info' }, sink));
  const addr = await broker.listen();
  brokers.push(broker);
  return { broker, port: addr.port, logs, url: (u, p, v = '/') => `amqp://${encodeURIComponent(u)}:${encodeURIComponent(p)}@127.0.0.1:${addr.port}/${encodeURIComponent(v)}` };
}

function file(name: string, defs: unknown): string {
  const path = join(tmp, name);
  writeFileSync(path, JSON.stringify(defs));
  return path;
}

/** JSON with object keys sorted at every level. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/** A section as a sorted list of canonical JSON texts, to compare exports regardless of order. */
function section(defs: Definitions, key: keyof Definitions, omit: string[] = []): string[] {
  const list = (defs[key] ?? []) as Record<string, unknown>[];
  return list
    .map((e) => {
      const o = { ...e };
      for (const k of omit) delete o[k];
      return canonical(o);
    })
    .sort();
}

describe('a RabbitMQ 3.10.8 export, loaded at start (loadDefinitions)', async () => {
  // What a RabbitMQ with more plugins could have exported too: Warren must start anyway.
  const extended: Definitions = {
    ...FIXTURE,
    exchanges: [
      ...FIXTURE.exchanges!,
      { name: 'app.delayed', vhost: V, type: 'x-delayed-message', durable: true, auto_delete: false, internal: false, arguments: { 'x-delayed-type': 'direct' } },
    ],
    policies: [
      ...FIXTURE.policies!,
      { vhost: V, name: 'shards', pattern: '^app\\.sharded$', 'apply-to': 'exchanges', definition: { 'shards-per-node': 2 }, priority: 0 },
    ],
    bindings: [...FIXTURE.bindings!, { source: 'app.gone', vhost: V, destination: 'app.orders', destination_type: 'queue', routing_key: 'x', arguments: {} }],
  };
  const w = await start({ loadDefinitions: file('rabbit.json', extended) });
  const access = w.broker.access;

  test('RabbitMQ\'s rule: nothing is seeded when there are definitions to load (the export brings its own guest)', () => {
    expect([...w.broker.vhosts.keys()]).toEqual([V]);
    expect([...access.users.keys()].sort()).toEqual(['access-export-app', 'access-export-ops', 'guest']);
    expect(w.logs.some((l) => l.msg === 'Will not seed default virtual host and user: have definitions to load')).toBe(true);
  });

  test('users log in with the passwords they had on RabbitMQ (the hashes are RabbitMQ\'s)', async () => {
    const c = await amqp.connect(w.url('access-export-app', 'app-secret', V));
    await c.close();
    await expect(amqp.connect(w.url('access-export-app', 'wrong', V))).rejects.toThrow(/403 \(ACCESS-REFUSED\)/);
    const ops = await amqp.connect(w.url('access-export-ops', 'ops-secret', V));
    await ops.close();
    expect(access.users.get('access-export-ops')!.tags).toEqual(['administrator', 'monitoring']);
    expect(access.users.get('access-export-app')!.limits).toEqual({ 'max-channels': 20, 'max-connections': 5 });
  });

  test('permissions and topic permissions apply as on RabbitMQ', async () => {
    const c = await amqp.connect(w.url('access-export-app', 'app-secret', V));
    c.on('error', () => {});
    const refusedTopic = {
      code: 403,
      text: `ACCESS_REFUSED - access to topic 'app.other.x' in exchange 'amq.topic' in vhost '${V}' refused for user 'access-export-app'`,
      classId: 60,
      methodId: 40,
    };
    expect(await attempt(c, async (ch) => ch.publish('amq.topic', 'app.access-export-app.x', Buffer.from('m')))).toBe('ok');
    expect(await attempt(c, async (ch) => ch.publish('amq.topic', 'app.other.x', Buffer.from('m')))).toEqual(refusedTopic);
    expect(await attempt(c, (ch) => ch.assertQueue('other.q'))).toMatchObject({ code: 403 });
    await c.close();
  });

  test('queues, exchanges, bindings and policies are there; the operator policy caps the policy (lower wins)', () => {
    const v = w.broker.vhosts.get(V)!;
    expect([...v.queues.keys()].sort()).toEqual(['app.classic', 'app.lazy.backlog', 'app.orders', 'app.shovel-in', 'app.shovel-out', 'app.stream']);
    expect(v.queues.get('app.orders')!.args).toEqual({ 'x-delivery-limit': 5, 'x-queue-type': 'quorum' });
    // dlx policy: max-length 1000, message-ttl 60000; operator policy cap: 500, 3600000.
    expect(v.queues.get('app.orders')!.settings).toMatchObject({ maxLength: 500, messageTtl: 60000, deadLetterExchange: 'app.dlx' });
    expect(v.queues.get('app.classic')!.settings).toMatchObject({ maxLength: 500, messageTtl: 30000 });
    expect(v.limits).toEqual({ 'max-queues': 50, 'max-connections': 100 });
    expect(v.policies.list().map((p) => p.name)).toEqual(['dlx', 'fed', 'ha', 'lazy', 'shards']);
  });

  test('what cannot be honoured is logged by section, and nothing stops the broker', () => {
    const warn = (section: string) => w.logs.filter((l) => l.level === 40 && l['section'] === section);
    expect(warn('exchanges').map((l) => l['errors'])).toEqual([["exchange 'app.delayed' in vhost 'access-export': COMMAND_INVALID - unknown exchange type 'x-delayed-message'"]]);
    expect(warn('bindings').map((l) => l['errors'])).toEqual([["binding from 'app.gone' to queue 'app.orders' in vhost 'access-export': NOT_FOUND - no exchange 'app.gone' in vhost 'access-export'"]]);
    // Shovels and federation upstreams both run: no parameter is merely kept.
    expect(warn('parameters').map((l) => l['components'])).toEqual([]);
    const inert = w.logs.filter((l) => l.msg === 'policy keys accepted and stored, but they have no effect in Warren').flatMap((l) => l['keys'] as string[]);
    expect(inert.sort()).toEqual(['ha-mode', 'ha-params', 'ha-sync-mode', 'queue-mode', 'shards-per-node']);
  });

  test("Warren's export gives back every section as RabbitMQ exported it", () => {
    const out = exportDefinitions(w.broker);
    expect(Object.keys(out)).toEqual(
      expect.arrayContaining(['rabbit_version', 'users', 'vhosts', 'permissions', 'topic_permissions', 'parameters', 'global_parameters', 'policies', 'queues', 'exchanges', 'bindings']),
    );
    for (const key of ['users', 'permissions', 'topic_permissions', 'parameters', 'global_parameters', 'queues', 'exchanges'] as const) {
      expect(section(out, key), key).toEqual(section(FIXTURE, key));
    }
    expect(section(out, 'policies')).toEqual(section(extended, 'policies'));
    expect(section(out, 'bindings')).toEqual(section(FIXTURE, 'bindings'));
    expect(out.vhosts).toEqual([{ name: V }]);
  });
});

describe('per-vhost definitions', () => {
  test('a per-vhost export (no vhost fields) imports into the vhost named, and exports back the same', async () => {
    const b = await startBroker({ port: 0 });
    brokers.push(b);
    const access = b.broker.access;
    access.addVhost('staging');
    const report = importDefinitions(b.broker, VHOST_FIXTURE, { mode: 'runtime', vhost: 'staging' });
    expect(Object.values(report).flatMap((r) => r.errors)).toEqual([]);
    const v = b.broker.vhosts.get('staging')!;
    expect(v.queues.size).toBe(6);
    expect(v.limits).toEqual({ 'max-queues': 50, 'max-connections': 100 });
    expect(v.operatorPolicies.list().map((p) => p.name)).toEqual(['cap']);
    const out = exportDefinitions(b.broker, { vhost: 'staging' });
    expect(Object.keys(out)).toEqual(['rabbit_version', 'parameters', 'policies', 'queues', 'exchanges', 'bindings']);
    for (const key of ['queues', 'exchanges', 'bindings'] as const) expect(section(out, key), key).toEqual(section(VHOST_FIXTURE, key));
    // Policies and parameters keep a vhost field, as in RabbitMQ's per-vhost export: now the new one.
    for (const key of ['policies', 'parameters'] as const) {
      expect(section(out, key, ['vhost']), key).toEqual(section(VHOST_FIXTURE, key, ['vhost']));
      expect(((out[key] ?? []) as { vhost: string }[]).every((p) => p.vhost === 'staging')).toBe(true);
    }
  });

  test('a per-vhost import into a missing vhost is refused with RabbitMQ\'s text', async () => {
    const b = await startBroker({ port: 0 });
    brokers.push(b);
    expect(() => importDefinitions(b.broker, VHOST_FIXTURE, { mode: 'runtime', vhost: 'nope' })).toThrow('Please create virtual host "nope" prior to importing definitions.');
  });

  test('an import whose queues would exceed a vhost\'s max-queues is refused with RabbitMQ\'s text', async () => {
    const b = await startBroker({ port: 0 });
    brokers.push(b);
    b.broker.access.addVhost('small');
    b.broker.access.setVhostLimits('small', { 'max-queues': 2 });
    expect(() => importDefinitions(b.broker, VHOST_FIXTURE, { mode: 'runtime', vhost: 'small' })).toThrow(
      'Adding 6 queue(s) to virtual host "small" would exceed the limit of 2 queue(s).\n\nThis virtual host currently has 0 queue(s) defined.\n\nImport aborted!',
    );
  });
});

describe('durable: users, permissions, limits and parameters survive a restart', () => {
  test('no plaintext password reaches the disk; the same users log in after a restart', async () => {
    const dataDir = join(tmp, 'data');
    const config = { dataDir, users: [{ name: 'cfg', password: 'plain-secret-123', tags: ['management'] }], vhosts: ['/'] };
    let b = await start(config);
    b.broker.access.setUserLimits('cfg', { 'max-channels': 7 });
    importDefinitions(b.broker, FIXTURE, { mode: 'runtime' });
    b.broker.saveDefinitions();
    await b.broker.close();
    const text = readFileSync(join(dataDir, 'definitions.json'), 'utf8');
    expect(text).not.toContain('plain-secret-123');
    const stored = JSON.parse(text) as Definitions;
    expect(stored.users!.find((u) => u.name === 'cfg')).toMatchObject({ hashing_algorithm: 'rabbit_password_hashing_sha256', tags: ['management'], limits: { 'max-channels': 7 } });

    b = await start({ ...config, users: [{ name: 'other', password: 'x' }] });
    const c = await amqp.connect(b.url('cfg', 'plain-secret-123'));
    await c.close();
    // The config's users seed a fresh broker only: 'other' was not created.
    expect(b.broker.access.users.has('other')).toBe(false);
    expect(b.broker.access.users.get('cfg')!.limits).toEqual({ 'max-channels': 7 });
    const v = b.broker.vhosts.get(V)!;
    expect(v.limits).toEqual({ 'max-queues': 50, 'max-connections': 100 });
    expect(v.operatorPolicies.list().map((p) => p.name)).toEqual(['cap']);
    expect([...v.parameters.keys()].sort()).toEqual(['federation-upstream/upstream-a', 'shovel/move-a']);
    expect(b.broker.access.listTopicPermissions()).toEqual(FIXTURE.topic_permissions);
    const app = await amqp.connect(b.url('access-export-app', 'app-secret', V));
    await app.close();
  });
});

describe('config users', () => {
  test('a config user given with a RabbitMQ hash logs in; one with permissions gets only those', async () => {
    const b = await start({
      vhosts: ['/', 'other'],
      users: [
        { name: 'h', password_hash: 'D1bIbewK5b7xF3waKbJ5TzLa4L8FIs+PgAhVKNuMWrcysugT', hashing_algorithm: 'rabbit_password_hashing_sha256' },
        { name: 'p', password: 'pp', permissions: { other: { configure: '', write: '', read: '.*' } } },
      ],
    });
    await (await amqp.connect(b.url('h', 'p1', 'other'))).close();
    await (await amqp.connect(b.url('p', 'pp', 'other'))).close();
    expect(b.broker.access.listPermissions({ user: 'p' })).toEqual([{ user: 'p', vhost: 'other', configure: '', write: '', read: '.*' }]);
    await expect(amqp.connect(b.url('p', 'pp', '/'))).rejects.toThrow();
  });
});

describe('a vhost default queue type (metadata.default_queue_type), as RabbitMQ 3.10.8 applies it', () => {
  test('durable queues declared without x-queue-type get it; transient and exclusive ones stay classic', async () => {
    const b = await startBroker({ port: 0 });
    brokers.push(b);
    importDefinitions(b.broker, { vhosts: [{ name: 'qq', metadata: { description: 'd', tags: [], default_queue_type: 'quorum' } }], permissions: [{ user: 'guest', vhost: 'qq', configure: '.*', write: '.*', read: '.*' }] }, { mode: 'runtime' });
    const c = await amqp.connect(`${b.url}/qq`);
    const ch = await c.createChannel();
    await ch.assertQueue('dq', { durable: true });
    await ch.assertQueue('tq', { durable: false });
    await ch.assertQueue('eq', { exclusive: true });
    // The redeclaration is augmented the same way, so it is equivalent.
    await ch.assertQueue('dq', { durable: true });
    const v = b.broker.vhosts.get('qq')!;
    expect([v.queues.get('dq')!.args, v.queues.get('tq')!.args, v.queues.get('eq')!.args]).toEqual([{ 'x-queue-type': 'quorum' }, {}, {}]);
    ch.on('error', () => {});
    await expect(ch.assertQueue('dq', { durable: true, arguments: { 'x-queue-type': 'classic' } })).rejects.toThrow(
      "PRECONDITION_FAILED - inequivalent arg 'x-queue-type' for queue 'dq' in vhost 'qq': received 'classic' but current is 'quorum'",
    );
    await c.close();
    expect(exportDefinitions(b.broker).vhosts!.find((x) => x.name === 'qq')).toEqual({
      name: 'qq',
      description: 'd',
      tags: [],
      default_queue_type: 'quorum',
      metadata: { description: 'd', tags: [], default_queue_type: 'quorum' },
    });
  });
});
