// Publishing, getting and purging through the management API, and what AMQP clients see of
// it. Replies are RabbitMQ 3.10's (the get replies below were taken from the shared RabbitMQ).
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startWithApi, type ApiBroker } from '../../helpers/http.js';

let b: ApiBroker;

beforeAll(async () => {
  b = await startWithApi();
});

afterAll(async () => {
  await b?.close();
});

const publish = (exchange: string, routingKey: string, payload: string, properties: object = {}, encoding = 'string') =>
  b.api('POST', `/api/exchanges/%2F/${exchange}/publish`, { properties, routing_key: routingKey, payload, payload_encoding: encoding });

const get = (queue: string, body: object) => b.api('POST', `/api/queues/%2F/${queue}/get`, body);

describe('publish', () => {
  test('a routed message reaches an AMQP consumer with its properties and headers', async () => {
    await b.api('PUT', '/api/queues/%2F/m-pub', {});
    const r = await publish('amq.default', 'm-pub', 'hello', { delivery_mode: 2, headers: { h: 1, s: 'x' }, content_type: 'text/plain', message_id: 'id-1' });
    expect({ status: r.status, body: r.body }).toEqual({ status: 200, body: { routed: true } });
    const conn = await amqp.connect(b.url);
    const ch = await conn.createChannel();
    const m = await ch.get('m-pub', { noAck: true });
    expect(m && { body: m.content.toString(), exchange: m.fields.exchange, key: m.fields.routingKey }).toEqual({ body: 'hello', exchange: '', key: 'm-pub' });
    expect(m && { mode: m.properties.deliveryMode, type: m.properties.contentType, id: m.properties.messageId, headers: m.properties.headers }).toEqual({
      mode: 2,
      type: 'text/plain',
      id: 'id-1',
      headers: { h: 1, s: 'x' },
    });
    await conn.close();
  });

  test('a base64 payload is decoded; an unroutable one answers routed: false', async () => {
    await b.api('PUT', '/api/queues/%2F/m-b64', {});
    expect((await publish('amq.default', 'm-b64', 'AAEC/w==', {}, 'base64')).body).toEqual({ routed: true });
    expect((await publish('amq.default', 'nowhere', 'x')).body).toEqual({ routed: false });
    const conn = await amqp.connect(b.url);
    const ch = await conn.createChannel();
    const m = await ch.get('m-b64', { noAck: true });
    expect(m && [...m.content]).toEqual([0, 1, 2, 255]);
    await conn.close();
  });

  test('errors: a missing key, a missing exchange', async () => {
    const missing = await b.api('POST', '/api/exchanges/%2F/amq.default/publish', { properties: {}, routing_key: 'x', payload: 'x' });
    expect({ status: missing.status, body: missing.body }).toEqual({ status: 400, body: { error: 'bad_request', reason: '[{key_missing,payload_encoding}]' } });
    const nox = await publish('nope', 'x', 'x');
    expect({ status: nox.status, body: nox.body }).toEqual({ status: 400, body: { error: 'bad_request', reason: "404 NOT_FOUND - no exchange 'nope' in vhost '/'" } });
  });
});

