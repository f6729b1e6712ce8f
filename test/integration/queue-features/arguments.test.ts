// queue.declare argument validation: which x-arguments are refused, with RabbitMQ 3.10's
// exact reply texts (confirmed against a real 3.10.8), and which are accepted.
import { describe, expect, test } from 'vitest';
import { declareFailure, passive, uniq, useBroker } from '../../helpers/queue-features.js';
import type { Options } from 'amqplib';

const broker = useBroker();

const QUEUE_DECLARE = { classId: 50, methodId: 10 };

function invalidArg(arg: string, queue: string, detail: string): string {
  return `PRECONDITION_FAILED - invalid arg '${arg}' for queue '${queue}' in vhost '/': ${detail}`;
}

type Args = Record<string, unknown>;

// [title, arguments, refused argument, detail]
const refused: [string, Args, string, string][] = [
  ['x-message-ttl -1', { 'x-message-ttl': -1 }, 'x-message-ttl', '{value_negative,-1}'],
  ['x-message-ttl -5 as longlong', { 'x-message-ttl': { '!': 'long', value: -5 } }, 'x-message-ttl', '{value_negative,-5}'],
  ['x-message-ttl longstr', { 'x-message-ttl': 'abc' }, 'x-message-ttl', '"expected integer, got longstr"'],
  ['x-message-ttl double', { 'x-message-ttl': 1.5 }, 'x-message-ttl', '"expected integer, got double"'],
  ['x-message-ttl float', { 'x-message-ttl': { '!': 'float', value: 1 } }, 'x-message-ttl', '"expected integer, got float"'],
  ['x-message-ttl bool', { 'x-message-ttl': true }, 'x-message-ttl', '"expected integer, got bool"'],
  ['x-message-ttl timestamp', { 'x-message-ttl': { '!': 'timestamp', value: 1 } }, 'x-message-ttl', '"expected integer, got timestamp"'],
  ['x-expires 0', { 'x-expires': 0 }, 'x-expires', '{value_zero,0}'],
  ['x-expires -1', { 'x-expires': -1 }, 'x-expires', '{value_negative,-1}'],
  ['x-expires longstr', { 'x-expires': 'x' }, 'x-expires', '"expected integer, got longstr"'],
  ['x-max-length -1', { 'x-max-length': -1 }, 'x-max-length', '{value_negative,-1}'],
  ['x-max-length longstr', { 'x-max-length': 'a' }, 'x-max-length', '"expected integer, got longstr"'],
  ['x-max-length-bytes -1', { 'x-max-length-bytes': -1 }, 'x-max-length-bytes', '{value_negative,-1}'],
  ['x-max-length-bytes longstr', { 'x-max-length-bytes': 'a' }, 'x-max-length-bytes', '"expected integer, got longstr"'],
  ['x-max-priority 256', { 'x-max-priority': 256 }, 'x-max-priority', '{max_value_exceeded,256}'],
  ['x-max-priority -1', { 'x-max-priority': -1 }, 'x-max-priority', '{value_negative,-1}'],
  ['x-max-priority longstr', { 'x-max-priority': 'a' }, 'x-max-priority', '"expected integer, got longstr"'],
  ['x-overflow foo', { 'x-overflow': 'foo' }, 'x-overflow', 'invalid_overflow'],
  ['x-overflow byte', { 'x-overflow': 1 }, 'x-overflow', '{unacceptable_type,byte}'],
  ['x-dead-letter-routing-key without a DLX', { 'x-dead-letter-routing-key': 'rk' }, 'x-dead-letter-routing-key', 'routing_key_but_no_dlx_defined'],
  ['x-dead-letter-routing-key byte', { 'x-dead-letter-routing-key': 5 }, 'x-dead-letter-routing-key', '{unacceptable_type,byte}'],
  ['x-single-active-consumer longstr', { 'x-single-active-consumer': 'yes' }, 'x-single-active-consumer', '{unacceptable_type,longstr}'],
  ['x-single-active-consumer byte', { 'x-single-active-consumer': 1 }, 'x-single-active-consumer', '{unacceptable_type,byte}'],
  ['x-queue-type foo', { 'x-queue-type': 'foo' }, 'x-queue-type', `"unsupported queue type 'foo'"`],
  ['x-queue-type byte', { 'x-queue-type': 5 }, 'x-queue-type', '{unacceptable_type,byte}'],
  // Several bad arguments: RabbitMQ checks x-queue-type first, then in a fixed order
  // (x-expires, x-message-ttl, x-dead-letter-*, x-max-length, ..., x-overflow, ...),
  // whatever the order in the table.
  ['x-message-ttl and x-expires both bad', { 'x-message-ttl': -1, 'x-expires': 0 }, 'x-expires', '{value_zero,0}'],
  ['x-max-priority and x-max-length both bad', { 'x-max-priority': 256, 'x-max-length': -1 }, 'x-max-length', '{value_negative,-1}'],
  ['x-overflow and x-message-ttl both bad', { 'x-overflow': 'foo', 'x-message-ttl': 'a' }, 'x-message-ttl', '"expected integer, got longstr"'],
  ['x-queue-type and x-message-ttl both bad', { 'x-message-ttl': -1, 'x-queue-type': 'foo' }, 'x-queue-type', `"unsupported queue type 'foo'"`],
  ['x-single-active-consumer and x-overflow both bad', { 'x-single-active-consumer': 'yes', 'x-overflow': 'foo' }, 'x-overflow', 'invalid_overflow'],
  ['x-dead-letter-routing-key alone and x-max-length bad', { 'x-max-length': -1, 'x-dead-letter-routing-key': 'rk' }, 'x-dead-letter-routing-key', 'routing_key_but_no_dlx_defined'],
];

