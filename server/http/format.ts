import { createHash } from 'node:crypto';
import type { BasicProperties } from '../../amqp/generated/properties.js';
import { long, Typed, type FieldTable, type FieldValue } from '../../amqp/table.js';
import { toJson } from '../vhost/durable-definitions.js';
import { badRequest } from './errors.js';
import type { Json } from './listing.js';
import type { RateState } from './sampler.js';

/** An AMQP field table as the management plugin shows it (rabbit_misc:amqp_table). */
export function tableToJson(t: FieldTable | undefined): Json {
  return t === undefined ? {} : toJson(t);
}

/** JSON from a request as an AMQP table, the way rabbit_misc:to_amqp_table types it. */
export function jsonToTable(v: unknown, what = 'arguments'): FieldTable {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw badRequest(`${what} must be a JSON object`);
  const out: FieldTable = {};
  for (const [k, x] of Object.entries(v as Json)) out[k] = jsonToValue(x);
  return out;
}

function jsonToValue(v: unknown): FieldValue {
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') return Number.isInteger(v) ? long(v) : new Typed('d', v);
  if (Array.isArray(v)) return v.map(jsonToValue);
  if (v !== null && typeof v === 'object') return jsonToTable(v);
  throw badRequest('null_not_allowed');
}

// P_basic's fields in record order, with their JSON names.
const PROPS: readonly [keyof BasicProperties, string][] = [
  ['contentType', 'content_type'],
  ['contentEncoding', 'content_encoding'],
  ['headers', 'headers'],
  ['deliveryMode', 'delivery_mode'],
  ['priority', 'priority'],
  ['correlationId', 'correlation_id'],
  ['replyTo', 'reply_to'],
  ['expiration', 'expiration'],
  ['messageId', 'message_id'],
  ['timestamp', 'timestamp'],
  ['type', 'type'],
  ['userId', 'user_id'],
  ['appId', 'app_id'],
  ['clusterId', 'cluster_id'],
];
const INT_PROPS = new Set(['delivery_mode', 'priority', 'timestamp']);

/**
 * Message properties as /api/queues/.../get shows them: set ones only, last field first
 * (the plugin builds the list backwards), and `[]` when there are none, as RabbitMQ sends.
 */
export function propertiesToJson(p: BasicProperties): Json | [] {
  const out: Json = {};
  let any = false;
  for (let i = PROPS.length - 1; i >= 0; i--) {
    const [key, name] = PROPS[i]!;
    const v = p[key];
    if (v === undefined) continue;
    any = true;
    out[name] = key === 'headers' ? tableToJson(v as FieldTable) : v;
  }
  return any ? out : [];
}

/** Properties from a publish request (rabbit_mgmt_format:to_basic_properties), with its errors. */
export function jsonToProperties(v: unknown): BasicProperties {
  if (v === undefined || v === null || (Array.isArray(v) && v.length === 0)) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw badRequest('properties must be a JSON object');
  const src = v as Json;
  const out: BasicProperties = {};
  for (const [key, name] of PROPS) {
    const x = src[name];
    if (x === undefined || x === null) continue;
    if (name === 'headers') {
      out.headers = jsonToTable(x, 'headers');
    } else if (INT_PROPS.has(name)) {
      if (!Number.isInteger(x)) throw badRequest(['not_int', name]);
      (out as Record<string, unknown>)[key] = x;
    } else {
      if (typeof x !== 'string') throw badRequest(['not_string', name]);
      (out as Record<string, unknown>)[key] = x;
    }
  }
  return out;
}

/** `{rate}` for one value of a sampled object. */
export function details(state: RateState | null, i: number): { rate: number } {
  return { rate: state === null ? 0.0 : round(state.rate[i]!) };
}

function round(r: number): number {
  return Math.round(r * 10) / 10;
}

const detailNames = new Map<readonly string[], string[]>();

/** message_stats: each counter with its `_details`, in the given key order. */
export function messageStats(keys: readonly string[], value: (k: string) => number, state: RateState | null): Json {
  let names = detailNames.get(keys);
  if (names === undefined) detailNames.set(keys, (names = keys.map((k) => `${k}_details`)));
  const out: Json = {};
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    out[k] = value(k);
    out[names[i]!] = details(state, i);
  }
  return out;
}

let lastMs = -1;
let lastIso = '';

/** An epoch time as the plugin prints one: "2026-12-02T06:44:09.889+00:00". */
export function isoTime(ms: number): string {
  // Most objects of a list share a time (their last sample): format it once.
  if (ms !== lastMs) {
    lastMs = ms;
    lastIso = new Date(ms).toISOString().replace('Z', '+00:00');
  }
  return lastIso;
}

/**
 * A binding's properties_key: the routing key URL-quoted as rabbit_http_util:quote_plus
 * does ("~" when empty), then "~" and a hash of the arguments if there are any.
 */
export function packBindingProps(key: string, args: FieldTable): string {
  const hasArgs = Object.keys(args).length > 0;
  if (key === '' && !hasArgs) return '~';
  const quoted = quotePlus(key);
  return hasArgs ? `${quoted}~${quotePlus(argsHash(args))}` : quoted;
}

/**
 * RabbitMQ hashes the arguments with erlang:phash2 (not reproducible outside Erlang);
 * Warren takes 4 bytes of a SHA-256 of their canonical JSON, in the same base64url form.
 */
export function argsHash(args: FieldTable): string {
  const canon = JSON.stringify(sortDeep(toJson(args)));
  return createHash('sha256').update(canon).digest().subarray(0, 4).toString('base64url');
}

function sortDeep(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortDeep);
  if (v === null || typeof v !== 'object') return v;
  const out: Json = {};
  for (const k of Object.keys(v as Json).sort()) out[k] = sortDeep((v as Json)[k]);
  return out;
}

const QS_SAFE = /[a-zA-Z0-9.\-_]/;

/** rabbit_http_util:quote_plus; a binding's properties_key also quotes "~" (its separator). */
export function quotePlus(s: string, tildeSafe = false): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(b);
    if (b < 0x80 && (QS_SAFE.test(c) || (tildeSafe && c === '~'))) out += c;
    else if (c === ' ') out += '+';
    else out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** The routing key a properties_key stands for (the part before "~", unquoted), and its args hash. */
export function unpackBindingProps(props: string): { key: string; hash: string | null } | null {
  if (props === '~') return { key: '', hash: null };
  const parts = props.split('~');
  if (parts.length > 2) return null;
  try {
    const key = unquote(parts[0]!);
    return { key, hash: parts.length === 2 ? unquote(parts[1]!) : null };
  } catch {
    return null;
  }
}

function unquote(s: string): string {
  return decodeURIComponent(s.replace(/\+/g, ' '));
}
