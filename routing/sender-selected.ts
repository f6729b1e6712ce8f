import { Typed, type FieldTable, type FieldValue } from '../amqp/table.js';
import { erlTypeAtom } from '../amqp/erl-term.js';

// Sender-selected distribution (RabbitMQ's CC and BCC headers): extra routing keys
// carried in the message. Only array values are honoured and, inside them, only longstr
// entries, as rabbit_basic:header_routes does. BCC is removed before delivery.

function pushRoutes(keys: string[], v: FieldValue | undefined): void {
  if (v instanceof Typed && v.type === 'A') v = v.value as FieldValue;
  if (!Array.isArray(v)) return;
  for (const e of v) {
    if (typeof e === 'string') keys.push(e);
    else if (e instanceof Typed && e.type === 'S' && typeof e.value === 'string') keys.push(e.value);
  }
}

/** The routing key alone when there is no CC/BCC (no allocation), else [key, ...CC, ...BCC]. */
export function routingKeysFor(routingKey: string, headers: FieldTable | undefined): string | string[] {
  if (headers === undefined) return routingKey;
  const hasCc = Object.hasOwn(headers, 'CC');
  if (!hasCc && !Object.hasOwn(headers, 'BCC')) return routingKey;
  const keys = [routingKey];
  if (hasCc) pushRoutes(keys, headers['CC']);
  pushRoutes(keys, headers['BCC']);
  return keys.length === 1 ? routingKey : keys;
}

export function hasBcc(headers: FieldTable | undefined): boolean {
  return headers !== undefined && Object.hasOwn(headers, 'BCC');
}

/** A shallow copy of headers without BCC (call only when hasBcc says so). */
export function stripBcc(headers: FieldTable): FieldTable {
  const copy: FieldTable = {};
  for (const k of Object.keys(headers)) {
    if (k === 'BCC') continue;
    // '__proto__' is an ordinary header name; plain assignment would set the prototype instead.
    if (k === '__proto__') Object.defineProperty(copy, k, { value: headers[k], enumerable: true, writable: true, configurable: true });
    else copy[k] = headers[k]!;
  }
  return copy;
}

function isArrayValue(v: FieldValue): boolean {
  return Array.isArray(v) || (v instanceof Typed && v.type === 'A');
}

/**
 * RabbitMQ refuses a publish whose CC or BCC header is not an array: the channel closes
 * with 406 and this text. Null when the headers are acceptable.
 */
export function validateRoutingHeaders(headers: FieldTable | undefined): string | null {
  if (headers === undefined) return null;
  for (const key of ['CC', 'BCC']) {
    if (!Object.hasOwn(headers, key)) continue;
    const v = headers[key]!;
    if (!isArrayValue(v)) return `invalid message: {unacceptable_type_in_header,"${key}",${erlTypeAtom(v)}}`;
  }
  return null;
}
