import { ChannelError } from '../amqp/errors.js';
import { Typed, type FieldTable, type FieldValue } from '../amqp/table.js';

// RabbitMQ's names for field types, as its inequivalent-arg messages print them.
const TYPE_NAME: Record<string, string> = {
  t: 'bool', b: 'byte', B: 'unsignedbyte', s: 'short', u: 'unsignedshort', I: 'signedint',
  i: 'unsignedint', l: 'long', f: 'float', d: 'double', D: 'decimal', S: 'longstr',
  A: 'array', T: 'timestamp', F: 'table', V: 'void', x: 'binary',
};

export const INTEGER_TYPES: ReadonlySet<string> = new Set(['b', 'B', 's', 'u', 'I', 'i', 'l']);

export function typeName(t: string): string {
  return TYPE_NAME[t] ?? t;
}

export function fieldType(v: FieldValue): string {
  if (v instanceof Typed) return v.type;
  if (typeof v === 'boolean') return 't';
  if (typeof v === 'string') return 'S';
  if (typeof v === 'number') return Number.isInteger(v) ? 'I' : 'd';
  if (typeof v === 'bigint') return 'l';
  if (v === null) return 'V';
  if (Buffer.isBuffer(v)) return 'x';
  if (Array.isArray(v)) return 'A';
  return 'F';
}

function typeClass(t: string): string {
  if (INTEGER_TYPES.has(t)) return 'int';
  if (t === 'f' || t === 'd') return 'float';
  return t;
}

function plainValue(v: FieldValue): unknown {
  const x = v instanceof Typed ? v.value : v;
  if (typeof x === 'bigint') return Number(x);
  if (Buffer.isBuffer(x)) return x.toString();
  return x;
}

function show(v: unknown): string {
  if (typeof v === 'string') return v;
  return JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x)) ?? String(v);
}

function valueEqual(a: FieldValue, b: FieldValue): boolean {
  return JSON.stringify(plainValue(a)) === JSON.stringify(plainValue(b));
}

/** "inequivalent arg 'durable' for queue 'q' in vhost '/': received 'true' but current is 'false'" */
export function assertFieldEquivalence(current: unknown, received: unknown, resource: string, field: string): void {
  if (current === received) return;
  throw new ChannelError(
    406,
    `inequivalent arg '${field}' for ${resource}: received '${show(received)}' but current is '${show(current)}'`,
  );
}

/** RabbitMQ's assert_args_equivalence over the given keys. */
export function assertArgsEquivalence(current: FieldTable, received: FieldTable, resource: string, keys: readonly string[]): void {
  for (const key of keys) {
    const a = current[key];
    const b = received[key];
    if (a === undefined && b === undefined) continue;
    if (a !== undefined && b !== undefined) {
      if (typeClass(fieldType(a)) === typeClass(fieldType(b)) && valueEqual(a, b)) continue;
      // Present on both sides: RabbitMQ compares bare values whatever the types.
      assertFieldEquivalence(show(plainValue(a)), show(plainValue(b)), resource, key);
      continue;
    }
    throw new ChannelError(
      406,
      `inequivalent arg '${key}' for ${resource}: received ${describe(b)} but current is ${describe(a)}`,
    );
  }
}

function describe(v: FieldValue | undefined): string {
  if (v === undefined) return 'none';
  return `the value '${show(plainValue(v))}' of type '${TYPE_NAME[fieldType(v)]}'`;
}

/** The queue arguments RabbitMQ compares on redeclare. */
export const QUEUE_EQUIVALENCE_KEYS = [
  'x-expires', 'x-message-ttl', 'x-dead-letter-exchange', 'x-dead-letter-routing-key', 'x-max-length',
  'x-max-length-bytes', 'x-max-in-memory-length', 'x-max-in-memory-bytes', 'x-max-priority', 'x-overflow',
  'x-queue-mode', 'x-single-active-consumer', 'x-queue-type', 'x-queue-master-locator', 'x-delivery-limit',
  'x-quorum-initial-group-size', 'x-queue-version',
] as const;

export const EXCHANGE_EQUIVALENCE_KEYS = ['alternate-exchange'] as const;
