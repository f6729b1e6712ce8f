// Arbitraries for the socket fuzz test: well-formed AMQP client sessions as bytes (handshake,
// then channel, queue, exchange, publish, get, consume, ack, qos, confirm and tx methods,
// content split into body frames), and the damage done to them afterwards (bytes flipped,
// inserted, deleted, repeated, the stream truncated), and the points where the bytes are cut
// into separate socket writes.
import fc from 'fast-check';
import { writeContent } from '../../amqp/frame-writer.js';
import { FRAME_HEARTBEAT, M } from '../../amqp/generated/constants.js';
import type { Method } from '../../amqp/generated/methods.js';
import { writeProperties, type BasicProperties } from '../../amqp/generated/properties.js';
import type { FieldTable } from '../../amqp/table.js';
import { Writer } from '../../amqp/writer.js';
import { tableArbs } from '../amqp/helpers.js';
import { amqplainResponse, plainResponse, PROTOCOL_HEADER, RawClient } from './raw-client.js';

/** One step of a session after connection.open: frames to send, described for a failure report. */
export interface Step {
  what: string;
  bytes: Buffer;
}

export interface Session {
  frameMax: number;
  steps: Step[];
  /** Bytes of the handshake (header to connection.open): damage there only ever means a silent close, after RabbitMQ's 3 s. */
  handshakeBytes: number;
}

const NAMES = ['', 'fz-a', 'fz-b', 'fz-c', 'amq.direct', 'amq.fanout', 'amq.topic', 'amq.headers', 'amq.gen-x', 'fz-\nd'];
const name = fc.constantFrom(...NAMES);
const smallTable = tableArbs({ maxDepth: 1 }).table;
const queueArgs: fc.Arbitrary<FieldTable> = fc.oneof(
  fc.constant({}),
  fc.record({ 'x-max-length': fc.integer({ min: -1, max: 5 }) }),
  fc.record({ 'x-message-ttl': fc.integer({ min: 0, max: 50 }), 'x-dead-letter-exchange': name }),
  fc.record({ 'x-max-priority': fc.integer({ min: 0, max: 300 }) }),
  fc.record({ 'x-overflow': fc.constantFrom('drop-head', 'reject-publish', 'reject-publish-dlx', 'bogus') }),
  fc.record({ 'x-queue-type': fc.constantFrom('classic', 'quorum', 'stream', 'x') }),
  smallTable,
);
const props: fc.Arbitrary<BasicProperties> = fc.record(
  {
    contentType: fc.constantFrom('text/plain', 'application/json'),
    deliveryMode: fc.constantFrom(1, 2),
    priority: fc.integer({ min: 0, max: 255 }),
    expiration: fc.constantFrom('0', '10', '1000', 'x'),
    headers: smallTable,
    messageId: fc.string({ maxLength: 10 }),
  },
  { requiredKeys: [] },
);

function frame(channel: number, m: Method): Buffer {
  return RawClient.methodFrame(channel, m);
}

function content(channel: number, body: Buffer, p: BasicProperties, frameMax: number): Buffer {
  const pw = new Writer(256);
  writeProperties(pw, p);
  const w = new Writer(body.length + 1024);
  writeContent(w, channel, 60, pw.take(), body, frameMax);
  return w.take();
}

const channel = fc.integer({ min: 1, max: 3 });

