import { Typed, type FieldTable, type FieldValue } from '../../../amqp/table.js';
import { alreadySeen, BOUND_FROM } from '../../../routing/plugins/federation-upstream.js';

/**
 * How far a binding travels up a chain of federated exchanges
 * (rabbit_federation_exchange_link:update_binding). Bindings go against the flow of
 * messages, and only as far as messages could come: each hop records itself in
 * `x-bound-from` with the hops still allowed, min(previous - 1, this link's max-hops);
 * at 0, or on reaching a broker the binding has already been through, it stops.
 */

function intOf(v: FieldValue | undefined): number {
  const x = v instanceof Typed ? v.value : v;
  if (typeof x === 'bigint') return Number(x);
  return typeof x === 'number' ? x : 0;
}

export interface BindingHop {
  /** This broker's cluster_name and the downstream vhost. */
  clusterName: string;
  vhost: string;
  /** "vhost:exchange SUFFIX", the downstream exchange as RabbitMQ names it in the hop. */
  exchange: string;
  maxHops: number;
  /** The upstream's cluster_name (null: unknown) and vhost, for cycle detection. */
  upstreamCluster: string | null;
  upstreamVhost: string;
}

/**
 * The arguments to bind with upstream, or null when the binding must go no further. The
 * new hop is put first in `x-bound-from`; the table's keys are sorted, as RabbitMQ leaves them.
 */
export function forwardedBindingArgs(args: FieldTable, hop: BindingHop): FieldTable | null {
  const prior = args[BOUND_FROM];
  let hops: number;
  let list: FieldValue[] = [];
  if (!Array.isArray(prior)) {
    hops = hop.maxHops;
  } else {
    list = prior;
    const first = prior[0];
    const prevHops = first !== null && typeof first === 'object' && !Array.isArray(first) && !(first instanceof Typed) && !Buffer.isBuffer(first) ? intOf((first as FieldTable)['hops']) : 0;
    const seen = hop.upstreamCluster !== null && alreadySeen(hop.upstreamCluster, hop.upstreamVhost, prior);
    hops = seen ? 0 : Math.min(prevHops - 1, hop.maxHops);
  }
  if (hops <= 0) return null;
  const entry: FieldTable = {
    'cluster-name': hop.clusterName,
    vhost: hop.vhost,
    exchange: hop.exchange,
    hops: new Typed('s', hops),
  };
  const out: FieldTable = { ...args, [BOUND_FROM]: [entry, ...list] };
  const sorted: FieldTable = {};
  for (const k of Object.keys(out).sort()) sorted[k] = out[k]!;
  return sorted;
}
