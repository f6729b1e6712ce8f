import { ChannelError, ConnectionError } from '../amqp/errors.js';
import type { FieldTable } from '../amqp/table.js';
import type { ExchangeType } from './exchange.js';
import { routingKeysFor, validateRoutingHeaders } from './sender-selected.js';

// What a vhost does around the exchange walk, shared by the broker and warren/routing's
// Topology so that both answer alike: the exchanges every vhost has, the alternate-exchange
// argument, and basic.publish's checks (with RabbitMQ's reply codes and texts).

/** The exchanges RabbitMQ declares in every vhost, besides the default exchange "". */
export const STANDARD_EXCHANGES: readonly (readonly [string, ExchangeType])[] = Object.freeze([
  ['amq.direct', 'direct'],
  ['amq.fanout', 'fanout'],
  ['amq.topic', 'topic'],
  ['amq.headers', 'headers'],
  ['amq.match', 'headers'],
] as const);

/** An exchange's `alternate-exchange` argument (a longstr, or bytes), or null. */
export function alternateExchangeArg(args: FieldTable): string | null {
  const ae = args['alternate-exchange'];
  return typeof ae === 'string' ? ae : Buffer.isBuffer(ae) ? ae.toString() : null;
}

/**
 * RabbitMQ says "invalid exchange type" for a name that happens to be an Erlang atom in
 * the node and "unknown" otherwise. We cannot see the atom table; these are common words
 * that are atoms in every RabbitMQ node (see docs/compatibility.md).
 */
const KNOWN_ATOMS: ReadonlySet<string> = new Set([
  'foo', 'bar', 'baz', 'test', 'true', 'false', 'undefined', 'ok', 'error', 'none', 'all', 'any',
  'local', 'global', 'default', 'classic', 'quorum', 'stream', 'x', 'exchange', 'queue', 'binding',
]);

/** exchange.declare with a type the broker does not have: 503, RabbitMQ's text. */
export function unknownExchangeType(type: string): ConnectionError {
  return new ConnectionError(503, `${KNOWN_ATOMS.has(type) ? 'invalid' : 'unknown'} exchange type '${type}'`);
}

/** basic.publish's exchange: it must exist (404) and not be internal (403). */
export function publishExchange<X extends { readonly internal: boolean }>(x: X | undefined, exchange: string, vhost: string): X {
  if (x === undefined) throw new ChannelError(404, `no exchange '${exchange}' in vhost '${vhost}'`);
  if (x.internal) throw new ChannelError(403, `cannot publish to internal exchange '${exchange}' in vhost '${vhost}'`);
  return x;
}

/** The keys a publish routes with: its routing key, then CC and BCC (406 if either is not an array). */
export function publishRoutingKeys(routingKey: string, headers: FieldTable | undefined): string | string[] {
  if (headers === undefined) return routingKey;
  const invalid = validateRoutingHeaders(headers);
  if (invalid !== null) throw new ChannelError(406, invalid);
  return routingKeysFor(routingKey, headers);
}
