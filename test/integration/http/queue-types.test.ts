// Queues of each type in the management API: the `type` field, and the fields RabbitMQ
// 3.10.8 shows for a quorum queue instead of a classic queue's backing-queue ones (observed
// on the shared RabbitMQ: GET /api/queues/{vhost}/{name} of a quorum queue).
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

/** Fields a 3.10.8 classic queue has and a quorum queue has not. */
const CLASSIC_ONLY = [
  'backing_queue_status',
  'exclusive_consumer_tag',
  'head_message_timestamp',
  'idle_since',
  'message_bytes_paged_out',
  'messages_paged_out',
  'messages_ready_ram',
  'messages_unacknowledged_ram',
  'recoverable_slaves',
  'single_active_consumer_tag',
];

describe('queue types in /api/queues', () => {
  test('type is classic, quorum or stream, in a queue and in the list', async () => {
    await b.api('PUT', '/api/queues/%2F/t-classic', { durable: true });
    await b.api('PUT', '/api/queues/%2F/t-quorum', { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    await b.api('PUT', '/api/queues/%2F/t-stream', { durable: true, arguments: { 'x-queue-type': 'stream' } });
    const list = (await b.api('GET', '/api/queues/%2F?columns=name,type')).body;
    expect(list).toEqual([
      { name: 't-classic', type: 'classic' },
      { name: 't-quorum', type: 'quorum' },
      { name: 't-stream', type: 'stream' },
    ]);
    expect((await b.api('GET', '/api/queues/%2F/t-quorum')).body.type).toBe('quorum');
  });

  test('a stream over HTTP: publishes count in its length; get and purge are refused with the texts RabbitMQ 3.10.8 answers', async () => {
    await b.api('PUT', '/api/queues/%2F/t-stream-http', { durable: true, arguments: { 'x-queue-type': 'stream' } });
    const pub = await b.api('POST', '/api/exchanges/%2F/amq.default/publish', { properties: {}, routing_key: 't-stream-http', payload: 'x', payload_encoding: 'string' });
    expect(pub.body).toEqual({ routed: true });
    const get = await b.api('POST', '/api/queues/%2F/t-stream-http/get', { count: 1, ackmode: 'ack_requeue_true', encoding: 'auto' });
    expect({ status: get.status, body: get.body }).toEqual({
      status: 400,
      body: { error: 'bad_request', reason: "540 basic.get not supported by stream queues queue 't-stream-http' in vhost '/'" },
    });
    const purge = await b.api('DELETE', '/api/queues/%2F/t-stream-http/contents');
    expect({ status: purge.status, body: purge.body }).toEqual({
      status: 400,
      body: { error: 'bad_request', reason: "queue.purge not supported by stream queues queue 't-stream-http' in vhost '/'" },
    });
    expect((await b.api('GET', '/api/queues/%2F/t-stream-http')).body.messages).toBe(1);
  });

  test("a quorum queue: its members, leader and online nodes, its kept dead letters, and single_active_consumer_ctag", async () => {
    await b.api('PUT', '/api/queues/%2F/t-sac', { durable: true, arguments: { 'x-queue-type': 'quorum', 'x-single-active-consumer': true } });
    const conn = await amqp.connect(b.url);
    const ch = await conn.createChannel();
    await ch.consume('t-sac', () => {}, { consumerTag: 'sac-1' });
    await ch.consume('t-sac', () => {}, { consumerTag: 'sac-2' });
    const node = b.broker.nodeName;
    const q = (await b.api('GET', '/api/queues/%2F/t-sac')).body;
    expect({
      leader: q.leader,
      members: q.members,
      online: q.online,
      open_files: q.open_files,
      messages_dlx: q.messages_dlx,
      message_bytes_dlx: q.message_bytes_dlx,
      single_active_consumer_ctag: q.single_active_consumer_ctag,
      type: q.type,
      state: q.state,
    }).toEqual({
      leader: node,
      members: [node],
      online: [node],
      open_files: { [node]: 0 },
      messages_dlx: 0,
      message_bytes_dlx: 0,
      single_active_consumer_ctag: 'sac-1',
      type: 'quorum',
      state: 'running',
    });
    expect(CLASSIC_ONLY.filter((k) => k in q)).toEqual([]);
    const listed = ((await b.api('GET', '/api/queues/%2F')).body as { name: string }[]).find((x) => x.name === 't-sac')!;
    expect(CLASSIC_ONLY.filter((k) => k in listed)).toEqual([]);
    expect((listed as { leader?: string }).leader).toBe(node);
    const classic = (await b.api('GET', '/api/queues/%2F/t-classic')).body;
    expect(CLASSIC_ONLY.filter((k) => !(k in classic))).toEqual(['backing_queue_status']);
    await conn.close();
  });

  test('at-least-once dead letters a quorum queue keeps until the target has them count as messages_dlx', async () => {
    await b.api('PUT', '/api/queues/%2F/t-alo', {
      durable: true,
      arguments: { 'x-queue-type': 'quorum', 'x-dead-letter-exchange': 'no-such-exchange', 'x-dead-letter-strategy': 'at-least-once', 'x-overflow': 'reject-publish' },
    });
    const conn = await amqp.connect(b.url);
    const ch = await conn.createChannel();
    ch.sendToQueue('t-alo', Buffer.from('12345'));
    const m = await new Promise<amqp.GetMessage>((resolve) => {
      const poll = async () => {
        const got = await ch.get('t-alo');
        if (got === false) setTimeout(poll, 20);
        else resolve(got);
      };
      void poll();
    });
    ch.nack(m, false, false);
    await new Promise((r) => setTimeout(r, 100));
    const q = (await b.api('GET', '/api/queues/%2F/t-alo')).body;
    expect({ messages: q.messages, messages_dlx: q.messages_dlx, message_bytes_dlx: q.message_bytes_dlx }).toEqual({ messages: 0, messages_dlx: 1, message_bytes_dlx: 5 });
    await conn.close();
  });
});
