import { erlBinary, erlJson, erlProplist } from '../../../amqp/erl-term.js';
import { parseAmqpUri, UriError, type AmqpEndpoint } from '../link/uri.js';

/**
 * The value of a `shovel` runtime parameter, checked as rabbit_shovel_parameters checks it
 * (every key, with RabbitMQ's messages, in its order) and read into a ShovelDefinition.
 */

export type AckMode = 'on-confirm' | 'on-publish' | 'no-ack';
/** 'never', 'queue-length', or a number of messages. */
export type DeleteAfter = 'never' | 'queue-length' | number;

/** The AMQP 0-9-1 properties a shovel may set on what it publishes, by RabbitMQ's names. */
export const PUBLISH_PROPERTIES: Record<string, { field: string; kind: 'string' | 'number' }> = {
  content_type: { field: 'contentType', kind: 'string' },
  content_encoding: { field: 'contentEncoding', kind: 'string' },
  delivery_mode: { field: 'deliveryMode', kind: 'number' },
  priority: { field: 'priority', kind: 'number' },
  correlation_id: { field: 'correlationId', kind: 'string' },
  reply_to: { field: 'replyTo', kind: 'string' },
  expiration: { field: 'expiration', kind: 'string' },
  message_id: { field: 'messageId', kind: 'string' },
  timestamp: { field: 'timestamp', kind: 'number' },
  type: { field: 'type', kind: 'string' },
  user_id: { field: 'userId', kind: 'string' },
  app_id: { field: 'appId', kind: 'string' },
  cluster_id: { field: 'clusterId', kind: 'string' },
};

/** rabbit_amqqueue:declare_args() and consume_args(): the keys src-queue-args, dest-queue-args and src-consumer-args may have. */
const QUEUE_ARGS = [
  'x-expires', 'x-message-ttl', 'x-dead-letter-exchange', 'x-dead-letter-routing-key', 'x-dead-letter-strategy', 'x-max-length',
  'x-max-length-bytes', 'x-max-in-memory-length', 'x-max-in-memory-bytes', 'x-max-priority', 'x-overflow', 'x-queue-mode',
  'x-queue-version', 'x-single-active-consumer', 'x-queue-type', 'x-quorum-initial-group-size', 'x-max-age',
  'x-stream-max-segment-size-bytes', 'x-initial-cluster-size', 'x-queue-leader-locator',
];
const CONSUMER_ARGS = ['x-priority', 'x-cancel-on-ha-failover', 'x-stream-offset'];

export interface ShovelDefinition {
  vhost: string;
  name: string;
  /** Tried in turn until one connects. */
  srcUris: string[];
  srcQueue: string | null;
  srcExchange: string | null;
  srcExchangeKey: string;
  srcQueueArgs: Record<string, unknown>;
  srcConsumerArgs: Record<string, unknown>;
  prefetchCount: number;
  deleteAfter: DeleteAfter;
  destUris: string[];
  destQueue: string | null;
  destQueueArgs: Record<string, unknown>;
  destExchange: string | null;
  destExchangeKey: string | null;
  ackMode: AckMode;
  addForwardHeaders: boolean;
  addTimestampHeader: boolean;
  /** amqplib property name → value. */
  publishProperties: Record<string, unknown>;
  /** Seconds; 0 means do not reconnect. */
  reconnectDelay: number;
}

type Check = (key: string, v: unknown) => string | null;

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

const number: Check = (k, v) => (typeof v === 'number' ? null : `${k} should be a number, actually was ${erlJson(v)}`);
const binary: Check = (k, v) => (typeof v === 'string' ? null : `${k} should be binary, actually was ${erlJson(v)}`);
const boolean: Check = (k, v) => (typeof v === 'boolean' ? null : `${k} should be boolean, actually was ${erlJson(v)}`);
const queueName: Check = (k, v) => binary(k, v) ?? (Buffer.byteLength(v as string) > 255 ? `${k} should be less than 255 bytes, actually was ${erlJson(v)}` : null);

function oneOf(values: string[]): Check {
  return (k, v) => (typeof v === 'string' && values.includes(v) ? null : `${k} should be one of [${values.map((x) => erlBinary(x)).join(',')}], actually was ${erlJson(v)}`);
}

