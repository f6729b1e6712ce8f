import { erlJson, erlProplist } from '../../amqp/erl-term.js';

/**
 * Every policy key RabbitMQ 3.10 accepts, with its validation and its message, as
 * rabbit_policies, rabbit_mirror_queue_misc (ha-*), rabbit_queue_location_validator and
 * the federation plugin validate them (the sharding plugin's keys too, since an export
 * from a node that had it enabled must still load). A message is RabbitMQ's text.
 */

type Check = (v: unknown) => string | null;

const isInt = (v: unknown): v is number => Number.isInteger(v);
const nonNegInt = (msg: string): Check => (v) => (isInt(v) && v >= 0 ? null : `${erlJson(v)} ${msg}`);
const binary = (msg: string): Check => (v) => (typeof v === 'string' ? null : `${erlJson(v)} ${msg}`);
const oneOf = (values: string[], msg: string): Check => (v) => (typeof v === 'string' && values.includes(v) ? null : `${erlJson(v)} ${msg}`);

/** RabbitMQ's check_max_age: a positive integer and one unit of Y, M, D, h, m, s. */
export function maxAgeMs(v: unknown): number | null {
  if (typeof v !== 'string') return null;
  const m = /^([0-9]*)(.*)$/s.exec(v)!;
  const n = m[1] === '' ? NaN : Number(m[1]);
  const unit = { Y: 365 * 86400e3, M: 30 * 86400e3, D: 86400e3, h: 3600e3, m: 60e3, s: 1e3 }[m[2]!];
  return Number.isInteger(n) && n > 0 && unit !== undefined ? n * unit : null;
}

/** Keys validated on their own (rabbit_policies and queue-master-locator). */
const SINGLE: Record<string, Check> = {
  'alternate-exchange': binary('is not a valid alternate exchange name'),
  'dead-letter-exchange': binary('is not a valid dead letter exchange name'),
  'dead-letter-routing-key': binary('is not a valid dead letter routing key'),
  'dead-letter-strategy': oneOf(['at-most-once', 'at-least-once'], 'is not a valid dead letter strategy'),
  'message-ttl': nonNegInt('is not a valid message TTL'),
  expires: (v) => (isInt(v) && v >= 1 ? null : `${erlJson(v)} is not a valid queue expiry`),
  'max-length': nonNegInt('is not a valid maximum length'),
  'max-length-bytes': nonNegInt('is not a valid maximum length in bytes'),
  'max-in-memory-length': nonNegInt('is not a valid maximum memory in bytes'),
  'max-in-memory-bytes': nonNegInt('is not a valid maximum memory in bytes'),
  'queue-mode': oneOf(['default', 'lazy'], 'is not a valid queue-mode value'),
  'queue-version': (v) => (v === 1 || v === 2 ? null : `${erlJson(v)} is not a valid queue-version value`),
  overflow: oneOf(['drop-head', 'reject-publish', 'reject-publish-dlx'], 'is not a valid overflow value'),
  'delivery-limit': nonNegInt('is not a valid delivery limit'),
  'max-age': (v) => (maxAgeMs(v) !== null ? null : `${erlJson(v)} is not a valid max age`),
  'stream-max-segment-size-bytes': (v) => (isInt(v) && v >= 0 && v <= 3_000_000_000 ? null : `${erlJson(v)} is not a valid segment size`),
  'queue-leader-locator': oneOf(['client-local', 'balanced', 'random', 'least-leaders'], 'is not a valid queue leader locator value'),
  'initial-cluster-size': (v) => (isInt(v) && v >= 0 ? null : `${erlJson(v)} is not a valid cluster size`),
  'queue-master-locator': (v) =>
    typeof v === 'string' && ['client-local', 'min-masters', 'random'].includes(v) ? null : `${erlJson(v)} invalid queue-master-locator value`,
};

const SHARDING_KEYS = ['shards-per-node', 'routing-key'];

/** rabbit_sharding_policy_validator:validate_policy. */
function validateSharding(d: Record<string, unknown>): string | null {
  if (!SHARDING_KEYS.some((k) => k in d)) return null;
  const spn = d['shards-per-node'];
  if (spn === undefined) return 'shards-per-node must be specified';
  if (typeof spn !== 'number') return `shards-per-node should be a number, actually was ${erlJson(spn)}`;
  if (spn < 0) return `shards-per-node should be greater than 0, actually was ${erlJson(spn)}`;
  const rk = d['routing-key'];
  if (rk !== undefined && typeof rk !== 'string') return `routing-key should be binary, actually was ${erlJson(rk)}`;
  return null;
}

const HA_KEYS = ['ha-mode', 'ha-params', 'ha-sync-mode', 'ha-sync-batch-size', 'ha-promote-on-shutdown', 'ha-promote-on-failure'];
const FEDERATION_KEYS = ['federation-upstream', 'federation-upstream-pattern', 'federation-upstream-set'];

