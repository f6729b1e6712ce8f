// The Prometheus endpoint, parsed with a real exposition-format parser: rabbitmq_prometheus's
// family names, types and HELP lines, aggregated on /metrics, a series per queue on
// /metrics/per-object, and the same names and types as a live RabbitMQ's scrape.
import amqp from 'amqplib';
import parse, { type Family } from 'parse-prometheus-text-format';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startWithApi, type ApiBroker } from '../../helpers/http.js';

let b: ApiBroker;

beforeAll(async () => {
  b = await startWithApi({ vhosts: ['/', 'pv'] });
});

afterAll(async () => {
  await b?.close();
});

async function scrape(base: string, path: string): Promise<{ text: string; families: Map<string, Family>; contentType: string | null }> {
  const r = await fetch(base + path);
  expect(r.status).toBe(200);
  const text = await r.text();
  return { text, families: new Map(parse(text).map((f) => [f.name, f])), contentType: r.headers.get('content-type') };
}

/** The families the issue and rabbitmq-reference.md name, as rabbitmq_prometheus 3.10 names and types them. */
const REQUIRED: Record<string, Family['type']> = {
  rabbitmq_connections: 'GAUGE',
  rabbitmq_channels: 'GAUGE',
  rabbitmq_consumers: 'GAUGE',
  rabbitmq_queues: 'GAUGE',
  rabbitmq_queue_messages: 'GAUGE',
  rabbitmq_queue_messages_ready: 'GAUGE',
  rabbitmq_queue_messages_unacked: 'GAUGE',
  rabbitmq_queue_messages_bytes: 'GAUGE',
  rabbitmq_queue_consumers: 'GAUGE',
  rabbitmq_global_messages_received_total: 'COUNTER',
  rabbitmq_global_messages_routed_total: 'COUNTER',
  rabbitmq_global_messages_delivered_total: 'COUNTER',
  rabbitmq_global_messages_acknowledged_total: 'COUNTER',
  rabbitmq_global_messages_confirmed_total: 'COUNTER',
  rabbitmq_global_messages_redelivered_total: 'COUNTER',
  rabbitmq_global_messages_unroutable_dropped_total: 'COUNTER',
  rabbitmq_global_messages_unroutable_returned_total: 'COUNTER',
  rabbitmq_global_messages_dead_lettered_expired_total: 'COUNTER',
  rabbitmq_global_messages_dead_lettered_rejected_total: 'COUNTER',
  rabbitmq_global_messages_dead_lettered_maxlen_total: 'COUNTER',
  rabbitmq_global_messages_dead_lettered_delivery_limit_total: 'COUNTER',
  rabbitmq_global_messages_dead_lettered_confirmed_total: 'COUNTER',
  rabbitmq_channel_messages_published_total: 'COUNTER',
  rabbitmq_channel_messages_confirmed_total: 'COUNTER',
  rabbitmq_channel_messages_delivered_total: 'COUNTER',
  rabbitmq_channel_messages_delivered_ack_total: 'COUNTER',
  rabbitmq_channel_messages_acked_total: 'COUNTER',
  rabbitmq_channel_messages_redelivered_total: 'COUNTER',
  rabbitmq_channel_messages_unroutable_dropped_total: 'COUNTER',
  rabbitmq_channel_messages_unroutable_returned_total: 'COUNTER',
  rabbitmq_connections_opened_total: 'COUNTER',
  rabbitmq_connections_closed_total: 'COUNTER',
  rabbitmq_channels_opened_total: 'COUNTER',
  rabbitmq_channels_closed_total: 'COUNTER',
  rabbitmq_queues_declared_total: 'COUNTER',
  rabbitmq_queues_created_total: 'COUNTER',
  rabbitmq_queues_deleted_total: 'COUNTER',
  rabbitmq_connection_incoming_bytes_total: 'COUNTER',
  rabbitmq_connection_outgoing_bytes_total: 'COUNTER',
  rabbitmq_disk_space_available_bytes: 'GAUGE',
  rabbitmq_disk_space_available_limit_bytes: 'GAUGE',
  rabbitmq_resident_memory_limit_bytes: 'GAUGE',
  rabbitmq_process_resident_memory_bytes: 'GAUGE',
  rabbitmq_alarms_memory_used_watermark: 'UNTYPED',
  rabbitmq_alarms_free_disk_space_watermark: 'UNTYPED',
  rabbitmq_alarms_file_descriptor_limit: 'UNTYPED',
  process_cpu_seconds_total: 'COUNTER',
};