/** The steps after connection.open; each closes over the negotiated frame_max for content. */
function stepArb(frameMax: number): fc.Arbitrary<Step> {
  const m = (what: string, ch: number, method: Method): Step => ({ what: `${what}@${ch}`, bytes: frame(ch, method) });
  return fc.oneof(
    fc.tuple(channel, name, fc.boolean(), fc.boolean(), fc.boolean(), fc.boolean(), queueArgs).map(([ch, queue, passive, durable, exclusive, autoDelete, args]) =>
      m('queue.declare', ch, { id: M.QueueDeclare, queue, passive, durable, exclusive, autoDelete, nowait: false, arguments: args }),
    ),
    fc.tuple(channel, name, fc.constantFrom('direct', 'fanout', 'topic', 'headers', 'x-bogus'), fc.boolean(), fc.boolean(), smallTable).map(([ch, exchange, type, passive, internal, args]) =>
      m('exchange.declare', ch, { id: M.ExchangeDeclare, exchange, type, passive, durable: false, autoDelete: false, internal, nowait: false, arguments: args }),
    ),
    fc.tuple(channel, name, name, fc.constantFrom('', 'k', '#', '*.k')).map(([ch, queue, exchange, routingKey]) =>
      m('queue.bind', ch, { id: M.QueueBind, queue, exchange, routingKey, nowait: false, arguments: {} }),
    ),
    fc.tuple(channel, name, name).map(([ch, queue, exchange]) => m('queue.unbind', ch, { id: M.QueueUnbind, queue, exchange, routingKey: 'k', arguments: {} })),
    fc.tuple(channel, name).map(([ch, queue]) => m('queue.purge', ch, { id: M.QueuePurge, queue, nowait: false })),
    fc.tuple(channel, name, fc.boolean(), fc.boolean()).map(([ch, queue, ifUnused, ifEmpty]) =>
      m('queue.delete', ch, { id: M.QueueDelete, queue, ifUnused, ifEmpty, nowait: false }),
    ),
    fc.tuple(channel, name).map(([ch, exchange]) => m('exchange.delete', ch, { id: M.ExchangeDelete, exchange, ifUnused: false, nowait: false })),
    fc
      .tuple(channel, name, name, fc.boolean(), fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 0, max: 300 }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 3 * frameMax }) }), props)
      .map(([ch, exchange, routingKey, mandatory, size, p]) => ({
        what: `basic.publish(${size})@${ch}`,
        bytes: Buffer.concat([
          frame(ch, { id: M.BasicPublish, exchange, routingKey, mandatory, immediate: false }),
          content(ch, Buffer.alloc(size, 0x62), p, frameMax),
        ]),
      })),
    fc.tuple(channel, name, fc.boolean()).map(([ch, queue, noAck]) => m('basic.get', ch, { id: M.BasicGet, queue, noAck })),
    fc.tuple(channel, name, fc.constantFrom('', 'ct-1', 'ct-2'), fc.boolean(), fc.boolean()).map(([ch, queue, consumerTag, noAck, exclusive]) =>
      m('basic.consume', ch, { id: M.BasicConsume, queue, consumerTag, noLocal: false, noAck, exclusive, nowait: false, arguments: {} }),
    ),
    fc.tuple(channel, fc.constantFrom('ct-1', 'ct-2')).map(([ch, consumerTag]) => m('basic.cancel', ch, { id: M.BasicCancel, consumerTag, nowait: false })),
    fc.tuple(channel, fc.integer({ min: 0, max: 6 }), fc.boolean()).map(([ch, deliveryTag, multiple]) => m('basic.ack', ch, { id: M.BasicAck, deliveryTag, multiple })),
    fc.tuple(channel, fc.integer({ min: 0, max: 6 }), fc.boolean(), fc.boolean()).map(([ch, deliveryTag, multiple, requeue]) =>
      m('basic.nack', ch, { id: M.BasicNack, deliveryTag, multiple, requeue }),
    ),
    fc.tuple(channel, fc.integer({ min: 0, max: 6 }), fc.boolean()).map(([ch, deliveryTag, requeue]) => m('basic.reject', ch, { id: M.BasicReject, deliveryTag, requeue })),
    fc.tuple(channel, fc.integer({ min: 0, max: 3 }), fc.boolean()).map(([ch, prefetchCount, global]) =>
      m('basic.qos', ch, { id: M.BasicQos, prefetchSize: 0, prefetchCount, global }),
    ),
    channel.map((ch) => m('basic.recover', ch, { id: M.BasicRecover, requeue: true })),
    channel.map((ch) => m('confirm.select', ch, { id: M.ConfirmSelect, nowait: false })),
    channel.map((ch) => m('tx.select', ch, { id: M.TxSelect })),
    channel.map((ch) => m('tx.commit', ch, { id: M.TxCommit })),
    channel.map((ch) => m('tx.rollback', ch, { id: M.TxRollback })),
    fc.constant({ what: 'heartbeat', bytes: RawClient.frame(FRAME_HEARTBEAT, 0, Buffer.alloc(0)) }),
  );
}