/** rabbit_mirror_queue_misc:validate_policy, over the ha-* keys together. */
function validateHa(d: Record<string, unknown>): string | null {
  const present = HA_KEYS.filter((k) => k in d);
  if (present.length === 0) return null;
  if (!('ha-mode' in d)) return 'ha-mode must be specified to specify ha-params, ha-sync-mode or ha-promote-on-shutdown';
  const mode = d['ha-mode'];
  if (mode !== 'all' && mode !== 'exactly' && mode !== 'nodes') return `${erlJson(mode)} is not a valid ha-mode value`;
  const params = d['ha-params'];
  if (mode === 'all' && params !== undefined) return 'ha-mode="all" does not take parameters';
  if (mode === 'exactly' && !(isInt(params) && params > 0)) return `ha-mode="exactly" takes an integer, ${params === undefined ? 'none' : erlJson(params)} given`;
  if (mode === 'nodes') {
    if (!Array.isArray(params)) return `ha-mode="nodes" takes a list, ${params === undefined ? 'none' : erlJson(params)} given`;
    if (params.length === 0) return 'ha-mode="nodes" list must be non-empty';
    const bad = params.filter((p) => typeof p !== 'string');
    if (bad.length > 0) return `ha-mode="nodes" takes a list of strings, ${erlJson(bad)} was not a string`;
  }
  const sync = d['ha-sync-mode'];
  if (sync !== undefined && sync !== 'automatic' && sync !== 'manual') return `ha-sync-mode must be "manual" or "automatic", got ${erlJson(sync)}`;
  const batch = d['ha-sync-batch-size'];
  if (batch !== undefined && !(isInt(batch) && batch > 0)) return `ha-sync-batch-size takes an integer greater than 0, ${erlJson(batch)} given`;
  for (const k of ['ha-promote-on-shutdown', 'ha-promote-on-failure']) {
    const v = d[k];
    if (v !== undefined && v !== 'always' && v !== 'when-synced') return `${k} must be "always" or "when-synced", got ${erlJson(v)}`;
  }
  return null;
}

/** rabbit_federation_parameters:validate_policy: one of the three keys, a string. */
function validateFederation(d: Record<string, unknown>): string | null {
  const present = FEDERATION_KEYS.filter((k) => k in d);
  if (present.length === 0) return null;
  if (present.length >= 2) return 'cannot specify federation-upstream, federation-upstream-set or federation-upstream-pattern together';
  const k = present[0]!;
  const v = d[k];
  if (k === 'federation-upstream-pattern') {
    if (typeof v !== 'string') return `${erlJson(v)} is not a valid federation upstream pattern name`;
    try {
      new RegExp(v);
    } catch (err) {
      return `could not compile pattern ${v} to a regular expression. Error: ${(err as Error).message}`;
    }
    return null;
  }
  if (typeof v !== 'string') return `${erlJson(v)} is not a valid federation upstream ${k === 'federation-upstream' ? '' : 'set '}name`;
  return null;
}

/** The keys an operator policy may set (rabbit_policies' operator_policy_validator). */
export const OPERATOR_POLICY_KEYS: ReadonlySet<string> = new Set([
  'expires',
  'message-ttl',
  'max-length',
  'max-length-bytes',
  'max-in-memory-length',
  'max-in-memory-bytes',
  'delivery-limit',
]);

/** Keys that change what Warren does; the others are accepted, stored, exported, and warned about once. */
export const EFFECTIVE_POLICY_KEYS: ReadonlySet<string> = new Set([
  'message-ttl',
  'expires',
  'max-length',
  'max-length-bytes',
  'overflow',
  'dead-letter-exchange',
  'dead-letter-routing-key',
  'alternate-exchange',
  'delivery-limit',
  'dead-letter-strategy',
  // Streams only (a policy with them does not apply to other queue types).
  'max-age',
  'stream-max-segment-size-bytes',
  ...FEDERATION_KEYS,
]);

/**
 * Validates a policy definition as rabbit_policy:validation does: the first error of a
 * known key's validator, else the keys nobody recognises. Returns RabbitMQ's message, or
 * null when the definition is acceptable.
 */
export function definitionError(d: Record<string, unknown>, operator: boolean): string | null {
  const keys = Object.keys(d);
  if (keys.length === 0) return 'no policy provided';
  const known = (k: string): boolean =>
    operator ? OPERATOR_POLICY_KEYS.has(k) : k in SINGLE || HA_KEYS.includes(k) || FEDERATION_KEYS.includes(k) || SHARDING_KEYS.includes(k);
  for (const k of keys.filter(known).sort()) {
    const check = SINGLE[k];
    const err = check !== undefined ? check(d[k]) : null;
    if (err !== null) return err;
  }
  if (!operator) {
    const err = validateHa(d) ?? validateFederation(d) ?? validateSharding(d);
    if (err !== null) return err;
  }
  const unknown = keys.filter((k) => !known(k));
  if (unknown.length > 0) return `${erlProplist(d, unknown)} are not recognised policy settings`;
  return null;
}

/** A policy's and an operator policy's values for one key: the lower number wins, as rabbit_policy:merge_policy_value. */
export function mergePolicyValue(value: unknown, opValue: unknown): unknown {
  if (typeof value === 'number' && typeof opValue === 'number') return Math.min(value, opValue);
  return opValue;
}
