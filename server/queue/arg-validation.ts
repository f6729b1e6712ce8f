/**
 * The queue types and what each accepts, as RabbitMQ 3.10's queue type modules declare it
 * (their capabilities()), and the checks rabbit_amqqueue runs with those lists at
 * queue.declare and basic.consume: the same order, codes and texts. Warren accepts exactly
 * what RabbitMQ accepts, so that an application tested here declares there too.
 */
import { ChannelError, ConnectionError } from '../../amqp/errors.js';
import { erlTypeAtom } from '../../amqp/erl-term.js';
import type { FieldTable, FieldValue } from '../../amqp/table.js';
import { expectInteger, raw } from './queue-args.js';

export type QueueType = 'classic' | 'quorum' | 'stream';

interface Capabilities {
  /** The Erlang module RabbitMQ names in its error texts. */
  readonly module: string;
  readonly queueArguments: readonly string[];
  readonly consumerArguments: readonly string[];
  /** A policy with any of these keys does not apply to a queue of this type at all. */
  readonly unsupportedPolicies: readonly string[];
  /** Whether queue.declare with an empty name may generate one. */
  readonly serverNamed: boolean;
}

const HA_POLICIES = ['ha-mode', 'ha-params', 'ha-sync-mode', 'ha-promote-on-shutdown', 'ha-promote-on-failure'];

/** rabbit_classic_queue, rabbit_quorum_queue and rabbit_stream_queue capabilities() in 3.10.8. */
export const QUEUE_TYPES: Readonly<Record<QueueType, Capabilities>> = {
  classic: {
    module: 'rabbit_classic_queue',
    queueArguments: [
      'x-expires', 'x-message-ttl', 'x-dead-letter-exchange', 'x-dead-letter-routing-key', 'x-max-length',
      'x-max-length-bytes', 'x-max-priority', 'x-overflow', 'x-queue-mode', 'x-queue-version',
      'x-single-active-consumer', 'x-queue-type', 'x-queue-master-locator',
    ],
    consumerArguments: ['x-cancel-on-ha-failover', 'x-priority', 'x-credit'],
    unsupportedPolicies: ['max-age', 'stream-max-segment-size-bytes', 'queue-leader-locator', 'initial-cluster-size', 'delivery-limit', 'dead-letter-strategy'],
    serverNamed: true,
  },
  quorum: {
    module: 'rabbit_quorum_queue',
    queueArguments: [
      'x-dead-letter-exchange', 'x-dead-letter-routing-key', 'x-dead-letter-strategy', 'x-expires', 'x-max-length',
      'x-max-length-bytes', 'x-max-in-memory-length', 'x-max-in-memory-bytes', 'x-overflow',
      'x-single-active-consumer', 'x-queue-type', 'x-quorum-initial-group-size', 'x-delivery-limit',
      'x-message-ttl', 'x-queue-leader-locator',
    ],
    consumerArguments: ['x-priority', 'x-credit'],
    unsupportedPolicies: [
      'max-priority', 'queue-mode', 'single-active-consumer', ...HA_POLICIES, 'queue-master-locator',
      'max-age', 'stream-max-segment-size-bytes', 'initial-cluster-size',
    ],
    serverNamed: false,
  },
  stream: {
    module: 'rabbit_stream_queue',
    queueArguments: ['x-max-length-bytes', 'x-queue-type', 'x-max-age', 'x-stream-max-segment-size-bytes', 'x-initial-cluster-size', 'x-queue-leader-locator'],
    consumerArguments: ['x-stream-offset', 'x-credit'],
    unsupportedPolicies: [
      'expires', 'message-ttl', 'dead-letter-exchange', 'dead-letter-routing-key', 'max-length', 'max-in-memory-length',
      'max-in-memory-bytes', 'max-priority', 'overflow', 'queue-mode', 'single-active-consumer', 'delivery-limit',
      ...HA_POLICIES, 'queue-master-locator', 'dead-letter-strategy',
    ],
    serverNamed: false,
  },
};

const TYPES = Object.keys(QUEUE_TYPES) as QueueType[];
const union = (pick: (c: Capabilities) => readonly string[]): Set<string> => new Set(TYPES.flatMap((t) => pick(QUEUE_TYPES[t])));
/** rabbit_queue_type:arguments/1: every argument some type knows. */
const ALL_QUEUE_ARGUMENTS = union((c) => c.queueArguments);
const ALL_CONSUMER_ARGUMENTS = union((c) => c.consumerArguments);

/** The type an (already validated) argument table declares; classic when it names none. */
export function queueTypeOf(args: FieldTable): QueueType {
  const t = args['x-queue-type'];
  return t === 'quorum' || t === 'stream' ? t : 'classic';
}

/** Whether a policy applies to a queue of this type (rabbit_amqqueue:is_policy_applicable). */
export function policyApplies(type: QueueType, definition: object): boolean {
  const unsupported = QUEUE_TYPES[type].unsupportedPolicies;
  for (const key of Object.keys(definition)) if (unsupported.includes(key)) return false;
  return true;
}

