import { erlJson, erlProplist } from '../../../amqp/erl-term.js';
import { parseUpstreamUri, UpstreamUriError } from '../link/upstream-uri.js';

/**
 * The federation-upstream and federation-upstream-set runtime parameters, validated as
 * rabbit_federation_parameters validates them (rabbit_parameter_validation:proplist):
 * every error is listed, unknown keys first, then the keys' own errors in reverse order of
 * the constraint list, as RabbitMQ accumulates them.
 */

type Check = (key: string, v: unknown) => string | null;

const binary: Check = (k, v) => (typeof v === 'string' ? null : `${k} should be binary, actually was ${erlJson(v)}`);
const number: Check = (k, v) => (typeof v === 'number' ? null : `${k} should be a number, actually was ${erlJson(v)}`);
const boolean: Check = (k, v) => (typeof v === 'boolean' ? null : `${k} should be boolean, actually was ${erlJson(v)}`);
const oneOf =
  (values: string[]): Check =>
  (k, v) => {
    if (typeof v !== 'string') return `${k} should be binary, actually was ${erlJson(v)}`;
    return values.includes(v) ? null : `${k} should be one of [${values.map((x) => erlJson(x)).join(',')}], actually was ${erlJson(v)}`;
  };

/** rabbit_federation_parameters:validate_uri: a URI, or a list of them. */
const uri: Check = (k, v) => {
  if (typeof v === 'string') return uriError(v);
  if (!Array.isArray(v)) return `${k} should be list, actually was ${erlJson(v)}`;
  for (const u of v) {
    const err = typeof u === 'string' ? uriError(u) : `${k} should be binary, actually was ${erlJson(u)}`;
    if (err !== null) return err;
  }
  return null;
};

function uriError(u: string): string | null {
  try {
    parseUpstreamUri(u, '/');
    return null;
  } catch (err) {
    if (err instanceof UpstreamUriError) return err.message;
    throw err;
  }
}

/** shared_validation(), in RabbitMQ's order. */
const SHARED: [string, Check][] = [
  ['exchange', binary],
  ['queue', binary],
  ['consumer-tag', binary],
  ['prefetch-count', number],
  ['reconnect-delay', number],
  ['max-hops', number],
  ['expires', number],
  ['message-ttl', number],
  ['trust-user-id', boolean],
  ['ack-mode', oneOf(['no-ack', 'on-publish', 'on-confirm'])],
  ['resource-cleanup-mode', oneOf(['default', 'never'])],
  ['ha-policy', binary],
  ['bind-nowait', boolean],
  ['channel-use-mode', oneOf(['multiple', 'single'])],
];

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** rabbit_parameter_validation:proplist over one object; the errors in RabbitMQ's order. */
function proplistErrors(name: string, constraints: [string, Check, boolean][], o: Record<string, unknown>): string[] {
  const found: string[] = [];
  for (const [key, check, mandatory] of constraints) {
    if (key in o) {
      const err = check(key, o[key]);
      if (err !== null) found.push(err);
    } else if (mandatory) {
      found.push(`Key "${key}" not found in ${name}`);
    }
  }
  found.reverse();
  const known = new Set(constraints.map(([k]) => k));
  const unknown = Object.keys(o).filter((k) => !known.has(k));
  if (unknown.length > 0) found.unshift(`Unrecognised terms ${erlProplist(o, unknown)} in ${name}`);
  return found;
}

/** A federation-upstream value: {uri (mandatory), exchange, queue, prefetch-count, ...}. */
export function validateUpstreamValue(name: string, value: unknown): string[] {
  // RabbitMQ crashes (500) on a value that is not an object; a clear refusal is better.
  if (!isObject(value)) return [`federation-upstream ${name}: the value must be an object, not ${erlJson(value)}`];
  return proplistErrors(name, [['uri', uri, true], ...SHARED.map(([k, c]) => [k, c, false] as [string, Check, boolean])], value);
}

/** A federation-upstream-set value: a list of {upstream (mandatory), and any shared key}. */
export function validateUpstreamSetValue(name: string, value: unknown): string[] {
  if (!Array.isArray(value)) return [`federation-upstream-set ${name}: the value must be a list, not ${erlJson(value)}`];
  const errors: string[] = [];
  for (const element of value) {
    if (!isObject(element)) {
      errors.push(`federation-upstream-set ${name}: each element must be an object, not ${erlJson(element)}`);
      continue;
    }
    errors.push(...proplistErrors(name, [['upstream', binary, true], ...SHARED.map(([k, c]) => [k, c, false] as [string, Check, boolean])], element));
  }
  return errors;
}
