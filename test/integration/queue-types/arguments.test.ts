// Declaration and consume arguments per queue type: what RabbitMQ 3.10 refuses for classic,
// quorum and stream queues (its per-type argument lists), with its codes and texts, what it
// accepts (unknown x- arguments are ignored), where its channel crashes instead (541), and
// which arguments a redeclaration compares. Checked against RabbitMQ 3.10.8;
// WARREN_REFERENCE_URL=amqp://... runs this file against one.
import type { ChannelModel, Options } from 'amqplib';
import { describe, expect, test } from 'vitest';
import { declareFailure, nextServerClose, passive, sleep } from '../../helpers/queue-features.js';
import { durableQueue, qname, quorum, useQuorumBroker } from '../../helpers/quorum.js';

const broker = useQuorumBroker();
const QUEUE_DECLARE = { classId: 50, methodId: 10 };
const DURABLE = { durable: true };

type Args = Record<string, unknown>;
const Q = { 'x-queue-type': 'quorum' };
const S = { 'x-queue-type': 'stream' };

const ofType = (arg: string, q: string, type: string) =>
  `PRECONDITION_FAILED - invalid arg '${arg}' for queue '${q}' in vhost '/' of queue type rabbit_${type}_queue`;
const invalid = (arg: string, q: string, term: string) => `PRECONDITION_FAILED - invalid arg '${arg}' for queue '${q}' in vhost '/': ${term}`;

