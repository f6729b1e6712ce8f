// Shovels, runtime parameters and definitions through the management API, over a real
// socket: the answers RabbitMQ 3.10.8 gives (checked on the shared RabbitMQ, and live here
// when RABBITMQ_MGMT_URL is set).
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { userFromInput } from '../../../server/access/users.js';
import { apiClient, rabbitMgmt, startWithApi, until, type Api, type ApiBroker } from '../../helpers/http.js';

let b: ApiBroker;
let api: Api;

beforeAll(async () => {
  b = await startWithApi();
  api = b.api;
});

afterAll(async () => {
  await b.close();
});

const SHOVEL = { 'src-uri': 'amqp://', 'src-queue': 'http-src', 'dest-uri': 'amqp://', 'dest-queue': 'http-dst' };

describe('/api/parameters/shovel', () => {
  it('PUT answers 201, then 204 when it replaces; GET shows it as RabbitMQ does; the shovel runs', async () => {
    expect((await api('PUT', '/api/parameters/shovel/%2F/s1', { value: SHOVEL })).status).toBe(201);
    expect((await api('PUT', '/api/parameters/shovel/%2F/s1', { value: SHOVEL })).status).toBe(204);
    const one = await api('GET', '/api/parameters/shovel/%2F/s1');
    expect(one.status).toBe(200);
    expect(one.body).toEqual({ value: SHOVEL, vhost: '/', component: 'shovel', name: 's1' });
    expect((await api('GET', '/api/parameters/shovel/%2F')).body).toEqual([one.body]);
    expect((await api('GET', '/api/parameters/shovel')).body).toEqual([one.body]);
    await until(async () => ((await api('GET', '/api/shovels')).body as { state: string }[])[0]?.state === 'running', 'the shovel running');
    const conn = await amqp.connect(b.url);
    const ch = await conn.createChannel();
    ch.sendToQueue('http-src', Buffer.from('through the API'));
    await until(async () => (await ch.checkQueue('http-dst')).messageCount === 1, 'the message moved');
    await conn.close();
    const [st] = (await api('GET', '/api/shovels/%2F')).body as Record<string, unknown>[];
    expect(st).toMatchObject({ node: b.broker.nodeName, name: 's1', vhost: '/', type: 'dynamic', state: 'running', src_uri: 'amqp://', dest_uri: 'amqp://', src_queue: 'http-src', dest_queue: 'http-dst', forwarded: 1 });
  });

  it('refuses what RabbitMQ refuses, with its status and text', async () => {
    expect(await api('PUT', '/api/parameters/shovel/%2F/bad', { value: { 'src-uri': 'amqp://', 'dest-uri': 'amqp://' } })).toMatchObject({
      status: 400,
      body: { error: 'bad_request', reason: "Validation failed\n\nMust specify 'src-exchange' or 'src-queue'\n" },
    });
    expect(await api('PUT', '/api/parameters/shovel/%2F/bad', {})).toMatchObject({ status: 400, body: { error: 'bad_request', reason: '[{key_missing,value}]' } });
    expect(await api('PUT', '/api/parameters/shovel/nope/bad', { value: SHOVEL })).toMatchObject({ status: 404, body: { error: 'not_found', reason: 'vhost_not_found' } });
    expect(await api('PUT', '/api/parameters/bogus/%2F/bad', { value: {} })).toMatchObject({ status: 400, body: { error: 'bad_request', reason: 'Validation failed\n\ncomponent bogus not found\n' } });
    expect((await api('GET', '/api/parameters/shovel/%2F/bad')).status).toBe(404);
  });

  it('the other components: vhost limits and operator policies are parameters too', async () => {
    expect((await api('PUT', '/api/parameters/vhost-limits/%2F/limits', { value: { 'max-connections': 100 } })).status).toBe(201);
    expect((await api('GET', '/api/parameters/vhost-limits/%2F/limits')).body).toEqual({ value: { 'max-connections': 100 }, vhost: '/', component: 'vhost-limits', name: 'limits' });
    expect((await api('DELETE', '/api/parameters/vhost-limits/%2F/limits')).status).toBe(204);
    const components = ((await api('GET', '/api/parameters')).body as { component: string }[]).map((p) => p.component);
    expect(components).toEqual(['shovel']);
  });

  it('restart, DELETE through /api/shovels, and DELETE of the parameter', async () => {
    expect((await api('DELETE', '/api/shovels/vhost/%2F/s1/restart')).status).toBe(204);
    await until(async () => ((await api('GET', '/api/shovels')).body as { state: string }[])[0]?.state === 'running', 'running again');
    expect((await api('DELETE', '/api/shovels/vhost/%2F/s1')).status).toBe(204);
    expect((await api('GET', '/api/shovels')).body).toEqual([]);
    expect((await api('GET', '/api/parameters/shovel/%2F/s1')).status).toBe(404);
    expect((await api('DELETE', '/api/shovels/vhost/%2F/s1')).status).toBe(404);
    expect((await api('PUT', '/api/parameters/shovel/%2F/s2', { value: SHOVEL })).status).toBe(201);
    expect((await api('DELETE', '/api/parameters/shovel/%2F/s2')).status).toBe(204);
    expect((await api('DELETE', '/api/parameters/shovel/%2F/s2')).status).toBe(404);
    expect((await api('GET', '/api/shovels')).body).toEqual([]);
  });

  it('shovel status needs the monitoring tag, as in RabbitMQ', async () => {
    b.broker.access.putUser(userFromInput({ name: 'watcher', password: 'w', tags: ['management'] }));
    b.broker.access.setPermissions('watcher', '/', { configure: '.*', write: '.*', read: '.*' });
    const r = await api('GET', '/api/shovels', undefined, { user: 'watcher', password: 'w' });
    expect(r).toMatchObject({ status: 401, body: { error: 'not_authorised', reason: 'Not monitor user' } });
  });
});