const deleteAfter: Check = (k, v) =>
  v === 'never' || v === 'queue-length' || (typeof v === 'number' && Number.isInteger(v) && v >= 0)
    ? null
    : `${k} should be a number greater than or equal to 0, "never" or "queue-length", actually was ${erlJson(v)}`;

function uriCheck(k: string, v: unknown): string | null {
  if (typeof v === 'string') {
    try {
      parseAmqpUri(v);
      return null;
    } catch (err) {
      if (err instanceof UriError) return err.message;
      throw err;
    }
  }
  if (!Array.isArray(v)) return `${k} should be list, actually was ${erlJson(v)}`;
  for (const u of v) {
    const e = uriCheck(k, u);
    if (e !== null) return e;
  }
  return null;
}

/** rabbit_parameter_validation:proplist: unknown keys in a map-valued key. */
function keysIn(allowed: string[]): Check {
  return (k, v) => {
    if (!isObject(v)) return `${k} should be a map, actually was ${erlJson(v)}`;
    const extra = Object.keys(v).filter((x) => !allowed.includes(x));
    return extra.length === 0 ? null : `Unrecognised terms ${erlProplist(v, extra)} in ${k}`;
  };
}

function publishProperties(k: string, v: unknown): string[] {
  if (!isObject(v)) return [`${k} should be a map, actually was ${erlJson(v)}`];
  const errors: string[] = [];
  const names = Object.keys(PUBLISH_PROPERTIES);
  const extra = Object.keys(v).filter((x) => !names.includes(x));
  if (extra.length > 0) errors.push(`Unrecognised terms ${erlProplist(v, extra)} in ${k}`);
  const found: string[] = [];
  for (const name of names) {
    if (!(name in v)) continue;
    const e = (PUBLISH_PROPERTIES[name]!.kind === 'number' ? number : binary)(name, v[name]);
    if (e !== null) found.push(e);
  }
  // RabbitMQ's proplist validation reports in reverse order of its constraints.
  return errors.concat(found.reverse());
}

/** The keys rabbit_shovel_parameters knows for AMQP 0-9-1 at both ends, in its order. */
const CONSTRAINTS: [string, Check | 'publish', boolean][] = [
  ['reconnect-delay', number, false],
  ['ack-mode', oneOf(['no-ack', 'on-publish', 'on-confirm']), false],
  ['src-protocol', oneOf(['amqp10', 'amqp091']), false],
  ['dest-protocol', oneOf(['amqp10', 'amqp091']), false],
  ['src-uri', uriCheck, true],
  ['src-exchange', binary, false],
  ['src-exchange-key', binary, false],
  ['src-queue', binary, false],
  ['src-queue-args', keysIn(QUEUE_ARGS), false],
  ['src-consumer-args', keysIn(CONSUMER_ARGS), false],
  ['prefetch-count', number, false],
  ['src-prefetch-count', number, false],
  ['delete-after', deleteAfter, false],
  ['src-delete-after', deleteAfter, false],
  ['dest-uri', uriCheck, true],
  ['dest-exchange', binary, false],
  ['dest-exchange-key', binary, false],
  ['dest-queue', queueName, false],
  ['dest-queue-args', keysIn(QUEUE_ARGS), false],
  ['add-forward-headers', boolean, false],
  ['add-timestamp-header', boolean, false],
  ['dest-add-forward-headers', boolean, false],
  ['dest-add-timestamp-header', boolean, false],
  ['publish-properties', 'publish', false],
  ['dest-publish-properties', 'publish', false],
];

/**
 * Every reason RabbitMQ 3.10 would give for refusing this value, in its order (an empty
 * list: accepted). For a local URI, RabbitMQ checks that the acting user may connect to
 * its vhost (no acting user, as at a definitions import: no check).
 */
