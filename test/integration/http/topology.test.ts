// Exchanges, queues, bindings, vhosts and policies through the management API, checked
// against what an AMQP client then sees. Status codes and error bodies are RabbitMQ 3.10's.
import amqp from 'amqplib';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startWithApi, type ApiBroker } from '../../helpers/http.js';

let b: ApiBroker;

beforeAll(async () => {
  b = await startWithApi();
});

afterAll(async () => {
  await b?.close();
});

const NOT_FOUND = { error: 'Object Not Found', reason: 'Not Found' };
const ACCESS_REFUSED = { error: 'not_authorised', reason: 'Access refused.' };

describe('queues', () => {
  test('PUT creates (201), again is 204, and an AMQP client sees the queue with its arguments', async () => {
    const put = await b.api('PUT', '/api/queues/%2F/t-q1', { durable: true, auto_delete: false, arguments: { 'x-max-length': 10 } });
    expect({ status: put.status, text: put.text }).toEqual({ status: 201, text: '' });
    expect((await b.api('PUT', '/api/queues/%2F/t-q1', { durable: true, arguments: { 'x-max-length': 10 } })).status).toBe(204);
    const conn = await amqp.connect(b.url);
    const ch = await conn.createChannel();
    // Redeclaring with the same arguments from AMQP is equivalent: the API typed them as RabbitMQ does.
    expect(await ch.assertQueue('t-q1', { durable: true, arguments: { 'x-max-length': 10 } })).toEqual({ queue: 't-q1', messageCount: 0, consumerCount: 0 });
    await conn.close();
    const q = (await b.api('GET', '/api/queues/%2F/t-q1')).body;
    expect({ name: q.name, vhost: q.vhost, durable: q.durable, auto_delete: q.auto_delete, exclusive: q.exclusive, arguments: q.arguments, type: q.type, state: q.state }).toEqual({
      name: 't-q1',
      vhost: '/',
      durable: true,
      auto_delete: false,
      exclusive: false,
      arguments: { 'x-max-length': 10 },
      type: 'classic',
      state: 'running',
    });
  });

  test('PUT with no body, or an empty one, declares a transient queue', async () => {
    const r = await fetch(`${b.managementUrl}/api/queues/%2F/t-q2`, { method: 'PUT', headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` } });
    expect(r.status).toBe(201);
    expect((await b.api('PUT', '/api/queues/%2F/t-q2b', undefined, { raw: '' })).status).toBe(201);
    const q = (await b.api('GET', '/api/queues/%2F/t-q2?disable_stats=true')).body;
    expect(q).toEqual({ arguments: {}, auto_delete: false, durable: false, exclusive: false, name: 't-q2', node: b.broker.nodeName, state: 'live', type: 'classic', vhost: '/' });
  });

  test('PUT errors: inequivalent, reserved name, missing vhost, bad JSON, bad argument', async () => {
    const ineq = await b.api('PUT', '/api/queues/%2F/t-q2', { durable: true });
    expect({ status: ineq.status, body: ineq.body }).toEqual({
      status: 400,
      body: { error: 'bad_request', reason: "inequivalent arg 'durable' for queue 't-q2' in vhost '/': received 'true' but current is 'false'" },
    });
    const amq = await b.api('PUT', '/api/queues/%2F/amq.foo', {});
    expect({ status: amq.status, body: amq.body }).toEqual({ status: 401, body: ACCESS_REFUSED });
    const nov = await b.api('PUT', '/api/queues/nope/t-q3', {});
    expect({ status: nov.status, body: nov.body }).toEqual({ status: 404, body: { error: 'not_found', reason: 'vhost_not_found' } });
    const bad = await b.api('PUT', '/api/queues/%2F/t-q3', undefined, { raw: 'not json' });
    expect({ status: bad.status, body: bad.body }).toEqual({ status: 400, body: { error: 'bad_request', reason: 'not_json' } });
    const arg = await b.api('PUT', '/api/queues/%2F/t-q3', { arguments: { 'x-max-length': 'five' } });
    expect({ status: arg.status, body: arg.body }).toEqual({
      status: 400,
      body: { error: 'bad_request', reason: "invalid arg 'x-max-length' for queue 't-q3' in vhost '/': \"expected integer, got longstr\"" },
    });
  });

  test('DELETE: if-empty and if-unused refuse with 400, a missing queue is 404', async () => {
    await b.api('PUT', '/api/queues/%2F/t-del', {});
    await b.api('POST', '/api/exchanges/%2F/amq.default/publish', { properties: {}, routing_key: 't-del', payload: 'x', payload_encoding: 'string' });
    const ifEmpty = await b.api('DELETE', '/api/queues/%2F/t-del?if-empty=true');
    expect({ status: ifEmpty.status, body: ifEmpty.body }).toEqual({ status: 400, body: { error: 'bad_request', reason: "queue 't-del' in vhost '/' not empty" } });
    const conn = await amqp.connect(b.url);
    const ch = await conn.createChannel();
    await ch.consume('t-del', () => {}, { noAck: false });
    const ifUnused = await b.api('DELETE', '/api/queues/%2F/t-del?if-unused=true');
    expect({ status: ifUnused.status, body: ifUnused.body }).toEqual({ status: 400, body: { error: 'bad_request', reason: "queue 't-del' in vhost '/' in use" } });
    expect((await b.api('DELETE', '/api/queues/%2F/t-del')).status).toBe(204);
    const again = await b.api('DELETE', '/api/queues/%2F/t-del');
    expect({ status: again.status, body: again.body }).toEqual({ status: 404, body: NOT_FOUND });
    await conn.close();
  });

  test('names are URL-encoded in paths: slashes, spaces, percent signs and non-ASCII characters', async () => {
    const name = 'a/b c%d+ü';
    expect((await b.api('PUT', `/api/queues/%2F/${encodeURIComponent(name)}`, {})).status).toBe(201);
    const conn = await amqp.connect(b.url);
    const ch = await conn.createChannel();
    expect(await ch.checkQueue(name)).toEqual({ queue: name, messageCount: 0, consumerCount: 0 });
    await conn.close();
    expect((await b.api('GET', `/api/queues/%2F/${encodeURIComponent(name)}?columns=name`)).body).toEqual({ name });
    expect((await b.api('DELETE', `/api/queues/%2F/${encodeURIComponent(name)}`)).status).toBe(204);
    // The longest name AMQP allows, in non-ASCII characters (each byte percent-encoded).
    const long = 'é'.repeat(127);
    expect((await b.api('PUT', `/api/queues/%2F/${encodeURIComponent(long)}`, {})).status).toBe(201);
    expect((await b.api('GET', `/api/queues/%2F/${encodeURIComponent(long)}?columns=name`)).body).toEqual({ name: long });
  });

  test('GET of a missing queue, or in a missing vhost, is 404', async () => {
    for (const path of ['/api/queues/%2F/nope', '/api/queues/nope', '/api/queues/nope/q']) {
      const r = await b.api('GET', path);
      expect({ path, status: r.status, body: r.body }).toEqual({ path, status: 404, body: NOT_FOUND });
    }
  });
});

describe('exchanges', () => {
  test('PUT {} declares a transient direct exchange declared by the caller; its GET has incoming/outgoing', async () => {
    expect((await b.api('PUT', '/api/exchanges/%2F/t-x0', {})).status).toBe(201);
    expect((await b.api('GET', '/api/exchanges/%2F/t-x0')).body).toEqual({
      arguments: {},
      auto_delete: false,
      durable: false,
      incoming: [],
      internal: false,
      message_stats: { publish_in: 0, publish_in_details: { rate: 0 }, publish_out: 0, publish_out_details: { rate: 0 } },
      name: 't-x0',
      outgoing: [],
      type: 'direct',
      user_who_performed_action: 'guest',
      vhost: '/',
    });
  });

  test('PUT errors: unknown type, inequivalent built-in, the default exchange', async () => {
    const t = await b.api('PUT', '/api/exchanges/%2F/t-bogus', { type: 'bogus' });
    expect({ status: t.status, body: t.body }).toEqual({ status: 400, body: { error: 'bad_request', reason: "unknown exchange type 'bogus'" } });
    const ineq = await b.api('PUT', '/api/exchanges/%2F/amq.direct', { type: 'topic' });
    expect({ status: ineq.status, body: ineq.body }).toEqual({
      status: 400,
      body: { error: 'bad_request', reason: "inequivalent arg 'type' for exchange 'amq.direct' in vhost '/': received 'topic' but current is 'direct'" },
    });
    expect((await b.api('PUT', '/api/exchanges/%2F/amq.direct', { type: 'direct', durable: true })).status).toBe(204);
    const def = await b.api('PUT', '/api/exchanges/%2F/amq.default', {});
    expect({ status: def.status, body: def.body }).toEqual({ status: 401, body: ACCESS_REFUSED });
  });

  test('amq.default in a path is the default exchange', async () => {
    const x = (await b.api('GET', '/api/exchanges/%2F/amq.default')).body;
    expect({ name: x.name, type: x.type, durable: x.durable, user: x.user_who_performed_action }).toEqual({ name: '', type: 'direct', durable: true, user: 'rmq-internal' });
  });

  test('DELETE with if-unused refuses a bound exchange; built-ins are refused; missing is 404', async () => {
    await b.api('PUT', '/api/exchanges/%2F/t-xd', { type: 'fanout' });
    await b.api('PUT', '/api/queues/%2F/t-xdq', {});
    expect((await b.api('POST', '/api/bindings/%2F/e/t-xd/q/t-xdq', {})).status).toBe(201);
    const inUse = await b.api('DELETE', '/api/exchanges/%2F/t-xd?if-unused=true');
    expect({ status: inUse.status, body: inUse.body }).toEqual({ status: 400, body: { error: 'bad_request', reason: "exchange 't-xd' in vhost '/' in use" } });
    expect((await b.api('DELETE', '/api/exchanges/%2F/t-xd')).status).toBe(204);
    expect((await b.api('DELETE', '/api/exchanges/%2F/t-xd')).body).toEqual(NOT_FOUND);
    const builtIn = await b.api('DELETE', '/api/exchanges/%2F/amq.direct');
    expect({ status: builtIn.status, body: builtIn.body }).toEqual({ status: 401, body: ACCESS_REFUSED });
    // The queue lost its binding with the exchange.
    expect(((await b.api('GET', '/api/queues/%2F/t-xdq/bindings')).body as { source: string }[]).map((x) => x.source)).toEqual(['']);
  });
});

describe('bindings', () => {
  test('POST answers 201 with the properties key in Location; that key finds and deletes the binding', async () => {
    await b.api('PUT', '/api/exchanges/%2F/t-bx', { type: 'topic' });
    await b.api('PUT', '/api/queues/%2F/t-bq', {});
    const plain = await b.api('POST', '/api/bindings/%2F/e/t-bx/q/t-bq', {});
    expect({ status: plain.status, location: plain.headers['location'] }).toEqual({ status: 201, location: 't-bq/~' });
    const keyed = await b.api('POST', '/api/bindings/%2F/e/t-bx/q/t-bq', { routing_key: 'a.*', arguments: { x: 'y' } });
    expect(keyed.status).toBe(201);
    const list = (await b.api('GET', '/api/bindings/%2F/e/t-bx/q/t-bq')).body as { routing_key: string; properties_key: string }[];
    expect(list.map((x) => x.routing_key)).toEqual(['', 'a.*']);
    const key = list[1]!.properties_key;
    expect(key).toMatch(/^a\.%2A~[A-Za-z0-9_-]{6}$/);
    // Location carries the key quoted once more, relative to the POSTed path.
    expect(keyed.headers['location']).toBe(`t-bq/${key.replace(/%/g, '%25')}`);
    expect((await b.api('GET', `/api/bindings/%2F/e/t-bx/q/t-bq/${encodeURIComponent(key)}`)).body).toEqual({
      source: 't-bx',
      vhost: '/',
      destination: 't-bq',
      destination_type: 'queue',
      routing_key: 'a.*',
      arguments: { x: 'y' },
      properties_key: key,
    });
    // An AMQP publish follows the binding made through the API.
    const conn = await amqp.connect(b.url);
    const ch = await conn.createChannel();
    ch.publish('t-bx', 'a.b', Buffer.from('routed'));
    await new Promise((r) => setTimeout(r, 100));
    const got = await ch.get('t-bq', { noAck: true });
    expect(got && got.content.toString()).toBe('routed');
    expect((await b.api('DELETE', `/api/bindings/%2F/e/t-bx/q/t-bq/${encodeURIComponent(key)}`)).status).toBe(204);
    const gone = await b.api('DELETE', `/api/bindings/%2F/e/t-bx/q/t-bq/${encodeURIComponent(key)}`);
    expect({ status: gone.status, body: gone.body }).toEqual({ status: 404, body: NOT_FOUND });
    ch.publish('t-bx', 'a.b', Buffer.from('not routed'));
    await new Promise((r) => setTimeout(r, 100));
    expect(await ch.get('t-bq', { noAck: true })).toBe(false);
    await conn.close();
  });

  test('exchange-to-exchange: /e/{x}/e/{y}, and the source and destination listings', async () => {
    await b.api('PUT', '/api/exchanges/%2F/t-e1', { type: 'fanout' });
    const r = await b.api('POST', '/api/bindings/%2F/e/t-e1/e/amq.direct', { routing_key: 'z' });
    expect({ status: r.status, location: r.headers['location'] }).toEqual({ status: 201, location: 'amq.direct/z' });
    const binding = { source: 't-e1', vhost: '/', destination: 'amq.direct', destination_type: 'exchange', routing_key: 'z', arguments: {}, properties_key: 'z' };
    expect((await b.api('GET', '/api/exchanges/%2F/t-e1/bindings/source')).body).toEqual([binding]);
    expect((await b.api('GET', '/api/exchanges/%2F/amq.direct/bindings/destination')).body).toEqual([binding]);
    expect((await b.api('DELETE', '/api/bindings/%2F/e/t-e1/e/amq.direct/z')).status).toBe(204);
    expect((await b.api('GET', '/api/exchanges/%2F/t-e1/bindings/source')).body).toEqual([]);
  });

  test('a binding to a missing queue is 404 with the AMQP explanation', async () => {
    const r = await b.api('POST', '/api/bindings/%2F/e/amq.direct/q/nope', {});
    expect({ status: r.status, body: r.body }).toEqual({ status: 404, body: { error: 'not_found', reason: "no queue 'nope' in vhost '/'" } });
  });

  test("the default exchange's implicit bindings are listed, as RabbitMQ lists them", async () => {
    await b.api('PUT', '/api/queues/%2F/t-implicit', {});
    expect((await b.api('GET', '/api/queues/%2F/t-implicit/bindings')).body).toEqual([
      { source: '', vhost: '/', destination: 't-implicit', destination_type: 'queue', routing_key: 't-implicit', arguments: {}, properties_key: 't-implicit' },
    ]);
  });
});

describe('vhosts', () => {
  test('PUT creates with description and tags; GET shows them; DELETE closes its connections with 320', async () => {
    expect((await b.api('PUT', '/api/vhosts/t-v1', { description: 'd', tags: 'a,b' })).status).toBe(201);
    expect((await b.api('PUT', '/api/vhosts/t-v1', { description: 'd2', tags: ['c'] })).status).toBe(204);
    expect((await b.api('GET', '/api/vhosts/t-v1?disable_stats=true')).body).toEqual({
      cluster_state: { [b.broker.nodeName]: 'running' },
      default_queue_type: 'undefined',
      description: 'd2',
      metadata: { description: 'd2', tags: ['c'] },
      name: 't-v1',
      tags: ['c'],
      tracing: false,
    });
    const conn = await amqp.connect(`${b.url}/t-v1`);
    const closed = new Promise<Error & { code?: number }>((resolve) => conn.on('close', resolve));
    conn.on('error', () => {});
    expect((await b.api('DELETE', '/api/vhosts/t-v1')).status).toBe(204);
    const err = await closed;
    expect({ code: err.code, message: err.message }).toEqual({ code: 320, message: `Connection closed: 320 (CONNECTION-FORCED) with message "CONNECTION_FORCED - vhost 't-v1' is deleted"` });
    expect((await b.api('GET', '/api/vhosts/t-v1')).status).toBe(404);
    expect((await b.api('DELETE', '/api/vhosts/t-v1')).status).toBe(404);
  });

  test('a vhost made through the API, with its description, tags and a durable queue, survives a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warren-http-vhost-'));
    try {
      const first = await startWithApi({ dataDir: dir });
      await first.api('PUT', '/api/vhosts/t-keep', { description: 'kept', tags: ['a'] });
      await first.api('PUT', '/api/queues/t-keep/t-kq', { durable: true });
      await first.close();
      const second = await startWithApi({ dataDir: dir });
      expect((await second.api('GET', '/api/vhosts/t-keep?columns=name,description,tags')).body).toEqual({ name: 't-keep', description: 'kept', tags: ['a'] });
      expect((await second.api('GET', '/api/queues/t-keep/t-kq?columns=name,durable')).body).toEqual({ name: 't-kq', durable: true });
      expect((await second.api('DELETE', '/api/vhosts/t-keep')).status).toBe(204);
      await second.close();
      const third = await startWithApi({ dataDir: dir });
      expect((await third.api('GET', '/api/vhosts/t-keep')).status).toBe(404);
      await third.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the list has the default vhost with its description', async () => {
    const list = (await b.api('GET', '/api/vhosts?columns=name,description')).body;
    expect(list).toContainEqual({ name: '/', description: 'Default virtual host' });
  });
});

describe('policies', () => {
  test('PUT (201, then 204), GET, list, and the policy applies to matching queues', async () => {
    const def = { pattern: '^pol-', definition: { 'max-length': 2 }, priority: 1, 'apply-to': 'queues' };
    expect((await b.api('PUT', '/api/policies/%2F/t-pol', def)).status).toBe(201);
    expect((await b.api('PUT', '/api/policies/%2F/t-pol', def)).status).toBe(204);
    const policy = { vhost: '/', name: 't-pol', pattern: '^pol-', 'apply-to': 'queues', definition: { 'max-length': 2 }, priority: 1 };
    expect((await b.api('GET', '/api/policies/%2F/t-pol')).body).toEqual(policy);
    expect((await b.api('GET', '/api/policies')).body).toContainEqual(policy);
    expect((await b.api('GET', '/api/policies/%2F')).body).toContainEqual(policy);
    await b.api('PUT', '/api/queues/%2F/pol-q', {});
    for (let i = 0; i < 3; i++) {
      await b.api('POST', '/api/exchanges/%2F/amq.default/publish', { properties: {}, routing_key: 'pol-q', payload: `m${i}`, payload_encoding: 'string' });
    }
    const q = (await b.api('GET', '/api/queues/%2F/pol-q')).body;
    expect({ messages: q.messages, policy: q.policy, effective: q.effective_policy_definition }).toEqual({ messages: 2, policy: 't-pol', effective: { 'max-length': 2 } });
    expect((await b.api('DELETE', '/api/policies/%2F/t-pol')).status).toBe(204);
    expect((await b.api('DELETE', '/api/policies/%2F/t-pol')).body).toEqual(NOT_FOUND);
    expect((await b.api('GET', '/api/queues/%2F/pol-q')).body.policy).toBe(null);
  });

  test('PUT errors: missing keys, an unknown policy key', async () => {
    const missing = await b.api('PUT', '/api/policies/%2F/t-bad', { pattern: '^x' });
    expect({ status: missing.status, body: missing.body }).toEqual({ status: 400, body: { error: 'bad_request', reason: '[{key_missing,definition}]' } });
    const bogus = await b.api('PUT', '/api/policies/%2F/t-bad', { pattern: '^x', definition: { 'bogus-key': 5 } });
    expect(bogus.status).toBe(400);
    expect(bogus.body.error).toBe('bad_request');
    // RabbitMQ 3.10.8's reason, HTML-escaped as its /api/policies sends it.
    expect(bogus.body.reason).toBe('Validation failed\n\n[{&lt;&lt;"bogus-key"&gt;&gt;,5}] are not recognised policy settings\n');
  });
});
