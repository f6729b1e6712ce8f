import { ChannelError } from '../../amqp/errors.js';
import { Typed, type FieldTable, type FieldValue } from '../../amqp/table.js';
import { erlTypeAtom } from '../../amqp/erl-term.js';

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
}

/** The policy keys that apply to queues (rabbitmqctl set_policy --apply-to queues). */
export interface QueuePolicyDefinition {
  'message-ttl'?: number;
  expires?: number;
  'max-length'?: number;
  'max-length-bytes'?: number;
  overflow?: Overflow;
  'dead-letter-exchange'?: string;
  'dead-letter-routing-key'?: string;
}

const INTEGER_ATOMS = new Set(['byte', 'unsignedbyte', 'short', 'unsignedshort', 'signedint', 'unsignedint', 'long']);
const OVERFLOWS: readonly string[] = ['drop-head', 'reject-publish', 'reject-publish-dlx'];
const QUEUE_TYPES: readonly string[] = ['classic', 'quorum', 'stream'];

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

/** RabbitMQ's error term for a bad integer argument, or null when it is fine. */
function intError(v: FieldValue, min: 'non-negative' | 'positive', max?: number): string | null {
  const notInt = expectInteger(v);
  if (notInt !== null) return notInt;
  const n = raw(v) as number;
  if (n < 0) return `{value_negative,${n}}`;
  if (n === 0 && min === 'positive') return `{value_zero,0}`;
  if (max !== undefined && n > max) return `{max_value_exceeded,${n}}`;
  return null;
}

/** Validates declare arguments exactly as RabbitMQ does; throws its 406 on the first bad one. */
export function validateQueueArgs(args: FieldTable, resource: string): void {
  const fail = (key: string, term: string): never => {
    throw new ChannelError(406, `invalid arg '${key}' for ${resource}: ${term}`);
  };
  const check = (key: string, test: (v: FieldValue) => string | null): void => {
    const v = args[key];
    if (v === undefined) return;
    const err = test(v);
    if (err !== null) fail(key, err);
  };
  // RabbitMQ's order: the DLX type, then the queue type, then the rest in a fixed order.
  const dlx = args['x-dead-letter-exchange'];
  if (dlx !== undefined && str(dlx) === null) {
    throw new ChannelError(406, `invalid type '${erlTypeAtom(dlx)}' for arg 'x-dead-letter-exchange' in ${resource}`);
  }
  check('x-queue-type', (v) => {
    const s = str(v);
    if (s === null) return `{unacceptable_type,${erlTypeAtom(v)}}`;
    return QUEUE_TYPES.includes(s) ? null : `"unsupported queue type '${s}'"`;
  });
  check('x-expires', (v) => intError(v, 'positive'));
  check('x-message-ttl', (v) => intError(v, 'non-negative'));
  check('x-dead-letter-routing-key', (v) => {
    if (str(v) === null) return `{unacceptable_type,${erlTypeAtom(v)}}`;
    return dlx === undefined ? 'routing_key_but_no_dlx_defined' : null;
  });
  check('x-max-length', (v) => intError(v, 'non-negative'));
  check('x-max-length-bytes', (v) => intError(v, 'non-negative'));
  check('x-max-in-memory-length', (v) => intError(v, 'non-negative'));
  check('x-max-in-memory-bytes', (v) => intError(v, 'non-negative'));
  check('x-max-priority', (v) => intError(v, 'non-negative', 255));
  check('x-overflow', (v) => {
    const s = str(v);
    if (s === null) return `{unacceptable_type,${erlTypeAtom(v)}}`;
    return OVERFLOWS.includes(s) ? null : 'invalid_overflow';
  });
  check('x-queue-mode', (v) => {
    const s = str(v);
    return s === 'default' || s === 'lazy' ? null : `"unsupported queue mode '${s ?? erlTypeAtom(v)}'"`;
  });
  check('x-single-active-consumer', (v) => (typeof v === 'boolean' ? null : `{unacceptable_type,${erlTypeAtom(v)}}`));
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
 * Resolves arguments and policy the way RabbitMQ does: for TTLs and limits the lower
 * value wins; for overflow and dead-lettering the argument wins over the policy.
 */
export function queueSettings(args: FieldTable, policy: QueuePolicyDefinition | null): QueueSettings {
  const p = policy ?? {};
  const dlx = args['x-dead-letter-exchange'];
  const dlrk = args['x-dead-letter-routing-key'];
  const overflow = args['x-overflow'];
  const timeout = intArg(args, 'x-consumer-timeout');
  return {
    messageTtl: lower(intArg(args, 'x-message-ttl'), p['message-ttl']),
    expires: lower(intArg(args, 'x-expires'), p.expires),
    maxLength: lower(intArg(args, 'x-max-length'), p['max-length']),
    maxLengthBytes: lower(intArg(args, 'x-max-length-bytes'), p['max-length-bytes']),
    overflow: ((overflow !== undefined ? str(overflow) : null) ?? p.overflow ?? 'drop-head') as Overflow,
    maxPriority: intArg(args, 'x-max-priority'),
    deadLetterExchange: (dlx !== undefined ? str(dlx) : null) ?? p['dead-letter-exchange'] ?? null,
    deadLetterRoutingKey: (dlrk !== undefined ? str(dlrk) : null) ?? p['dead-letter-routing-key'] ?? null,
    singleActiveConsumer: args['x-single-active-consumer'] === true,
    consumerTimeout: timeout !== null && timeout > 0 ? timeout : null,
  };
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
