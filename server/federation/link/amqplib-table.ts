import { Typed, type FieldTable, type FieldValue } from '../../../amqp/table.js';

/**
 * Warren's field tables (which keep each value's AMQP type) as amqplib encodes them: its
 * `{'!': type, value}` form for every type it would otherwise guess differently, so that
 * a binding's or an exchange's arguments reach the other broker with their types.
 */

const AMQPLIB_TYPES: Record<string, string> = {
  b: 'byte',
  B: 'unsignedbyte',
  s: 'short',
  u: 'unsignedshort',
  I: 'int',
  i: 'unsignedint',
  l: 'long',
  f: 'float',
  d: 'double',
  T: 'timestamp',
};

export type AmqplibValue = unknown;

export function toAmqplibValue(v: FieldValue): AmqplibValue {
  if (v instanceof Typed) {
    if (v.type === 'D') {
      const d = v.value as { scale: number; value: number };
      return { '!': 'decimal', value: { places: d.scale, digits: d.value } };
    }
    const type = AMQPLIB_TYPES[v.type];
    const x = typeof v.value === 'bigint' ? Number(v.value) : v.value;
    return type === undefined ? x : { '!': type, value: x };
  }
  if (typeof v === 'bigint') return { '!': 'long', value: Number(v) };
  // A plain number came as a 32-bit `I` (or from JSON); amqplib would shrink small ones to a byte.
  if (typeof v === 'number') return Number.isInteger(v) && v >= -0x80000000 && v <= 0x7fffffff ? { '!': 'int', value: v } : { '!': Number.isInteger(v) ? 'long' : 'double', value: v };
  if (Array.isArray(v)) return v.map(toAmqplibValue);
  if (v !== null && typeof v === 'object' && !Buffer.isBuffer(v)) return toAmqplibTable(v as FieldTable);
  return v;
}

export function toAmqplibTable(t: FieldTable): Record<string, AmqplibValue> {
  const out: Record<string, AmqplibValue> = {};
  for (const k of Object.keys(t)) out[k] = toAmqplibValue(t[k]!);
  return out;
}

/** A table with its keys in order, as rabbit_misc:sort_field_table leaves it after a change. */
export function sortedTable<T>(t: Record<string, T>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const k of Object.keys(t).sort()) out[k] = t[k]!;
  return out;
}
