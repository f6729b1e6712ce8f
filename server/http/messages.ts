import { AmqpError, ChannelError } from '../../amqp/errors.js';
import { writeProperties, type BasicProperties } from '../../amqp/generated/properties.js';
import { Writer } from '../../amqp/writer.js';
import { hasBcc, routingKeysFor, stripBcc, validateRoutingHeaders } from '../../routing/sender-selected.js';
import { Message, type QueueEntry } from '../queue/message.js';
import { parseExpiration } from '../queue/queue-args.js';
import type { Queue, QueueOwner } from '../queue/queue.js';
import type { VirtualHost } from '../vhost/vhost.js';
import { badRequest } from './errors.js';
import { propertiesToJson } from './format.js';
import type { Json } from './listing.js';

/**
 * Publishing and getting messages for the HTTP API (/exchanges/.../publish,
 * /queues/.../get, /aliveness-test), with the same routing, storage and queue
 * bookkeeping as basic.publish and basic.get on a channel.
 */

/** The owner the HTTP API acts as: it holds no exclusive queue. */
export const HTTP_OWNER: QueueOwner = { id: -1 };

const propsWriter = new Writer(1024);
const routed = new Set<Queue>();

/**
 * Publishes one message; returns whether it reached a queue. Errors are what the plugin's
 * publish answers: 400 with the AMQP code and text.
 */
export function publish(vhost: VirtualHost, exchange: string, routingKey: string, properties: BasicProperties, body: Buffer, user: string): boolean {
  try {
    const x = vhost.exchangeOrDie(exchange);
    if (x.internal) throw new ChannelError(403, `cannot publish to internal ${vhost.xres(x.name)}`);
    if (properties.userId !== undefined && properties.userId !== user) {
      throw new ChannelError(406, `user_id property set to '${properties.userId}' but authenticated user was '${user}'`);
    }
    const ttl = properties.expiration === undefined ? -1 : parseExpiration(properties.expiration);
    let headers = properties.headers;
    let keys: string | string[] = routingKey;
    if (headers !== undefined) {
      const invalid = validateRoutingHeaders(headers);
      if (invalid !== null) throw new ChannelError(406, invalid);
      keys = routingKeysFor(routingKey, headers);
      if (hasBcc(headers)) headers = stripBcc(headers);
    }
    const props: BasicProperties = headers === properties.headers ? properties : { ...properties, headers };
    writeProperties(propsWriter, props);
    const msg = new Message(exchange, routingKey, propsWriter.take(), props, Buffer.from(body), keys, ttl);
    const counters = vhost.counters.http;
    counters.publish++;
    x.publishIn++;
    routed.clear();
    vhost.router.route(x, keys, properties.headers, routed);
    if (routed.size === 0) {
      // The plugin publishes as mandatory to find out whether it was routed.
      counters.returnUnroutable++;
      return false;
    }
    counters.routed++;
    x.publishOut++;
    vhost.enqueue(msg, [...routed]);
    return true;
  } catch (err) {
    if (err instanceof AmqpError) throw badRequest(`${err.replyCode} ${err.replyText}`);
    throw err;
  }
}

export type AckMode = 'ack_requeue_true' | 'ack_requeue_false' | 'reject_requeue_true' | 'reject_requeue_false';
export type Encoding = 'auto' | 'base64';

/**
 * Gets up to `count` messages as the plugin does: basic.get each (no-ack only for
 * ack_requeue_false), then requeue them all (ack_requeue_true, reject_requeue_true) or
 * reject them without requeue, which dead-letters them (reject_requeue_false).
 */
export function getMessages(vhost: VirtualHost, q: Queue, count: number, ackMode: AckMode, encoding: Encoding, truncate: number | null): Json[] {
  try {
    // A queue type without basic.get (a stream) refuses as its channel would.
    q.checkGet();
  } catch (err) {
    // RabbitMQ's API gives the code and the explanation, without the code's name.
    if (err instanceof AmqpError) throw badRequest(`${err.replyCode} ${err.explanation}`);
    throw err;
  }
  const noAck = ackMode === 'ack_requeue_false';
  const held: QueueEntry[] = [];
  const out: Json[] = [];
  const counters = vhost.counters.http;
  for (let i = 0; i < count; i++) {
    const entry = q.fetch();
    if (entry === undefined) {
      if (i === 0) {
        counters.getEmpty++;
        q.counters.getEmpty++;
      }
      break;
    }
    const msg = entry.msg;
    // Copied before anything else reads the message: a stored body is a view of a reused read.
    const copy = Buffer.from(msg.body);
    const properties = msg.properties;
    out.push(messageJson(entry, copy, properties, q.messageCount, encoding, truncate));
    if (noAck) {
      counters.getNoAck++;
      q.counters.getNoAck++;
    } else {
      counters.get++;
      q.counters.get++;
    }
    if (entry.redelivered) {
      counters.redeliver++;
      q.counters.redeliver++;
    }
    q.delivered(entry, noAck);
    if (!noAck) held.push(entry);
  }
  if (held.length === 0) return out;
  if (ackMode === 'reject_requeue_false') {
    for (const e of held) q.reject(e);
    q.dispatchNow();
  } else {
    for (const e of held) q.requeue(e);
    q.requeued();
  }
  return out;
}

function messageJson(entry: QueueEntry, body: Buffer, properties: BasicProperties, messageCount: number, encoding: Encoding, truncate: number | null): Json {
  const shown = truncate !== null && body.length > truncate ? body.subarray(0, truncate) : body;
  const asString = encoding === 'auto' && isUtf8(shown);
  return {
    payload_bytes: body.length,
    redelivered: entry.redelivered,
    exchange: entry.msg.exchange,
    routing_key: entry.msg.routingKey,
    message_count: messageCount,
    properties: propertiesToJson(properties),
    payload: asString ? shown.toString('utf8') : shown.toString('base64'),
    payload_encoding: asString ? 'string' : 'base64',
  };
}

const decoder = new TextDecoder('utf-8', { fatal: true });

function isUtf8(b: Buffer): boolean {
  try {
    decoder.decode(b);
    return true;
  } catch {
    return false;
  }
}
