/**
 * The x-stream-offset consumer argument, as rabbit_stream_queue 3.10.8 reads it: `first`,
 * `last`, `next`, an integer offset, an AMQP timestamp, or an interval ("1h") back from now.
 * A string of digits with a bad unit is refused with 406, as RabbitMQ refuses it. A value no
 * clause of RabbitMQ's parser matches (`start`, a float, a boolean) crashes its channel
 * process (a bare 541 INTERNAL_ERROR); Warren refuses those with the same 406 instead, so
 * that the client learns which argument was wrong (docs/compatibility.md).
 */
import { ChannelError } from '../../../amqp/errors.js';
import { Typed, type FieldValue } from '../../../amqp/table.js';
import { intervalMs } from './interval.js';

export const enum OffsetKind {
  First,
  Last,
  Next,
  /** An absolute offset (`value`). */
  Offset,
  /** The first chunk written at or after `value` (epoch ms). */
  Timestamp,
}

export interface OffsetSpec {
  kind: OffsetKind;
  value: number;
}

const INTEGER_TYPES = new Set(['b', 'B', 's', 'u', 'i', 'l']);

/** The consumer's start; `next` when the argument is absent. Throws RabbitMQ's error for a bad value. */
export function parseStreamOffset(v: FieldValue | undefined, resource: string, now: number): OffsetSpec {
  if (v === undefined) return { kind: OffsetKind.Next, value: 0 };
  if (typeof v === 'string' || Buffer.isBuffer(v)) {
    const s = v.toString();
    if (s === 'first') return { kind: OffsetKind.First, value: 0 };
    if (s === 'last') return { kind: OffsetKind.Last, value: 0 };
    if (s === 'next') return { kind: OffsetKind.Next, value: 0 };
    const ms = /^[0-9]/.test(s) ? intervalMs(s) : null;
    if (ms === null) throw invalidOffset(resource, `{longstr,<<"${s}">>}`);
    return { kind: OffsetKind.Timestamp, value: now - ms };
  }
  if (typeof v === 'number' && Number.isInteger(v)) return { kind: OffsetKind.Offset, value: v };
  if (v instanceof Typed) {
    if (v.type === 'T') return { kind: OffsetKind.Timestamp, value: Number(v.value) * 1000 };
    if (INTEGER_TYPES.has(v.type)) return { kind: OffsetKind.Offset, value: Number(v.value) };
  }
  if (v instanceof Typed) throw invalidOffset(resource, `{${ERLANG_TYPE[v.type] ?? v.type},${String(v.value)}}`);
  throw invalidOffset(resource, typeof v === 'boolean' ? `{bool,${v}}` : typeof v === 'number' ? `{double,${v}}` : `{table,${JSON.stringify(v)}}`);
}

/** rabbit_binary_parser's names for field types, as RabbitMQ's error terms print them. */
const ERLANG_TYPE: Record<string, string> = { d: 'double', f: 'float', t: 'bool', D: 'decimal', S: 'longstr', F: 'table', A: 'array', x: 'binary', V: 'void' };

function invalidOffset(resource: string, term: string): ChannelError {
  return new ChannelError(406, `invalid arg 'x-stream-offset' for ${resource}: {invalid_stream_offset_arg,${term}}`);
}
