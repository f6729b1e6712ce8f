import type { Logger } from 'pino';
import type { FieldTable } from '../../amqp/table.js';
import type { ParameterComponent } from '../access/parameters.js';
import { policyApplies } from '../queue/arg-validation.js';
import type { QueueStateObserver } from '../queue/consumer.js';
import type { Queue } from '../queue/queue.js';
import type { Exchange } from '../vhost/exchange.js';
import type { PolicyDefinition } from '../vhost/policy.js';
import type { TopologyObserver, VirtualHost } from '../vhost/vhost.js';
import { ExchangeLink, type ExchangeLinkHost } from './exchange/exchange-link.js';
import type { PipeEnd } from './link/in-process-pipe.js';
import { QueueLink, type QueueLinkHost } from './queue/queue-link.js';
import type { FederationLink } from './upstream/link.js';
import { linkStatus, type LinkStatusJson } from './upstream/link-status.js';
import { validateUpstreamSetValue, validateUpstreamValue } from './upstream/upstream-params.js';
import { federates, sameUpstream, upstreamsFor, type Upstream } from './upstream/upstreams.js';

/** What federation needs of the broker (Broker implements it). */
export interface FederationHost {
  readonly vhosts: ReadonlyMap<string, VirtualHost>;
  readonly log: Logger;
  readonly serverProperties: FieldTable;
  readonly access: { registerParameterComponent(name: string, c: ParameterComponent): void };
}

/** The links of one federated exchange or queue, by upstream name. */
type Links = Map<string, FederationLink>;

function key(vhost: string, kind: 'exchange' | 'queue', name: string): string {
  return `${vhost}\0${kind}\0${name}`;
}

/**
 * Federation, as RabbitMQ's federation plugin: the `federation-upstream` and
 * `federation-upstream-set` parameters, applied by the policy keys `federation-upstream`,
 * `federation-upstream-set` and `federation-upstream-pattern`. Every exchange and queue a
 * federating policy matches gets one link per upstream; links start when both the policy
 * and the upstream exist (at start-up from stored definitions too), follow changes to
 * either, and stop (cleaning up upstream) when either goes or the object is deleted.
 */
export class Federation implements TopologyObserver, ExchangeLinkHost, QueueLinkHost {
  private readonly links = new Map<string, Links>();
  private readonly suffixes = new Map<string, 'A' | 'B'>();
  private started = false;
  private closed = false;
  /** ms between checks of an exchange link's internal exchange (RabbitMQ: 90 s). */
  internalExchangeCheckMs = 90_000;
  readonly upstreamComponent: ParameterComponent;
  readonly upstreamSetComponent: ParameterComponent;

  constructor(
    private readonly broker: FederationHost,
    /** Serves the broker's end of an in-process pipe as a client connection. */
    private readonly accept: (socket: PipeEnd) => void,
  ) {
    this.upstreamComponent = {
      validate: (_vhost, name, value) => validateUpstreamValue(name, value),
      apply: (vhost) => this.reconcileVhost(vhost),
      remove: (vhost) => this.reconcileVhost(vhost),
    };
    this.upstreamSetComponent = {
      validate: (_vhost, name, value) => validateUpstreamSetValue(name, value),
      apply: (vhost) => this.reconcileVhost(vhost),
      remove: (vhost) => this.reconcileVhost(vhost),
    };
    broker.access.registerParameterComponent('federation-upstream', this.upstreamComponent);
    broker.access.registerParameterComponent('federation-upstream-set', this.upstreamSetComponent);
  }

  // ---- LinkHost ---------------------------------------------------------------------------

  get log(): Logger {
    return this.broker.log;
  }

  /** This broker's cluster_name, as it tells clients (rabbit_nodes:cluster_name). */
  get clusterName(): string {
    return String(this.broker.serverProperties['cluster_name']);
  }

  acceptLocal(socket: PipeEnd): void {
    this.accept(socket);
  }

  exchange(vhost: string, name: string): Exchange | undefined {
    return this.broker.vhosts.get(vhost)?.exchanges.get(name);
  }

