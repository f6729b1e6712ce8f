import type { PolicyDefinition } from '../../vhost/policy.js';
import type { RuntimeParameter } from '../../vhost/vhost.js';

/**
 * Which upstreams a federated exchange or queue has, as rabbit_federation_upstream
 * computes them: the policy names one upstream (`federation-upstream`), a set
 * (`federation-upstream-set`, where `all` is every upstream of the vhost) or a pattern
 * over upstream names (`federation-upstream-pattern`); each element of a set may
 * override its upstream's keys.
 */

export type AckMode = 'on-confirm' | 'on-publish' | 'no-ack';

/** One upstream as a link uses it (RabbitMQ's #upstream record), with its defaults. */
export interface Upstream {
  /** The federation-upstream parameter's name. */
  readonly name: string;
  readonly uris: readonly string[];
  /** The upstream exchange (exchange federation) and queue (queue federation); default: the downstream's name. */
  readonly exchange: string;
  readonly queue: string;
  readonly consumerTag: string;
  readonly prefetchCount: number;
  /** Seconds. */
  readonly reconnectDelay: number;
  readonly maxHops: number;
  /** Milliseconds, for the upstream queue of exchange federation (x-expires, x-message-ttl); null: none. */
  readonly expires: number | null;
  readonly messageTtl: number | null;
  readonly trustUserId: boolean;
  readonly ackMode: AckMode;
  readonly haPolicy: string | null;
  readonly bindNowait: boolean;
  readonly resourceCleanupMode: 'default' | 'never';
  readonly channelUseMode: 'multiple' | 'single';
}

/** The upstream parameters and sets of one vhost. */
export interface UpstreamSource {
  readonly parameters: ReadonlyMap<string, RuntimeParameter>;
}

const POLICY_KEYS = ['federation-upstream', 'federation-upstream-set', 'federation-upstream-pattern'] as const;

/** rabbit_federation_upstream:federate: whether a definition federates at all. */
export function federates(def: PolicyDefinition | null): boolean {
  return def !== null && POLICY_KEYS.some((k) => typeof def[k] === 'string');
}

function upstreamParams(v: UpstreamSource): Map<string, Record<string, unknown>> {
  const out = new Map<string, Record<string, unknown>>();
  for (const p of v.parameters.values()) {
    if (p.component === 'federation-upstream' && p.value !== null && typeof p.value === 'object') out.set(p.name, p.value as Record<string, unknown>);
  }
  return out;
}

/** The set elements the definition names (upstreams), before their parameters are looked up. */
function setElements(v: UpstreamSource, def: PolicyDefinition): Record<string, unknown>[] {
  const one = def['federation-upstream'];
  if (typeof one === 'string') return [{ upstream: one }];
  const names = (): string[] => [...upstreamParams(v).keys()].sort();
  const set = def['federation-upstream-set'];
  if (typeof set === 'string') {
    if (set === 'all') return names().map((upstream) => ({ upstream }));
    const value = v.parameters.get(`federation-upstream-set/${set}`)?.value;
    return Array.isArray(value) ? value.filter((e): e is Record<string, unknown> => e !== null && typeof e === 'object') : [];
  }
  const pattern = def['federation-upstream-pattern'];
  if (typeof pattern === 'string') {
    let re: RegExp;
    try {
      re = new RegExp(pattern);
    } catch {
      return [];
    }
    return names()
      .filter((n) => re.test(n))
      .map((upstream) => ({ upstream }));
  }
  return [];
}

/**
 * The upstreams of the exchange or queue named `name` under the definition in force,
 * in the set's order; an element whose upstream parameter does not exist is skipped.
 */
export function upstreamsFor(v: UpstreamSource, name: string, def: PolicyDefinition | null): Upstream[] {
  if (def === null || !federates(def)) return [];
  const params = upstreamParams(v);
  const out: Upstream[] = [];
  for (const element of setElements(v, def)) {
    const upstreamName = element['upstream'];
    if (typeof upstreamName !== 'string') continue;
    const u = params.get(upstreamName);
    if (u === undefined) continue;
    out.push(fromSetElement(upstreamName, element, u, name));
  }
  return out;
}

/** rabbit_federation_upstream:from_upstream_or_set: the set element's key wins over the upstream's. */
function fromSetElement(upstreamName: string, element: Record<string, unknown>, u: Record<string, unknown>, name: string): Upstream {
  const get = (k: string): unknown => element[k] ?? u[k];
  const str = (k: string, d: string): string => {
    const x = get(k);
    return typeof x === 'string' ? x : d;
  };
  const num = (k: string, d: number): number => {
    const x = get(k);
    return typeof x === 'number' ? x : d;
  };
  const optNum = (k: string): number | null => {
    const x = get(k);
    return typeof x === 'number' ? x : null;
  };
  const bool = (k: string, d: boolean): boolean => {
    const x = get(k);
    return typeof x === 'boolean' ? x : d;
  };
  const uriValue = get('uri');
  const uris = typeof uriValue === 'string' ? [uriValue] : Array.isArray(uriValue) ? uriValue.filter((x): x is string => typeof x === 'string') : [];
  return {
    name: upstreamName,
    uris,
    exchange: str('exchange', name),
    queue: str('queue', name),
    consumerTag: str('consumer-tag', `federation-link-${upstreamName}`),
    prefetchCount: num('prefetch-count', 1000),
    reconnectDelay: num('reconnect-delay', 5),
    maxHops: num('max-hops', 1),
    expires: optNum('expires'),
    messageTtl: optNum('message-ttl'),
    trustUserId: bool('trust-user-id', false),
    ackMode: str('ack-mode', 'on-confirm') as AckMode,
    haPolicy: typeof get('ha-policy') === 'string' ? (get('ha-policy') as string) : null,
    bindNowait: bool('bind-nowait', false),
    resourceCleanupMode: str('resource-cleanup-mode', 'default') as 'default' | 'never',
    channelUseMode: str('channel-use-mode', 'multiple') as 'multiple' | 'single',
  };
}

/** Two upstream records with the same settings (a link is restarted only when its record changed). */
export function sameUpstream(a: Upstream, b: Upstream): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