// [title, arguments, options, expected text given the queue name]
const refused: [string, Args, Options.AssertQueue, (q: string) => string][] = [
  // Another type's arguments, by type.
  ...['x-max-priority', 'x-queue-mode', 'x-queue-version', 'x-queue-master-locator', 'x-max-age', 'x-stream-max-segment-size-bytes', 'x-initial-cluster-size'].map(
    (arg): [string, Args, Options.AssertQueue, (q: string) => string] => [`quorum: ${arg}`, { ...Q, [arg]: arg === 'x-max-age' || arg.endsWith('mode') || arg.endsWith('locator') ? 'lazy' : 2 }, DURABLE, (q) => ofType(arg, q, 'quorum')],
  ),
  ...['x-queue-leader-locator', 'x-delivery-limit', 'x-dead-letter-strategy', 'x-max-in-memory-length', 'x-max-in-memory-bytes', 'x-quorum-initial-group-size', 'x-max-age', 'x-stream-max-segment-size-bytes', 'x-initial-cluster-size'].map(
    (arg): [string, Args, Options.AssertQueue, (q: string) => string] => [`classic: ${arg}`, { [arg]: arg === 'x-max-age' || arg.endsWith('strategy') || arg.endsWith('locator') ? 'at-most-once' : 5 }, DURABLE, (q) => ofType(arg, q, 'classic')],
  ),
  ...['x-max-priority', 'x-message-ttl', 'x-max-length', 'x-expires', 'x-single-active-consumer', 'x-overflow', 'x-dead-letter-exchange', 'x-delivery-limit'].map(
    (arg): [string, Args, Options.AssertQueue, (q: string) => string] => [`stream: ${arg}`, { ...S, [arg]: arg === 'x-single-active-consumer' ? true : arg === 'x-overflow' ? 'drop-head' : arg.includes('exchange') ? 'x' : 5 }, DURABLE, (q) => ofType(arg, q, 'stream')],
  ),
  // The type's own arguments, by value.
  ['classic: x-queue-version 3', { 'x-queue-version': 3 }, DURABLE, (q) => invalid('x-queue-version', q, `"unsupported queue version '3'"`)],
  ['classic: x-queue-version 0', { 'x-queue-version': 0 }, DURABLE, (q) => invalid('x-queue-version', q, `"unsupported queue version '0'"`)],
  ['classic: x-queue-version -1', { 'x-queue-version': -1 }, DURABLE, (q) => invalid('x-queue-version', q, '{value_negative,-1}')],
  ['classic: x-queue-version longstr', { 'x-queue-version': '2' }, DURABLE, (q) => invalid('x-queue-version', q, '"expected integer, got longstr"')],
  ['classic: x-queue-mode foo', { 'x-queue-mode': 'foo' }, DURABLE, (q) => invalid('x-queue-mode', q, `"unsupported queue mode 'foo'"`)],
  ['classic: x-queue-mode byte', { 'x-queue-mode': 1 }, DURABLE, (q) => invalid('x-queue-mode', q, '{unacceptable_type,byte}')],
  ['classic: x-message-ttl over ten years', { 'x-message-ttl': 315360000001 }, DURABLE, (q) => invalid('x-message-ttl', q, '{value_too_large,315360000001}')],
  ['classic: x-expires over ten years', { 'x-expires': 315360000001 }, DURABLE, (q) => invalid('x-expires', q, '{value_too_large,315360000001}')],
  ['quorum: x-dead-letter-strategy foo', { ...Q, 'x-dead-letter-strategy': 'foo' }, DURABLE, (q) => invalid('x-dead-letter-strategy', q, 'invalid_dlx_strategy')],
  ['quorum: x-dead-letter-strategy byte', { ...Q, 'x-dead-letter-strategy': 1 }, DURABLE, (q) => invalid('x-dead-letter-strategy', q, '{unacceptable_type,byte}')],
  ['quorum: x-quorum-initial-group-size 0', { ...Q, 'x-quorum-initial-group-size': 0 }, DURABLE, (q) => invalid('x-quorum-initial-group-size', q, '{value_zero,0}')],
  ['quorum: x-quorum-initial-group-size longstr', { ...Q, 'x-quorum-initial-group-size': 'a' }, DURABLE, (q) => invalid('x-quorum-initial-group-size', q, '"expected integer, got longstr"')],
  ['quorum: x-queue-leader-locator foo', { ...Q, 'x-queue-leader-locator': 'foo' }, DURABLE, (q) => invalid('x-queue-leader-locator', q, 'invalid_queue_locator_arg')],
  ['quorum: x-queue-leader-locator byte', { ...Q, 'x-queue-leader-locator': 1 }, DURABLE, (q) => invalid('x-queue-leader-locator', q, '{unacceptable_type,byte}')],
  ['quorum: x-max-in-memory-bytes -1', { ...Q, 'x-max-in-memory-bytes': -1 }, DURABLE, (q) => invalid('x-max-in-memory-bytes', q, '{value_negative,-1}')],
  ['quorum: x-overflow foo', { ...Q, 'x-overflow': 'foo' }, DURABLE, (q) => invalid('x-overflow', q, 'invalid_overflow')],
  ['stream: x-max-age 1X', { ...S, 'x-max-age': '1X' }, DURABLE, (q) => invalid('x-max-age', q, 'invalid_max_age')],
  ['stream: x-max-age 0D', { ...S, 'x-max-age': '0D' }, DURABLE, (q) => invalid('x-max-age', q, 'invalid_max_age')],
  ['stream: x-max-age 1.5h', { ...S, 'x-max-age': '1.5h' }, DURABLE, (q) => invalid('x-max-age', q, 'invalid_max_age')],
  ['stream: x-max-age byte', { ...S, 'x-max-age': 5 }, DURABLE, (q) => invalid('x-max-age', q, '{unacceptable_type,byte}')],
  ['stream: x-stream-max-segment-size-bytes -1', { ...S, 'x-stream-max-segment-size-bytes': -1 }, DURABLE, (q) => invalid('x-stream-max-segment-size-bytes', q, '{value_negative,-1}')],
  ['stream: x-initial-cluster-size 0', { ...S, 'x-initial-cluster-size': 0 }, DURABLE, (q) => invalid('x-initial-cluster-size', q, '{value_zero,0}')],
  ['stream: x-queue-leader-locator bad', { ...S, 'x-queue-leader-locator': 'bad' }, DURABLE, (q) => invalid('x-queue-leader-locator', q, 'invalid_queue_locator_arg')],
  ['stream: x-stream-max-segment-size-bytes above 3 GB', { ...S, 'x-stream-max-segment-size-bytes': 3000000001 }, DURABLE, () => 'PRECONDITION_FAILED - Exceeded max value for x-stream-max-segment-size-bytes'],
  // Order: values first (in RabbitMQ's fixed order), then other types' arguments (in the table's order), then properties.
  ['quorum: x-max-priority and a bad x-message-ttl', { ...Q, 'x-max-priority': 5, 'x-message-ttl': -1 }, DURABLE, (q) => invalid('x-message-ttl', q, '{value_negative,-1}')],
  ['quorum: x-queue-mode before x-max-priority in the table', { ...Q, 'x-queue-mode': 'lazy', 'x-max-priority': 5 }, DURABLE, (q) => ofType('x-queue-mode', q, 'quorum')],
  ['quorum: x-max-priority, exclusive', { ...Q, 'x-max-priority': 5 }, { durable: true, exclusive: true }, (q) => ofType('x-max-priority', q, 'quorum')],
  ['classic: x-max-age before x-delivery-limit in the table', { 'x-max-age': '1D', 'x-delivery-limit': 5 }, DURABLE, (q) => ofType('x-max-age', q, 'classic')],
  ['classic: x-delivery-limit and a bad x-message-ttl', { 'x-delivery-limit': 5, 'x-message-ttl': -1 }, DURABLE, (q) => invalid('x-message-ttl', q, '{value_negative,-1}')],
  ['stream: exclusive', S, { durable: true, exclusive: true }, (q) => `PRECONDITION_FAILED - invalid property 'exclusive-owner' for queue '${q}' in vhost '/'`],
  ['stream: non-durable', S, { durable: false }, (q) => `PRECONDITION_FAILED - invalid property 'non-durable' for queue '${q}' in vhost '/'`],
  ['stream: auto-delete', S, { durable: true, autoDelete: true }, (q) => `PRECONDITION_FAILED - invalid property 'auto-delete' for queue '${q}' in vhost '/'`],
  ['quorum: a string DLX type is checked first', { ...Q, 'x-dead-letter-exchange': 5, 'x-max-priority': 5 }, DURABLE, (q) => `PRECONDITION_FAILED - invalid type 'byte' for arg 'x-dead-letter-exchange' in queue '${q}' in vhost '/'`],
];