export function validateShovel(name: string, value: unknown, user: ActingUser | null): string[] {
  if (!isObject(value)) return [`shovel value should be a map, actually was ${erlJson(value)}`];
  const v = value;
  const errors: string[] = [];
  const src = v['src-protocol'] ?? 'amqp091';
  const dest = v['dest-protocol'] ?? 'amqp091';
  if (src === 'amqp10' || dest === 'amqp10') errors.push('AMQP 1.0 shovels (src-protocol or dest-protocol amqp10) are not supported by Warren');
  const hasSrcX = v['src-exchange'] !== undefined;
  const hasSrcQ = v['src-queue'] !== undefined;
  if (!hasSrcX && !hasSrcQ) errors.push("Must specify 'src-exchange' or 'src-queue'");
  if (hasSrcX && hasSrcQ) errors.push("Cannot specify 'src-exchange' and 'src-queue'");
  if (typeof (v['src-delete-after'] ?? v['delete-after']) === 'number' && v['ack-mode'] === 'no-ack') {
    errors.push("Cannot specify 'no-ack' and numerical 'delete-after'");
  }
  if (v['dest-exchange'] !== undefined && v['dest-queue'] !== undefined) errors.push("Cannot specify 'dest-exchange' and 'dest-queue'");
  const found: string[][] = [];
  for (const [key, check, mandatory] of CONSTRAINTS) {
    if (!(key in v)) {
      if (mandatory) found.push([`Key "${key}" not found in ${name}`]);
      continue;
    }
    if (check === 'publish') found.push(publishProperties(key, v[key]));
    else {
      let e = check(key, v[key]);
      if (e === null && check === uriCheck && user !== null) e = localVhostCheck(v[key], user);
      if (e !== null) found.push([e]);
    }
  }
  const known = new Set(CONSTRAINTS.map(([k]) => k));
  const extra = Object.keys(v).filter((k) => !known.has(k));
  const out = found.reverse().flat();
  if (extra.length > 0) out.unshift(`Unrecognised terms ${erlProplist(v, extra)} in ${name}`);
  return errors.concat(out);
}

/** Who is setting the parameter, for RabbitMQ's check of local URIs. */
export interface ActingUser {
  name: string;
  mayConnect(vhost: string): boolean;
}

function localVhostCheck(uris: unknown, user: ActingUser): string | null {
  for (const u of typeof uris === 'string' ? [uris] : Array.isArray(uris) ? uris : []) {
    let ep: AmqpEndpoint;
    try {
      ep = parseAmqpUri(String(u));
    } catch {
      continue;
    }
    if (ep.local && !user.mayConnect(ep.vhost)) return `user "${user.name}" may not connect to vhost "${ep.vhost}"`;
  }
  return null;
}

const uris = (v: unknown): string[] => (typeof v === 'string' ? [v] : (v as string[]));
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const bool = (v: unknown, fallback: unknown): boolean => (v ?? fallback) === true;

/** Reads a value validateShovel accepted (RabbitMQ's parse: defaults and the pre-3.7 key names). */
export function parseShovel(vhost: string, name: string, value: Record<string, unknown>): ShovelDefinition {
  const v = value;
  const props: Record<string, unknown> = {};
  const given = (v['dest-publish-properties'] ?? v['publish-properties'] ?? {}) as Record<string, unknown>;
  for (const [k, val] of Object.entries(given)) props[PUBLISH_PROPERTIES[k]!.field] = val;
  const da = v['src-delete-after'] ?? v['delete-after'] ?? 'never';
  return {
    vhost,
    name,
    srcUris: uris(v['src-uri']),
    srcQueue: str(v['src-queue']),
    srcExchange: str(v['src-exchange']),
    srcExchangeKey: str(v['src-exchange-key']) ?? '',
    srcQueueArgs: (v['src-queue-args'] ?? {}) as Record<string, unknown>,
    srcConsumerArgs: (v['src-consumer-args'] ?? {}) as Record<string, unknown>,
    prefetchCount: Number(v['src-prefetch-count'] ?? v['prefetch-count'] ?? 1000),
    deleteAfter: da as DeleteAfter,
    destUris: uris(v['dest-uri']),
    destQueue: str(v['dest-queue']),
    destQueueArgs: (v['dest-queue-args'] ?? {}) as Record<string, unknown>,
    destExchange: str(v['dest-exchange']),
    destExchangeKey: str(v['dest-exchange-key']),
    ackMode: (v['ack-mode'] ?? 'on-confirm') as AckMode,
    addForwardHeaders: bool(v['dest-add-forward-headers'], v['add-forward-headers']),
    addTimestampHeader: bool(v['dest-add-timestamp-header'], v['add-timestamp-header']),
    publishProperties: props,
    reconnectDelay: Number(v['reconnect-delay'] ?? 5),
  };
}
