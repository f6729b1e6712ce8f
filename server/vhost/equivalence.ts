import { ChannelError } from '../../amqp/errors.js';
import type { FieldTable, FieldValue } from '../../amqp/table.js';
import { erlTypeAtom } from '../../amqp/erl-term.js';
import { raw } from '../queue/queue-args.js';

const INT_ATOMS = new Set(['byte', 'unsignedbyte', 'short', 'unsignedshort', 'signedint', 'unsignedint', 'long']);

function typeClass(atom: string): string {
  if (INT_ATOMS.has(atom)) return 'int';
  if (atom === 'float' || atom === 'double') return 'float';
  return atom;
}

function plainValue(v: FieldValue): unknown {
  const x = raw(v);
  return Buffer.isBuffer(x) ? x.toString() : x;
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
      if (typeClass(erlTypeAtom(a)) === typeClass(erlTypeAtom(b)) && valueEqual(a, b)) continue;
      // Present on both sides: RabbitMQ prints the bare values, whatever their types.
      throw new ChannelError(
        406,
        `inequivalent arg '${key}' for ${resource}: received '${show(plainValue(b))}' but current is '${show(plainValue(a))}'`,
      );
    }
    // A classic queue may or may not carry x-queue-type 'classic' (rabbit_misc's special case).
    if (key === 'x-queue-type' && (a ?? b) === 'classic') continue;
    throw new ChannelError(
      406,
      `inequivalent arg '${key}' for ${resource}: received ${describe(b)} but current is ${describe(a)}`,
    );
  }
}

function describe(v: FieldValue | undefined): string {
  if (v === undefined) return 'none';
  return `the value '${show(plainValue(v))}' of type '${erlTypeAtom(v)}'`;
}

export const EXCHANGE_EQUIVALENCE_KEYS = ['alternate-exchange'] as const;