describe('/api/definitions', () => {
  it('GET exports, POST imports (204), shovels included', async () => {
    const defs = (await api('GET', '/api/definitions')).body as { vhosts: { name: string }[]; parameters: unknown[] };
    expect(defs.vhosts.map((v) => v.name)).toEqual(['/']);
    const r = await api('POST', '/api/definitions', {
      vhosts: [{ name: 'imported' }],
      permissions: [{ user: 'guest', vhost: 'imported', configure: '.*', write: '.*', read: '.*' }],
      queues: [{ name: 'q1', vhost: 'imported', durable: true, auto_delete: false, arguments: {} }],
      parameters: [{ vhost: 'imported', component: 'shovel', name: 'from-defs', value: { 'src-uri': 'amqp:///imported', 'src-queue': 'q1', 'dest-uri': 'amqp:///imported', 'dest-queue': 'q2' } }],
    });
    expect(r.status).toBe(204);
    await until(async () => ((await api('GET', '/api/shovels/imported')).body as { name: string; state: string }[]).some((s) => s.name === 'from-defs' && s.state === 'running'), 'the imported shovel running');
    const one = (await api('GET', '/api/definitions/imported')).body as { queues: { name: string }[] };
    expect(one.queues.map((q) => q.name).sort()).toEqual(['q1', 'q2']);
    const bad = await api('POST', '/api/definitions', { bindings: [{ source: 'nope', vhost: '/', destination: 'nope', destination_type: 'queue', routing_key: '', arguments: {} }] });
    expect(bad.status).toBe(400);
    expect(bad.body.reason).toContain("binding from 'nope' to queue 'nope' in vhost '/'");
    // RabbitMQ 3.10.8 answers a GET for a missing vhost's definitions with 400 (a POST with 404).
    expect((await api('GET', '/api/definitions/nope')).status).toBe(400);
  });
});

const rabbit = rabbitMgmt();
describe.skipIf(rabbit === null)('the same calls on RabbitMQ', () => {
  it('PUT, GET and the shovel status have the same shape', async () => {
    const r = apiClient(rabbit!.base, rabbit!.user, rabbit!.password);
    const name = `shovel-http-${process.pid}`;
    const value = { ...SHOVEL, 'src-queue': `${name}-src`, 'dest-queue': `${name}-dst` };
    try {
      for (const client of [r, api]) {
        expect((await client('PUT', `/api/parameters/shovel/%2F/${name}`, { value })).status).toBe(201);
        expect((await client('PUT', `/api/parameters/shovel/%2F/${name}`, { value })).status).toBe(204);
      }
      expect((await api('GET', `/api/parameters/shovel/%2F/${name}`)).body).toEqual((await r('GET', `/api/parameters/shovel/%2F/${name}`)).body);
      const status = async (client: Api): Promise<Record<string, unknown>> => {
        let found: Record<string, unknown> | undefined;
        await until(async () => {
          found = ((await client('GET', '/api/shovels')).body as Record<string, unknown>[]).find((s) => s['name'] === name && s['state'] === 'running');
          return found !== undefined;
        }, 'running');
        const { node: _n, timestamp: _t, forwarded: _f, ...rest } = found!;
        return rest;
      };
      expect(await status(api)).toEqual(await status(r));
      for (const client of [r, api]) expect((await client('DELETE', `/api/parameters/shovel/%2F/${name}`)).status).toBe(204);
    } finally {
      await r('DELETE', `/api/parameters/shovel/%2F/${name}`);
      for (const q of ['src', 'dst']) await r('DELETE', `/api/queues/%2F/${name}-${q}`);
    }
  });
});
