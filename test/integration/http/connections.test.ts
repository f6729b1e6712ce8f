// Connections, channels and consumers as the management API shows them, and closing a
// connection with DELETE (the client sees 320 CONNECTION_FORCED with the X-Reason text).
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startWithApi, until, type ApiBroker } from '../../helpers/http.js';

let b: ApiBroker;

beforeAll(async () => {
  b = await startWithApi();
});

afterAll(async () => {
  await b?.close();
});

interface Conn {
  name: string;
  user_provided_name?: string;
  [k: string]: unknown;
}

async function connectionNamed(provided: string): Promise<Conn> {
  let found: Conn | undefined;
  await until(async () => {
    const list = (await b.api('GET', '/api/connections')).body as Conn[];
    found = list.find((c) => c.user_provided_name === provided);
    return found !== undefined;
  }, `connection ${provided} in /api/connections`);
  return found!;
}

describe('connections', () => {
  test('a connection is listed with RabbitMQ\'s fields, named "peer:port -> local:port"', async () => {
    const conn = await amqp.connect(b.url, { clientProperties: { connection_name: 'c-list' } });
    const ch = await conn.createChannel();
    await ch.assertQueue('c-q');
    const c = await connectionNamed('c-list');
    const local = `127.0.0.1:${b.port}`;
    expect(c.name).toMatch(new RegExp(`^127\\.0\\.0\\.1:\\d+ -> ${local.replace(/\./g, '\\.')}$`));
    expect({
      user: c['user'],
      vhost: c['vhost'],
      protocol: c['protocol'],
      auth_mechanism: c['auth_mechanism'],
      channels: c['channels'],
      state: c['state'],
      type: c['type'],
      ssl: c['ssl'],
      host: c['host'],
      port: c['port'],
      peer_host: c['peer_host'],
      frame_max: c['frame_max'],
      channel_max: c['channel_max'],
      timeout: c['timeout'],
      node: c['node'],
    }).toEqual({
      user: 'guest',
      vhost: '/',
      protocol: 'AMQP 0-9-1',
      auth_mechanism: 'PLAIN',
      channels: 1,
      state: 'running',
      type: 'network',
      ssl: false,
      host: '127.0.0.1',
      port: b.port,
      peer_host: '127.0.0.1',
      frame_max: 131072,
      channel_max: 2047,
      timeout: 60,
      node: b.broker.nodeName,
    });
    expect((c['client_properties'] as { product: string }).product).toBe('amqplib');
    expect(c['recv_oct']).toBeGreaterThan(0);
    expect(c['send_oct']).toBeGreaterThan(0);
    const one = await b.api('GET', `/api/connections/${encodeURIComponent(c.name)}`);
    expect({ status: one.status, name: one.body.name, ssl_protocol: one.body.ssl_protocol }).toEqual({ status: 200, name: c.name, ssl_protocol: '' });
    const chans = (await b.api('GET', `/api/connections/${encodeURIComponent(c.name)}/channels`)).body as { name: string; number: number }[];
    expect(chans.map((x) => [x.name, x.number])).toEqual([[`${c.name} (1)`, 1]]);
    await conn.close();
    await until(async () => (await b.api('GET', `/api/connections/${encodeURIComponent(c.name)}`)).status === 404, 'the closed connection to go');
  });

  test('DELETE closes the connection: the client sees 320 CONNECTION_FORCED with the X-Reason text', async () => {
    const conn = await amqp.connect(b.url, { clientProperties: { connection_name: 'c-kill' } });
    const closed = new Promise<Error & { code?: number }>((resolve) => conn.on('close', resolve));
    conn.on('error', () => {});
    const c = await connectionNamed('c-kill');
    const r = await b.api('DELETE', `/api/connections/${encodeURIComponent(c.name)}`, undefined, { headers: { 'X-Reason': 'maintenance window' } });
    expect({ status: r.status, text: r.text }).toEqual({ status: 204, text: '' });
    const err = await closed;
    expect({ code: err.code, message: err.message }).toEqual({
      code: 320,
      message: 'Connection closed: 320 (CONNECTION-FORCED) with message "CONNECTION_FORCED - maintenance window"',
    });
  });

  test('DELETE without X-Reason uses "Closed via management plugin"; a missing connection is 404', async () => {
    const conn = await amqp.connect(b.url, { clientProperties: { connection_name: 'c-kill2' } });
    const closed = new Promise<Error & { code?: number }>((resolve) => conn.on('close', resolve));
    conn.on('error', () => {});
    const c = await connectionNamed('c-kill2');
    expect((await b.api('DELETE', `/api/connections/${encodeURIComponent(c.name)}`)).status).toBe(204);
    expect((await closed).message).toBe('Connection closed: 320 (CONNECTION-FORCED) with message "CONNECTION_FORCED - Closed via management plugin"');
    const missing = await b.api('DELETE', '/api/connections/nope');
    expect({ status: missing.status, body: missing.body }).toEqual({ status: 404, body: { error: 'Object Not Found', reason: 'Not Found' } });
  });
});