/**
 * rabbitmq_* families of RabbitMQ 3.10 that Warren does not have, each for a reason given
 * in docs/compatibility.md (Erlang VM, Raft, Mnesia and file-handle internals).
 */
function documentedAbsent(): Set<string> {
  const doc = readFileSync(new URL('../../../docs/compatibility.md', import.meta.url), 'utf8');
  const section = doc.split('### Prometheus families Warren does not have')[1]?.split('\n## ')[0] ?? '';
  return new Set([...section.matchAll(/`(rabbitmq_[a-z_]+)`/g)].map((m) => m[1]!));
}

describe('/metrics', () => {
  test('parses; every family has TYPE and HELP; the required families are there with their types', async () => {
    const { text, families, contentType } = await scrape(b.prometheusUrl, '/metrics');
    expect(contentType).toBe('text/plain; version=0.0.4');
    const typed = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]));
    const helped = new Set([...text.matchAll(/^# HELP (\S+) \S/gm)].map((m) => m[1]));
    for (const name of families.keys()) {
      expect(typed.has(name), `${name} has a TYPE line`).toBe(true);
      expect(helped.has(name), `${name} has a HELP line`).toBe(true);
    }
    const missing = Object.entries(REQUIRED).filter(([name, type]) => families.get(name)?.type !== type);
    expect(missing).toEqual([]);
  });

  test('aggregated: one unlabelled sample per queue family, summing every queue', async () => {
    await b.api('PUT', '/api/queues/%2F/p-a', {});
    await b.api('PUT', '/api/queues/pv/p-b', {});
    const pub = (vhost: string, q: string, n: number) =>
      Promise.all(
        Array.from({ length: n }, (_, i) =>
          b.api('POST', `/api/exchanges/${vhost}/amq.default/publish`, { properties: {}, routing_key: q, payload: `x${i}`, payload_encoding: 'string' }),
        ),
      );
    await pub('%2F', 'p-a', 2);
    await pub('pv', 'p-b', 3);
    const { families } = await scrape(b.prometheusUrl, '/metrics');
    expect(families.get('rabbitmq_queue_messages')!.metrics).toEqual([{ value: '5' }]);
    expect(families.get('rabbitmq_queue_messages_ready_bytes')!.metrics).toEqual([{ value: '10' }]);
    expect(families.get('rabbitmq_queues')!.metrics).toEqual([{ value: '2' }]);
    const info = families.get('rabbitmq_identity_info')!.metrics[0]!.labels!;
    expect(info['rabbitmq_node']).toBe(b.broker.nodeName);
    expect(families.get('rabbitmq_build_info')!.metrics[0]!.labels!['rabbitmq_version']).toBe('3.10.8');
  });

  test('per-object: a series per queue labelled vhost and queue, per channel and connection by name', async () => {
    const conn = await amqp.connect(b.url, { clientProperties: { connection_name: 'p-conn' } });
    const ch = await conn.createChannel();
    await ch.assertQueue('p-c');
    ch.sendToQueue('p-c', Buffer.from('one'));
    await ch.get('p-c', { noAck: false });
    const { families } = await scrape(b.prometheusUrl, '/metrics/per-object');
    const ready = families.get('rabbitmq_queue_messages_ready')!.metrics;
    expect(ready).toEqual(
      expect.arrayContaining([
        { labels: { vhost: '/', queue: 'p-a' }, value: '2' },
        { labels: { vhost: 'pv', queue: 'p-b' }, value: '3' },
        { labels: { vhost: '/', queue: 'p-c' }, value: '0' },
      ]),
    );
    expect(families.get('rabbitmq_queue_messages_unacked')!.metrics).toContainEqual({ labels: { vhost: '/', queue: 'p-c' }, value: '1' });
    const conns = (await b.api('GET', '/api/connections')).body as { name: string }[];
    const name = conns[0]!.name;
    expect(families.get('rabbitmq_channel_messages_unacked')!.metrics).toEqual([{ labels: { channel: `${name} (1)` }, value: '1' }]);
    expect(families.get('rabbitmq_channel_get_ack_total')!.metrics).toEqual([{ labels: { channel: `${name} (1)` }, value: '1' }]);
    const bytesIn = families.get('rabbitmq_connection_incoming_bytes_total')!.metrics;
    expect(bytesIn.map((m) => m.labels)).toEqual([{ channel: name }]);
    expect(Number(bytesIn[0]!.value)).toBeGreaterThan(0);
    await conn.close();
  });

  test('a queue name with quotes, backslashes and a newline is escaped and parses back', async () => {
    const odd = 'p "odd" \\ name\nx';
    await b.api('PUT', `/api/queues/%2F/${encodeURIComponent(odd)}`, {});
    const { families } = await scrape(b.prometheusUrl, '/metrics/per-object');
    expect(families.get('rabbitmq_queue_messages')!.metrics).toContainEqual({ labels: { vhost: '/', queue: odd }, value: '0' });
    await b.api('DELETE', `/api/queues/%2F/${encodeURIComponent(odd)}`);
  });
});