/** A well-formed session: header, start-ok, tune-ok, open, channels 1-3, some steps, and maybe a clean close of a channel and of the connection. */
export const sessionArb: fc.Arbitrary<Session> = fc
  .record({
    amqplain: fc.boolean(),
    // Mostly small: damage to the handshake only ever means a silent close.
    clientProperties: fc.oneof({ weight: 4, arbitrary: fc.constant({ product: 'fuzz' } as FieldTable) }, { weight: 1, arbitrary: smallTable }),
    frameMax: fc.constantFrom(4096, 8192, 131072),
    closesChannel: fc.boolean(),
    closes: fc.boolean(),
  })
  .chain(({ amqplain, clientProperties, frameMax, closesChannel, closes }) =>
    fc.array(stepArb(frameMax), { maxLength: 14 }).map((body): Session => {
      const mechanism = amqplain ? 'AMQPLAIN' : 'PLAIN';
      const response = amqplain ? amqplainResponse('guest', 'guest') : plainResponse('guest', 'guest');
      const steps: Step[] = [
        { what: 'header', bytes: PROTOCOL_HEADER },
        { what: 'start-ok', bytes: frame(0, { id: M.ConnectionStartOk, clientProperties, mechanism, response, locale: 'en_US' }) },
        { what: 'tune-ok', bytes: frame(0, { id: M.ConnectionTuneOk, channelMax: 2047, frameMax, heartbeat: 0 }) },
        { what: 'open', bytes: frame(0, { id: M.ConnectionOpen, virtualHost: '/', capabilities: '', insist: false }) },
        ...[1, 2, 3].map((ch) => ({ what: `channel.open@${ch}`, bytes: frame(ch, { id: M.ChannelOpen, outOfBand: '' }) })),
        ...body,
      ];
      if (closesChannel) steps.push({ what: 'channel.close@2', bytes: frame(2, { id: M.ChannelClose, replyCode: 200, replyText: 'bye', classId: 0, methodId: 0 }) });
      if (closes) steps.push({ what: 'connection.close', bytes: frame(0, { id: M.ConnectionClose, replyCode: 200, replyText: 'bye', classId: 0, methodId: 0 }) });
      const handshakeBytes = steps.slice(0, 4).reduce((n, st) => n + st.bytes.length, 0);
      return { frameMax, steps, handshakeBytes };
    }),
  );

export type Mutation =
  | { kind: 'flip'; at: number; value: number }
  | { kind: 'insert'; at: number; bytes: number[] }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'repeat'; at: number; length: number }
  | { kind: 'truncate'; at: number };

/** A position as a fraction of the stream's length (0..1), so that it fits any session; unbiased, so spread over the whole stream. */
export const fractionArb: fc.Arbitrary<number> = fc.noBias(fc.integer({ min: 0, max: 1_000_000 })).map((n) => n / 1_000_000);

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fractionArb, value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fractionArb, bytes: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 8 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fractionArb, length: fc.integer({ min: 1, max: 16 }) }),
  fc.record({ kind: fc.constant('repeat' as const), at: fractionArb, length: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fractionArb }),
);

/** Applies the mutations to the bytes from `from` on (positions are fractions of that part). */
export function mutate(bytes: Buffer, mutations: readonly Mutation[], from = 0): Buffer {
  let b = bytes;
  for (const m of mutations) {
    const at = Math.min(b.length, from + Math.floor(m.at * Math.max(0, b.length - from)));
    switch (m.kind) {
      case 'flip':
        if (at < b.length) {
          b = Buffer.from(b);
          b[at] = m.value;
        }
        break;
      case 'insert':
        b = Buffer.concat([b.subarray(0, at), Buffer.from(m.bytes), b.subarray(at)]);
        break;
      case 'delete':
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.length)]);
        break;
      case 'repeat':
        b = Buffer.concat([b.subarray(0, at + m.length), b.subarray(at)]);
        break;
      case 'truncate':
        b = b.subarray(0, at);
        break;
    }
  }
  return b;
}

/** Cuts `bytes` at the given fractions of its length (sorted, duplicates dropped). */
export function split(bytes: Buffer, cuts: readonly number[]): Buffer[] {
  const at = [...new Set(cuts.map((c) => Math.floor(c * bytes.length)))].filter((p) => p > 0 && p < bytes.length).sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const p of at) {
    out.push(bytes.subarray(from, p));
    from = p;
  }
  out.push(bytes.subarray(from));
  return out.filter((c) => c.length > 0);
}