describe('channels and consumers', () => {
  test('a channel shows its mode, prefetch, unacked and consumers; the consumer shows its channel', async () => {
    await b.api('PUT', '/api/queues/%2F/c-cq', {});
    for (let i = 0; i < 3; i++) {
      await b.api('POST', '/api/exchanges/%2F/amq.default/publish', { properties: {}, routing_key: 'c-cq', payload: `m${i}`, payload_encoding: 'string' });
    }
    const conn = await amqp.connect(b.url, { clientProperties: { connection_name: 'c-chan' } });
    const ch = await conn.createConfirmChannel();
    await ch.prefetch(2);
    await ch.consume('c-cq', () => {}, { consumerTag: 'c-tag', arguments: { 'x-priority': 3 } });
    const c = await connectionNamed('c-chan');
    const name = `${c.name} (1)`;
    await until(async () => (await b.api('GET', `/api/channels/${encodeURIComponent(name)}`)).body.messages_unacknowledged === 2, 'two unacked');
    const one = (await b.api('GET', `/api/channels/${encodeURIComponent(name)}`)).body;
    expect({
      name: one.name,
      number: one.number,
      confirm: one.confirm,
      transactional: one.transactional,
      prefetch_count: one.prefetch_count,
      global_prefetch_count: one.global_prefetch_count,
      consumer_count: one.consumer_count,
      messages_unacknowledged: one.messages_unacknowledged,
      user: one.user,
      vhost: one.vhost,
      state: one.state,
      connection_details: one.connection_details,
      deliver: one.message_stats.deliver,
    }).toEqual({
      name,
      number: 1,
      confirm: true,
      transactional: false,
      prefetch_count: 2,
      global_prefetch_count: 0,
      consumer_count: 1,
      messages_unacknowledged: 2,
      user: 'guest',
      vhost: '/',
      state: 'running',
      connection_details: { name: c.name, peer_host: '127.0.0.1', peer_port: c['peer_port'] },
      deliver: 2,
    });
    const consumer = {
      arguments: { 'x-priority': 3 },
      ack_required: true,
      active: true,
      activity_status: 'up',
      channel_details: { connection_name: c.name, name, node: b.broker.nodeName, number: 1, peer_host: '127.0.0.1', peer_port: c['peer_port'], user: 'guest' },
      consumer_tag: 'c-tag',
      exclusive: false,
      prefetch_count: 2,
      queue: { name: 'c-cq', vhost: '/' },
    };
    expect(one.consumer_details).toEqual([consumer]);
    expect((await b.api('GET', '/api/consumers/%2F')).body).toContainEqual(consumer);
    expect((await b.api('GET', '/api/queues/%2F/c-cq')).body.consumer_details).toEqual([consumer]);
    expect(((await b.api('GET', '/api/channels')).body as { name: string }[]).map((x) => x.name)).toContain(name);
    await conn.close();
  });
});
