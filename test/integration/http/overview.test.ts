// /api/overview, /api/nodes, the health checks and the listeners, as RabbitMQ 3.10 shapes them.
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

describe('overview', () => {
  test('names the node, its listeners, the exchange types and the object totals', async () => {
    const conn = await amqp.connect(b.url);
    const ch = await conn.createChannel();
    await ch.assertQueue('o-q');
    await ch.consume('o-q', () => {});
    const o = (await b.api('GET', '/api/overview')).body;
    const mgmtPort = Number(new URL(b.managementUrl).port);
    const promPort = Number(new URL(b.prometheusUrl).port);
    expect({
      node: o.node,
      cluster_name: o.cluster_name,
      rabbitmq_version: o.rabbitmq_version,
      management_version: o.management_version,
      product_name: o.product_name,
      rates_mode: o.rates_mode,
      exchange_types: o.exchange_types.map((t: { name: string }) => t.name),
      object_totals: o.object_totals,
      listeners: o.listeners,
    }).toEqual({
      node: b.broker.nodeName,
      cluster_name: b.broker.nodeName,
      rabbitmq_version: '3.10.8',
      management_version: '3.10.8',
      product_name: 'Warren',
      rates_mode: 'basic',
      exchange_types: ['direct', 'fanout', 'headers', 'topic', 'x-federation-upstream'],
      // The default exchange and five amq.* ones (RabbitMQ adds amq.rabbitmq.trace).
      object_totals: { channels: 1, connections: 1, consumers: 1, exchanges: 6, queues: 1 },
      listeners: [
        { node: b.broker.nodeName, protocol: 'amqp', ip_address: '127.0.0.1', port: b.port, socket_opts: {} },
        { node: b.broker.nodeName, protocol: 'http', ip_address: '127.0.0.1', port: mgmtPort, socket_opts: {} },
        { node: b.broker.nodeName, protocol: 'http/prometheus', ip_address: '127.0.0.1', port: promPort, socket_opts: {} },
      ],
    });
    await conn.close();
  });

  test('cluster-name, extensions', async () => {
    expect((await b.api('GET', '/api/cluster-name')).body).toEqual({ name: b.broker.nodeName });
    expect((await b.api('GET', '/api/extensions')).body).toEqual([]);
  });
});

describe('nodes', () => {
  test('one node, by name too; an unknown name is 404', async () => {
    const nodes = (await b.api('GET', '/api/nodes')).body;
    expect(nodes).toHaveLength(1);
    const n = nodes[0];
    expect({ name: n.name, type: n.type, running: n.running, os_pid: n.os_pid, mem_alarm: n.mem_alarm, disk_free_alarm: n.disk_free_alarm }).toEqual({
      name: b.broker.nodeName,
      type: 'disc',
      running: true,
      os_pid: String(process.pid),
      mem_alarm: false,
      disk_free_alarm: false,
    });
    expect(n.mem_used).toBeGreaterThan(0);
    expect(n.mem_limit).toBeGreaterThan(0);
    expect(n.uptime).toBeGreaterThanOrEqual(0);
    const one = await b.api('GET', `/api/nodes/${encodeURIComponent(b.broker.nodeName)}`);
    expect({ status: one.status, name: one.body.name }).toEqual({ status: 200, name: b.broker.nodeName });
    expect((await b.api('GET', '/api/nodes/rabbit@nowhere')).status).toBe(404);
  });
});

describe('health checks', () => {
  test('port-listener: ok for a listening port, 503 with the ports otherwise, 400 for a bad port', async () => {
    const ok = await b.api('GET', `/api/health/checks/port-listener/${b.port}`);
    expect({ status: ok.status, body: ok.body }).toEqual({ status: 200, body: { status: 'ok', port: b.port } });
    const ports = b.broker.listeners().map((l) => l.port);
    const missing = await b.api('GET', '/api/health/checks/port-listener/1');
    expect({ status: missing.status, body: missing.body }).toEqual({ status: 503, body: { status: 'failed', reason: 'No active listener', missing: 1, ports } });
    const bad = await b.api('GET', '/api/health/checks/port-listener/abc');
    expect({ status: bad.status, body: bad.body }).toEqual({ status: 400, body: { error: 'bad_request', reason: 'Invalid port' } });
  });

  test('protocol-listener, virtual-hosts, alarms', async () => {
    expect((await b.api('GET', '/api/health/checks/protocol-listener/amqp')).body).toEqual({ status: 'ok', protocol: 'amqp' });
    expect((await b.api('GET', '/api/health/checks/protocol-listener/mqtt')).status).toBe(503);
    expect((await b.api('GET', '/api/health/checks/virtual-hosts')).body).toEqual({ status: 'ok' });
    expect((await b.api('GET', '/api/health/checks/alarms')).body).toEqual({ status: 'ok' });
    expect((await b.api('GET', '/api/health/checks/local-alarms')).body).toEqual({ status: 'ok' });
    expect((await b.api('GET', '/api/healthchecks/node')).body).toEqual({ status: 'ok' });
    expect((await b.api('GET', `/api/healthchecks/node/${encodeURIComponent(b.broker.nodeName)}`)).body).toEqual({ status: 'ok' });
  });
});

describe('the listeners', () => {
  test('startBroker() without the ports starts neither listener', async () => {
    const { startBroker } = await import('../../../server/index.js');
    const plain = await startBroker({ port: 0 });
    expect({ managementUrl: plain.managementUrl, prometheusUrl: plain.prometheusUrl, listeners: plain.broker.listeners().map((l) => l.protocol) }).toEqual({
      managementUrl: undefined,
      prometheusUrl: undefined,
      listeners: ['amqp'],
    });
    await plain.close();
  });

  test('an unknown path under /api is 404 with the plugin\'s body', async () => {
    const r = await b.api('GET', '/api/nope');
    expect({ status: r.status, body: r.body }).toEqual({ status: 404, body: { error: 'Object Not Found', reason: 'Not Found' } });
  });
});
