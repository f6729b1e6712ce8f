import { erlTypeAtom } from '../amqp/erl-term.js';
import { Typed, type FieldTable, type FieldValue } from '../amqp/table.js';

// Field-value semantics the routing layer needs, on top of the codec's representation.
// Two notions of sameness, both taken from RabbitMQ:
// - fieldEquals: header matching uses Erlang `==` on values, so numbers compare by value
//   whatever their width (int 1 == long 1 == double 1.0) and a longstr equals a byte array
//   holding the same bytes.
// - canonicalTable: binding identity is exact (`=:=` on the sorted table, types included),
//   so {a: int 1} and {a: long 1} are two different bindings.

/** Types whose value is a number (or bigint for wide longs); timestamps are plain integers in Erlang too. */
const NUMERIC_TYPES = 'bBsuIilLfdT';

/** Unwraps Typed values that carry nothing beyond their JS value; keeps decimals (and unknown types) Typed. */
export function plainValue(v: FieldValue): FieldValue {
  if (!(v instanceof Typed)) return v;
  const x = v.value;
  if (NUMERIC_TYPES.includes(v.type)) {
    if (typeof x === 'bigint') return Number.isSafeInteger(Number(x)) ? Number(x) : x;
    return typeof x === 'number' ? x : v;
  }
  switch (v.type) {
    case 'S':
    case 'x':
    case 'A':
    case 'F':
      return x as FieldValue;
    case 't':
      return Boolean(x);
    case 'V':
      return null;
    default:
      return v;
  }
}

function isTable(v: FieldValue): v is FieldTable {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v) && !(v instanceof Typed);
}

function numEquals(a: number | bigint, b: number | bigint): boolean {
  if (typeof a === typeof b) return a === b;
  // Mixed number/bigint: only integral numbers can equal a bigint.
  const n = (typeof a === 'number' ? a : b) as number;
  const big = (typeof a === 'bigint' ? a : b) as bigint;
  return Number.isInteger(n) && BigInt(n) === big;
}

function bytesEqualString(b: Buffer, s: string): boolean {
  return b.length === Buffer.byteLength(s) && b.equals(Buffer.from(s, 'utf8'));
}

/** Generic deep equality for the payload of Typed values we do not interpret (e.g. decimals). */
function sameUnknown(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) {
    if (!Object.hasOwn(b, k) || !sameUnknown((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) {
      return false;
    }
  }
  return true;
}

/** Value equality as RabbitMQ's headers exchange sees it (Erlang `==` on decoded values). */
export function fieldEquals(x: FieldValue, y: FieldValue): boolean {
  if (x === y) return true;
  const tx = typeof x;
  if (tx !== 'object' && tx === typeof y) return false; // two primitives of one JS type: === decided
  const a = plainValue(x);
  const b = plainValue(y);
  if (a === b) return true;
  switch (typeof a) {
    case 'number':
    case 'bigint':
      return (typeof b === 'number' || typeof b === 'bigint') && numEquals(a, b);
    case 'string':
      return Buffer.isBuffer(b) && bytesEqualString(b, a);
    case 'boolean':
      return false;
    default:
      break;
  }
  if (Buffer.isBuffer(a)) {
    if (typeof b === 'string') return bytesEqualString(a, b);
    return Buffer.isBuffer(b) && a.equals(b);
  }
  if (a === null || b === null || typeof b !== 'object') return false;
  if (a instanceof Typed) {
    return b instanceof Typed && a.type === b.type && sameUnknown(a.value, b.value);
  }
  // Inside arrays and tables Erlang compares {Type, Value} pairs in wire order, so element
  // types and table key order matter there, unlike at the top level.
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!exactEquals(a[i]!, b[i]!)) return false;
    return true;
  }
  return isTable(a) && isTable(b) && exactEquals(a, b);
}

/** Erlang `==` on {Type, Value}: same wire type, equal value; tables in key order. */
function exactEquals(x: FieldValue, y: FieldValue): boolean {
  if (erlTypeAtom(x) !== erlTypeAtom(y)) return false;
  const a = plainValue(x);
  const b = plainValue(y);
  if (a === b) return true;
  if (typeof a === 'number' || typeof a === 'bigint') return (typeof b === 'number' || typeof b === 'bigint') && numEquals(a, b);
  if (Buffer.isBuffer(a)) return Buffer.isBuffer(b) && a.equals(b);
  if (a instanceof Typed) return b instanceof Typed && sameUnknown(a.value, b.value);
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!exactEquals(a[i]!, b[i]!)) return false;
    return true;
  }
  if (!isTable(a) || !isTable(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i] || !exactEquals(a[ka[i]!]!, b[kb[i]!]!)) return false;
  return true;
}

function canonicalNumber(type: string, x: unknown): string {
  return type + (typeof x === 'bigint' || typeof x === 'number' ? x.toString() : JSON.stringify(x) ?? '?');
}

/** A stable string naming a value and its wire type; tables are written with sorted keys. */
export function canonicalValue(v: FieldValue): string {
  switch (typeof v) {
    case 'boolean':
      return v ? 't1' : 't0';
    case 'string':
      return 'S' + JSON.stringify(v);
    case 'number':
      // Mirrors how the codec encodes a bare number, so it names the same wire type.
      if (Number.isInteger(v) && v >= -0x80000000 && v <= 0x7fffffff) return 'I' + v;
      return (Number.isSafeInteger(v) ? 'l' : 'd') + v;
    case 'bigint':
      return 'l' + v;
    default:
      break;
  }
  if (v === null) return 'V';
  if (Buffer.isBuffer(v)) return 'x' + v.toString('hex');
  if (Array.isArray(v)) return 'A[' + v.map(canonicalValue).join(',') + ']';
  if (v instanceof Typed) {
    if (v.type === 'L') return canonicalNumber('l', v.value); // RabbitMQ decodes 'L' as a long
    if (NUMERIC_TYPES.includes(v.type)) return canonicalNumber(v.type, v.value);
    if (v.type === 'D') {
      const d = v.value as { scale?: unknown; value?: unknown } | null;
      return `D${String(d?.scale)},${String(d?.value)}`;
    }
    const p = plainValue(v);
    return p instanceof Typed ? `?${p.type}${JSON.stringify(p.value) ?? ''}` : canonicalValue(p);
  }
  return canonicalTable(v);
}

/** Canonical form of a table: keys sorted (as rabbit_misc:sort_field_table does), values typed. */
export function canonicalTable(t: FieldTable): string {
  const keys = Object.keys(t);
  if (keys.length === 0) return 'F{}';
  keys.sort();
  let s = 'F{';
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    if (i > 0) s += ',';
    s += JSON.stringify(k) + ':' + canonicalValue(t[k]!);
  }
  return s + '}';
}