async function accepted(conn: ChannelModel, args: Args, options: Options.AssertQueue = DURABLE): Promise<void> {
  const ch = await conn.createChannel();
  const q = qname('args');
  expect(await ch.assertQueue(q, { ...options, arguments: args })).toEqual({ queue: q, messageCount: 0, consumerCount: 0 });
  await ch.deleteQueue(q);
  await ch.close();
}

describe.concurrent('queue.declare: each type refuses what RabbitMQ refuses', () => {
  test.each(refused)('%s', async (_title, args, options, text) => {
    const conn = await broker.connect();
    const q = qname('args');
    expect(await declareFailure(conn, q, { ...options, arguments: args })).toEqual({ code: 406, text: text(q), ...QUEUE_DECLARE });
    expect(await passive(conn, q)).toEqual({ code: 404, text: `NOT_FOUND - no queue '${q}' in vhost '/'`, ...QUEUE_DECLARE });
  });
});

describe.concurrent('queue.declare: accepted', () => {
  const ok: [string, Args][] = [
    ['quorum: unknown x- and other arguments are ignored', { ...Q, 'x-unknown': 1, foo: 'bar' }],
    ['quorum: x-overflow reject-publish-dlx', { ...Q, 'x-overflow': 'reject-publish-dlx' }],
    ['quorum: x-delivery-limit of any value (not validated)', { ...Q, 'x-delivery-limit': 'two' }],
    ['quorum: x-dead-letter-strategy at-least-once without reject-publish', { ...Q, 'x-dead-letter-strategy': 'at-least-once' }],
    ['quorum: x-quorum-initial-group-size 3', { ...Q, 'x-quorum-initial-group-size': 3 }],
    ['quorum: x-max-in-memory-length', { ...Q, 'x-max-in-memory-length': 5, 'x-max-in-memory-bytes': 100 }],
    ...['client-local', 'balanced', 'random', 'least-leaders'].map((l): [string, Args] => [`quorum: x-queue-leader-locator ${l}`, { ...Q, 'x-queue-leader-locator': l }]),
    ['classic: x-queue-version 1 and 2', { 'x-queue-version': 2 }],
    ['classic: x-queue-master-locator min-masters', { 'x-queue-master-locator': 'min-masters' }],
    ['classic: x-cancel-on-ha-failover (a consumer argument) is ignored', { 'x-cancel-on-ha-failover': true }],
    ['classic: x-message-ttl of ten years', { 'x-message-ttl': 315360000000 }],
    ['stream: x-max-age 10s', { ...S, 'x-max-age': '10s' }],
    ['stream: x-max-age 01h', { ...S, 'x-max-age': '01h' }],
  ];
  test.each(ok)('%s', async (_title, args) => accepted(await broker.connect(), args));

  test('classic: an unknown x-queue-master-locator is fine on an exclusive queue', async () => {
    await accepted(await broker.connect(), { 'x-queue-master-locator': 'foo' }, { exclusive: true });
  });
});

