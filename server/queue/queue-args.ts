import { ChannelError } from '../../amqp/errors.js';
import { Typed, type FieldTable, type FieldValue } from '../../amqp/table.js';
import { erlTypeAtom } from '../../amqp/erl-term.js';
import { intervalMs } from './stream/interval.js';

export type Overflow = 'drop-head' | 'reject-publish' | 'reject-publish-dlx';

/** What a queue's arguments and policy mean, resolved once at declare (and on policy change). */
export interface QueueSettings {
  /** ms; null = no TTL. */
  messageTtl: number | null;
  /** ms of disuse before the queue is deleted; null = never. */
  expires: number | null;
  maxLength: number | null;
  maxLengthBytes: number | null;
  overflow: Overflow;
  /** null = no priorities; else the highest priority, 0..255. */
  maxPriority: number | null;
  deadLetterExchange: string | null;
  deadLetterRoutingKey: string | null;
  singleActiveConsumer: boolean;
  /** ms; null = the broker's consumer_timeout. */
  consumerTimeout: number | null;
  /** Quorum: returns after which a message is dead-lettered (delivery_limit); null = none. */
  deliveryLimit: number | null;
  /**
   * Quorum: at-least-once keeps a dead-lettered message until its targets have it; it is in
   * force only with a dead-letter exchange and overflow reject-publish (else at-most-once).
   */
  deadLetterStrategy: DeadLetterStrategy;
  /** Stream: segments whose last message is older than this many ms are dropped; null = none. */
  maxAge: number | null;
  /** Stream: x-stream-max-segment-size-bytes; null = the default (500000000). */
  maxSegmentBytes: number | null;
}

export type DeadLetterStrategy = 'at-most-once' | 'at-least-once';

/** The policy keys that apply to queues (rabbitmqctl set_policy --apply-to queues). */
export interface QueuePolicyDefinition {
  'message-ttl'?: number;
  expires?: number;
  'max-length'?: number;
  'max-length-bytes'?: number;
  overflow?: Overflow;
  'dead-letter-exchange'?: string;
  'dead-letter-routing-key'?: string;
  'delivery-limit'?: number;
  'dead-letter-strategy'?: DeadLetterStrategy;
  'max-age'?: string;
  'stream-max-segment-size-bytes'?: number;
}

const INTEGER_ATOMS = new Set(['byte', 'unsignedbyte', 'short', 'unsignedshort', 'signedint', 'unsignedint', 'long']);

export function raw(v: FieldValue): unknown {
  const x = v instanceof Typed ? v.value : v;
  return typeof x === 'bigint' ? Number(x) : x;
}

function str(v: FieldValue): string | null {
  const x = raw(v);
  if (typeof x === 'string') return x;
  return Buffer.isBuffer(x) ? x.toString() : null;
}

/** RabbitMQ's error term for a value that must be an integer of any width, or null. */
export function expectInteger(v: FieldValue): string | null {
  const atom = erlTypeAtom(v);
  return INTEGER_ATOMS.has(atom) ? null : `"expected integer, got ${atom}"`;
}

function intArg(args: FieldTable, key: string): number | null {
  const v = args[key];
  return v === undefined ? null : (raw(v) as number);
}

function lower(a: number | null, b: number | undefined): number | null {
  if (b === undefined) return a;
  return a === null ? b : Math.min(a, b);
}

/**
 * Resolves arguments and policy the way RabbitMQ does. Classic queues: for TTLs and limits
 * the lower value wins, for overflow and dead-lettering the argument. Quorum queues
 * (rabbit_quorum_queue:ra_machine_config): the policy wins for overflow and expires, and
 * an overflow other than drop-head or reject-publish means drop-head.
 */
export function queueSettings(args: FieldTable, policy: QueuePolicyDefinition | null): QueueSettings {
  const p = policy ?? {};
  const quorum = args['x-queue-type'] === 'quorum';
  const dlx = args['x-dead-letter-exchange'];
  const dlrk = args['x-dead-letter-routing-key'];
  const overflowArg = args['x-overflow'];
  const timeout = intArg(args, 'x-consumer-timeout');
  const argOverflow = overflowArg !== undefined ? str(overflowArg) : null;
  let overflow = ((quorum ? (p.overflow ?? argOverflow) : (argOverflow ?? p.overflow)) ?? 'drop-head') as Overflow;
  if (quorum && overflow !== 'reject-publish') overflow = 'drop-head';
  const deadLetterExchange = (dlx !== undefined ? str(dlx) : null) ?? p['dead-letter-exchange'] ?? null;
  const strategyArg = args['x-dead-letter-strategy'];
  const strategy = (strategyArg !== undefined ? str(strategyArg) : null) ?? p['dead-letter-strategy'];
  return {
    messageTtl: lower(intArg(args, 'x-message-ttl'), p['message-ttl']),
    expires: quorum ? (p.expires ?? intArg(args, 'x-expires')) : lower(intArg(args, 'x-expires'), p.expires),
    maxLength: lower(intArg(args, 'x-max-length'), p['max-length']),
    maxLengthBytes: lower(intArg(args, 'x-max-length-bytes'), p['max-length-bytes']),
    overflow,
    maxPriority: quorum ? null : intArg(args, 'x-max-priority'),
    deadLetterExchange,
    deadLetterRoutingKey: (dlrk !== undefined ? str(dlrk) : null) ?? p['dead-letter-routing-key'] ?? null,
    singleActiveConsumer: args['x-single-active-consumer'] === true,
    consumerTimeout: timeout !== null && timeout > 0 ? timeout : null,
    deliveryLimit: quorum ? lower(numericArg(args['x-delivery-limit']), p['delivery-limit']) : null,
    deadLetterStrategy:
      quorum && strategy === 'at-least-once' && overflow === 'reject-publish' && deadLetterExchange !== null ? 'at-least-once' : 'at-most-once',
    // rabbit_stream_queue: the lower of argument and policy, for ages as for sizes.
    maxAge: lower(ageArg(args['x-max-age']), p['max-age'] === undefined ? undefined : (intervalMs(p['max-age']) ?? undefined)),
    maxSegmentBytes: lower(intArg(args, 'x-stream-max-segment-size-bytes'), p['stream-max-segment-size-bytes']),
  };
}

function ageArg(v: FieldValue | undefined): number | null {
  const s = v === undefined ? null : str(v);
  return s === null ? null : intervalMs(s);
}

/**
 * x-delivery-limit is not validated by RabbitMQ: any number is a limit (a negative one
 * dead-letters at the first return); anything else is a limit never reached (Erlang orders
 * numbers before everything else), which still counts as a limit for where returns go.
 */
function numericArg(v: FieldValue | undefined): number | null {
  if (v === undefined) return null;
  const x = raw(v);
  return typeof x === 'number' ? x : Infinity;
}

/**
 * Parses a per-message `expiration` property; throws RabbitMQ's 406 when it is not a
 * non-negative decimal integer.
 */
export function parseExpiration(s: string): number {
  // Erlang's string:to_integer: an optional sign, then digits.
  const m = /^[+-]?[0-9]+/.exec(s);
  if (m === null) throw new ChannelError(406, `invalid expiration '${s}': no_integer`);
  if (m[0].length < s.length) throw new ChannelError(406, `invalid expiration '${s}': {leftover_string,"${s.slice(m[0].length)}"}`);
  const n = Number(m[0]);
  if (n < 0) throw new ChannelError(406, `invalid expiration '${s}': {value_negative,${n}}`);
  return n;
}
