import { DefinitionsError, topologySections } from '../../routing/topology/definitions.js';
import type { QueueOwner } from '../queue/queue.js';
import { POLICY_KEYS, validatePolicy } from './policy.js';
import type { VirtualHost } from './vhost.js';

/** What importTopology declared. */
export interface ImportCounts {
  exchanges: number;
  queues: number;
  bindings: number;
  policies: number;
  /** Policy keys Warren does not apply (ha-mode, queue-mode, …), left out of the policies that had them. */
  ignored: string[];
}

export interface ImportOptions {
  /** Where entries without a `vhost` field go (a per-vhost export); default '/'. */
  defaultVhost?: string;
  /** Put every entry in this vhost, whatever its `vhost` field says. */
  intoVhost?: string;
  /** Import only the entries of this vhost. */
  onlyVhost?: string;
  /**
   * A binding whose source or destination does not exist: skipped when lenient (recovery
   * of our own file, where it cannot happen unless the file was edited), an error otherwise.
   */
  strict: boolean;
}

/** The owner of queues declared from definitions: none, as for any durable queue. */
const IMPORT: QueueOwner = { id: 0 };

/**
 * Declares the topology sections of a RabbitMQ definitions object (policies, exchanges,
 * queues, bindings, in that order, as RabbitMQ imports them) in the vhosts `vhostFor`
 * gives. Used for the broker's own data/definitions.json at start and for
 * `startBroker({ definitions })`; users, permissions and parameters are imported elsewhere.
 */
export function importTopology(defs: unknown, vhostFor: (name: string) => VirtualHost, opts: ImportOptions): ImportCounts {
  const s = topologySections(defs, opts.defaultVhost ?? '/');
  const n: ImportCounts = { exchanges: 0, queues: 0, bindings: 0, policies: 0, ignored: [] };
  const where = (vhost: string): string | null => {
    if (opts.onlyVhost !== undefined && vhost !== opts.onlyVhost) return null;
    return opts.intoVhost ?? vhost;
  };
  const at = (what: string, fn: () => void): void => {
    try {
      fn();
    } catch (err) {
      throw new DefinitionsError(`definitions: ${what}: ${(err as Error).message}`);
    }
  };
  for (const name of s.vhosts) {
    const v = where(name);
    if (v !== null) vhostFor(v);
  }
  for (const p of s.policies) {
    const v = where(p.vhost);
    if (v === null) continue;
    // An export of a real RabbitMQ carries keys Warren has no use for: keep the rest.
    const definition: Record<string, unknown> = {};
    for (const [k, val] of Object.entries(p.definition)) {
      if (POLICY_KEYS.has(k)) definition[k] = val;
      else n.ignored.push(`policy '${p.name}' in vhost '${v}': ${k}`);
    }
    if (Object.keys(definition).length === 0) continue;
    at(`policy '${p.name}'`, () =>
      vhostFor(v).setPolicy(validatePolicy({ vhost: v, name: p.name, pattern: p.pattern, applyTo: p.applyTo, priority: p.priority, definition })),
    );
    n.policies++;
  }
  for (const x of s.exchanges) {
    const v = where(x.vhost);
    if (v === null || x.name === '' || x.name.startsWith('amq.')) continue;
    at(`exchange '${x.name}' in vhost '${v}'`, () =>
      vhostFor(v).declareExchange({ name: x.name, type: x.type, durable: x.durable, autoDelete: x.autoDelete, internal: x.internal, args: x.args }, false),
    );
    n.exchanges++;
  }
  for (const q of s.queues) {
    const v = where(q.vhost);
    if (v === null) continue;
    at(`queue '${q.name}' in vhost '${v}'`, () =>
      vhostFor(v).declareQueue({ name: q.name, durable: q.durable, exclusive: false, autoDelete: q.autoDelete, args: q.args }, IMPORT),
    );
    n.queues++;
  }
  for (const b of s.bindings) {
    const vname = where(b.vhost);
    if (vname === null) continue;
    const v = vhostFor(vname);
    const what = `binding of ${b.destinationType} '${b.destination}' to exchange '${b.source}' in vhost '${vname}'`;
    const src = v.exchanges.get(b.source);
    const dest = b.destinationType === 'queue' ? v.queues.get(b.destination) : v.exchanges.get(b.destination);
    if (src === undefined || dest === undefined) {
      if (!opts.strict) continue;
      const missing = src === undefined ? `exchange '${b.source}'` : `${b.destinationType} '${b.destination}'`;
      throw new DefinitionsError(`definitions: ${what}: no ${missing} in vhost '${vname}'`);
    }
    at(what, () => {
      if (dest.kind === 'queue') v.bindQueue(dest, src, b.routingKey, b.args);
      else v.bindExchange(dest, src, b.routingKey, b.args);
    });
    n.bindings++;
  }
  return n;
}