describe('get', () => {
  test('ack_requeue_true: truncate, then every message again, redelivered, with message_count', async () => {
    await b.api('PUT', '/api/queues/%2F/m-get', {});
    await publish('amq.default', 'm-get', 'hello', { delivery_mode: 2, headers: { h: 1 }, content_type: 'text/plain' });
    await publish('amq.default', 'm-get', 'AAEC/w==', {}, 'base64');
    const first = await get('m-get', { count: 1, ackmode: 'ack_requeue_true', encoding: 'auto', truncate: 3 });
    expect({ status: first.status, body: first.body }).toEqual({
      status: 200,
      body: [
        {
          payload_bytes: 5,
          redelivered: false,
          exchange: '',
          routing_key: 'm-get',
          message_count: 1,
          properties: { delivery_mode: 2, headers: { h: 1 }, content_type: 'text/plain' },
          payload: 'hel',
          payload_encoding: 'string',
        },
      ],
    });
    const both = await get('m-get', { count: 5, ackmode: 'ack_requeue_true', encoding: 'auto' });
    expect(both.body).toEqual([
      {
        payload_bytes: 5,
        redelivered: true,
        exchange: '',
        routing_key: 'm-get',
        message_count: 1,
        properties: { delivery_mode: 2, headers: { h: 1 }, content_type: 'text/plain' },
        payload: 'hello',
        payload_encoding: 'string',
      },
      // Not UTF-8: base64 even under "auto"; no properties is [] as RabbitMQ sends it.
      { payload_bytes: 4, redelivered: false, exchange: '', routing_key: 'm-get', message_count: 0, properties: [], payload: 'AAEC/w==', payload_encoding: 'base64' },
    ]);
    expect((await b.api('GET', '/api/queues/%2F/m-get')).body.messages).toBe(2);
  });

  test('ack_requeue_false takes the message away; base64 encoding on request', async () => {
    await b.api('PUT', '/api/queues/%2F/m-ack', {});
    await publish('amq.default', 'm-ack', 'gone');
    const r = await get('m-ack', { count: 2, ackmode: 'ack_requeue_false', encoding: 'base64' });
    expect(r.body).toEqual([
      { payload_bytes: 4, redelivered: false, exchange: '', routing_key: 'm-ack', message_count: 0, properties: [], payload: 'Z29uZQ==', payload_encoding: 'base64' },
    ]);
    expect((await b.api('GET', '/api/queues/%2F/m-ack')).body.messages).toBe(0);
    expect((await get('m-ack', { count: 1, ackmode: 'ack_requeue_false', encoding: 'auto' })).body).toEqual([]);
  });

  test('reject_requeue_true puts it back redelivered; reject_requeue_false dead-letters it as rejected', async () => {
    await b.api('PUT', '/api/queues/%2F/m-dlq', {});
    await b.api('PUT', '/api/queues/%2F/m-rej', { arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'm-dlq' } });
    await publish('amq.default', 'm-rej', 'r1');
    const again = await get('m-rej', { count: 1, ackmode: 'reject_requeue_true', encoding: 'auto' });
    expect(again.body[0].redelivered).toBe(false);
    const dead = await get('m-rej', { count: 1, ackmode: 'reject_requeue_false', encoding: 'auto' });
    expect({ redelivered: dead.body[0].redelivered, payload: dead.body[0].payload }).toEqual({ redelivered: true, payload: 'r1' });
    expect((await b.api('GET', '/api/queues/%2F/m-rej')).body.messages).toBe(0);
    const conn = await amqp.connect(b.url);
    const ch = await conn.createChannel();
    const m = await ch.get('m-dlq', { noAck: true });
    expect(m && m.content.toString()).toBe('r1');
    const deaths = m === false ? [] : (m.properties.headers?.['x-death'] as { reason: string; queue: string; count: number }[]);
    const death = deaths[0];
    expect(death && { reason: death.reason, queue: death.queue, count: death.count }).toEqual({ reason: 'rejected', queue: 'm-rej', count: 1 });
    await conn.close();
  });

  test('errors: a missing key, an unsupported encoding, an unknown ackmode, a missing queue', async () => {
    await b.api('PUT', '/api/queues/%2F/m-err', {});
    const missing = await get('m-err', { count: 1, ackmode: 'ack_requeue_true' });
    expect({ status: missing.status, body: missing.body }).toEqual({ status: 400, body: { error: 'bad_request', reason: '[{key_missing,encoding}]' } });
    const enc = await get('m-err', { count: 1, ackmode: 'ack_requeue_true', encoding: 'x' });
    expect({ status: enc.status, body: enc.body }).toEqual({ status: 400, body: { error: 'bad_request', reason: 'Unsupported encoding. Please use auto or base64.' } });
    expect((await get('m-err', { count: 1, ackmode: 'bogus', encoding: 'auto' })).status).toBe(400);
    expect((await get('nope', { count: 1, ackmode: 'ack_requeue_true', encoding: 'auto' })).status).toBe(404);
  });

  test('rabbitmqadmin sends count as a string: it is accepted', async () => {
    await b.api('PUT', '/api/queues/%2F/m-str', {});
    await publish('amq.default', 'm-str', 's');
    const r = await get('m-str', { count: '1', ackmode: 'ack_requeue_false', encoding: 'auto', truncate: '50000' });
    expect(r.body.map((m: { payload: string }) => m.payload)).toEqual(['s']);
  });
});