describe.concurrent('where RabbitMQ crashes the channel: connection.close 541 INTERNAL_ERROR', () => {
  const crashes: [string, string, Args][] = [
    ['classic: an unknown x-queue-master-locator', 'args', { 'x-queue-master-locator': 'foo' }],
    ['stream: x-max-age without digits', 'args', { ...S, 'x-max-age': 'D' }],
    ['stream: x-max-age negative', 'args', { ...S, 'x-max-age': '-1h' }],
    ['server-named, with an unknown x-queue-type', '', { 'x-queue-type': 'foo' }],
  ];
  test.each(crashes)('%s', async (_title, base, args) => {
    const conn = await broker.connect();
    const closed = new Promise<unknown>((r) => conn.once('error', (e: Error & { code?: number }) => r([e.code, e.message])));
    const ch = await conn.createChannel();
    ch.on('error', () => {});
    const q = base === '' ? '' : qname(base);
    await ch.assertQueue(q, { durable: true, arguments: args }).catch(() => {});
    expect(await closed).toEqual([541, 'Connection closed: 541 (INTERNAL-ERROR) with message "INTERNAL_ERROR"']);
    if (q !== '') expect(await passive(await broker.connect(), q)).toMatchObject({ code: 404 });
  });
});

describe.concurrent('server-named queues', () => {
  test.each([['quorum', Q], ['stream', S]] as const)('%s queues cannot be server-named (checked before the arguments)', async (type, args) => {
    const conn = await broker.connect();
    expect(await declareFailure(conn, '', { durable: false, arguments: { ...args, 'x-message-ttl': -1 } })).toEqual({
      code: 406,
      text: `PRECONDITION_FAILED - Cannot declare a server-named queue for type rabbit_${type}_queue`,
      ...QUEUE_DECLARE,
    });
  });
});