describe.concurrent('queue.declare refuses bad x-arguments with 406 and RabbitMQ texts', () => {
  test.each(refused)('%s', async (_title, args, arg, detail) => {
    const conn = await broker.connect();
    const q = uniq('args');
    const close = await declareFailure(conn, q, { exclusive: true, arguments: args });
    expect(close).toEqual({ code: 406, text: invalidArg(arg, q, detail), ...QUEUE_DECLARE });
    // Nothing was created.
    expect(await passive(conn, q)).toEqual({ code: 404, text: `NOT_FOUND - no queue '${q}' in vhost '/'`, ...QUEUE_DECLARE });
  });

  test('x-dead-letter-exchange that is not a string: invalid type, checked before every other argument (even x-queue-type)', async () => {
    const conn = await broker.connect();
    const q = uniq('args');
    const cases: [unknown, Args][] = [
      [{ '!': 'byte', value: 1 }, {}],
      [5, { 'x-message-ttl': -1 }],
      [5, { 'x-expires': 0 }],
      [5, { 'x-queue-type': 'foo' }],
    ];
    for (const [dlx, others] of cases) {
      const close = await declareFailure(conn, q, { exclusive: true, arguments: { ...others, 'x-dead-letter-exchange': dlx } });
      expect(close).toEqual({
        code: 406,
        text: `PRECONDITION_FAILED - invalid type 'byte' for arg 'x-dead-letter-exchange' in queue '${q}' in vhost '/'`,
        ...QUEUE_DECLARE,
      });
    }
  });
});

describe.concurrent('quorum queues', () => {
  const cases: [string, Options.AssertQueue, string][] = [
    ['exclusive', { exclusive: true, durable: true }, 'exclusive-owner'],
    ['non-durable', { durable: false }, 'non-durable'],
    ['auto-delete', { durable: true, autoDelete: true }, 'auto-delete'],
    ['exclusive, non-durable and auto-delete (auto-delete reported)', { exclusive: true, durable: false, autoDelete: true }, 'auto-delete'],
    ['non-durable and auto-delete (auto-delete reported)', { durable: false, autoDelete: true }, 'auto-delete'],
  ];
  test.each(cases)('x-queue-type quorum refuses %s', async (_title, opts, property) => {
    const conn = await broker.connect();
    const q = uniq('qq');
    const close = await declareFailure(conn, q, { ...opts, arguments: { 'x-queue-type': 'quorum' } });
    expect(close).toEqual({ code: 406, text: `PRECONDITION_FAILED - invalid property '${property}' for queue '${q}' in vhost '/'`, ...QUEUE_DECLARE });
  });

  test('a bad argument is reported before a bad quorum property', async () => {
    const conn = await broker.connect();
    const q = uniq('qq');
    const close = await declareFailure(conn, q, { durable: false, arguments: { 'x-queue-type': 'quorum', 'x-message-ttl': -1 } });
    expect(close).toEqual({ code: 406, text: invalidArg('x-message-ttl', q, '{value_negative,-1}'), ...QUEUE_DECLARE });
  });
});

describe.concurrent('accepted arguments', () => {
  const accepted: [string, Args][] = [
    ['x-message-ttl byte', { 'x-message-ttl': { '!': 'byte', value: 5 } }],
    ['x-message-ttl short', { 'x-message-ttl': { '!': 'short', value: 5 } }],
    ['x-message-ttl long', { 'x-message-ttl': { '!': 'int', value: 5 } }],
    ['x-message-ttl longlong', { 'x-message-ttl': { '!': 'long', value: 5 } }],
    ['x-message-ttl 0', { 'x-message-ttl': 0 }],
    ['x-message-ttl 2^32', { 'x-message-ttl': 4294967296 }],
    ['x-expires 1', { 'x-expires': 1 }],
    ['x-max-length 0', { 'x-max-length': 0 }],
    ['x-max-length longlong', { 'x-max-length': { '!': 'long', value: 1 } }],
    ['x-max-priority 255', { 'x-max-priority': 255 }],
    ['x-max-priority 1', { 'x-max-priority': 1 }],
    ['x-overflow drop-head', { 'x-overflow': 'drop-head' }],
    ['x-overflow reject-publish', { 'x-overflow': 'reject-publish' }],
    ['x-overflow reject-publish-dlx', { 'x-overflow': 'reject-publish-dlx' }],
    ['x-single-active-consumer false', { 'x-single-active-consumer': false }],
    ['x-single-active-consumer true', { 'x-single-active-consumer': true }],
    ['x-queue-type classic', { 'x-queue-type': 'classic' }],
    ['a DLX that does not exist, with a routing key', { 'x-dead-letter-exchange': 'no-such-exchange', 'x-dead-letter-routing-key': 'rk' }],
    ['an unknown x-argument', { 'x-unknown': 'whatever', 'x-max-length': 3 }],
  ];
  test.each(accepted)('%s', async (_title, args) => {
    const conn = await broker.connect();
    const ch = await conn.createChannel();
    const q = uniq('ok');
    expect(await ch.assertQueue(q, { exclusive: true, arguments: args })).toEqual({ queue: q, messageCount: 0, consumerCount: 0 });
    // Redeclaring with the very same arguments is fine.
    expect(await ch.assertQueue(q, { exclusive: true, arguments: args })).toEqual({ queue: q, messageCount: 0, consumerCount: 0 });
    await ch.deleteQueue(q);
    await ch.close();
  });
});