describe('purge', () => {
  test('DELETE /contents empties the queue (204); a missing queue is 404', async () => {
    await b.api('PUT', '/api/queues/%2F/m-purge', {});
    for (let i = 0; i < 3; i++) await publish('amq.default', 'm-purge', `p${i}`);
    expect((await b.api('GET', '/api/queues/%2F/m-purge')).body.messages_ready).toBe(3);
    expect((await b.api('DELETE', '/api/queues/%2F/m-purge/contents')).status).toBe(204);
    expect((await b.api('GET', '/api/queues/%2F/m-purge')).body.messages_ready).toBe(0);
    expect((await b.api('DELETE', '/api/queues/%2F/nope/contents')).status).toBe(404);
  });
});

describe('aliveness-test', () => {
  test('declares aliveness-test, publishes and gets back: {"status":"ok"}; a missing vhost is 404', async () => {
    expect((await b.api('GET', '/api/aliveness-test/%2F')).body).toEqual({ status: 'ok' });
    const q = (await b.api('GET', '/api/queues/%2F/aliveness-test')).body;
    expect({ durable: q.durable, messages: q.messages }).toEqual({ durable: false, messages: 0 });
    expect((await b.api('GET', '/api/aliveness-test/nope')).status).toBe(404);
  });
});

describe('publish under a resource alarm', () => {
  test('an HTTP publish still routes while AMQP publishers are blocked, as in RabbitMQ (whose API publishes through a direct connection, which alarms do not block)', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'warren-http-alarm-'));
    const a = await startWithApi({ dataDir: dir });
    const conn = await amqp.connect(a.url);
    try {
      await a.api('PUT', '/api/queues/%2F/alarm-q', { durable: true });
      a.broker.setDiskFreeLimit(Number.MAX_SAFE_INTEGER);
      expect((await a.api('GET', '/api/health/checks/alarms')).status).toBe(503);
      const blocked = new Promise<string>((resolve) => conn.once('blocked', resolve));
      const ch = await conn.createChannel();
      ch.sendToQueue('alarm-q', Buffer.from('amqp'));
      expect(await blocked).toBe('low on disk');
      // Observed on RabbitMQ 3.10.8 with a disk alarm: {"routed":true}, and the message is in the queue.
      const r = await a.api('POST', '/api/exchanges/%2F/amq.default/publish', { properties: { delivery_mode: 2 }, routing_key: 'alarm-q', payload: 'http', payload_encoding: 'string' });
      expect({ status: r.status, body: r.body }).toEqual({ status: 200, body: { routed: true } });
      const got = await a.api('POST', '/api/queues/%2F/alarm-q/get', { count: 5, ackmode: 'ack_requeue_false', encoding: 'auto' });
      // The AMQP publish that found the alarm went through (the connection is blocked from then on), as in RabbitMQ.
      expect(got.body.map((m: { payload: string }) => m.payload)).toEqual(['amqp', 'http']);
      const unblocked = new Promise<void>((resolve) => conn.once('unblocked', () => resolve()));
      a.broker.setDiskFreeLimit(0);
      await unblocked;
    } finally {
      await conn.close();
      await a.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