describe.concurrent('redeclaration compares the arguments of the queue type', () => {
  test('a quorum queue: x-delivery-limit is compared, x-max-priority is not; a missing x-queue-type is not classic', async () => {
    const conn = await broker.connect();
    const ch = await conn.createChannel();
    const q = await quorum(ch, qname(), { 'x-delivery-limit': 5 });
    expect(await ch.assertQueue(q, { durable: true, arguments: { ...Q, 'x-delivery-limit': 5, 'x-max-priority': 4 } })).toEqual({ queue: q, messageCount: 0, consumerCount: 0 });
    expect(await declareFailure(conn, q, { durable: true, arguments: Q })).toEqual({
      code: 406,
      text: `PRECONDITION_FAILED - inequivalent arg 'x-delivery-limit' for queue '${q}' in vhost '/': received none but current is the value '5' of type 'byte'`,
      ...QUEUE_DECLARE,
    });
    expect(await declareFailure(conn, q, { durable: true, arguments: { 'x-delivery-limit': 5 } })).toEqual({
      code: 406,
      text: `PRECONDITION_FAILED - inequivalent arg 'x-queue-type' for queue '${q}' in vhost '/': received none but current is the value 'quorum' of type 'longstr'`,
      ...QUEUE_DECLARE,
    });
  });

  test("a classic queue: x-delivery-limit is not compared; x-queue-type 'quorum' is", async () => {
    const conn = await broker.connect();
    const ch = await conn.createChannel();
    const q = qname('cl');
    await ch.assertQueue(q, { exclusive: true });
    expect(await ch.assertQueue(q, { exclusive: true, arguments: { 'x-delivery-limit': 5, 'x-queue-type': 'classic' } })).toEqual({ queue: q, messageCount: 0, consumerCount: 0 });
    const bad = await conn.createChannel();
    const closed = nextServerClose(bad);
    await bad.assertQueue(q, { exclusive: true, arguments: Q }).catch(() => {});
    expect(await closed).toEqual({
      code: 406,
      text: `PRECONDITION_FAILED - inequivalent arg 'x-queue-type' for queue '${q}' in vhost '/': received the value 'quorum' of type 'longstr' but current is none`,
      ...QUEUE_DECLARE,
    });
  });
});

describe.concurrent('basic.consume arguments, by queue type', () => {
  const BASIC_CONSUME = { classId: 60, methodId: 20 };
  const cases: [string, Args, Args, (q: string) => string][] = [
    ['quorum: x-stream-offset', Q, { 'x-stream-offset': 'first' }, (q) => ofType('x-stream-offset', q, 'quorum')],
    ['quorum: x-cancel-on-ha-failover', Q, { 'x-cancel-on-ha-failover': true }, (q) => ofType('x-cancel-on-ha-failover', q, 'quorum')],
    ['quorum: x-priority longstr', Q, { 'x-priority': 'a' }, (q) => invalid('x-priority', q, '"expected integer, got longstr"')],
    ['classic: x-stream-offset', {}, { 'x-stream-offset': 'first' }, (q) => ofType('x-stream-offset', q, 'classic')],
    ['classic: x-cancel-on-ha-failover longstr', {}, { 'x-cancel-on-ha-failover': 'yes' }, (q) => invalid('x-cancel-on-ha-failover', q, '{unacceptable_type,longstr}')],
  ];
  test.each(cases)('%s', async (_title, queueArgs, consumeArgs, text) => {
    const conn = await broker.connect();
    const ch = await conn.createChannel();
    const q = queueArgs === Q ? await quorum(ch, qname()) : await durableQueue(ch, qname('cl'));
    const closed = nextServerClose(ch);
    await ch.consume(q, () => {}, { arguments: consumeArgs }).catch(() => {});
    expect(await closed).toEqual({ code: 406, text: text(q), ...BASIC_CONSUME });
  });

  test('unknown consumer arguments are ignored', async () => {
    const ch = await (await broker.connect()).createChannel();
    const q = await quorum(ch, qname());
    await ch.consume(q, () => {}, { arguments: { 'x-unknown': 1, 'x-cancel-on-ha-failover-ish': 'a' } });
    await sleep(20);
    expect(await ch.checkQueue(q)).toEqual({ queue: q, messageCount: 0, consumerCount: 1 });
  });
});