/**
 * The channel process crashing on an argument RabbitMQ never validates (it happens, for
 * a few): the connection is closed with a bare 541 and no method ids.
 */
export class CrashError extends ConnectionError {
  override readonly replyText = 'INTERNAL_ERROR';
  constructor() {
    super(541, 'INTERNAL_ERROR');
  }
}

// ---- value checks: each returns RabbitMQ's error term (as `~p` prints it), or null.

type Check = (v: FieldValue, args: FieldTable) => string | null;

/** One day short of ten years: rabbit_misc:check_expiry's ceiling for TTLs, in ms. */
const MAX_EXPIRY = 315_360_000_000;
const MAX_STREAM_SEGMENT = 3_000_000_000;
const OVERFLOWS = ['drop-head', 'reject-publish', 'reject-publish-dlx'];
const DLX_STRATEGIES = ['at-most-once', 'at-least-once'];
const LEADER_LOCATORS = ['client-local', 'balanced', 'random', 'least-leaders'];
const MASTER_LOCATORS = ['min-masters', 'client-local', 'random'];
const AGE_UNITS = ['Y', 'M', 'D', 'h', 'm', 's'];

const unacceptable = (v: FieldValue): string => `{unacceptable_type,${erlTypeAtom(v)}}`;

function nonNegative(v: FieldValue): string | null {
  const notInt = expectInteger(v);
  if (notInt !== null) return notInt;
  const n = raw(v) as number;
  return n < 0 ? `{value_negative,${n}}` : null;
}

function expiry(v: FieldValue, zeroAllowed: boolean): string | null {
  const notInt = expectInteger(v);
  if (notInt !== null) return notInt;
  const n = raw(v) as number;
  if (n === 0 && !zeroAllowed) return '{value_zero,0}';
  if (n < 0) return `{value_negative,${n}}`;
  return n > MAX_EXPIRY ? `{value_too_large,${n}}` : null;
}

function oneOf(values: readonly string[], bad: string): Check {
  return (v) => (typeof v !== 'string' ? unacceptable(v) : values.includes(v) ? null : bad);
}

function positive(v: FieldValue): string | null {
  return nonNegative(v) ?? (raw(v) === 0 ? '{value_zero,0}' : null);
}

const DECLARE_CHECKS: readonly [string, Check][] = [
  ['x-expires', (v) => expiry(v, false)],
  ['x-message-ttl', (v) => expiry(v, true)],
  ['x-dead-letter-exchange', (v) => (typeof v === 'string' ? null : unacceptable(v))],
  ['x-dead-letter-routing-key', (v, args) => (typeof v !== 'string' ? unacceptable(v) : args['x-dead-letter-exchange'] === undefined ? 'routing_key_but_no_dlx_defined' : null)],
  ['x-dead-letter-strategy', oneOf(DLX_STRATEGIES, 'invalid_dlx_strategy')],
  ['x-max-length', nonNegative],
  ['x-max-length-bytes', nonNegative],
  ['x-max-in-memory-length', nonNegative],
  ['x-max-in-memory-bytes', nonNegative],
  ['x-max-priority', (v) => nonNegative(v) ?? ((raw(v) as number) > 255 ? `{max_value_exceeded,${raw(v) as number}}` : null)],
  ['x-overflow', oneOf(OVERFLOWS, 'invalid_overflow')],
  ['x-queue-mode', (v) => (typeof v !== 'string' ? unacceptable(v) : v === 'default' || v === 'lazy' ? null : `"unsupported queue mode '${v}'"`)],
  ['x-queue-version', (v) => nonNegative(v) ?? (raw(v) === 1 || raw(v) === 2 ? null : `"unsupported queue version '${raw(v) as number}'"`)],
  ['x-single-active-consumer', (v) => (typeof v === 'boolean' ? null : unacceptable(v))],
  ['x-queue-type', queueTypeCheck],
  ['x-quorum-initial-group-size', positive],
  ['x-max-age', maxAge],
  ['x-stream-max-segment-size-bytes', nonNegative],
  ['x-initial-cluster-size', positive],
  ['x-queue-leader-locator', oneOf(LEADER_LOCATORS, 'invalid_queue_locator_arg')],
];

function queueTypeCheck(v: FieldValue): string | null {
  if (typeof v !== 'string') return unacceptable(v);
  return (TYPES as string[]).includes(v) ? null : `"unsupported queue type '${v}'"`;
}

/** rabbit_amqqueue:check_max_age: digits then a unit; no digits at all crashes the channel. */
function maxAge(v: FieldValue): string | null {
  if (typeof v !== 'string') return unacceptable(v);
  const m = /^([0-9]*)(.*)/.exec(v)!;
  if (m[1] === '') throw new CrashError();
  return Number(m[1]) > 0 && AGE_UNITS.includes(m[2]!) ? null : 'invalid_max_age';
}