describe('docs/grafana-dashboard.json', () => {
  test('every metric the sample dashboard queries is one Warren exposes', async () => {
    const dash = readFileSync(new URL('../../../docs/grafana-dashboard.json', import.meta.url), 'utf8');
    const exprs = (JSON.parse(dash) as { panels: { targets: { expr: string }[] }[] }).panels.flatMap((p) => p.targets.map((t) => t.expr));
    const used = new Set(exprs.flatMap((e) => [...e.matchAll(/\b((?:rabbitmq|process)_[a-z_]+)\{/g)].map((m) => m[1]!)));
    expect(used.size).toBeGreaterThan(20);
    const { families } = await scrape(b.prometheusUrl, '/metrics/per-object');
    expect([...used].filter((name) => !families.has(name))).toEqual([]);
  });
});

describe('against a live RabbitMQ (RABBITMQ_PROMETHEUS_URL)', () => {
  const url = process.env['RABBITMQ_PROMETHEUS_URL'];
  test.skipIf(url === undefined || url === '')('every rabbitmq_* family of ours exists in RabbitMQ with the same type; every one of RabbitMQ\'s is ours or documented', async () => {
    const ours = (await scrape(b.prometheusUrl, '/metrics')).families;
    const theirs = (await scrape(url!, '/metrics')).families;
    const invented = [...ours.values()].filter((f) => f.name.startsWith('rabbitmq_') && theirs.get(f.name)?.type !== f.type).map((f) => `${f.name} ${f.type}`);
    expect(invented).toEqual([]);
    const absent = documentedAbsent();
    const lacking = [...theirs.keys()].filter((n) => n.startsWith('rabbitmq_') && !ours.has(n) && !absent.has(n));
    expect(lacking).toEqual([]);
    // Per-object: the queue families carry the same labels.
    const theirQueues = (await scrape(url!, '/metrics/per-object')).families.get('rabbitmq_queue_messages')?.metrics ?? [];
    const ourQueues = (await scrape(b.prometheusUrl, '/metrics/per-object')).families.get('rabbitmq_queue_messages')!.metrics;
    if (theirQueues.length > 0) expect(Object.keys(ourQueues[0]!.labels!).sort()).toEqual(Object.keys(theirQueues[0]!.labels!).sort());
  });
});

describe('alarms', () => {
  test('the disk alarm shows in Prometheus, /api/nodes and the health checks', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'warren-alarm-'));
    const a = await startWithApi({ dataDir: dir });
    try {
      const ok = await a.api('GET', '/api/health/checks/alarms');
      expect({ status: ok.status, body: ok.body }).toEqual({ status: 200, body: { status: 'ok' } });
      a.broker.setDiskFreeLimit(Number.MAX_SAFE_INTEGER);
      const failed = await a.api('GET', '/api/health/checks/alarms');
      expect({ status: failed.status, body: failed.body }).toEqual({
        status: 503,
        body: { status: 'failed', reason: 'There are alarms in effect in the cluster', alarms: [{ resource: 'disk space', node: a.broker.nodeName }] },
      });
      const local = await a.api('GET', '/api/health/checks/local-alarms');
      expect({ status: local.status, reason: local.body.reason }).toEqual({ status: 503, reason: 'There are alarms in effect on the node' });
      const node = (await a.api('GET', '/api/nodes')).body[0];
      expect({ disk_free_alarm: node.disk_free_alarm, disk_free_limit: node.disk_free_limit, mem_alarm: node.mem_alarm }).toEqual({
        disk_free_alarm: true,
        disk_free_limit: Number.MAX_SAFE_INTEGER,
        mem_alarm: false,
      });
      const m = (await scrape(a.prometheusUrl, '/metrics')).families;
      expect(m.get('rabbitmq_alarms_free_disk_space_watermark')!.metrics).toEqual([{ value: '1' }]);
      expect(Number(m.get('rabbitmq_disk_space_available_bytes')!.metrics[0]!.value)).toBeGreaterThan(0);
      a.broker.setDiskFreeLimit(0);
      expect((await a.api('GET', '/api/health/checks/alarms')).status).toBe(200);
    } finally {
      await a.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('rabbitmq_global_* by queue type', () => {
  /** The series of a family as "labels => value" lines, sorted. */
  const series = (families: Map<string, Family>, name: string): string[] =>
    families
      .get(name)!
      .metrics.map((m) => `${Object.entries(m.labels ?? {}).map(([k, v]) => `${k}=${v}`).join(',')} => ${m.value}`)
      .sort();
  const byType = (classic: number, quorum: number, stream: number) => [
    `protocol=amqp091,queue_type=rabbit_classic_queue => ${classic}`,
    `protocol=amqp091,queue_type=rabbit_quorum_queue => ${quorum}`,
    `protocol=amqp091,queue_type=rabbit_stream_queue => ${stream}`,
  ];

  test('deliveries, gets, redeliveries and acks are counted per queue type, and stay when the queue goes', async () => {
    const a = await startWithApi();
    const conn = await amqp.connect(a.url);
    try {
      const ch = await conn.createChannel();
      await ch.assertQueue('qt-c');
      await ch.assertQueue('qt-q', { durable: true, arguments: { 'x-queue-type': 'quorum' } });
      for (const q of ['qt-c', 'qt-c', 'qt-q', 'qt-q']) ch.sendToQueue(q, Buffer.from(q));
      // classic: two consumed with manual acks, then an empty get.
      const got: amqp.ConsumeMessage[] = [];
      await new Promise<void>((resolve) => {
        void ch.consume('qt-c', (m) => {
          got.push(m!);
          if (got.length === 2) resolve();
        });
      });
      for (const m of got) ch.ack(m);
      // quorum: a get with no-ack, a get that is nacked back, the same message got again (redelivered) and acked.
      await ch.get('qt-q', { noAck: true });
      const first = (await ch.get('qt-q')) as amqp.GetMessage;
      ch.nack(first, false, true);
      const again = (await ch.get('qt-q')) as amqp.GetMessage;
      expect(again.fields.redelivered).toBe(true);
      ch.ack(again);
      await ch.get('qt-q');
      await ch.deleteQueue('qt-q');
      const m = (await scrape(a.prometheusUrl, '/metrics')).families;
      expect(series(m, 'rabbitmq_global_messages_delivered_consume_manual_ack_total')).toEqual(byType(2, 0, 0));
      expect(series(m, 'rabbitmq_global_messages_delivered_get_auto_ack_total')).toEqual(byType(0, 1, 0));
      expect(series(m, 'rabbitmq_global_messages_delivered_get_manual_ack_total')).toEqual(byType(0, 2, 0));
      expect(series(m, 'rabbitmq_global_messages_delivered_total')).toEqual(byType(2, 3, 0));
      expect(series(m, 'rabbitmq_global_messages_redelivered_total')).toEqual(byType(0, 1, 0));
      expect(series(m, 'rabbitmq_global_messages_acknowledged_total')).toEqual(byType(2, 1, 0));
      expect(series(m, 'rabbitmq_global_messages_get_empty_total')).toEqual(byType(0, 1, 0));
    } finally {
      await conn.close();
      await a.close();
    }
  });

  test('dead-lettering by queue type and strategy: disabled, at_most_once, at_least_once and its confirms', async () => {
    const a = await startWithApi();
    const conn = await amqp.connect(a.url);
    try {
      const ch = await conn.createConfirmChannel();
      await ch.assertQueue('dl-target', { durable: true });
      await ch.assertQueue('dl-c-ttl', { arguments: { 'x-message-ttl': 0, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'dl-target' } });
      await ch.assertQueue('dl-c-len', { arguments: { 'x-max-length': 1 } });
      await ch.assertQueue('dl-q-limit', { durable: true, arguments: { 'x-queue-type': 'quorum', 'x-delivery-limit': 0 } });
      await ch.assertQueue('dl-q-alo', {
        durable: true,
        arguments: { 'x-queue-type': 'quorum', 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'dl-target', 'x-dead-letter-strategy': 'at-least-once', 'x-overflow': 'reject-publish' },
      });
      for (const q of ['dl-c-ttl', 'dl-c-len', 'dl-c-len', 'dl-q-limit', 'dl-q-alo']) ch.sendToQueue(q, Buffer.from(q));
      await ch.waitForConfirms();
      const limited = (await ch.get('dl-q-limit')) as amqp.GetMessage;
      ch.nack(limited, false, true);
      const held = (await ch.get('dl-q-alo')) as amqp.GetMessage;
      ch.nack(held, false, false);
      await new Promise((r) => setTimeout(r, 100));
      expect((await ch.checkQueue('dl-target')).messageCount).toBe(2);
      const m = (await scrape(a.prometheusUrl, '/metrics')).families;
      const dl = (reason: string) => series(m, `rabbitmq_global_messages_dead_lettered_${reason}_total`);
      expect(dl('expired')).toEqual([
        'queue_type=rabbit_classic_queue,dead_letter_strategy=at_most_once => 1',
        'queue_type=rabbit_classic_queue,dead_letter_strategy=disabled => 0',
        'queue_type=rabbit_quorum_queue,dead_letter_strategy=at_least_once => 0',
        'queue_type=rabbit_quorum_queue,dead_letter_strategy=at_most_once => 0',
        'queue_type=rabbit_quorum_queue,dead_letter_strategy=disabled => 0',
      ]);
      expect(dl('maxlen')).toEqual([
        'queue_type=rabbit_classic_queue,dead_letter_strategy=at_most_once => 0',
        'queue_type=rabbit_classic_queue,dead_letter_strategy=disabled => 1',
        'queue_type=rabbit_quorum_queue,dead_letter_strategy=at_most_once => 0',
        'queue_type=rabbit_quorum_queue,dead_letter_strategy=disabled => 0',
      ]);
      expect(dl('delivery_limit')).toEqual([
        'queue_type=rabbit_quorum_queue,dead_letter_strategy=at_least_once => 0',
        'queue_type=rabbit_quorum_queue,dead_letter_strategy=at_most_once => 0',
        'queue_type=rabbit_quorum_queue,dead_letter_strategy=disabled => 1',
      ]);
      expect(dl('rejected')).toEqual([
        'queue_type=rabbit_classic_queue,dead_letter_strategy=at_most_once => 0',
        'queue_type=rabbit_classic_queue,dead_letter_strategy=disabled => 0',
        'queue_type=rabbit_quorum_queue,dead_letter_strategy=at_least_once => 1',
        'queue_type=rabbit_quorum_queue,dead_letter_strategy=at_most_once => 0',
        'queue_type=rabbit_quorum_queue,dead_letter_strategy=disabled => 0',
      ]);
      expect(dl('confirmed')).toEqual(['queue_type=rabbit_quorum_queue,dead_letter_strategy=at_least_once => 1']);
    } finally {
      await conn.close();
      await a.close();
    }
  });

  const url = process.env['RABBITMQ_PROMETHEUS_URL'];
  test.skipIf(url === undefined || url === '')('every rabbitmq_global_* family has the label sets RabbitMQ gives it', async () => {
    const labelSets = (families: Map<string, Family>) =>
      Object.fromEntries(
        [...families.values()]
          .filter((f) => f.name.startsWith('rabbitmq_global_'))
          .map((f) => [f.name, f.metrics.map((x) => Object.entries(x.labels ?? {}).map(([k, v]) => `${k}=${v}`).join(',')).sort()]),
      );
    const ours = labelSets((await scrape(b.prometheusUrl, '/metrics')).families);
    const theirs = labelSets((await scrape(url!, '/metrics')).families);
    expect(ours).toEqual(theirs);
  });
});
