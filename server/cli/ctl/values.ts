/**
 * Values as rabbitmqctl prints them. Its table output shows Erlang terms: an AMQP table
 * (queue arguments, client properties) as `[{"x-max-length",10}]`, a list of names (tags,
 * members) as `[a, b]`, a protocol as `{0,9,1}`, policy definitions as JSON. Its JSON output
 * gives AMQP tables as `[key, type, value]` triples and definitions as JSON text. The API
 * gives plain JSON; these turn it into either form.
 */
export type Kind =
  /** a string, number or boolean as it is; absent is empty */
  | 'plain'
  /** an AMQP field table (arguments), which RabbitMQ keeps sorted by key */
  | 'table'
  /** an AMQP field table in the order it came (client properties) */
  | 'props'
  /** a list of names (tags, nodes): an array, or a comma-separated string */
  | 'names'
  /** any JSON value, printed as JSON text (policy definitions, parameter values, limits) */
  | 'json'
  /** the API's "AMQP 0-9-1" */
  | 'protocol'
  /** `{node: state}` (a vhost's cluster_state) */
  | 'nodeStates';

/** A string as Erlang's `~tp` prints it: double-quoted, with escapes. */
export function erlString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += '\\' + ch;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (c < 32 || c === 127) out += '\\' + c.toString(8).padStart(3, '0');
    else out += ch;
  }
  return out + '"';
}

/** A JSON number as Erlang prints it (floats keep a fraction). */
function erlNumber(n: number): string {
  return String(n);
}

/** A value inside an AMQP table, as rabbitmqctl prettifies it. */
function erlTableValue(v: unknown): string {
  if (typeof v === 'string') return erlString(v);
  if (typeof v === 'number') return erlNumber(v);
  if (typeof v === 'boolean') return String(v);
  if (v === null || v === undefined) return 'undefined';
  if (Array.isArray(v)) return `[${v.map(erlTableValue).join(',')}]`;
  if (typeof v === 'object') return erlTable(v as Record<string, unknown>);
  return String(v);
}

/** Entries of a table in RabbitMQ's order: sorted by key (it sorts tables at declaration). */
function sortedEntries(t: Record<string, unknown>): [string, unknown][] {
  return Object.entries(t).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

export function erlTable(t: Record<string, unknown>, sort = true): string {
  return `[${(sort ? sortedEntries(t) : Object.entries(t))
    .map(([k, v]) => `{${erlString(k)},${erlTableValue(v)}}`)
    .join(',')}]`;
}

function names(v: unknown): string[] {
  if (Array.isArray(v)) return v.map(String);
  if (typeof v === 'string') return v === '' ? [] : v.split(',');
  return [];
}

/** A cell of the default (tab-separated) and pretty_table output. */
export function textCell(kind: Kind, v: unknown): string {
  if (v === undefined || v === null) return '';
  switch (kind) {
    case 'plain':
      return typeof v === 'object' ? JSON.stringify(v) : String(v);
    case 'table':
    case 'props':
      return typeof v === 'object' && !Array.isArray(v) ? erlTable(v as Record<string, unknown>, kind === 'table') : erlTableValue(v);
    case 'names':
      return `[${names(v).join(', ')}]`;
    case 'json':
      return JSON.stringify(v);
    case 'protocol': {
      const m = /(\d+)-(\d+)(?:-(\d+))?/.exec(String(v));
      return m === null ? String(v) : `{${m[1]},${m[2]},${m[3] ?? 0}}`;
    }
    case 'nodeStates':
      return `[${Object.entries(v as Record<string, unknown>)
        .map(([n, s]) => `{${n}, ${String(s)}}`)
        .join(', ')}]`;
  }
}

/** The AMQP type RabbitMQ gives a JSON value it turns into a table entry. */
function amqpType(v: unknown): string {
  if (typeof v === 'string') return 'longstr';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return Number.isInteger(v) ? 'long' : 'double';
  if (Array.isArray(v)) return 'array';
  if (v === null) return 'void';
  return 'table';
}

function jsonTableValue(v: unknown): unknown {
  if (Array.isArray(v)) return v.map((x) => [amqpType(x), jsonTableValue(x)]);
  if (v !== null && typeof v === 'object') return jsonTable(v as Record<string, unknown>);
  return v;
}

function jsonTable(t: Record<string, unknown>, sort = true): unknown[] {
  return (sort ? sortedEntries(t) : Object.entries(t)).map(([k, v]) => [k, amqpType(v), jsonTableValue(v)]);
}

/** A value of the JSON output (`--formatter json`). */
export function jsonCell(kind: Kind, v: unknown): unknown {
  switch (kind) {
    case 'plain':
      return v === undefined || v === null ? '' : v;
    case 'table':
    case 'props':
      return v !== null && typeof v === 'object' && !Array.isArray(v) ? jsonTable(v as Record<string, unknown>, kind === 'table') : [];
    case 'names':
      return names(v);
    case 'json':
      return v === undefined ? '' : JSON.stringify(v);
    case 'protocol':
    case 'nodeStates':
      return v ?? '';
  }
}