export interface DeclareSpec {
  name: string;
  durable: boolean;
  exclusive: boolean;
  autoDelete: boolean;
  args: FieldTable;
}

/**
 * The checks of a queue.declare that creates a queue, in RabbitMQ's order: the DLX's type
 * (rabbit_channel), x-queue-type, the type's own arguments in a fixed order, arguments that
 * belong to another type (in the table's order), then the type's property rules.
 */
export function validateDeclare(spec: DeclareSpec, resource: string): QueueType {
  const args = spec.args;
  const dlx = args['x-dead-letter-exchange'];
  if (dlx !== undefined && typeof dlx !== 'string') {
    throw new ChannelError(406, `invalid type '${erlTypeAtom(dlx)}' for arg 'x-dead-letter-exchange' in ${resource}`);
  }
  const fail = (key: string, term: string): never => {
    throw new ChannelError(406, `invalid arg '${key}' for ${resource}: ${term}`);
  };
  const t = args['x-queue-type'];
  if (t !== undefined) {
    const err = queueTypeCheck(t);
    if (err !== null) fail('x-queue-type', err);
  }
  const type = queueTypeOf(args);
  const caps = QUEUE_TYPES[type];
  for (const [key, check] of DECLARE_CHECKS) {
    const v = args[key];
    if (v === undefined || !caps.queueArguments.includes(key)) continue;
    const err = check(v, args);
    if (err !== null) fail(key, err);
  }
  for (const key of Object.keys(args)) {
    if (ALL_QUEUE_ARGUMENTS.has(key) && !caps.queueArguments.includes(key)) {
      throw new ChannelError(406, `invalid arg '${key}' for ${resource} of queue type ${caps.module}`);
    }
  }
  if (type === 'classic') {
    // Not validated by RabbitMQ: an unknown locator crashes the declare of a shared queue.
    const loc = args['x-queue-master-locator'];
    if (loc !== undefined && !spec.exclusive && !(typeof loc === 'string' && MASTER_LOCATORS.includes(loc))) throw new CrashError();
    return type;
  }
  // rabbit_queue_type_util's checks; an exclusive queue counts as non-durable.
  const bad = spec.autoDelete ? 'auto-delete' : spec.exclusive ? 'exclusive-owner' : !spec.durable ? 'non-durable' : null;
  if (bad !== null) throw new ChannelError(406, `invalid property '${bad}' for ${resource}`);
  const seg = args['x-stream-max-segment-size-bytes'];
  if (type === 'stream' && seg !== undefined && (raw(seg) as number) > MAX_STREAM_SEGMENT) {
    throw new ChannelError(406, 'Exceeded max value for x-stream-max-segment-size-bytes');
  }
  return type;
}

/**
 * queue.declare with an empty name: only types that allow server-named queues may, checked
 * before anything else; an x-queue-type RabbitMQ cannot resolve crashes the channel.
 */
export function checkServerNamed(args: FieldTable): void {
  const t = args['x-queue-type'];
  if (t !== undefined && (typeof t !== 'string' || !(TYPES as string[]).includes(t))) throw new CrashError();
  const type = queueTypeOf(args);
  if (!QUEUE_TYPES[type].serverNamed) {
    throw new ChannelError(406, `Cannot declare a server-named queue for type ${QUEUE_TYPES[type].module}`);
  }
}

/**
 * basic.consume arguments (rabbit_amqqueue:check_consume_arguments): the type's own ones
 * by value, then any that belong to another type. Returns the consumer's x-priority.
 * x-stream-offset values are the stream queue's to check.
 */
export function validateConsumeArgs(type: QueueType, args: FieldTable, resource: string): number {
  const caps = QUEUE_TYPES[type];
  const prio = args['x-priority'];
  if (prio !== undefined && caps.consumerArguments.includes('x-priority')) {
    const err = expectInteger(prio);
    if (err !== null) throw new ChannelError(406, `invalid arg 'x-priority' for ${resource}: ${err}`);
  }
  const failover = args['x-cancel-on-ha-failover'];
  if (failover !== undefined && caps.consumerArguments.includes('x-cancel-on-ha-failover') && typeof failover !== 'boolean') {
    throw new ChannelError(406, `invalid arg 'x-cancel-on-ha-failover' for ${resource}: ${unacceptable(failover)}`);
  }
  for (const key of Object.keys(args)) {
    if (ALL_CONSUMER_ARGUMENTS.has(key) && !caps.consumerArguments.includes(key)) {
      throw new ChannelError(406, `invalid arg '${key}' for ${resource} of queue type ${caps.module}`);
    }
  }
  return prio === undefined || !caps.consumerArguments.includes('x-priority') ? 0 : Number(raw(prio));
}

/** The queue arguments RabbitMQ compares when a queue of this type is declared again. */
export function equivalenceKeys(type: QueueType): readonly string[] {
  return QUEUE_TYPES[type].queueArguments;
}
