import { Typed, type FieldTable, type FieldValue } from '../../amqp/table.js';
import { BindingIndex } from '../binding-set.js';
import { DestBag } from '../dest-bag.js';
import type { Binding, Routable, RouteTarget } from '../exchange.js';

/** The header in which exchange federation records each hop a message made. */
export const RECEIVED_FROM = 'x-received-from';
/** The binding argument in which exchange federation records each hop a binding made. */
export const BOUND_FROM = 'x-bound-from';
export const MAX_HOPS_ARG = 'x-max-hops';
export const DOWNSTREAM_NAME_ARG = 'x-downstream-name';
export const DOWNSTREAM_VHOST_ARG = 'x-downstream-vhost';

function str(v: FieldValue | undefined): string | undefined {
  if (typeof v === 'string') return v;
  if (Buffer.isBuffer(v)) return v.toString();
  return undefined;
}

/**
 * Whether a hop list (x-received-from or x-bound-from) already passed through this
 * cluster's vhost: rabbit_federation_util:already_seen.
 */
export function alreadySeen(clusterName: string, vhost: string, hops: readonly FieldValue[]): boolean {
  for (const h of hops) {
    if (h === null || typeof h !== 'object' || Array.isArray(h) || Buffer.isBuffer(h) || h instanceof Typed) continue;
    const t = h as FieldTable;
    if (str(t['cluster-name']) === clusterName && str(t['vhost']) === vhost) return true;
  }
  return false;
}

/**
 * rabbit_federation_util:should_forward: a message goes on to a downstream unless it has
 * already made `maxHops` hops, or has already been through that downstream (a cycle).
 * `downstreamName`/`downstreamVhost` null: not known (an older link), never "seen".
 */
export function shouldForward(headers: FieldTable | undefined, maxHops: number, downstreamName: string | null, downstreamVhost: string | null): boolean {
  if (headers === undefined) return true;
  const hops = headers[RECEIVED_FROM];
  if (!Array.isArray(hops)) return true;
  if (hops.length >= maxHops) return false;
  return downstreamName === null || downstreamVhost === null || !alreadySeen(downstreamName, downstreamVhost, hops);
}

/** An integer argument's value, or null when it is not an integer of any AMQP width. */
function intOf(v: FieldValue | undefined): number | null {
  const x = v instanceof Typed ? v.value : v;
  if (typeof x === 'bigint') return Number(x);
  return typeof x === 'number' && Number.isInteger(x) ? x : null;
}

/**
 * rabbit_federation_upstream_exchange:validate: `x-max-hops` must be there, as a long.
 * A plain integer (a 32-bit `I`, or a number from a definitions file, which RabbitMQ reads
 * as a long) passes too. Returns RabbitMQ's 406 text, or null.
 */
export function federationUpstreamArgsError(args: FieldTable): string | null {
  const v = args[MAX_HOPS_ARG];
  if (v === undefined) return `Argument ${MAX_HOPS_ARG} missing`;
  const long = (v instanceof Typed && v.type === 'l') || typeof v === 'bigint' || (typeof v === 'number' && Number.isInteger(v));
  return long ? null : `Argument ${MAX_HOPS_ARG} must be of type long`;
}

/**
 * The `x-federation-upstream` exchange type, which a federation link declares on the
 * upstream broker between the federated exchange and its queue: a fanout that drops
 * messages the downstream must not get (past `x-max-hops`, or already seen by the
 * downstream named in `x-downstream-name` and `x-downstream-vhost`).
 */
export class FederationUpstreamExchange<D extends Routable> extends BindingIndex<D> {
  readonly type = 'x-federation-upstream' as const;
  private readonly all = new DestBag<D>();
  private readonly maxHops: number;
  private readonly downstreamName: string | null;
  private readonly downstreamVhost: string | null;

  constructor(args: FieldTable) {
    super();
    this.maxHops = intOf(args[MAX_HOPS_ARG]) ?? 1;
    this.downstreamName = str(args[DOWNSTREAM_NAME_ARG]) ?? null;
    this.downstreamVhost = str(args[DOWNSTREAM_VHOST_ARG]) ?? null;
  }

  route(_routingKey: string, headers: FieldTable | undefined, out: RouteTarget<D>): void {
    if (shouldForward(headers, this.maxHops, this.downstreamName, this.downstreamVhost)) this.all.addTo(out);
  }

  /** Every binding matches whatever the key, unless the hop rules drop the message. */
  matches(_binding: Binding<D>, _routingKey: string, headers: FieldTable | undefined): boolean {
    return shouldForward(headers, this.maxHops, this.downstreamName, this.downstreamVhost);
  }

  protected added(b: Binding<D>): void {
    this.all.add(b.destination);
  }

  protected removed(b: Binding<D>): void {
    this.all.remove(b.destination);
  }
}