  queue(vhost: string, name: string): Queue | undefined {
    return this.broker.vhosts.get(vhost)?.queues.get(name);
  }

  suffix(k: string): 'A' | 'B' | undefined {
    return this.suffixes.get(k);
  }

  setSuffix(k: string, s: 'A' | 'B'): void {
    this.suffixes.set(k, s);
  }

  // ---- lifecycle --------------------------------------------------------------------------

  /** Starts the links of every federated exchange and queue (after start-up, as RabbitMQ's links wait for the broker). */
  start(): void {
    this.started = true;
    for (const v of this.broker.vhosts.values()) this.reconcileVhost(v.name);
  }

  /** Stops every link, leaving what they made upstream (see docs/compatibility.md). */
  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.links.values()].flatMap((l) => [...l.values()]);
    this.links.clear();
    await Promise.all(all.map((l) => l.stop(false)));
  }

  /** GET /api/federation-links: every link, or those of one vhost. */
  status(node: string, vhost?: string): LinkStatusJson[] {
    const out: LinkStatusJson[] = [];
    for (const links of this.links.values()) {
      for (const l of links.values()) if (vhost === undefined || l.vhost === vhost) out.push(linkStatus(l, node));
    }
    return out;
  }

  /** The links running for one exchange or queue (for tests and status). */
  linksOf(vhost: string, kind: 'exchange' | 'queue', name: string): FederationLink[] {
    return [...(this.links.get(key(vhost, kind, name))?.values() ?? [])];
  }

  /**
   * Restarts one link (DELETE /api/federation-links/vhost/{vhost}/{id}/{node}/restart): it
   * stops, keeping what it made upstream, and starts afresh. False when there is no such link.
   */
  restart(vhost: string, id: string): boolean {
    for (const links of this.links.values()) {
      for (const [name, l] of links) {
        if (l.vhost !== vhost || l.id !== id) continue;
        const fresh = l.kind === 'exchange' ? new ExchangeLink(this, l.vhost, l.resource, l.upstream, l.policy) : new QueueLink(this, l.vhost, l.resource, l.upstream, l.policy);
        links.set(name, fresh);
        void l.stop(false).then(() => {
          if (links.get(name) === fresh) fresh.start();
        });
        return true;
      }
    }
    return false;
  }

  /** The vhost is being deleted: its links stop and clean up. */
  vhostDeleted(vhost: string): void {
    for (const [k, links] of this.links) {
      if (!k.startsWith(`${vhost}\0`)) continue;
      this.links.delete(k);
      for (const l of links.values()) void l.stop(true);
    }
  }

  // ---- reconciliation ---------------------------------------------------------------------

  private reconcileVhost(vhost: string): void {
    if (!this.started || this.closed) return;
    const v = this.broker.vhosts.get(vhost);
    if (v === undefined) return;
    for (const x of v.exchanges.values()) this.reconcileExchange(v, x);
    for (const q of v.queues.values()) this.reconcileQueue(v, q);
  }

  private reconcileExchange(v: VirtualHost, x: Exchange): void {
    // The default exchange cannot be bound to; internal ones (links' own among them) are never federated.
    const def = x.name === '' || x.internal ? null : v.definitionFor('exchanges', x.name);
    const policy = !federates(def) ? '' : (v.policies.match('exchanges', x.name)?.name ?? '');
    this.apply(v, 'exchange', x.name, def, policy);
  }

  private reconcileQueue(v: VirtualHost, q: Queue): void {
    // A queue with an internal purpose (a federation link's own) is never federated.
    const internal = typeof q.args['x-internal-purpose'] === 'string';
    const def = internal ? null : (q.policy as PolicyDefinition | null);
    const policy = !federates(def) ? '' : (v.policies.match('queues', q.name, (d) => policyApplies(q.type, d))?.name ?? '');
    this.apply(v, 'queue', q.name, def, policy);
    const links = this.links.get(key(v.name, 'queue', q.name));
    q.stateObserver = links === undefined ? null : queueObserver(links);
  }

  /** Brings the links of one object in line with its upstreams now. */
  private apply(v: VirtualHost, kind: 'exchange' | 'queue', name: string, def: PolicyDefinition | null, policy: string): void {
    const k = key(v.name, kind, name);
    const want = new Map<string, Upstream>(upstreamsFor(v, name, def).map((u) => [u.name, u]));
    const have = this.links.get(k);
    if (have === undefined && want.size === 0) return;
    const links: Links = have ?? new Map();
    for (const [upstreamName, link] of links) {
      const u = want.get(upstreamName);
      if (u !== undefined && sameUpstream(u, link.upstream) && link.policy === policy) continue;
      links.delete(upstreamName);
      void link.stop(u === undefined || !sameResources(u, link.upstream));
    }
    for (const u of want.values()) {
      if (links.has(u.name)) continue;
      const link = kind === 'exchange' ? new ExchangeLink(this, v.name, name, u, policy) : new QueueLink(this, v.name, name, u, policy);
      links.set(u.name, link);
      link.start();
    }
    if (links.size === 0) this.links.delete(k);
    else this.links.set(k, links);
  }

  private stopAll(vhost: string, kind: 'exchange' | 'queue', name: string): void {
    const k = key(vhost, kind, name);
    const links = this.links.get(k);
    if (links === undefined) return;
    this.links.delete(k);
    for (const l of links.values()) void l.stop(true);
  }

  // ---- TopologyObserver -------------------------------------------------------------------
  // Called in the middle of a client's declare, bind or delete: a failure here is logged and
  // never reaches that client.

  private guard(what: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.broker.log.error({ err, what }, 'federation: internal error, carrying on');
    }
  }

  policiesChanged(v: VirtualHost): void {
    this.guard('policies changed', () => this.reconcileVhost(v.name));
  }

  exchangeAdded(v: VirtualHost, x: Exchange): void {
    if (this.started && !this.closed) this.guard('exchange added', () => this.reconcileExchange(v, x));
  }

  exchangeRemoved(v: VirtualHost, x: Exchange): void {
    this.guard('exchange removed', () => this.stopAll(v.name, 'exchange', x.name));
  }

  queueAdded(v: VirtualHost, q: Queue): void {
    if (this.started && !this.closed) this.guard('queue added', () => this.reconcileQueue(v, q));
  }

  queueRemoved(v: VirtualHost, q: Queue): void {
    q.stateObserver = null;
    this.guard('queue removed', () => this.stopAll(v.name, 'queue', q.name));
  }

  followsBindings(v: VirtualHost, src: Exchange): boolean {
    return this.links.size > 0 && this.links.has(key(v.name, 'exchange', src.name));
  }

  bindingAdded(v: VirtualHost, src: Exchange, dest: Queue | Exchange, routingKey: string, args: FieldTable): void {
    if (this.links.size === 0) return;
    const links = this.links.get(key(v.name, 'exchange', src.name));
    if (links !== undefined) for (const l of links.values()) this.guard('binding added', () => (l as ExchangeLink).bindingAdded(dest, routingKey, args));
  }

  bindingRemoved(v: VirtualHost, src: Exchange, dest: Queue | Exchange, routingKey: string, args: FieldTable): void {
    if (this.links.size === 0) return;
    const links = this.links.get(key(v.name, 'exchange', src.name));
    if (links !== undefined) for (const l of links.values()) this.guard('binding removed', () => (l as ExchangeLink).bindingRemoved(dest, routingKey, args));
  }
}

/** Whether a changed upstream still uses the same things upstream (then they are kept across the restart). */
function sameResources(a: Upstream, b: Upstream): boolean {
  return (
    JSON.stringify(a.uris) === JSON.stringify(b.uris) &&
    a.exchange === b.exchange &&
    a.queue === b.queue &&
    a.expires === b.expires &&
    a.messageTtl === b.messageTtl &&
    a.haPolicy === b.haPolicy &&
    a.maxHops === b.maxHops
  );
}

/** Passes a queue's state changes on to each of its links. */
function queueObserver(links: Links): QueueStateObserver {
  return {
    queueStateChanged: () => {
      for (const l of links.values()) (l as QueueLink).queueStateChanged();
    },
  };
}
