import { Typed, type FieldValue } from './table.js';

// Renders field values the way RabbitMQ's error texts show them (Erlang `~tp`), so reply
// texts built from them read exactly like RabbitMQ's. Only what error messages need.

const TYPE_ATOMS: Record<string, string> = {
  t: 'bool',
  b: 'byte',
  B: 'unsignedbyte',
  s: 'short',
  u: 'unsignedshort',
  I: 'signedint',
  i: 'unsignedint',
  l: 'long',
  L: 'long',
  f: 'float',
  d: 'double',
  D: 'decimal',
  T: 'timestamp',
  S: 'longstr',
  x: 'binary',
  V: 'void',
  A: 'array',
  F: 'table',
};

/** The atom rabbit_binary_parser tags a decoded value with (longstr, signedint, ...). */
export function erlTypeAtom(v: FieldValue): string {
  if (v instanceof Typed) return TYPE_ATOMS[v.type] ?? v.type;
  if (v === null) return 'void';
  switch (typeof v) {
    case 'boolean':
      return 'bool';
    case 'string':
      return 'longstr';
    case 'bigint':
      return 'long';
    case 'number':
      if (Number.isInteger(v) && v >= -0x80000000 && v <= 0x7fffffff) return 'signedint';
      return Number.isSafeInteger(v) ? 'long' : 'double';
    default:
      break;
  }
  if (Buffer.isBuffer(v)) return 'binary';
  return Array.isArray(v) ? 'array' : 'table';
}

const ESCAPES: Record<number, string> = { 8: '\\b', 9: '\\t', 10: '\\n', 11: '\\v', 12: '\\f', 13: '\\r', 27: '\\e' };

function quoteChars(s: string): string {
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += '\\' + ch;
    else out += ESCAPES[c] ?? ch;
  }
  return out;
}

function printable(s: string, unicode: boolean): boolean {
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if ((c >= 32 && c <= 126) || ESCAPES[c] !== undefined) continue;
    if (unicode && c >= 0xa0 && !(c >= 0xd800 && c <= 0xdfff) && c !== 0xfffd) continue;
    return false;
  }
  return true;
}

/** An Erlang binary as `~tp` prints it: <<"abc">>, <<"é"/utf8>> or <<1,2,3>>. */
export function erlBinary(bytes: Buffer | string): string {
  const buf = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes;
  if (buf.length === 0) return '<<>>';
  const text = buf.toString('utf8');
  if (printable(text, false)) return `<<"${quoteChars(text)}">>`;
  if (printable(text, true) && Buffer.from(text, 'utf8').equals(buf)) return `<<"${quoteChars(text)}"/utf8>>`;
  return `<<${Array.from(buf).join(',')}>>`;
}

function erlFloat(x: number): string {
  if (Number.isInteger(x) && Math.abs(x) < 1e16) return x.toFixed(1);
  return String(x).replace('e+', 'e');
}

/** A decoded value as `~tp` prints it (the value part of RabbitMQ's {Type, Value} pairs). */
export function erlValue(v: FieldValue): string {
  if (v === null) return 'undefined';
  if (typeof v === 'string' || Buffer.isBuffer(v)) return erlBinary(v);
  if (typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (typeof v === 'number') return erlTypeAtom(v) === 'double' ? erlFloat(v) : String(v);
  if (Array.isArray(v)) return '[' + v.map((e) => `{${erlTypeAtom(e)},${erlValue(e)}}`).join(',') + ']';
  if (v instanceof Typed) {
    const x = v.value;
    if (v.type === 'f' || v.type === 'd') return erlFloat(Number(x));
    if (v.type === 'D') {
      const d = x as { scale?: unknown; value?: unknown } | null;
      return `{${String(d?.scale)},${String(d?.value)}}`;
    }
    if (typeof x === 'number' || typeof x === 'bigint') return String(x);
    return erlValue(x as FieldValue);
  }
  const entries = Object.keys(v).map((k) => `{${erlBinary(k)},${erlTypeAtom(v[k]!)},${erlValue(v[k]!)}}`);
  return '[' + entries.join(',') + ']';
}

/**
 * A decoded JSON value as `~p` prints it in RabbitMQ's validation messages: strings are
 * binaries, objects are maps and arrays lists (used for policy and limit texts).
 */
export function erlJson(v: unknown): string {
  if (typeof v === 'string') return erlBinary(v);
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : erlFloat(v);
  if (typeof v === 'boolean') return String(v);
  if (v === null || v === undefined) return 'null';
  if (Array.isArray(v)) return '[' + v.map(erlJson).join(',') + ']';
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o).sort();
  if (keys.length === 0) return '#{}';
  return '#{' + keys.map((k) => `${erlBinary(k)} => ${erlJson(o[k])}`).join(',') + '}';
}

/** A JSON object as the proplist `maps:to_list` makes of it: [{<<"k">>,v},...], keys sorted. */
export function erlProplist(o: Record<string, unknown>, keys: string[] = Object.keys(o)): string {
  return '[' + [...keys].sort().map((k) => `{${erlBinary(k)},${erlJson(o[k])}}`).join(',') + ']';
}
